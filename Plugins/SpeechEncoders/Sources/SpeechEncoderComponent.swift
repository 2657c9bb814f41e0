import EmoCore
import EmoModels

/// What sets one speech encoder component apart from the others: its identity and the checkpoints it loads.
public protocol SpeechEncoderKind {
    /// The checkpoint family it loads (`config.json`'s `model_type`).
    static var family: SpeechEncoderConfig.Family { get }
    /// Identity and manifest.
    static var componentInfo: ComponentInfo { get }
}

/// A speech encoder component: audio `[B, S]` (+ lengths) → one embedding per clip, differentiable and fine-tunable.
///
/// The network itself (stages, weights by checkpoint name) is `SpeechEncoder`; `SpeechEncoderCore` adds config,
/// pooling and the plugin contract; this class only hands each call to it. One class for the three families
/// (`Wav2Vec2Encoder`, `HuBERTEncoder`, `WavLMEncoder`), which differ in identity and checkpoints only.
public final class SpeechEncoderComponent<Kind: SpeechEncoderKind>: EmbeddingEncoder, DirectStateSaving {
    /// Identity and manifest.
    public static var componentInfo: ComponentInfo { Kind.componentInfo }

    private let core: SpeechEncoderCore

    /// Loads the checkpoint named by `config.model`.
    public init(config: JSONValue) throws {
        core = try SpeechEncoderCore(id: Kind.componentInfo.id, family: Kind.family, config: config)
    }

    /// The resolved config and output spec.
    public var resolvedDescription: JSONValue { core.resolvedDescription }

    /// Audio `[B, S]` (+ lengths `[B]`) → embedding `[B, C]` (+ hidden states `[L+1, B, T, C]`).
    public func forward(_ inputs: [Value]) throws -> [Value] { try core.forward(inputs) }

    /// d loss / d embedding `[B, C]` → d loss / d audio `[B, S]` (mean pooling; through the input normalisation);
    /// after a training-mode forward, d loss / d weight into `parameters`' gradients instead, returning `[]`.
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] { try core.backward(gradOutputs) }

    /// The weights `fine_tune` trains, under Hugging Face's names, with their gradients (none when frozen).
    public var parameters: [ParameterBuffer] { core.parameters }

    /// Training mode: forwards record a training tape and backward adds d loss / d weight (when fine-tuning).
    public func setTraining(_ training: Bool) { core.setTraining(training) }

    /// Every weight, as a safetensors file under the checkpoint's names.
    public func saveState() throws -> [UInt8] { core.saveState() }

    /// The size of `saveState`'s bytes.
    public func stateByteCount() throws -> Int { core.statePlan().byteCount }

    /// Writes `saveState`'s bytes into `buffer` without an intermediate copy.
    public func writeState(into buffer: UnsafeMutableRawBufferPointer) throws { try core.writeState(into: buffer) }

    /// Restores weights `saveState` wrote.
    public func loadState(_ bytes: [UInt8]) throws { try core.loadState(bytes) }
}

/// wav2vec 2.0 (facebook/wav2vec2-base, -large-lv60 and fine-tuned variants): conv feature encoder (group- or
/// layer-norm), post-LN (base) or pre-LN (large) transformer.
public typealias Wav2Vec2Encoder = SpeechEncoderComponent<Wav2Vec2Kind>

/// HuBERT (facebook/hubert-base-ls960, -large-ll60k): wav2vec2's architecture trained on clustered targets;
/// optional feature-projection layer norm.
public typealias HuBERTEncoder = SpeechEncoderComponent<HuBERTKind>

/// WavLM (microsoft/wavlm-base, -base-plus, -large): wav2vec2's architecture with gated relative position bias in
/// every attention layer.
public typealias WavLMEncoder = SpeechEncoderComponent<WavLMKind>

/// The `wav2vec2` component.
public enum Wav2Vec2Kind: SpeechEncoderKind {
    /// wav2vec2 checkpoints.
    public static let family = SpeechEncoderConfig.Family.wav2vec2
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .encoder, id: "wav2vec2", version: "1.0.0", displayName: "wav2vec 2.0",
        manifest: SpeechEncoderCore.manifest("wav2vec 2.0 (facebook/wav2vec2-base, -large-lv60 and fine-tuned variants): conv feature encoder (group- or layer-norm), post-LN (base) or pre-LN (large) transformer. Mean-pooled last hidden state by default; all hidden states on request.", modelTypes: ["wav2vec2"]))
}

/// The `hubert` component.
public enum HuBERTKind: SpeechEncoderKind {
    /// HuBERT checkpoints.
    public static let family = SpeechEncoderConfig.Family.hubert
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .encoder, id: "hubert", version: "1.0.0", displayName: "HuBERT",
        manifest: SpeechEncoderCore.manifest("HuBERT (facebook/hubert-base-ls960, -large-ll60k): wav2vec2's architecture trained on clustered targets; optional feature-projection layer norm. Mean-pooled last hidden state by default; all hidden states on request.", modelTypes: ["hubert"]))
}

/// The `wavlm` component.
public enum WavLMKind: SpeechEncoderKind {
    /// WavLM checkpoints.
    public static let family = SpeechEncoderConfig.Family.wavlm
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .encoder, id: "wavlm", version: "1.0.0", displayName: "WavLM",
        manifest: SpeechEncoderCore.manifest("WavLM (microsoft/wavlm-base, -base-plus, -large): wav2vec2's architecture with gated relative position bias in every attention layer. Mean-pooled last hidden state by default; all hidden states on request.", modelTypes: ["wavlm"]))
}
