import Foundation

/// The reference-table layout: rows are model × scaled/unscaled, columns are split protocols, cells "mean ± std".
public struct ReferenceTable: Sendable, Equatable {
    /// One row: a model under one scaling.
    public struct Row: Sendable, Equatable {
        /// Model name.
        public var model: String
        /// Scaling label ("scaled (standard)", "unscaled").
        public var scaling: String
        /// One cell per column; nil where that model × scaling was not run under that protocol.
        public var cells: [MeanStd?]
    }

    /// Metric shown.
    public var metric: SummaryMetric
    /// Split protocol names, in first-seen order.
    public var columns: [String]
    /// Rows in first-seen order of (model, scaling).
    public var rows: [Row]

    /// Arranges `runs` (any order) into the table for `metric`.
    public init(runs: [RunResult], metric: SummaryMetric = .accuracy) {
        self.metric = metric
        var columns: [String] = []
        var rowKeys: [(String, String)] = []
        for r in runs {
            if !columns.contains(r.runProtocol.split) { columns.append(r.runProtocol.split) }
            if !rowKeys.contains(where: { $0 == (r.model, r.runProtocol.scaling) }) { rowKeys.append((r.model, r.runProtocol.scaling)) }
        }
        self.columns = columns
        rows = rowKeys.map { key in
            Row(model: key.0, scaling: key.1, cells: columns.map { col in
                runs.first { $0.model == key.0 && $0.runProtocol.scaling == key.1 && $0.runProtocol.split == col }?
                    .summary(metric)
            })
        }
    }

    /// Plain-text rendering (fixed-width columns) for terminals and logs; cells in percent.
    public func text() -> String {
        let header = ["model", "scaling"] + columns
        let body = rows.map { [$0.model, $0.scaling] + $0.cells.map { $0?.formatted(digits: 2, scale: 100) ?? "—" } }
        let all = [header] + body
        let widths = header.indices.map { c in all.map { $0[c].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")] + body.map(line))
            .joined(separator: "\n")
    }
}
