import EmoModels
import EmoTensor
import EmoCore
import Foundation

/// The architecture of a wav2vec 2.0-family checkpoint, read from its Hugging Face `config.json`.
///
/// One struct covers wav2vec2, HuBERT and WavLM: they share the convolutional feature encoder, the feature
/// projection, the positional convolution and the transformer; they differ in the flags below. Missing keys take
/// the defaults of the matching `transformers` config class (`Wav2Vec2Config`, `HubertConfig`, `WavLMConfig`).
public struct SpeechEncoderConfig: Sendable, Equatable {
    /// Which family the checkpoint belongs to (`model_type` in config.json).
    public enum Family: String, Sendable, CaseIterable {
        case wav2vec2
        case hubert
        case wavlm
    }

    /// `model_type`.
    public var family: Family
    /// `hidden_size` (C).
    public var hiddenSize: Int
    /// `num_hidden_layers` (L).
    public var numLayers: Int
    /// `num_attention_heads` (H).
    public var numHeads: Int
    /// `intermediate_size` (feed-forward width).
    public var intermediateSize: Int
    /// `layer_norm_eps`.
    public var layerNormEps: Float
    /// `feat_extract_norm == "layer"` (every conv layer layer-normed) versus `"group"` (group norm on the first).
    public var convLayerNorm: Bool
    /// `conv_dim` (C' per conv layer).
    public var convDim: [Int]
    /// `conv_kernel`.
    public var convKernel: [Int]
    /// `conv_stride`.
    public var convStride: [Int]
    /// `conv_bias`.
    public var convBias: Bool
    /// `num_conv_pos_embeddings` (positional conv kernel size).
    public var posConvKernel: Int
    /// `num_conv_pos_embedding_groups`.
    public var posConvGroups: Int
    /// `do_stable_layer_norm`: pre-LN transformer (large layouts) versus post-LN (base layouts).
    public var stableLayerNorm: Bool
    /// HuBERT's `feat_proj_layer_norm` (always true for wav2vec2 and WavLM).
    public var featureProjectionLayerNorm: Bool
    /// WavLM's `num_buckets` for the relative position bias.
    public var numBuckets: Int
    /// WavLM's `max_bucket_distance`.
    public var maxBucketDistance: Int
    /// Training-time dropout probabilities: `hidden_dropout` (after each attention block, feed-forward block and
    /// the encoder's input), `attention_dropout` (attention probabilities), `activation_dropout` (inside the
    /// feed-forward block, after GELU), `feat_proj_dropout` (after the feature projection). Defaults as the
    /// `transformers` config classes (0.1, 0.1, 0.1, 0.0).
    public var hiddenDropout: Float, attentionDropout: Float, activationDropout: Float, featProjDropout: Float
    /// `layerdrop`: the probability that a training forward skips a layer (default 0.1).
    public var layerdrop: Float
    /// SpecAugment along time (training only): `apply_spec_augment`, `mask_time_prob`, `mask_time_length`,
    /// `mask_time_min_masks` (defaults true, 0.05, 10, 2). Masking along features (`mask_feature_prob`) is not
    /// implemented.
    public var applySpecAugment: Bool, maskTimeProb: Float, maskTimeLength: Int, maskTimeMinMasks: Int

    /// Per-head width (C / H).
    public var headDim: Int { hiddenSize / numHeads }
    /// Width of the conv feature encoder's output (C').
    public var convOutputDim: Int { convDim.last ?? 0 }

    /// Frames the conv feature encoder produces for `samples` input samples (0 when too short).
    public func frameCount(samples: Int) -> Int {
        var n = samples
        for (k, s) in zip(convKernel, convStride) {
            guard n >= k else { return 0 }
            n = (n - k) / s + 1
        }
        return n
    }

    /// Parses `config.json` text; `path` is used in errors.
    public init(json: JSONValue, path: String) throws {
        func bad(_ m: String) -> CheckpointError { .invalidConfig(path: path, message: m) }
        guard let type = json["model_type"]?.stringValue else {
            throw bad("no \"model_type\"; expected one of wav2vec2, hubert, wavlm")
        }
        guard let family = Family(rawValue: type) else {
            throw bad("model_type \"\(type)\" is not a speech encoder EmoKit runs (wav2vec2, hubert, wavlm)")
        }
        func int(_ key: String, _ def: Int) throws -> Int {
            guard let v = json[key] else { return def }
            guard let i = v.intValue, i > 0 else { throw bad("\"\(key)\" must be a positive integer, found \(v.serialized())") }
            return i
        }
        func ints(_ key: String, _ def: [Int]) throws -> [Int] {
            guard let v = json[key] else { return def }
            guard let a = v.arrayValue else { throw bad("\"\(key)\" must be a list of positive integers") }
            let out = a.compactMap(\.intValue)
            guard out.count == a.count, !out.isEmpty, out.allSatisfy({ $0 > 0 }) else {
                throw bad("\"\(key)\" must be a list of positive integers, found \(v.serialized())")
            }
            return out
        }
        func bool(_ key: String, _ def: Bool) throws -> Bool {
            guard let v = json[key], v != .null else { return def }
            guard let b = v.boolValue else { throw bad("\"\(key)\" must be true or false") }
            return b
        }
        func activation(_ key: String) throws {
            guard let v = json[key] else { return }
            guard v.stringValue == "gelu" else {
                throw bad("\"\(key)\" is \(v.serialized()); EmoKit's encoders implement \"gelu\" (exact erf form) only")
            }
        }
        self.family = family
        hiddenSize = try int("hidden_size", 768)
        numLayers = try int("num_hidden_layers", 12)
        numHeads = try int("num_attention_heads", 12)
        intermediateSize = try int("intermediate_size", 3072)
        layerNormEps = Float(json["layer_norm_eps"]?.doubleValue ?? 1e-5)
        let norm = json["feat_extract_norm"]?.stringValue ?? "group"
        guard norm == "group" || norm == "layer" else { throw bad("\"feat_extract_norm\" must be \"group\" or \"layer\", found \"\(norm)\"") }
        convLayerNorm = norm == "layer"
        convDim = try ints("conv_dim", [512, 512, 512, 512, 512, 512, 512])
        convKernel = try ints("conv_kernel", [10, 3, 3, 3, 3, 2, 2])
        convStride = try ints("conv_stride", [5, 2, 2, 2, 2, 2, 2])
        guard convDim.count == convKernel.count, convKernel.count == convStride.count else {
            throw bad("conv_dim, conv_kernel and conv_stride must have the same length (\(convDim.count), \(convKernel.count), \(convStride.count))")
        }
        if let n = json["num_feat_extract_layers"]?.intValue, n != convDim.count {
            throw bad("num_feat_extract_layers is \(n) but conv_dim lists \(convDim.count) layers")
        }
        convBias = try bool("conv_bias", false)
        posConvKernel = try int("num_conv_pos_embeddings", 128)
        posConvGroups = try int("num_conv_pos_embedding_groups", 16)
        stableLayerNorm = try bool("do_stable_layer_norm", false)
        featureProjectionLayerNorm = family == .hubert ? try bool("feat_proj_layer_norm", true) : true
        // Training-only settings never stop a checkpoint from loading: a missing, null or out-of-range value takes the
        // default (probabilities are clamped to [0, 1)).
        func probability(_ key: String, _ def: Float) -> Float {
            guard let p = json[key]?.doubleValue, p.isFinite else { return def }
            return Float(min(max(p, 0), 0.999))
        }
        hiddenDropout = probability("hidden_dropout", 0.1)
        attentionDropout = probability("attention_dropout", 0.1)
        activationDropout = probability("activation_dropout", 0.1)
        featProjDropout = probability("feat_proj_dropout", 0.0)
        layerdrop = probability("layerdrop", 0.1)
        maskTimeProb = probability("mask_time_prob", 0.05)
        applySpecAugment = json["apply_spec_augment"]?.boolValue ?? true
        maskTimeLength = max(json["mask_time_length"]?.intValue ?? 10, 1)
        maskTimeMinMasks = max(json["mask_time_min_masks"]?.intValue ?? 2, 0)
        numBuckets = try int("num_buckets", 320)
        maxBucketDistance = try int("max_bucket_distance", 800)
        try activation("hidden_act")
        try activation("feat_extract_activation")
        guard hiddenSize % numHeads == 0 else { throw bad("hidden_size \(hiddenSize) is not divisible by num_attention_heads \(numHeads)") }
        guard hiddenSize % posConvGroups == 0 else { throw bad("hidden_size \(hiddenSize) is not divisible by num_conv_pos_embedding_groups \(posConvGroups)") }
        if try bool("add_adapter", false) { throw bad("\"add_adapter\": true (adapter layers) is not supported") }
        if let a = json["adapter_attn_dim"], a != .null { throw bad("\"adapter_attn_dim\" (attention adapters) is not supported") }
        if try bool("conv_pos_batch_norm", false) { throw bad("\"conv_pos_batch_norm\": true is not supported") }
    }

    /// Reads and parses `config.json` from a file.
    public init(contentsOf path: String) throws {
        try self.init(json: CheckpointFolder.config(at: path), path: path)
    }
}

/// How raw audio is prepared before the model (`preprocessor_config.json` of a Wav2Vec2FeatureExtractor).
public struct SpeechPreprocessorConfig: Sendable, Equatable {
    /// `do_normalize`: zero mean, unit variance per clip over its real samples (variance + 1e-7).
    public var normalize: Bool
    /// `sampling_rate` the model expects.
    public var sampleRate: Int
    /// `return_attention_mask`: whether the model was trained with padding masks (layer-norm layouts).
    public var returnAttentionMask: Bool

    /// The defaults of `Wav2Vec2FeatureExtractor` (normalise, 16 kHz).
    public init(normalize: Bool = true, sampleRate: Int = 16_000, returnAttentionMask: Bool = false) {
        self.normalize = normalize
        self.sampleRate = sampleRate
        self.returnAttentionMask = returnAttentionMask
    }

    /// Reads `preprocessor_config.json`; a missing file gives the defaults.
    public init(contentsOf path: String) throws {
        self.init()
        guard FileManager.default.fileExists(atPath: path) else { return }
        let json: JSONValue
        do { json = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw CheckpointError.invalidConfig(path: path, message: "cannot parse preprocessor config (\(error))")
        }
        normalize = json["do_normalize"]?.boolValue ?? true
        sampleRate = json["sampling_rate"]?.intValue ?? 16_000
        returnAttentionMask = json["return_attention_mask"]?.boolValue ?? false
        guard sampleRate == 16_000 else {
            throw CheckpointError.invalidConfig(path: path, message: "sampling_rate \(sampleRate): EmoKit clips are 16 kHz; this model needs \(sampleRate) Hz input")
        }
    }

    /// Normalises each clip `[B, S]` in place over its first `lengths[b]` samples and zeroes the padding,
    /// as `Wav2Vec2FeatureExtractor.zero_mean_unit_var_norm` does. Does nothing when `normalize` is false.
    public func apply(_ x: inout [Float], batch: Int, samples: Int, lengths: [Int]) {
        guard normalize else { return }
        for b in 0..<batch {
            let n = min(lengths[b], samples)
            guard n > 0 else { continue }
            let row = b * samples
            var sum = 0.0
            for i in 0..<n { sum += Double(x[row + i]) }
            let mean = sum / Double(n)
            var ss = 0.0
            for i in 0..<n { let d = Double(x[row + i]) - mean; ss += d * d }
            let inv = 1.0 / (ss / Double(n) + 1e-7).squareRoot()
            for i in 0..<n { x[row + i] = Float((Double(x[row + i]) - mean) * inv) }
            for i in n..<samples { x[row + i] = 0 }
        }
    }
}
