import EmoPluginSDK
import EmoCore

/// The `roberta` encoder component: texts → one RoBERTa embedding per text (CLS or masked mean of a layer).
///
/// Inputs, outputs, backward and config are `TextEncoderCore`'s. The folder holds config.json,
/// model.safetensors, vocab.json and merges.txt (as Hugging Face publishes roberta-base); `max_tokens` defaults to
/// 64 as in Study B, `pooling` to `cls`.
public final class RobertaEncoder: EmbeddingEncoder, DirectStateSaving {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .encoder, id: "roberta", version: "1.0.0", displayName: "RoBERTa text encoder",
        manifest: TextEncoderCore.manifest(
            "RoBERTa (Hugging Face RobertaModel checkpoint) embedding of a transcript: CLS or masked-mean pooled hidden state, with RoBERTa's byte-level BPE tokenizer.",
            modelTypes: ["roberta", "xlm-roberta"], family: RobertaFamily.self))

    private let core: TextEncoderCore
    /// The network.
    public var model: TextTransformer { core.model }
    /// Hidden-state index pooled (0 = embeddings ... L = last layer).
    public var layer: Int { core.layer }

    /// Loads the model folder named by `config["model"]`.
    public init(config: JSONValue) throws {
        core = try TextEncoderCore(RobertaFamily.self, id: Self.componentInfo.id, family: .roberta, config: config)
    }

    /// The resolved config and output widths.
    public var resolvedDescription: JSONValue { core.resolvedDescription }

    /// Tokenises (or takes the given ids, or the given word embeddings), runs the encoder, pools.
    public func forward(_ inputs: [Value]) throws -> [Value] { try core.forward(inputs) }

    /// d embedding `[B, C]` → d word embeddings `[B, T, C]` of the last forward from word embeddings.
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] { try core.backward(gradOutputs) }

    /// The weights `fine_tune` trains, with their gradients (none when frozen).
    public var parameters: [ParameterBuffer] { core.parameters }

    /// Training mode: the checkpoint's dropouts on, text forwards recorded for backward (when fine-tuning).
    public func setTraining(_ training: Bool) { core.setTraining(training) }

    /// Every weight, as a safetensors file under Hugging Face's names.
    public func saveState() throws -> [UInt8] { core.saveState() }

    /// The size of `saveState`'s bytes.
    public func stateByteCount() throws -> Int { core.statePlan().byteCount }

    /// Writes `saveState`'s bytes into `buffer` without an intermediate copy.
    public func writeState(into buffer: UnsafeMutableRawBufferPointer) throws { try core.writeState(into: buffer) }

    /// Restores weights `saveState` wrote.
    public func loadState(_ bytes: [UInt8]) throws { try core.loadState(bytes) }
}

/// The `roberta` component's defaults.
enum RobertaFamily: TextEncoderFamily {
    static let files = "config.json, model.safetensors, vocab.json, merges.txt (as Hugging Face publishes roberta-base)"
    static let maxTokens = 64
    static let pooling = TextEncoderCore.Pooling.cls
}
