import EmoPluginSDK
import EmoLayers
import EmoCore
import EmoTensor

/// Attention fusion: each group is projected to a shared width d (`h_g = tanh(x_g · W_gᵀ + b_g)`), scored
/// against a learned query vector (`s_g = h_g · v`), and the groups are averaged with softmax weights over the
/// modalities: `z = Σ_g α_g h_g`, `α = softmax_g(s)`.
///
/// Outputs: `[B, d]` fused, then `[B, G]` attention weights per sample (what the report plots). Backward
/// accepts d fused alone or d fused plus d weights. Parameters: `projections.<g>.0.weight` `[d, C_g]`,
/// `projections.<g>.0.bias` `[d]`, `query` `[d]`.
public final class AttentionFusion: Fusion {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .fusion, id: "attention", version: "1.0.0", displayName: "Attention fusion over modalities",
        manifest: [
            "description": "Per-group tanh projections to a shared width, softmax attention over the groups, weighted sum; the weights are a second output.",
            "inputs": [["name": "groups", "modality": "any", "dims": ["B", "C_g"], "repeated": true]],
            "outputs": [["name": "fused", "modality": "any", "dims": ["B", "Cout"]],
                        ["name": "attention", "modality": "weights", "dims": ["B", "G"]]],
            "config": Config.schema,
        ])

    /// The settings.
    struct Config: ComponentConfig {
        var inputs = [64, 64], dim = 128, l2 = 0.0, seed = 0
        static var fields: [ConfigField<Config>] {
            [FusionSupport.inputs(\.inputs),
             .int("dim", \.dim, in: 1...65_536, "d, the shared projection width"),
             .number("l2", \.l2, in: 0...1e3, "L2 coefficient on the projection weights"),
             FusionSupport.seed(\.seed, "initialisation seed (projection g uses seed + g)")]
        }
    }

    private let widths: [Int]
    private let dim: Int
    private let l2: Float
    private let projections: [Sequential]
    private let query: ParameterStorage  // v [d]
    private let hidden: [FloatBuffer]  // h_g [B, d] per group
    private let weights = FloatBuffer()  // α [B, G]
    private let storage: [ParameterStorage]
    private var training = false
    private var lastBatch = 0

    /// Builds the projections and the query vector (uniform in ±1/√d).
    public init(config: JSONValue) throws {
        let c = try Config.read(config, component: Self.componentInfo.id)
        widths = c.inputs
        dim = c.dim
        l2 = Float(c.l2)
        let seed = ComponentSeed.mix(c.seed, component: Self.componentInfo.id)
        let (d, decay) = (dim, l2)
        projections = widths.enumerated().map { g, w in
            var gen = SeededGenerator(seed: seed &+ UInt64(g))
            return Sequential([LinearLayer(w, d, l2: decay, generator: &gen), ActivationLayer(.tanh, features: d)],
                              inFeatures: w, prefix: "projections.\(g)")
        }
        query = ParameterStorage("query", shape: [dim])
        var gen = SeededGenerator(seed: seed &+ UInt64(widths.count))
        let bound = 1 / Float(dim).squareRoot()
        query.fill { _ in (gen.nextUniform() * 2 - 1) * bound }
        hidden = widths.map { _ in FloatBuffer() }
        storage = projections.flatMap(\.parameters) + [query]
    }

    /// Resolved config and both output widths.
    public var resolvedDescription: JSONValue {
        ["config": ["inputs": .array(widths.map { .number(Double($0)) }), "dim": .number(Double(dim)), "l2": .number(Double(l2))],
         "outputs": [["name": "fused", "dims": ["B", .number(Double(dim))]],
                     ["name": "attention", "dims": ["B", .number(Double(widths.count))]]]]
    }

    /// G × `[B, C_g]` → `[B, d]` fused and `[B, G]` weights.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        let id = Self.componentInfo.id
        let groups = try GroupInputs(inputs, widths: widths, component: id)
        let b = groups.batch, gCount = widths.count, d = dim
        var fused = NDArray(zeros: [b, d])
        var alpha = NDArray(zeros: [b, gCount])
        guard b > 0 else { return [.array(fused), .array(alpha)] }
        for (g, proj) in projections.enumerated() {
            let y = try groups.arrays[g].data.withUnsafeBufferPointer { p in
                try proj.forward(try base(p, id), batch: b, training: training)
            }
            hidden[g].reserve(b * d).update(from: y, count: b * d)
        }
        let a = weights.reserve(b * gCount)
        let v = query.value
        for r in 0..<b {
            var scores = [Float](repeating: 0, count: gCount)
            for g in 0..<gCount {
                let h = hidden[g].pointer + r * d
                var s: Float = 0
                for j in 0..<d { s += h[j] * v[j] }
                scores[g] = s
            }
            let m = scores.max() ?? 0
            var total: Float = 0
            for g in 0..<gCount { scores[g] = Float(expf(scores[g] - m)); total += scores[g] }
            for g in 0..<gCount { a[r * gCount + g] = scores[g] / total }
        }
        fused.data.withUnsafeMutableBufferPointer { z in
            alpha.data.withUnsafeMutableBufferPointer { al in
                for r in 0..<b {
                    for g in 0..<gCount {
                        let w = a[r * gCount + g]
                        al[r * gCount + g] = w
                        let h = hidden[g].pointer + r * d
                        for j in 0..<d { z[r * d + j] += w * h[j] }
                    }
                }
            }
        }
        lastBatch = b
        return [.array(fused), .array(alpha)]
    }

    /// dα = dz·h_g (+ d weights), ds = α ⊙ (dα − Σα·dα), dh_g = α_g dz + ds_g v, dv += Σ ds_g h_g, then each
    /// projection's backward.
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        let id = Self.componentInfo.id
        let b = lastBatch, gCount = widths.count, d = dim
        let dz = try FusionSupport.gradient(gradOutputs, rows: b, width: d, component: id, allowSecond: true)
        var dAlphaExternal: NDArray?
        if gradOutputs.count == 2 {
            guard gradOutputs[1].shape == [b, gCount] else {
                throw ComponentError.invalidInput(component: id, message: "the attention-weight gradient must be [\(b), \(gCount)], got \(gradOutputs[1].shape)")
            }
            dAlphaExternal = gradOutputs[1]
        }
        guard b > 0 else { return widths.map { NDArray(zeros: [0, $0]) } }
        let a = weights.pointer, v = query.value, dv = query.grad
        var dHidden = widths.map { _ in NDArray(zeros: [b, d]) }
        for r in 0..<b {
            let dzr = Array(dz.data[(r * d)..<((r + 1) * d)])
            var dAlpha = [Float](repeating: 0, count: gCount)
            for g in 0..<gCount {
                let h = hidden[g].pointer + r * d
                var s: Float = dAlphaExternal?.data[r * gCount + g] ?? 0
                for j in 0..<d { s += dzr[j] * h[j] }
                dAlpha[g] = s
            }
            var mean: Float = 0
            for g in 0..<gCount { mean += a[r * gCount + g] * dAlpha[g] }
            for g in 0..<gCount {
                let alpha = a[r * gCount + g]
                let ds = alpha * (dAlpha[g] - mean)
                let h = hidden[g].pointer + r * d
                for j in 0..<d {
                    dHidden[g].data[r * d + j] = alpha * dzr[j] + ds * v[j]
                    dv[j] += ds * h[j]
                }
            }
        }
        return try projections.enumerated().map { g, proj in try proj.backward(dHidden[g], component: id) }
    }

    /// Each projection's weight and bias (group order), then `query`.
    public var parameters: [ParameterBuffer] { storage.map(\.buffer) }
    /// No dropout or batch statistics; kept for the protocol.
    public func setTraining(_ training: Bool) { self.training = training }
    /// Every tensor by name.
    public func saveState() throws -> [UInt8] { ParameterState.encode(storage) }
    /// Restores `saveState`'s bytes.
    public func loadState(_ bytes: [UInt8]) throws { try ParameterState.decode(bytes, into: storage, component: Self.componentInfo.id) }
}

#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif
