import EmoCore
import EmoModels

/// WavLM (microsoft/wavlm-base, -base-plus, -large): wav2vec2's architecture with gated relative position bias in every attention layer.
///
/// The network itself (stages, weights by checkpoint name) is `EmoModels.SpeechEncoder`; this component adds
/// config, pooling and the plugin contract (see SpeechEncoderCore).
public final class WavLMEncoder: EmbeddingEncoder, DirectStateSaving {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .encoder, id: "wavlm", version: "1.0.0", displayName: "WavLM",
        manifest: SpeechEncoderCore.manifest("WavLM (microsoft/wavlm-base, -base-plus, -large): wav2vec2's architecture with gated relative position bias in every attention layer. Mean-pooled last hidden state by default; all hidden states on request.", modelTypes: ["wavlm"]))

    private let core: SpeechEncoderCore

    /// Loads the checkpoint named by `config.model`.
    public init(config: JSONValue) throws {
        core = try SpeechEncoderCore(id: "wavlm", family: .wavlm, config: config)
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
