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
            "config": Config.schema,
        ])

    /// The settings.
    struct Config: ComponentConfig {
        var inputs = 64, classes = 7, l2 = 0.0, seed = 0
        static var fields: [ConfigField<Config>] {
            [.int("inputs", \.inputs, in: 1...1_048_576, "C, input width"),
             .int("classes", \.classes, in: 2...100_000, "Y, number of classes"),
             .number("l2", \.l2, in: 0...1e3, "L2 coefficient on the weight (the host adds l2·w to the gradient)"),
             .int("seed", \.seed, in: 0...Int.max, "initialisation seed")]
        }
    }

    /// The network and its calling convention (`NetworkClassifier` forwards the component calls to it).
    public let runner: NetworkRunner
    private let d: Int, k: Int, l2: Float

    /// Builds the layer from `config`.
    public init(config: JSONValue) throws {
        let c = try Config.read(config, component: Self.componentInfo.id)
        d = c.inputs
        k = c.classes
        l2 = Float(c.l2)
        let net = Sequential.mlp(inFeatures: d, hidden: [], batchNorm: false, dropout: [], l2: [l2], output: k,
                                 seed: ComponentSeed.mix(c.seed, component: Self.componentInfo.id), prefix: "net")
        runner = NetworkRunner(net, component: Self.componentInfo.id)
    }

    /// Resolved config and the logits width.
    public var resolvedDescription: JSONValue {
        ["config": ["inputs": .number(Double(d)), "classes": .number(Double(k)), "l2": .number(Double(l2))],
         "outputs": [["name": "logits", "dims": ["B", .number(Double(k))]]]]
    }
}
