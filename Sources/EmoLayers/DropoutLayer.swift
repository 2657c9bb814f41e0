import EmoCore
import EmoTensor

/// Inverted dropout (PyTorch `nn.Dropout`): in training each element is zeroed with probability `p` and the
/// survivors scaled by 1/(1 − p); in evaluation it is the identity. Masks come from a seeded generator, so a
/// run with the same seed drops the same elements.
public final class DropoutLayer: Layer {
    /// Drop probability in [0, 1).
    public let p: Float
    /// C.
    public let inFeatures: Int
    /// C.
    public var outFeatures: Int { inFeatures }
    private var generator: SeededGenerator
    private let output = FloatBuffer()  // [B, C]
    private let mask = FloatBuffer()  // [B, C]: 0 or 1/(1 − p)
    private let inputGrad = FloatBuffer()  // [B, C]
    private var lastBatch = 0
    private var lastTraining = false

    /// Creates dropout with its own mask generator.
    public init(_ p: Float, features: Int, seed: UInt64) {
        self.p = p
        inFeatures = features
        generator = SeededGenerator(seed: seed)
    }

    /// No parameters.
    public var parameters: [ParameterStorage] { [] }

    /// The mask generator's state.
    public var randomState: [UInt64] {
        get { generator.state }
        set { generator.state = newValue }
    }

    /// y = x · mask (training, p > 0) or y = x.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) throws -> UnsafePointer<Float> {
        lastBatch = batch
        lastTraining = training && p > 0
        guard lastTraining else { return x }
        let n = batch * inFeatures
        let m = mask.reserve(n), y = output.reserve(n)
        let keep = 1 / (1 - p)
        for i in 0..<n { m[i] = generator.nextUniform() < p ? 0 : keep }
        for i in 0..<n { y[i] = x[i] * m[i] }
        return UnsafePointer(y)
    }

    /// dx = dy · mask (training) or dy.
    public func backward(_ dy: UnsafePointer<Float>, batch: Int) throws -> UnsafePointer<Float> {
        guard batch == lastBatch else {
            throw ComponentError.invalidInput(component: "dropout", message: "backward of a \(batch)-row batch without a matching forward")
        }
        guard lastTraining else { return dy }
        let n = batch * inFeatures
        let m = mask.pointer, dx = inputGrad.reserve(n)
        for i in 0..<n { dx[i] = dy[i] * m[i] }
        return UnsafePointer(dx)
    }
}
