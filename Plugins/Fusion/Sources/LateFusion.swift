import EmoPluginSDK
import EmoLayers
import EmoCore

/// Late (multi-branch) fusion: each feature group goes through its own sub-network (`Linear → [BatchNorm1d] →
/// ReLU → [Dropout]` per branch layer, e.g. Study A's 512→256→128 branch), the branch outputs are concatenated,
/// and an optional fusion layer (`Linear → ReLU → [Dropout]`) mixes them.
///
/// Output `[B, G·last]` without a fusion layer, `[B, fusion_hidden]` with one. Parameter names:
/// `branches.<g>.<layer>.<name>` and `fusion.<layer>.<name>` (PyTorch `nn.ModuleList` of `nn.Sequential`).
public final class LateFusion: Fusion {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .fusion, id: "late", version: "1.0.0", displayName: "Late fusion (one branch per group)",
        manifest: [
            "description": "A sub-network per feature group, outputs concatenated, optional fusion layer.",
            "inputs": [["name": "groups", "modality": "any", "dims": ["B", "C_g"], "repeated": true]],
            "outputs": [["name": "fused", "modality": "any", "dims": ["B", "C"]]],
            "config": Config.schema,
        ])

    /// The settings.
    struct Config: ComponentConfig {
        var inputs = [64, 64], branch = [512, 256, 128], batchNorm = false, normPosition = BatchNormPosition.beforeActivation
        var dropout = 0.0, l2 = 0.0, fusionHidden = 0, fusionDropout = 0.0, seed = 0
        static var fields: [ConfigField<Config>] {
            [FusionSupport.inputs(\.inputs),
             .ints("branch", \.branch, in: 1...65_536, "hidden widths of every branch"),
             .bool("batch_norm", \.batchNorm, "BatchNorm1d in each branch layer"),
             .choice("batch_norm_position", \.normPosition, "before-activation (Linear → BN → ReLU) or after-activation (Linear → ReLU → BN)"),
             .number("dropout", \.dropout, in: 0...0.99, "dropout after each branch activation"),
             .number("l2", \.l2, in: 0...1e3, "L2 coefficient on every Linear weight"),
             .int("fusion_hidden", \.fusionHidden, in: 0...65_536, "width of the fusion layer after concatenation (0 = none)"),
             .number("fusion_dropout", \.fusionDropout, in: 0...0.99, "dropout after the fusion layer"),
             FusionSupport.seed(\.seed, "initialisation and dropout seed (branch g uses seed + g)")]
        }
    }

    private let widths: [Int]
    private let branchHidden: [Int], batchNorm: Bool, normPosition: String, dropout: Float, l2: Float, fusionHidden: Int, fusionDropout: Float
    private let branches: BranchConcat
    private let fusion: Sequential?
    private let concatGrad = FloatBuffer()  // [B, ΣO_g]
    private let storage: [ParameterStorage]
    private var training = false
    private var lastBatch = 0

    /// Builds one branch per group and the optional fusion layer.
    public init(config: JSONValue) throws {
        let c = try Config.read(config, component: Self.componentInfo.id)
        widths = c.inputs
        branchHidden = c.branch
        batchNorm = c.batchNorm
        normPosition = c.normPosition.rawValue
        dropout = Float(c.dropout)
        l2 = Float(c.l2)
        fusionHidden = c.fusionHidden
        fusionDropout = Float(c.fusionDropout)
        let seed = ComponentSeed.mix(c.seed, component: Self.componentInfo.id)
        let (hidden, bn, p, decay, after) = (branchHidden, batchNorm, dropout, l2, normPosition == "after-activation")
        branches = BranchConcat(widths.enumerated().map { g, w in
            Sequential.mlp(inFeatures: w, hidden: hidden, batchNorm: bn, normAfterActivation: after, dropout: Array(repeating: p, count: hidden.count),
                           l2: Array(repeating: decay, count: hidden.count), output: nil, seed: seed &+ UInt64(g),
                           prefix: "branches.\(g)")
        })
        fusion = fusionHidden > 0
            ? Sequential.mlp(inFeatures: branches.width, hidden: [fusionHidden], batchNorm: false, dropout: [fusionDropout],
                             l2: [l2], output: nil, seed: seed &+ UInt64(widths.count), prefix: "fusion")
            : nil
        storage = branches.parameters + (fusion?.parameters ?? [])
    }

    private var outWidth: Int { fusion?.outFeatures ?? branches.width }

    /// Resolved config and the fused width.
    public var resolvedDescription: JSONValue {
        ["config": ["inputs": .array(widths.map { .number(Double($0)) }), "branch": .array(branchHidden.map { .number(Double($0)) }),
                    "batch_norm": .bool(batchNorm), "batch_norm_position": .string(normPosition), "dropout": .number(Double(dropout)), "l2": .number(Double(l2)),
                    "fusion_hidden": .number(Double(fusionHidden)), "fusion_dropout": .number(Double(fusionDropout))],
         "outputs": [["name": "fused", "dims": ["B", .number(Double(outWidth))]]]]
    }

    /// G × `[B, C_g]` → branches → concatenation `[B, ΣO_g]` → [fusion layer] → `[B, Cout]`.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        let id = Self.componentInfo.id
        let groups = try GroupInputs(inputs, widths: widths, component: id)
        let b = groups.batch
        var out = NDArray(zeros: [b, outWidth])
        guard b > 0 else { return [.array(out)] }
        let cat = try branches.forward(groups, training: training, component: id)
        let y = try fusion?.forward(cat, batch: b, training: training) ?? cat
        out.data.withUnsafeMutableBufferPointer { $0.baseAddress?.update(from: y, count: b * outWidth) }
        lastBatch = b
        return [.array(out)]
    }

    /// d fused `[B, Cout]` → G × d group `[B, C_g]`; accumulates every branch's and the fusion layer's gradients.
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        let id = Self.componentInfo.id
        let dy = try FusionSupport.gradient(gradOutputs, rows: lastBatch, width: outWidth, component: id)
        let b = lastBatch
        guard b > 0 else { return widths.map { NDArray(zeros: [0, $0]) } }
        let dcat = concatGrad.reserve(b * branches.width)
        try dy.data.withUnsafeBufferPointer { p in
            let g = try base(p, id)
            let d = try fusion?.backward(g, batch: b) ?? g
            dcat.update(from: d, count: b * branches.width)
        }
        return try branches.backward(dcat, batch: b, component: id)
    }

    /// Every branch's parameters (branch order), then the fusion layer's.
    public var parameters: [ParameterBuffer] { storage.map(\.buffer) }
    /// Dropout and batch statistics on (training) or off.
    public func setTraining(_ training: Bool) { self.training = training }
    /// Every tensor by name.
    public func saveState() throws -> [UInt8] { ParameterState.encode(storage, randomState: Sequential.randomState(of: networks)) }
    /// Restores `saveState`'s bytes (and the dropout streams, when saved).
    public func loadState(_ bytes: [UInt8]) throws {
        let random = try ParameterState.decode(bytes, into: storage, component: Self.componentInfo.id)
        if !random.isEmpty { Sequential.setRandomState(random, of: networks) }
    }

    /// The branches, then the fusion layer.
    private var networks: [Sequential] { branches.branches + (fusion.map { [$0] } ?? []) }
}
