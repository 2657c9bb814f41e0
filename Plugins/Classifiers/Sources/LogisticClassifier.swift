import EmoPluginSDK
import EmoLayers
import EmoCore

/// Multinomial logistic regression: logits `[B, Y]` = x `[B, C]` · Wᵀ + b, trained with the host's softmax
/// cross-entropy. Parameter names `net.0.weight`, `net.0.bias`.
public final class LogisticClassifier: Classifier, NetworkClassifier {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .classifier, id: "logistic", version: "1.0.0", displayName: "Multinomial logistic regression",
        manifest: [
            "description": "One Linear layer to the class logits (softmax regression). PyTorch nn.Linear default initialisation from a seed.",
            "inputs": [["name": "features", "modality": "any", "dims": ["B", "C"]]],
            "outputs": [["name": "logits", "modality": "scores", "dims": ["B", "Y"]]],
            "config": [
                "inputs": ["type": "integer", "default": 64, "minimum": 1, "maximum": 1_048_576, "description": "C, input width"],
                "classes": ["type": "integer", "default": 7, "minimum": 2, "maximum": 100_000, "description": "Y, number of classes"],
                "l2": ["type": "number", "default": 0.0, "description": "L2 coefficient on the weight (the host adds l2·w to the gradient)"],
                "seed": ["type": "integer", "default": 0, "description": "initialisation seed"],
            ],
        ])

    /// The network and its calling convention (`NetworkClassifier` forwards the component calls to it).
    public let runner: NetworkRunner
    private let d: Int, k: Int, l2: Float

    /// Builds the layer from `config`.
    public init(config: JSONValue) throws {
        let r = ConfigReader(config, info: Self.componentInfo)
        d = try r.int("inputs", minimum: 1)
        k = try r.int("classes", minimum: 2)
        l2 = try r.float("l2", in: 0...1e3)
        let net = Sequential.mlp(inFeatures: d, hidden: [], batchNorm: false, dropout: [], l2: [l2], output: k,
                                 seed: try r.seed(), prefix: "net")
        runner = NetworkRunner(net, component: Self.componentInfo.id)
    }

    /// Resolved config and the logits width.
    public var resolvedDescription: JSONValue {
        ["config": ["inputs": .number(Double(d)), "classes": .number(Double(k)), "l2": .number(Double(l2))],
         "outputs": [["name": "logits", "dims": ["B", .number(Double(k))]]]]
    }
}
