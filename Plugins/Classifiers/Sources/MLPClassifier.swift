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
            "config": [
                "inputs": ["type": "integer", "default": 64, "minimum": 1, "maximum": 1_048_576, "description": "C, input width"],
                "classes": ["type": "integer", "default": 7, "minimum": 2, "maximum": 100_000, "description": "Y, number of classes"],
                "hidden": ["type": "array", "default": [256, 128], "minimum": 1, "maximum": 65_536, "description": "hidden layer widths, first to last"],
                "batch_norm": ["type": "boolean", "default": false, "description": "BatchNorm1d in each hidden layer"],
                "batch_norm_position": ["type": "string", "default": "before-activation",
                                        "description": "before-activation (Linear → BN → ReLU, the PyTorch habit) or after-activation (Linear → ReLU → BN, the Keras habit)"],
                "dropout": ["type": "number|array", "default": 0.0, "description": "dropout after each hidden activation: one probability or one per hidden layer"],
                "l2": ["type": "number|array", "default": 0.0, "description": "L2 coefficient on each Linear weight (the host adds l2·w to the gradient): one number or one per Linear layer (hidden layers, then the output layer)"],
                "seed": ["type": "integer", "default": 0, "description": "initialisation and dropout seed"],
            ],
        ])

    /// The network and its calling convention (`NetworkClassifier` forwards the component calls to it).
    public let runner: NetworkRunner
    private let d: Int, k: Int, hidden: [Int], batchNorm: Bool, normPosition: String, dropout: [Float], l2: [Float]

    /// Builds the network from `config`.
    public init(config: JSONValue) throws {
        let r = ConfigReader(config, info: Self.componentInfo)
        d = try r.int("inputs", minimum: 1)
        k = try r.int("classes", minimum: 2)
        hidden = try r.ints("hidden")
        batchNorm = try r.bool("batch_norm")
        normPosition = try r.choice("batch_norm_position", ["before-activation", "after-activation"])
        dropout = try r.floats("dropout", count: hidden.count, in: 0...0.99)
        l2 = try r.floats("l2", count: hidden.count + 1, in: 0...1e3)
        let net = Sequential.mlp(inFeatures: d, hidden: hidden, batchNorm: batchNorm,
                                 normAfterActivation: normPosition == "after-activation", dropout: dropout, l2: l2,
                                 output: k, seed: try r.seed(), prefix: "net")
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
