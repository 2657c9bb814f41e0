import EmoCore
import EmoPluginSDK
import Foundation

/// A minimal trainable Classifier: logits = x · Wᵀ + b, with hand-written backward. Copy this file to start a
/// new fusion or classifier; real ones use EmoTensor's layers instead of loops.
///
/// Input `[.array([B, C])]` → output `[.array([B, Y])]`. Parameters `weight` [Y, C] and `bias` [Y] live in
/// memory this instance allocates once, so the host's optimiser can update them in place through the ABI.
public final class TemplateLinear: Classifier {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .classifier, id: "template-linear", version: "1.0.0", displayName: "Template: linear classifier",
        manifest: [
            "description": "Multinomial logistic regression head (a copy-and-rename example of a trainable component).",
            "inputs": [["name": "features", "modality": "any", "dims": ["B", "C"]]],
            "outputs": [["name": "logits", "modality": "scores", "dims": ["B", "Y"]]],
            "config": Config.schema,
        ])

    /// The settings: each key declared once (name, default, range, description); the manifest's schema and the
    /// reading both come from this.
    struct Config: ComponentConfig {
        var inputs = 4, classes = 7, seed = 0, l2 = 0.0
        static var fields: [ConfigField<Config>] {
            [.int("inputs", \.inputs, in: 1...1_048_576, "C, input width"),
             .int("classes", \.classes, in: 2...100_000, "Y, number of classes"),
             .int("seed", \.seed, in: 0...Int.max, "initialisation seed"),
             .number("l2", \.l2, in: 0...1e6, "L2 coefficient the host applies to weight")]
        }
    }

    private let d: Int
    private let k: Int
    private let l2: Float
    private let weight: UnsafeMutablePointer<Float>  // [Y, C]
    private let weightGrad: UnsafeMutablePointer<Float>
    private let bias: UnsafeMutablePointer<Float>  // [Y]
    private let biasGrad: UnsafeMutablePointer<Float>
    private var lastInput: NDArray?  // [B, C], kept for backward

    /// Creates the head with weights uniform in ±1/√C (PyTorch's nn.Linear rule), seeded.
    public init(config: JSONValue) throws {
        // Unknown keys, wrong types and out-of-range values are refused here, naming the key.
        let c = try Config.read(config, component: Self.componentInfo.id)
        let d = c.inputs, k = c.classes
        self.d = d
        self.k = k
        self.l2 = Float(c.l2)
        weight = .allocate(capacity: k * d)
        weightGrad = .allocate(capacity: k * d)
        bias = .allocate(capacity: k)
        biasGrad = .allocate(capacity: k)
        weightGrad.initialize(repeating: 0, count: k * d)
        biasGrad.initialize(repeating: 0, count: k)
        var state = UInt64(c.seed) &+ 0x9E37_79B9_7F4A_7C15
        let bound = 1 / Float(d).squareRoot()
        func next() -> Float {  // SplitMix64 → uniform in [-bound, bound)
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return (Float(z >> 40) / Float(1 << 24) * 2 - 1) * bound
        }
        for i in 0..<(k * d) { (weight + i).initialize(to: next()) }
        for i in 0..<k { (bias + i).initialize(to: next()) }
    }

    deinit {
        weight.deallocate()
        weightGrad.deallocate()
        bias.deallocate()
        biasGrad.deallocate()
    }

    /// The resolved config and output width.
    public var resolvedDescription: JSONValue {
        ["config": ["inputs": .number(Double(d)), "classes": .number(Double(k)), "l2": .number(Double(l2))],
         "outputs": [["name": "logits", "dims": ["B", .number(Double(k))]]]]
    }

    /// logits[b, j] = Σ_i x[b, i] W[j, i] + bias[j].
    public func forward(_ inputs: [Value]) throws -> [Value] {
        guard inputs.count == 1, let x = inputs[0].array, x.rank == 2, x.shape[1] == d else {
            throw ComponentError.invalidInput(component: Self.componentInfo.id, message: "expected one [B, \(d)] float array")
        }
        let b = x.shape[0]
        var y = NDArray(zeros: [b, k])
        for r in 0..<b {
            for j in 0..<k {
                var s = bias[j]
                for i in 0..<d { s += x.data[r * d + i] * weight[j * d + i] }
                y.data[r * k + j] = s
            }
        }
        lastInput = x
        return [.array(y)]
    }

    /// dW += gᵀx, db += Σ_b g, dx = g W.
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        guard let x = lastInput, gradOutputs.count == 1, gradOutputs[0].shape == [x.shape[0], k] else {
            throw ComponentError.invalidInput(component: Self.componentInfo.id, message: "backward needs one [B, \(k)] gradient after a forward")
        }
        let g = gradOutputs[0]
        let b = x.shape[0]
        var dx = NDArray(zeros: [b, d])
        for r in 0..<b {
            for j in 0..<k {
                let gj = g.data[r * k + j]
                biasGrad[j] += gj
                for i in 0..<d {
                    weightGrad[j * d + i] += gj * x.data[r * d + i]
                    dx.data[r * d + i] += gj * weight[j * d + i]
                }
            }
        }
        return [dx]
    }

    /// `weight` [Y, C] (with the configured L2) and `bias` [Y].
    public var parameters: [ParameterBuffer] {
        [ParameterBuffer(name: "weight", shape: [k, d], value: weight, grad: weightGrad, weightDecay: l2),
         ParameterBuffer(name: "bias", shape: [k], value: bias, grad: biasGrad)]
    }

    /// No dropout or batch statistics: nothing to switch.
    public func setTraining(_ training: Bool) {}

    /// Weights then bias as little-endian Float32.
    public func saveState() throws -> [UInt8] {
        var out: [UInt8] = []
        for p in parameters {
            out.append(contentsOf: UnsafeRawBufferPointer(start: UnsafeRawPointer(p.value), count: p.count * 4))
        }
        return out
    }

    /// Restores what `saveState` wrote; the byte count must match this config.
    public func loadState(_ bytes: [UInt8]) throws {
        let expected = (k * d + k) * 4
        guard bytes.count == expected else {
            throw ComponentError.invalidInput(component: Self.componentInfo.id,
                                              message: "state has \(bytes.count) bytes, this config needs \(expected) (was it saved with other inputs/classes?)")
        }
        bytes.withUnsafeBytes { raw in
            var offset = 0
            for p in parameters {
                for i in 0..<p.count { p.value[i] = raw.loadUnaligned(fromByteOffset: offset + i * 4, as: Float.self) }
                offset += p.count * 4
            }
        }
    }
}
