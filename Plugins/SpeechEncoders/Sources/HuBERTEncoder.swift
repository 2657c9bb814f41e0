import EmoCore
import EmoModels

/// HuBERT (facebook/hubert-base-ls960, -large-ll60k): wav2vec2's architecture trained on clustered targets; optional feature-projection layer norm.
///
/// The network itself (stages, weights by checkpoint name) is `EmoModels.SpeechEncoder`; this component adds
/// config, pooling and the plugin contract (see SpeechEncoderCore).
public final class HuBERTEncoder: EmbeddingEncoder, DifferentiableComponent {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .encoder, id: "hubert", version: "1.0.0", displayName: "HuBERT",
        manifest: SpeechEncoderCore.manifest("HuBERT (facebook/hubert-base-ls960, -large-ll60k): wav2vec2's architecture trained on clustered targets; optional feature-projection layer norm. Mean-pooled last hidden state by default; all hidden states on request.", modelTypes: ["hubert"]))

    private let core: SpeechEncoderCore

    /// Loads the checkpoint named by `config.model`.
    public init(config: JSONValue) throws {
        core = try SpeechEncoderCore(id: "hubert", family: .hubert, config: config)
    }

    /// The resolved config and output spec.
    public var resolvedDescription: JSONValue { core.resolvedDescription }

    /// Audio `[B, S]` (+ lengths `[B]`) → embedding `[B, C]` (+ hidden states `[L+1, B, T, C]`).
    public func forward(_ inputs: [Value]) throws -> [Value] { try core.forward(inputs) }

    /// d loss / d embedding `[B, C]` → d loss / d audio `[B, S]` (mean pooling; through the input normalisation).
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] { try core.backward(gradOutputs) }
}
