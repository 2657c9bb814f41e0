import EmoCore
import Foundation

/// Softmax cross-entropy with label smoothing and class weights, with torch.nn.CrossEntropyLoss's mean
/// reduction:
///
///     L = (1 − ε) · Σ_i w_{y_i} · (−log p_{i,y_i}) / W  +  (ε / K) · Σ_i Σ_k w_k · (−log p_{i,k}) / W,
///     W = Σ_i w_{y_i}
///
/// and its gradient with respect to the logits, dL/dz_{i,k} = p_{i,k} · Σ_j a_{i,j} − a_{i,k}, where
/// a_{i,k} = ((1 − ε) · w_{y_i} · 1[k = y_i] + (ε / K) · w_k) / W.
public struct CrossEntropy: Sendable {
    /// ε in [0, 1).
    public var labelSmoothing: Float
    /// One weight per class, or nil for all 1.
    public var classWeights: [Float]?

    /// Creates the loss.
    public init(labelSmoothing: Float = 0, classWeights: [Float]? = nil) {
        self.labelSmoothing = labelSmoothing
        self.classWeights = classWeights
    }

    /// Loss, gradient `[B, K]` and the number of rows whose arg-max is the label.
    public func evaluate(logits: NDArray, labels: [Int]) -> (loss: Double, gradient: NDArray, correct: Int) {
        let b = logits.shape[0], k = logits.shape[1]
        var grad = NDArray(zeros: [b, k])
        let eps = Double(labelSmoothing)
        let w = classWeights.map { $0.map(Double.init) } ?? [Double](repeating: 1, count: k)
        var total = 0.0
        for i in 0..<b { total += w[labels[i]] }
        guard b > 0, total > 0 else { return (0, grad, 0) }
        var loss = 0.0
        var correct = 0
        var logp = [Double](repeating: 0, count: k)
        for i in 0..<b {
            let row = Array(logits.data[(i * k)..<((i + 1) * k)])
            var best = 0
            for j in 1..<k where row[j] > row[best] { best = j }
            if best == labels[i] { correct += 1 }
            let m = Double(row[best])
            var sum = 0.0
            for j in 0..<k { sum += exp(Double(row[j]) - m) }
            let lse = m + log(sum)
            for j in 0..<k { logp[j] = Double(row[j]) - lse }
            let y = labels[i]
            var aSum = 0.0
            var a = [Double](repeating: 0, count: k)
            for j in 0..<k {
                a[j] = ((j == y ? (1 - eps) * w[y] : 0) + eps / Double(k) * w[j]) / total
                aSum += a[j]
                loss -= a[j] * logp[j]
            }
            for j in 0..<k { grad.data[i * k + j] = Float(exp(logp[j]) * aSum - a[j]) }
        }
        return (loss, grad, correct)
    }

    /// scikit-learn's `compute_class_weight("balanced")`, n / (K · n_c): EmoKit's one balanced-weights rule
    /// (the trainer and `TrainingConfig.ClassWeights.resolved` both use it). A class without rows gets 1: it
    /// contributes no loss term anyway (scikit-learn refuses such input instead).
    public static func balancedWeights(classCounts: [Int]) -> [Double] {
        let n = classCounts.reduce(0, +), k = classCounts.count
        return classCounts.map { $0 == 0 ? 1 : Double(n) / (Double(k) * Double($0)) }
    }
}
