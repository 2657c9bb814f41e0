import EmoPluginSDK
import EmoLayers
import EmoTensor
import EmoCore

/// An RBF-kernel head: fixed random Fourier features (Rahimi & Recht, *Random Features for Large-Scale Kernel
/// Machines*, NIPS 2007) followed by a trained `Linear` layer to the class logits, i.e. kernel logistic regression
/// with k(x, y) = exp(−γ‖x − y‖²) approximated by D features. It stands in for an RBF-SVM (scikit-learn `SVC`,
/// `gamma="scale"` on standardised inputs is γ = 1/C, this head's default) inside the host's gradient trainer:
/// softmax cross-entropy instead of the hinge loss, L2 on the output weights instead of the SVM's C.
///
/// Parameter names: `net.0.omega` `[D, C]` and `net.0.phase` `[D]` (saved buffers, never trained), `net.1.weight`,
/// `net.1.bias`.
public final class RandomFourierClassifier: Classifier, NetworkClassifier {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .classifier, id: "rbf-features", version: "1.0.0", displayName: "RBF kernel head (random Fourier features)",
        manifest: [
            "description": "Fixed random Fourier features z = √(2/D)·cos(x·Ωᵀ + b), Ω ~ N(0, 2γ), b ~ U[0, 2π) (an RBF kernel exp(−γ‖x−y‖²) approximated by D features), then a trained Linear layer to the class logits: kernel logistic regression, the gradient-trained stand-in for an RBF-SVM.",
            "inputs": [["name": "features", "modality": "any", "dims": ["B", "C"]]],
            "outputs": [["name": "logits", "modality": "scores", "dims": ["B", "Y"]]],
            "config": Config.schema,
        ])

    /// The settings.
    struct Config: ComponentConfig {
        var inputs = 64, classes = 7, features = 2048, gamma = 0.0, l2 = 0.0, seed = 0
        static var fields: [ConfigField<Config>] {
            [.int("inputs", \.inputs, in: 1...1_048_576, "C, input width"),
             .int("classes", \.classes, in: 2...100_000, "Y, number of classes"),
             .int("features", \.features, in: 1...1_048_576, "D, random Fourier features"),
             .number("gamma", \.gamma, in: 0...1e6, "RBF γ in exp(−γ‖x−y‖²); 0 means 1/C (scikit-learn's gamma='scale' on standardised inputs)"),
             .number("l2", \.l2, in: 0...1e3, "L2 coefficient on the output weight (the host adds l2·w to the gradient)"),
             .int("seed", \.seed, in: 0...Int.max, "seed of the random features and the output layer's initialisation")]
        }
    }

    /// The network and its calling convention (`NetworkClassifier` forwards the component calls to it).
    public let runner: NetworkRunner
    private let d: Int, k: Int, features: Int, gamma: Double, l2: Float

    /// Builds the feature map and the output layer from `config`.
    public init(config: JSONValue) throws {
        let c = try Config.read(config, component: Self.componentInfo.id)
        d = c.inputs
        k = c.classes
        features = c.features
        gamma = c.gamma > 0 ? c.gamma : 1 / Double(c.inputs)
        l2 = Float(c.l2)
        var generator = SeededGenerator(seed: ComponentSeed.mix(c.seed, component: Self.componentInfo.id))
        let map = RandomFourierLayer(d, features, gamma: gamma, generator: &generator)
        let head = LinearLayer(features, k, l2: l2, generator: &generator)
        runner = NetworkRunner(Sequential([map, head], inFeatures: d, prefix: "net"), component: Self.componentInfo.id)
    }

    /// Resolved config (γ resolved) and the logits width.
    public var resolvedDescription: JSONValue {
        ["config": ["inputs": .number(Double(d)), "classes": .number(Double(k)), "features": .number(Double(features)),
                    "gamma": .number(gamma), "l2": .number(Double(l2))],
         "outputs": [["name": "logits", "dims": ["B", .number(Double(k))]]]]
    }
}

/// z `[B, D]` = √(2/D) · cos(x `[B, C]` · Ωᵀ + b) with Ω `[D, C]` ~ N(0, 2γ) and b `[D]` ~ U[0, 2π), so that
/// E[z(x)·z(y)] = exp(−γ‖x − y‖²). Ω and b are saved buffers (fixed after construction, never trained); backward
/// gives dx = (dy ⊙ −√(2/D)·sin(x·Ωᵀ + b)) · Ω.
public final class RandomFourierLayer: Layer {
    /// C.
    public let inFeatures: Int
    /// D.
    public let outFeatures: Int
    /// Ω `[D, C]`.
    public let omega: ParameterStorage
    /// b `[D]`.
    public let phase: ParameterStorage
    private let scale: Float
    private let argument = FloatBuffer()  // [B, D]: x·Ωᵀ + b, kept for backward
    private let output = FloatBuffer()  // [B, D]
    private let slope = FloatBuffer()  // [B, D]: dy ⊙ dz/du
    private let inputGrad = FloatBuffer()  // [B, C]
    private var lastBatch = 0

    /// Draws Ω (row by row) then b from `generator`.
    public init(_ inFeatures: Int, _ outFeatures: Int, gamma: Double, generator: inout SeededGenerator) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        omega = ParameterStorage("omega", shape: [outFeatures, inFeatures], isBuffer: true)
        phase = ParameterStorage("phase", shape: [outFeatures], isBuffer: true)
        scale = Float((2 / Double(outFeatures)).squareRoot())
        let sd = Float((2 * gamma).squareRoot())
        omega.fill { _ in generator.nextNormal() * sd }
        phase.fill { _ in generator.nextUniform() * 2 * Float.pi }
    }

    /// Ω then b (both buffers).
    public var parameters: [ParameterStorage] { [omega, phase] }

    /// z = √(2/D)·cos(x·Ωᵀ + b) (one sgemm, then the cosine).
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) throws -> UnsafePointer<Float> {
        let n = batch * outFeatures
        let u = argument.reserve(n)
        Kernels.linear(x: x, rows: batch, inFeatures: inFeatures, weight: omega.value, bias: phase.value,
                       outFeatures: outFeatures, y: u)
        let z = output.reserve(n)
        for i in 0..<n { z[i] = scale * Float(_cosine(Double(u[i]))) }
        lastBatch = batch
        return UnsafePointer(z)
    }

    /// dx `[B, C]` = (dy ⊙ −√(2/D)·sin u) · Ω; Ω and b get no gradient.
    public func backward(_ dy: UnsafePointer<Float>, batch: Int) throws -> UnsafePointer<Float> {
        guard batch == lastBatch else {
            throw ComponentError.invalidInput(component: "random-fourier", message: "backward of a \(batch)-row batch without a matching forward")
        }
        let n = batch * outFeatures
        let u = argument.pointer
        let g = slope.reserve(n)
        for i in 0..<n { g[i] = -scale * Float(_sine(Double(u[i]))) * dy[i] }
        let dx = inputGrad.reserve(batch * inFeatures)
        Kernels.sgemm(m: batch, n: inFeatures, k: outFeatures, a: g, lda: outFeatures,
                      b: omega.value, ldb: inFeatures, beta: 0, c: dx, ldc: inFeatures)
        return UnsafePointer(dx)
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) private func _cosine(_ x: Double) -> Double { Glibc.cos(x) }
@inline(__always) private func _sine(_ x: Double) -> Double { Glibc.sin(x) }
#else
import Foundation
@inline(__always) private func _cosine(_ x: Double) -> Double { Foundation.cos(x) }
@inline(__always) private func _sine(_ x: Double) -> Double { Foundation.sin(x) }
#endif
