/// Area under the ROC curve.
public enum ROCAUC {
    /// Binary ROC AUC of `scores` for `positive` labels; nil when either class is absent.
    ///
    /// Computed as the Mann–Whitney statistic with mid-ranks: a positive–negative pair with equal scores counts
    /// one half. This equals the trapezoidal area under the ROC curve that scikit-learn's `roc_auc_score` computes,
    /// ties included (a tied block is one diagonal step of the curve).
    public static func binary(positive: [Bool], scores: [Double]) -> Double? {
        let n = min(positive.count, scores.count)
        let nPos = positive.prefix(n).filter { $0 }.count, nNeg = n - nPos
        guard nPos > 0, nNeg > 0 else { return nil }
        let ranks = Ranking.midranks(Array(scores.prefix(n)))
        var rankSum = 0.0
        for i in 0..<n where positive[i] { rankSum += ranks[i] }
        let u = rankSum - Double(nPos) * Double(nPos + 1) / 2
        return u / (Double(nPos) * Double(nNeg))
    }
}

/// Ranking helpers shared by AUC and the signed-rank test.
public enum Ranking {
    /// 1-based ranks of `values` with ties given their average rank (`scipy.stats.rankdata(method="average")`).
    public static func midranks(_ values: [Double]) -> [Double] {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && values[order[j + 1]] == values[order[i]] { j += 1 }
            let mid = Double(i + j) / 2 + 1
            for m in i...j { ranks[order[m]] = mid }
            i = j + 1
        }
        return ranks
    }

    /// Sizes of the groups of equal values (only groups larger than one).
    public static func tieSizes(_ values: [Double]) -> [Int] {
        var counts: [Double: Int] = [:]
        for v in values { counts[v, default: 0] += 1 }
        return counts.values.filter { $0 > 1 }.sorted()
    }
}
