import EmoPluginSDK
import EmoLayers
import EmoCore

/// Multilayer perceptron classifier: `[B, C]` → hidden layers (`Linear → [BatchNorm1d] → ReLU → [Dropout]`, or
/// with `batch_norm_position: after-activation` `Linear → ReLU → BatchNorm1d → [Dropout]`) →
/// `Linear` → logits `[B, Y]`.
///
/// Study A's heads are configs of this one component: the one-branch MLP (`hidden: [256, 128]` on 768 inputs)
/// and the large early-fusion MLP (`hidden: [1024, 512, 256]`, `batch_norm: true`, `dropout: 0.2` or 0).
/// Parameter names follow a PyTorch `nn.Sequential` named `net` built the same way (`net.0.weight`, ...).
public final class MLPClassifier: Classifier, NetworkClassifier {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .classifier, id: "mlp", version: "1.0.0", displayName: "Multilayer perceptron",
        manifest: [
            "description": "Feed-forward classifier: Linear → [BatchNorm1d] → ReLU → [Dropout] per hidden layer, then a Linear layer to the class logits. PyTorch nn.Linear default initialisation from a seed.",
            "inputs": [["name": "features", "modality": "any", "dims": ["B", "C"]]],
            "outputs": [["name": "logits", "modality": "scores", "dims": ["B", "Y"]]],
            "config": Config.schema,
        ])

    /// The settings.
    struct Config: ComponentConfig {
        var inputs = 64, classes = 7, hidden = [256, 128], batchNorm = false, normPosition = BatchNormPosition.beforeActivation
        var dropout = OneOrEach.one(0), l2 = OneOrEach.one(0), seed = 0
        static var fields: [ConfigField<Config>] {
            [.int("inputs", \.inputs, in: 1...1_048_576, "C, input width"),
             .int("classes", \.classes, in: 2...100_000, "Y, number of classes"),
             .ints("hidden", \.hidden, in: 1...65_536, "hidden layer widths, first to last"),
             .bool("batch_norm", \.batchNorm, "BatchNorm1d in each hidden layer"),
             .choice("batch_norm_position", \.normPosition, "before-activation (Linear → BN → ReLU, the PyTorch habit) or after-activation (Linear → ReLU → BN, the Keras habit)"),
             .oneOrEach("dropout", \.dropout, in: 0...0.99, "dropout after each hidden activation: one probability or one per hidden layer"),
             .oneOrEach("l2", \.l2, in: 0...1e3, "L2 coefficient on each Linear weight (the host adds l2·w to the gradient): one number or one per Linear layer (hidden layers, then the output layer)"),
             .int("seed", \.seed, in: 0...Int.max, "initialisation and dropout seed")]
        }
        func problem() -> String? {
            if dropout.values(count: hidden.count) == nil { return "'dropout' must list \(hidden.count) numbers (one per hidden layer)" }
            if l2.values(count: hidden.count + 1) == nil { return "'l2' must list \(hidden.count + 1) numbers (one per Linear layer)" }
            return nil
        }
    }

    /// The network and its calling convention (`NetworkClassifier` forwards the component calls to it).
    public let runner: NetworkRunner
    private let d: Int, k: Int, hidden: [Int], batchNorm: Bool, normPosition: String, dropout: [Float], l2: [Float]

    /// Builds the network from `config`.
    public init(config: JSONValue) throws {
        let c = try Config.read(config, component: Self.componentInfo.id)
        d = c.inputs
        k = c.classes
        hidden = c.hidden
        batchNorm = c.batchNorm
        normPosition = c.normPosition.rawValue
        dropout = (c.dropout.values(count: hidden.count) ?? []).map { Float($0) }
        l2 = (c.l2.values(count: hidden.count + 1) ?? []).map { Float($0) }
        let net = Sequential.mlp(inFeatures: d, hidden: hidden, batchNorm: batchNorm,
                                 normAfterActivation: c.normPosition == .afterActivation, dropout: dropout, l2: l2,
                                 output: k, seed: ComponentSeed.mix(c.seed, component: Self.componentInfo.id), prefix: "net")
        runner = NetworkRunner(net, component: Self.componentInfo.id)
    }

    /// Resolved config and the logits width.
    public var resolvedDescription: JSONValue {
        ["config": ["inputs": .number(Double(d)), "classes": .number(Double(k)),
                    "hidden": .array(hidden.map { .number(Double($0)) }), "batch_norm": .bool(batchNorm),
                    "batch_norm_position": .string(normPosition),
                    "dropout": .array(dropout.map { .number(Double($0)) }), "l2": .array(l2.map { .number(Double($0)) })],
         "outputs": [["name": "logits", "dims": ["B", .number(Double(k))]]]]
    }
}
