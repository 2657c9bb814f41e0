// Losses: cross-entropy (class weights, label smoothing) and the L2 penalty.

extension Tensor {
    /// Mean cross-entropy of logits `[N, C]` against class indices `targets` (PyTorch `F.cross_entropy`).
    ///
    /// With class weights w and label smoothing ε (PyTorch's definition):
    /// `loss = (1 − ε) · Σ_i w[y_i]·(−log p_i[y_i]) / Σ_i w[y_i]  +  ε/C · Σ_i Σ_c w[c]·(−log p_i[c]) / Σ_i w[y_i]`
    /// (without weights, both denominators are N).
    public func crossEntropy(targets: [Int], classWeights: [Float]? = nil, labelSmoothing: Float = 0) throws -> Tensor {
        guard rank == 2, shape[0] == targets.count else {
            throw TensorError.shapeMismatch("crossEntropy: logits \(shape) vs \(targets.count) targets (expected [N, C])")
        }
        let n = shape[0], c = shape[1]
        guard labelSmoothing >= 0, labelSmoothing <= 1 else {
            throw TensorError.invalidArgument("crossEntropy: label smoothing must be in [0, 1], got \(labelSmoothing)")
        }
        if let classWeights, classWeights.count != c {
            throw TensorError.shapeMismatch("crossEntropy: \(classWeights.count) class weights for \(c) classes")
        }
        if let bad = targets.first(where: { $0 < 0 || $0 >= c }) {
            throw TensorError.invalidArgument("crossEntropy: target \(bad) outside 0..<\(c)")
        }
        let w = classWeights ?? [Float](repeating: 1, count: c)
        let denominator = classWeights == nil ? Double(n) : targets.reduce(0.0) { $0 + Double(w[$1]) }
        guard denominator > 0 else {
            throw TensorError.invalidArgument("crossEntropy: the targets' class weights sum to 0")
        }
        // loss = −Σ coefficient ⊙ log p, with the coefficients below (constants, not recorded).
        let coefficients = Tensor(shape: [n, c])
        let pc = coefficients.storage.pointer
        let eps = Double(labelSmoothing)
        for i in 0..<n {
            for j in 0..<c { pc[i * c + j] = Float(eps / Double(c) * Double(w[j]) / denominator) }
            pc[i * c + targets[i]] += Float((1 - eps) * Double(w[targets[i]]) / denominator)
        }
        return try logSoftmax().mul(coefficients).sum().scaled(by: -1)
    }

    /// `λ · Σ_t Σ t²` over the given tensors (Keras-style L2 regularisation; the gradient is 2λ·t).
    public static func l2Penalty(_ tensors: [Tensor], coefficient lambda: Float) throws -> Tensor {
        guard var total = tensors.first?.squared().sum() else { return Tensor(scalar: 0) }
        for t in tensors.dropFirst() { total = try total.add(t.squared().sum()) }
        return total.scaled(by: lambda)
    }
}
