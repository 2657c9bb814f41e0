import EmoPluginSDK
import EmoLayers
import EmoCore
import EmoTensor

/// Projection fusion (Study B's design): each group is linearly projected to a shared width d (128/256/512),
/// optionally through an activation, the projections are concatenated to `[B, G·d]`, and dropout is applied.
///
/// Parameter names: `projections.<g>.0.weight` `[d, C_g]`, `projections.<g>.0.bias` `[d]`.
public final class ProjectionFusion: Fusion {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .fusion, id: "projection", version: "1.0.0", displayName: "Shared-space projection fusion",
        manifest: [
            "description": "Each group linearly projected to a shared width d, concatenated, dropout.",
            "inputs": [["name": "groups", "modality": "any", "dims": ["B", "C_g"], "repeated": true]],
            "outputs": [["name": "fused", "modality": "any", "dims": ["B", "Cout"]]],
            "config": Config.schema,
        ])

    /// What follows each projection.
    enum Activation: String, CaseIterable { case none, relu, tanh }

    /// The settings.
    struct Config: ComponentConfig {
        var inputs = [64, 64], dim = 256, activation = Activation.none, dropout = 0.1, l2 = 0.0, seed = 0
        static var fields: [ConfigField<Config>] {
            [FusionSupport.inputs(\.inputs),
             .int("dim", \.dim, in: 1...65_536, "d, the shared projection width (Study B: 128/256/512)"),
             .choice("activation", \.activation, "after each projection: none, relu or tanh"),
             .number("dropout", \.dropout, in: 0...0.99, "dropout on the concatenation"),
             .number("l2", \.l2, in: 0...1e3, "L2 coefficient on the projection weights"),
             FusionSupport.seed(\.seed, "initialisation and dropout seed (projection g uses seed + g)")]
        }
    }

    private let widths: [Int]
    private let dim: Int
    private let activation: String
    private let dropoutP: Float
    private let l2: Float
    private let projections: BranchConcat  // G × [B, C_g] → [B, G·d]
    private let dropout: DropoutLayer
    private let storage: [ParameterStorage]
    private var training = false
    private var lastBatch = 0

    /// Builds the projections and the dropout layer.
    public init(config: JSONValue) throws {
        let c = try Config.read(config, component: Self.componentInfo.id)
        widths = c.inputs
        dim = c.dim
        activation = c.activation.rawValue
        dropoutP = Float(c.dropout)
        l2 = Float(c.l2)
        let seed = ComponentSeed.mix(c.seed, component: Self.componentInfo.id)
        let kind = ActivationLayer.Kind(rawValue: activation)
        projections = BranchConcat(widths.enumerated().map { [dim, l2] g, w in
            var gen = SeededGenerator(seed: seed &+ UInt64(g))
            var layers: [Layer] = [LinearLayer(w, dim, l2: l2, generator: &gen)]
            if let kind { layers.append(ActivationLayer(kind, features: dim)) }
            return Sequential(layers, inFeatures: w, prefix: "projections.\(g)")
        })
        dropout = DropoutLayer(dropoutP, features: widths.count * dim, seed: seed &+ 0x5EED)
        storage = projections.parameters
    }

    private var outWidth: Int { widths.count * dim }

    /// Resolved config and the fused width.
    public var resolvedDescription: JSONValue {
        ["config": ["inputs": .array(widths.map { .number(Double($0)) }), "dim": .number(Double(dim)),
                    "activation": .string(activation), "dropout": .number(Double(dropoutP)), "l2": .number(Double(l2))],
         "outputs": [["name": "fused", "dims": ["B", .number(Double(outWidth))]]]]
    }

    /// G × `[B, C_g]` → G × `[B, d]` → concatenation `[B, G·d]` → dropout.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        let id = Self.componentInfo.id
        let groups = try GroupInputs(inputs, widths: widths, component: id)
        let b = groups.batch
        var out = NDArray(zeros: [b, outWidth])
        guard b > 0 else { return [.array(out)] }
        let cat = try projections.forward(groups, training: training, component: id)
        let y = try dropout.forward(cat, batch: b, training: training)
        out.data.withUnsafeMutableBufferPointer { $0.baseAddress?.update(from: y, count: b * outWidth) }
        lastBatch = b
        return [.array(out)]
    }

    /// d fused `[B, G·d]` → dropout backward → split → each projection's backward → G × `[B, C_g]`.
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        let id = Self.componentInfo.id
        let b = lastBatch
        let dy = try FusionSupport.gradient(gradOutputs, rows: b, width: outWidth, component: id)
        guard b > 0 else { return widths.map { NDArray(zeros: [0, $0]) } }
        return try dy.data.withUnsafeBufferPointer { p in
            let dcat = try dropout.backward(try base(p, id), batch: b)
            return try projections.backward(dcat, batch: b, component: id)
        }
    }

    /// Each projection's weight and bias, in group order.
    public var parameters: [ParameterBuffer] { storage.map(\.buffer) }
    /// Dropout on (training) or off.
    public func setTraining(_ training: Bool) { self.training = training }
    /// Every tensor by name.
    public func saveState() throws -> [UInt8] { ParameterState.encode(storage, randomState: dropout.randomState) }
    /// Restores `saveState`'s bytes (and the dropout stream, when saved).
    public func loadState(_ bytes: [UInt8]) throws {
        let random = try ParameterState.decode(bytes, into: storage, component: Self.componentInfo.id)
        if !random.isEmpty { dropout.randomState = random }
    }
}
