import EmoPluginSDK
import EmoCore
import EmoModels
import Foundation

/// The `whisper-transcript` extractor: 16 kHz mono samples → the transcript text (Study A's text branch input).
///
/// Runs a Whisper checkpoint in CTranslate2's format (`model.bin`, `config.json`, `vocabulary.txt`): log-mel front
/// end, encoder, greedy decoding without timestamps, byte-level BPE decoding. One 30 s window: longer clips are
/// transcribed from their first 30 s only (RAVDESS, TESS and MELD utterances are all shorter).
///
/// Input `[.array([S])]` (or `[.array([1, S])]`) → output `[.text]`.
public final class WhisperTranscriber: Extractor {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .extractor, id: "whisper-transcript", version: "1.0.0", displayName: "Whisper transcript",
        manifest: [
            "description": "Greedy Whisper transcription (CTranslate2 model folder, e.g. Whisper tiny.en) of a 16 kHz clip, first 30 s.",
            "model_types": ["ctranslate2-whisper"],
            "inputs": [["name": "audio", "modality": "audio", "dims": ["S"], "sample_rate": 16000]],
            "outputs": [["name": "transcript", "modality": "text", "dims": []]],
            "config": Config.schema,
            "trainable": false,
            "differentiable": false,
        ])

    /// The settings.
    struct Config: ComponentConfig {
        var model = "", maxNewTokens = 224, language = "en"
        static var fields: [ConfigField<Config>] {
            [.string("model", \.model, required: true, "a name from `emo models list`, or a CTranslate2 Whisper folder: model.bin, config.json, vocabulary.txt"),
             .int("max_new_tokens", \.maxNewTokens, in: 1...448, "longest transcript in tokens (Whisper's default sample_len)"),
             .string("language", \.language, "spoken language for multilingual checkpoints (ignored by English-only ones)")]
        }
    }

    /// The network.
    public let model: WhisperModel
    /// Tokens and suppression rules.
    public let vocabulary: WhisperVocabulary
    /// Longest transcript in tokens.
    public let maxNewTokens: Int
    /// The decoder prompt (start of transcript, language and task for multilingual models, no timestamps).
    public let prompt: [Int]
    /// The configured language code.
    public let language: String
    /// The model folder's content hash (`CheckpointFingerprint`), part of the resolved config.
    public let checkpoint: String

    /// Loads the folder named by `config["model"]`.
    public init(config: JSONValue) throws {
        let id = Self.componentInfo.id
        let c = try Config.read(config, component: id)
        let folder = c.model
        do {
            let folder = try ModelRegistry.standard().resolve(folder)
            model = try WhisperModel(folder: folder)
            vocabulary = try WhisperVocabulary(folder: folder)
            checkpoint = try CheckpointFingerprint.of(folder: folder)
        } catch {
            throw ComponentError.io(component: id, path: folder, message: "\(error)")
        }
        guard vocabulary.tokens.count == model.vocabularySize else {
            throw ComponentError.io(component: id, path: folder, message: "vocabulary.txt has \(vocabulary.tokens.count) tokens but the model's embedding has \(model.vocabularySize) rows")
        }
        maxNewTokens = c.maxNewTokens
        language = c.language
        do { prompt = try vocabulary.prompt(language: language) } catch {
            throw ComponentError.invalidConfig(component: id, message: "\(error)")
        }
    }

    /// The resolved config.
    public var resolvedDescription: JSONValue {
        ["config": ["max_new_tokens": .number(Double(maxNewTokens)), "language": .string(language),
                    "checkpoint_sha256": .string(checkpoint)],
         "outputs": [["name": "transcript", "dims": []]]]
    }

    /// Transcribes one clip.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        guard inputs.count == 1, let audio = inputs[0].array, audio.rank == 1 || (audio.rank == 2 && audio.shape[0] == 1) else {
            throw ComponentError.invalidInput(component: Self.componentInfo.id, message: "expected one [T] (or [1, T]) array of 16 kHz mono samples")
        }
        return [.text(try transcribe(audio.data))]
    }

    /// Token ids Whisper generates for `samples` (16 kHz mono), prompt excluded.
    public func tokenIDs(_ samples: [Float]) throws -> [Int] {
        try tokenIDs(encoded: model.encode(mel: model.frontEnd.features(samples)))
    }

    /// Token ids Whisper generates for an encoder output `[T, C]` (from `model.encode`), prompt excluded.
    public func tokenIDs(encoded: [Float]) throws -> [Int] {
        try model.greedyDecode(encoded: encoded, prompt: prompt, endOfText: vocabulary.endOfText,
                                      suppress: vocabulary.suppress, suppressAtBegin: vocabulary.suppressAtBegin,
                                      maxNewTokens: maxNewTokens)
    }

    /// The transcript of `samples` (16 kHz mono).
    public func transcribe(_ samples: [Float]) throws -> String {
        vocabulary.decode(try tokenIDs(samples))
    }
}
