import EmoCore
import EmoTensor

/// Fully connected layer `y = x · Wᵀ + b` with PyTorch's `nn.Linear` layout and default initialisation.
///
/// Parameters: `weight` `[Cout, Cin]` (carries the configured L2), `bias` `[Cout]`.
public final class LinearLayer: Layer {
    /// Cin.
    public let inFeatures: Int
    /// Cout.
    public let outFeatures: Int
    /// `[Cout, Cin]`.
    public let weight: ParameterStorage
    /// `[Cout]`.
    public let bias: ParameterStorage
    private let output = FloatBuffer()  // [B, Cout]
    private let inputGrad = FloatBuffer()  // [B, Cin]
    private var input: UnsafePointer<Float>?  // [B, Cin], borrowed from the caller until backward
    private var lastBatch = 0

    /// Creates the layer with weights and bias uniform in ±1/√C (what `nn.Linear.reset_parameters` draws),
    /// taken from `generator` (weight first, row by row, then bias).
    public init(_ inFeatures: Int, _ outFeatures: Int, l2: Float = 0, generator: inout SeededGenerator) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = ParameterStorage("weight", shape: [outFeatures, inFeatures], weightDecay: l2)
        bias = ParameterStorage("bias", shape: [outFeatures])
        let bound = 1 / Float(inFeatures).squareRoot()
        weight.fill { _ in (generator.nextUniform() * 2 - 1) * bound }
        bias.fill { _ in (generator.nextUniform() * 2 - 1) * bound }
    }

    /// `weight` then `bias`.
    public var parameters: [ParameterStorage] { [weight, bias] }

    /// y `[B, Cout]` = x `[B, Cin]` · Wᵀ + b (one sgemm).
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) throws -> UnsafePointer<Float> {
        let y = output.reserve(batch * outFeatures)
        Kernels.linear(x: x, rows: batch, inFeatures: inFeatures, weight: weight.value, bias: bias.value,
                       outFeatures: outFeatures, y: y)
        input = x
        lastBatch = batch
        return UnsafePointer(y)
    }

    /// dW += dyᵀ · x, db += Σ_rows dy, dx = dy · W.
    public func backward(_ dy: UnsafePointer<Float>, batch: Int) throws -> UnsafePointer<Float> {
        guard let x = input, batch == lastBatch else {
            throw ComponentError.invalidInput(component: "linear", message: "backward of a \(batch)-row batch without a matching forward")
        }
        // dW [Cout, Cin] += dyᵀ [Cout, B] · x [B, Cin]
        Kernels.sgemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: batch,
                      a: dy, lda: outFeatures, b: x, ldb: inFeatures, beta: 1, c: weight.grad, ldc: inFeatures)
        let db = bias.grad
        for r in 0..<batch {
            let row = dy + r * outFeatures
            for o in 0..<outFeatures { db[o] += row[o] }
        }
        // dx [B, Cin] = dy [B, Cout] · W [Cout, Cin]
        let dx = inputGrad.reserve(batch * inFeatures)
        Kernels.sgemm(m: batch, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures,
                      b: weight.value, ldb: inFeatures, beta: 0, c: dx, ldc: inFeatures)
        return UnsafePointer(dx)
    }
}
