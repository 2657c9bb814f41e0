/// Precision, recall, F1 and support of one class.
public struct ClassMetrics: Sendable, Equatable, Codable {
    /// Class name.
    public var label: String
    /// TP / (TP + FP); 0 when nothing was predicted as this class (scikit-learn's `zero_division` default).
    public var precision: Double
    /// TP / (TP + FN); 0 when the class has no true samples.
    public var recall: Double
    /// Harmonic mean of precision and recall; 0 when both are 0.
    public var f1: Double
    /// Number of true samples of this class.
    public var support: Int
    /// One-vs-rest ROC AUC of this class' score, nil without scores or when the class is absent or alone.
    public var auc: Double?
}

/// Every classification metric of one evaluation, computed the way scikit-learn 1.x does with `labels=range(K)`.
public struct ClassificationMetrics: Sendable, Equatable, Codable {
    /// Class names, index = class id.
    public var classes: [String]
    /// Number of samples.
    public var count: Int
    /// Fraction of correct predictions.
    public var accuracy: Double
    /// Mean recall over classes that have true samples (`balanced_accuracy_score`).
    public var balancedAccuracy: Double
    /// Unweighted mean F1 over all `K` classes.
    public var macroF1: Double
    /// Support-weighted mean F1.
    public var weightedF1: Double
    /// Unweighted mean precision and recall over all `K` classes.
    public var macroPrecision: Double, macroRecall: Double
    /// Per-class figures, in class order.
    public var perClass: [ClassMetrics]
    /// `confusion[t][p]`: samples of true class `t` predicted as `p` (rows true, columns predicted).
    public var confusion: [[Int]]
    /// Unweighted mean of the per-class one-vs-rest AUCs (`roc_auc_score(multi_class="ovr", average="macro")`),
    /// nil without scores or when some class has no true sample.
    public var macroAUC: Double?
    /// Prevalence-weighted mean of the per-class AUCs (`average="weighted"`), nil when `macroAUC` is.
    public var weightedAUC: Double?

    /// Unweighted mean of the per-class F1 over all `classes` (a class absent from both lists scores 0), the
    /// `macroF1` of `compute`; ids outside `0..<classes` are ignored.
    public static func macroF1(truth: [Int], predicted: [Int], classes k: Int) -> Double {
        guard k > 0 else { return 0 }
        var tp = [Int](repeating: 0, count: k), fp = tp, fn = tp
        for (t, p) in zip(truth, predicted) where (0..<k).contains(t) && (0..<k).contains(p) {
            if t == p { tp[t] += 1 } else { fp[p] += 1; fn[t] += 1 }
        }
        var sum = 0.0
        for c in 0..<k where tp[c] > 0 {
            let precision = Double(tp[c]) / Double(tp[c] + fp[c]), recall = Double(tp[c]) / Double(tp[c] + fn[c])
            sum += 2 * precision * recall / (precision + recall)
        }
        return sum / Double(k)
    }

    /// Computes all metrics. `truth` and `predicted` hold class ids in `0..<classes.count`; `scores`, if given,
    /// holds one row of `K` scores (probabilities or logits) per sample for the AUCs.
    public static func compute(truth: [Int], predicted: [Int], classes: [String],
                               scores: [[Double]]? = nil) throws(MetricsError) -> ClassificationMetrics {
        let k = classes.count, n = truth.count
        guard n > 0 else { throw .empty("the truth list") }
        guard predicted.count == n else { throw .lengthMismatch(what: "predicted", expected: n, got: predicted.count) }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        for (t, p) in zip(truth, predicted) {
            guard (0..<k).contains(t) else { throw .classOutOfRange(index: t, classes: k) }
            guard (0..<k).contains(p) else { throw .classOutOfRange(index: p, classes: k) }
            confusion[t][p] += 1
        }
        var aucs = [Double?](repeating: nil, count: k)
        if let s = scores {
            guard s.count == n else { throw .lengthMismatch(what: "scores", expected: n, got: s.count) }
            for (i, row) in s.enumerated() where row.count != k {
                throw .lengthMismatch(what: "scores row \(i)", expected: k, got: row.count)
            }
            for c in 0..<k { aucs[c] = ROCAUC.binary(positive: truth.map { $0 == c }, scores: s.map { $0[c] }) }
        }
        var perClass: [ClassMetrics] = []
        for c in 0..<k {
            let tp = confusion[c][c]
            let support = confusion[c].reduce(0, +)
            let predictedCount = (0..<k).reduce(0) { $0 + confusion[$1][c] }
            let precision = predictedCount > 0 ? Double(tp) / Double(predictedCount) : 0
            let recall = support > 0 ? Double(tp) / Double(support) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            perClass.append(ClassMetrics(label: classes[c], precision: precision, recall: recall, f1: f1,
                                         support: support, auc: aucs[c]))
        }
        let correct = (0..<k).reduce(0) { $0 + confusion[$1][$1] }
        let present = perClass.filter { $0.support > 0 }
        let kd = Double(max(k, 1))
        var macroAUC: Double?, weightedAUC: Double?
        if scores != nil, aucs.allSatisfy({ $0 != nil }) {
            let a = aucs.compactMap { $0 }
            macroAUC = a.reduce(0, +) / kd
            weightedAUC = zip(a, perClass).reduce(0) { $0 + $1.0 * Double($1.1.support) } / Double(n)
        }
        return ClassificationMetrics(
            classes: classes, count: n,
            accuracy: Double(correct) / Double(n),
            balancedAccuracy: present.reduce(0) { $0 + $1.recall } / Double(max(present.count, 1)),
            macroF1: perClass.reduce(0) { $0 + $1.f1 } / kd,
            weightedF1: perClass.reduce(0) { $0 + $1.f1 * Double($1.support) } / Double(n),
            macroPrecision: perClass.reduce(0) { $0 + $1.precision } / kd,
            macroRecall: perClass.reduce(0) { $0 + $1.recall } / kd,
            perClass: perClass, confusion: confusion, macroAUC: macroAUC, weightedAUC: weightedAUC)
    }
}
