import Foundation

/// A paired comparison of two runs on one metric, fold by fold (same seeds, same splits).
public struct RunComparison: Sendable, Equatable, Codable {
    /// First run's model name and protocol.
    public var a: String
    /// Second run's model name and protocol.
    public var b: String
    /// Metric compared.
    public var metric: SummaryMetric
    /// Number of (seed, fold) pairs both runs have.
    public var pairs: Int
    /// Mean of a − b over the pairs.
    public var meanDifference: Double
    /// Wilcoxon signed-rank test; nil when undefined (all differences zero).
    public var wilcoxon: PairedTestResult?
    /// Sign test; nil when undefined.
    public var sign: PairedTestResult?

    /// Pairs folds of `a` and `b` by seed and split name and tests `metric`'s differences.
    public static func make(_ a: RunResult, _ b: RunResult, metric: SummaryMetric) -> RunComparison {
        var bByKey: [String: Double] = [:]
        for f in b.folds { bByKey[f.pairKey] = metric.value(in: f.metrics) }
        var xs: [Double] = [], ys: [Double] = []
        for f in a.folds {
            if let x = metric.value(in: f.metrics), let y = bByKey[f.pairKey] { xs.append(x); ys.append(y) }
        }
        let diff = zip(xs, ys).map { $0 - $1 }
        return RunComparison(a: a.label, b: b.label, metric: metric, pairs: xs.count,
                             meanDifference: diff.isEmpty ? .nan : diff.reduce(0, +) / Double(diff.count),
                             wilcoxon: try? PairedTests.wilcoxon(xs, ys), sign: try? PairedTests.sign(xs, ys))
    }
}

extension RunResult {
    /// "model · split · scaling".
    public var label: String { "\(model) · \(runProtocol.split) · \(runProtocol.scaling)" }
}

/// Everything a run folder's `metrics.json` holds.
public struct MetricsReport: Sendable, Equatable, Codable {
    /// One summary line per run and metric: mean ± std (ddof 1) over folds × seeds.
    public struct Summary: Sendable, Equatable, Codable {
        /// Run label.
        public var run: String
        /// Metric name → mean ± std.
        public var metrics: [String: MeanStd]
    }

    /// Format version of this file.
    public var format: Int = 1
    /// Title for people.
    public var title: String
    /// The runs, in display order.
    public var runs: [RunResult]
    /// Per-run summaries (derived from `runs` when the report is made).
    public var summaries: [Summary]
    /// Paired comparisons.
    public var comparisons: [RunComparison]
    /// The peer pipeline's side-by-side figures (`emo run --peer`), or why it is unavailable; nil when not asked.
    public var peer: PeerReport?
    /// How the std was computed, stated in the file itself.
    public var stdNote: String = "std is the sample standard deviation (ddof=1) over all folds and seeds"

    /// Builds a report, computing the summaries.
    public init(title: String, runs: [RunResult], comparisons: [RunComparison] = []) {
        self.title = title
        self.runs = runs
        self.comparisons = comparisons
        summaries = runs.map { r in
            var m: [String: MeanStd] = [:]
            for metric in SummaryMetric.allCases { if let s = r.summary(metric) { m[metric.rawValue] = s } }
            return Summary(run: r.label, metrics: m)
        }
    }

    /// Pretty, sorted-key JSON (non-finite numbers written as strings "nan"/"inf").
    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try enc.encode(self)
    }

    /// Writes `metrics.json` into `folder` (created if needed) and returns its URL.
    @discardableResult
    public func write(into folder: URL) throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent("metrics.json")
        try jsonData().write(to: url, options: .atomic)
        return url
    }

    /// Reads a `metrics.json`.
    public static func read(from url: URL) throws -> MetricsReport {
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try dec.decode(MetricsReport.self, from: Data(contentsOf: url))
    }
}
