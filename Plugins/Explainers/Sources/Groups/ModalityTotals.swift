import EmoCore

/// Per-group totals of an attribution: how much each modality contributed to one prediction.
public enum ModalityTotals {
    /// Σ of `attributions` `[B, ..., C]` over each group's range of the last dimension (and every leading
    /// non-batch position), per row: `[B][G]`.
    public static func totals(_ attributions: NDArray, groups: [FeatureGroupRange]) throws -> [[Double]] {
        let component = "modality-totals"
        guard attributions.rank >= 2, let rows = attributions.shape.first, let width = attributions.shape.last,
              rows > 0, width > 0 else {
            throw ComponentError.invalidInput(component: component,
                                              message: "attributions have shape \(attributions.shape); expected [B, ..., C]")
        }
        try FeatureGroupRange.validate(groups, width: width, component: component)
        let perRow = attributions.count / rows
        return (0..<rows).map { b in
            groups.map { g in
                var sum = 0.0
                var line = b * perRow
                while line < (b + 1) * perRow {
                    for c in g.range { sum += Double(attributions.data[line + c]) }
                    line += width
                }
                return sum
            }
        }
    }

    /// Shares `|total_g| / Σ_h |total_h|` per row (all zero when every total is zero).
    public static func shares(_ totals: [[Double]]) -> [[Double]] {
        totals.map { row in
            let norm = row.reduce(0) { $0 + abs($1) }
            return row.map { norm > 0 ? abs($0) / norm : 0 }
        }
    }

    /// Mean of `totals` over the rows whose class is `k`, for every class in `labels`: `[class: [G]]`.
    public static func classMeans(_ totals: [[Double]], labels: [Int]) -> [Int: [Double]] {
        var sums: [Int: [Double]] = [:], counts: [Int: Int] = [:]
        for (row, label) in zip(totals, labels) {
            sums[label] = zip(sums[label] ?? [Double](repeating: 0, count: row.count), row).map { $0 + $1 }
            counts[label, default: 0] += 1
        }
        var means: [Int: [Double]] = [:]
        for (label, sum) in sums {
            let n = Double(counts[label] ?? 1)
            means[label] = sum.map { $0 / n }
        }
        return means
    }
}
