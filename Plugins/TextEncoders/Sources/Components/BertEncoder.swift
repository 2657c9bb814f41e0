import EmoPluginSDK
import EmoCore

/// The `bert` encoder component: texts → one BERT-family embedding per text (BERT, MiniLM and other
/// `BertModel` checkpoints, sentence-transformers models among them).
///
/// Inputs, outputs, backward and config are `TextEncoderCore`'s. The folder holds config.json, model.safetensors
/// and vocab.txt (tokenizer.json, when present, sets the normaliser's options). `max_tokens` defaults to 256 (what
/// sentence-transformers uses for all-MiniLM-L6-v2), `pooling` to `mean`; `pooling: mean` with `normalize: true`
/// is sentence-transformers' sentence embedding for all-MiniLM-L6-v2.
public final class BertEncoder: EmbeddingEncoder, DirectStateSaving {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .encoder, id: "bert", version: "1.0.0", displayName: "BERT / MiniLM text encoder",
        manifest: TextEncoderCore.manifest(
            "BERT-family (Hugging Face BertModel or DistilBertModel checkpoint: BERT, MiniLM, DistilBERT, sentence-transformers models) embedding of a transcript: CLS or masked-mean pooled hidden state, optionally L2-normalised, with BERT's WordPiece tokenizer.",
            modelTypes: ["bert", "distilbert"], family: BertFamily.self))

    private let core: TextEncoderCore
    /// The network.
    public var model: TextTransformer { core.model }
    /// Hidden-state index pooled (0 = embeddings ... L = last layer).
    public var layer: Int { core.layer }

    /// Loads the model folder named by `config["model"]`.
    public init(config: JSONValue) throws {
        core = try TextEncoderCore(BertFamily.self, id: Self.componentInfo.id, family: .bert, config: config)
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

/// The `bert` component's defaults.
enum BertFamily: TextEncoderFamily {
    static let files = "config.json, model.safetensors, vocab.txt (as Hugging Face publishes bert-base-uncased or all-MiniLM-L6-v2)"
    static let maxTokens = 256
    static let pooling = TextEncoderCore.Pooling.mean
}
