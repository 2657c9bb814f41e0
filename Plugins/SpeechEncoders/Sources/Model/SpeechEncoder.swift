import EmoModels
import EmoTensor
import EmoCore
import Foundation

/// A wav2vec 2.0-family speech encoder (wav2vec2, HuBERT, WavLM) loaded from a Hugging Face checkpoint folder,
/// run for inference with dense kernels.
///
/// Dimension legend: docs/numerics.md. Used here: `B` batch, `S` samples, `T` frames (S / 320 for the published
/// models), `C'` conv channels (`C_in`/`C_out` of one conv layer), `C` hidden size, `H` heads, `D` head width,
/// `F` feed-forward width, `L` transformer layers, `K` kernel taps, `G` groups.
///
/// ```swift
/// let enc = try SpeechEncoder(directory: "models/wavlm-base-plus")
/// let out = try enc.forward(samples, batch: 1, samples: samples.count)   // hidden states [L+1, B, T, C]
/// let embedding = out.meanPooled(layer: out.layers - 1)                   // [B, C]
/// ```
/// Each stored field names the checkpoint tensor it came from. Weights are converted to Float32 at load and kept in
/// `parameterStore` under their Hugging Face names and layouts, at fixed addresses (a fine-tuning optimiser writes
/// them in place; see `SpeechEncoder+Parameters.swift`), q/k/v back to back so one GEMM projects all three. What
/// the kernels read in another layout is derived from them (conv weights `[C_out, C_in, K]` as `[C_out, K, C_in]`,
/// Winograd weights, the positional conv with weight norm applied and its FFT spectra) and re-derived by
/// `refreshDerivedWeights` after the weights change.
public final class SpeechEncoder: @unchecked Sendable {
    /// The architecture (config.json).
    public let config: SpeechEncoderConfig
    /// Input preparation (preprocessor_config.json).
    public let preprocessor: SpeechPreprocessorConfig

    /// A norm's affine parameters (`weight` and `bias`, `count` values each), pointers into `parameterStore`.
    struct Affine {
        var weight: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>
        var count: Int
    }

    /// One conv layer of the feature encoder: `feature_extractor.conv_layers.{i}`.
    struct ConvLayer {
        var cin: Int, cout: Int, kernel: Int, stride: Int
        /// `conv.weight` re-laid out `[C_out, K, C_in]` for the kernels (derived from `source`; see
        /// `refreshDerivedWeights`).
        var weight: [Float]
        /// `conv.bias` `[C_out]` (when `conv_bias`; a copy of `biasSource`).
        var bias: [Float]?
        /// `layer_norm.weight` / `.bias` `[C_out]`: GroupNorm(C_out, C_out) when `group`, LayerNorm when `layer`.
        var norm: Affine?
        /// True for the group-norm variant (normalise each channel over time).
        var groupNorm: Bool
        /// Winograd F(3, 2) weights of a stride-2, kernel-3 layer (`convolveWinograd`); nil for other shapes.
        var winograd: WinogradWeights?
        /// `conv.weight` `[C_out, C_in, K]` and `conv.bias` `[C_out]` as the checkpoint holds them: the trained
        /// parameters in `parameterStore` (nil only for a layer built by hand around given kernel weights).
        var source: UnsafeMutablePointer<Float>? = nil, biasSource: UnsafeMutablePointer<Float>? = nil

        /// The layer as the kernel library describes a convolution (no padding, no dilation, one group).
        var geometry: Conv1dGeometry {
            Conv1dGeometry(inChannels: cin, outChannels: cout, kernelSize: kernel, stride: stride)
        }

        /// Input frames that give exactly `frames` outputs (the frames past them are never read).
        func inputLength(frames: Int) -> Int { (max(frames, 1) - 1) * stride + kernel }
    }

    /// One transformer layer: `encoder.layers.{i}` (pointers into `parameterStore`).
    struct Layer {
        /// `attention.{q,k,v}_proj.weight` `[C, C]` each, stored back to back as one `[3C, C]` block (so one GEMM
        /// projects all three), and their biases `[3C]`.
        var qkvWeight: UnsafeMutablePointer<Float>, qkvBias: UnsafeMutablePointer<Float>
        /// `attention.out_proj.weight` `[C, C]`, `.bias` `[C]`.
        var outWeight: UnsafeMutablePointer<Float>, outBias: UnsafeMutablePointer<Float>
        /// `layer_norm.weight` / `.bias` `[C]`.
        var norm1: Affine
        /// `feed_forward.intermediate_dense.weight` `[F, C]`, `.bias` `[F]`.
        var ffInWeight: UnsafeMutablePointer<Float>, ffInBias: UnsafeMutablePointer<Float>
        /// `feed_forward.output_dense.weight` `[C, F]`, `.bias` `[C]`.
        var ffOutWeight: UnsafeMutablePointer<Float>, ffOutBias: UnsafeMutablePointer<Float>
        /// `final_layer_norm.weight` / `.bias` `[C]`.
        var norm2: Affine
        /// WavLM: `attention.gru_rel_pos_linear.weight` `[8, D]`, `.bias` `[8]`, `attention.gru_rel_pos_const` `[1, H, 1, 1]`.
        var gate: (weight: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>, const: UnsafeMutablePointer<Float>)?
    }

    /// How the checkpoint stores `encoder.pos_conv_embed.conv`'s weight.
    enum PositionalWeight {
        /// Plain `weight` `[C, C/G, K]`.
        case plain(UnsafeMutablePointer<Float>)
        /// Weight norm over dims 0, 1: `g` `[1, 1, K]` and `v` `[C, C/G, K]`, `weight = g · v / ‖v‖` per tap (named
        /// `weight_g`/`weight_v` or `parametrizations.weight.original0/1`, as the checkpoint had them).
        case normalized(g: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>)
    }

    /// Every weight tensor under its Hugging Face name, at stable addresses (the optimiser writes through them).
    let parameterStore: ParameterStore
    /// The prefix the checkpoint's encoder tensors had (`""`, or `"wav2vec2."` etc. for task models).
    let checkpointPrefix: String
    /// Scratch memory reused across calls (so one instance serves one thread at a time).
    let workspace = SpeechWorkspace()
    /// One workspace per sub-batch of a batch-split forward (see `forwardSplittingBatch`).
    var chunkWorkspaces: [SpeechWorkspace] = []
    /// Activations a recording forward keeps for the backward pass (grown once, reused across calls).
    let tapeSpace = SpeechWorkspace()
    /// The shape of what `tapeSpace` holds after a recording forward (nil: nothing recorded).
    var tapeShape: TapeShape?
    var convs: [ConvLayer]
    /// `feature_projection.layer_norm.weight` / `.bias` `[C']` (absent for HuBERT with `feat_proj_layer_norm: false`).
    var projectionNorm: Affine?
    /// `feature_projection.projection.weight` `[C, C']`.
    var projectionWeight: UnsafeMutablePointer<Float>
    /// `feature_projection.projection.bias` `[C]`.
    var projectionBias: UnsafeMutablePointer<Float>
    /// `encoder.pos_conv_embed.conv`'s weight as the checkpoint stores it (the trained parameters).
    var positionalWeight: PositionalWeight
    /// `encoder.pos_conv_embed.conv` weight after weight norm (`g * v / ||v||` over dims 0, 1), `[C, C/G, K]`
    /// stored as `[C, K, C/G]` (derived from `positionalWeight`; see `refreshDerivedWeights`).
    var posConvWeight: [Float] { didSet { positionalSpectraCache.reset() } }
    /// `posConvWeight`'s spectra for the FFT path, built on first use (see `Conv1dSameSpectra`).
    let positionalSpectraCache: LazyPositionalSpectra
    /// Instances over the same weights, one per thread of a taped forward split across threads (each keeps its
    /// sub-batch's tape; see `forwardSplittingBatch`).
    var splitClones: [SpeechEncoder] = []
    /// After a taped forward split across `splitClones`: clone k holds clips `splitRanges[k]` (nil otherwise).
    var splitRanges: [Range<Int>]?
    /// `encoder.pos_conv_embed.conv.bias` `[C]`.
    var posConvBias: UnsafeMutablePointer<Float>
    /// `encoder.layer_norm.weight` / `.bias` `[C]`.
    var encoderNorm: Affine
    var layers: [Layer]
    /// WavLM: `encoder.layers.0.attention.rel_attn_embed.weight` `[buckets, H]`.
    var relativeEmbedding: UnsafeMutablePointer<Float>?
    /// `masked_spec_embed` `[C]` when the checkpoint has it (SpecAugment's replacement frame; kept so a saved
    /// state round-trips, unused by the forward).
    var maskedSpecEmbed: UnsafeMutablePointer<Float>?
    /// Whether forwards record what weight gradients need (set by `trainingForward`).
    var recordsWeightInputs = false
    /// A checkpointed training forward's hidden states `[L+1, B, T, C]` (each layer is re-run from its input during
    /// backward) and, per layer, the dropout stream as it stood before that layer's masks were drawn (so the re-run
    /// draws the same masks). Empty otherwise.
    var checkpointHidden: [Float] = []
    var checkpointStreams: [SeededGenerator] = []
    /// Whether a training forward tapes the conv feature encoder (false while it is frozen: its tape, about a quarter
    /// of a base model's at 3 s, is needed only for its weight gradients or an input gradient, neither asked for).
    var tapesConvLayers = true
    /// The dropout training forwards apply (nil: none; see `SpeechEncoder+Dropout.swift`).
    public var dropoutRates: DropoutRates?
    /// The stream training forwards draw their dropout masks from, in a fixed order (seed it for reproducible runs).
    public var dropoutGenerator = SeededGenerator(seed: 0)
    /// Whether training forwards apply SpecAugment time masking (when the config asks for it and the checkpoint
    /// has `masked_spec_embed`; see `SpeechEncoder+Dropout.swift`).
    public var specAugment = false

    /// Loads `config.json`, `preprocessor_config.json` (optional) and the weights (`model.safetensors`, its shards
    /// through `model.safetensors.index.json`, or `pytorch_model.bin`) from `directory`.
    public convenience init(directory: String) throws {
        let dir = URL(fileURLWithPath: directory)
        let config = try SpeechEncoderConfig(contentsOf: dir.appendingPathComponent("config.json").path)
        let pre = try SpeechPreprocessorConfig(contentsOf: dir.appendingPathComponent("preprocessor_config.json").path)
        try self.init(config: config, preprocessor: pre, file: CheckpointFolder.weights(in: directory))
    }

    /// Loads the weights of `config`'s architecture from `file`, naming any missing, mis-shaped or unexpected tensor.
    public init(config: SpeechEncoderConfig, preprocessor: SpeechPreprocessorConfig = .init(), file: any TensorArchive) throws {
        self.config = config
        self.preprocessor = preprocessor
        positionalSpectraCache = LazyPositionalSpectra()
        // Task models (Wav2Vec2ForCTC, ...) store the encoder under "<model_type>."; bare models under "".
        let prefix = file.shape(of: "feature_extractor.conv_layers.0.conv.weight") != nil ? "" : "\(config.family.rawValue)."
        checkpointPrefix = prefix
        let r = WeightReader(file: file, prefix: prefix)
        let store = ParameterStore()
        parameterStore = store
        /// Reads tensor `name` into the store under that name.
        func take(_ name: String, _ shape: [Int]) throws -> UnsafeMutablePointer<Float> {
            store.add(name, shape: shape, values: try r.take(name, shape: shape))
        }
        func affine(_ stem: String, _ n: Int) throws -> Affine {
            Affine(weight: try take(stem + ".weight", [n]), bias: try take(stem + ".bias", [n]), count: n)
        }
        let c = config.hiddenSize
        // Conv feature encoder.
        var cin = 1
        var convs: [ConvLayer] = []
        for i in 0..<config.convDim.count {
            let (cout, k) = (config.convDim[i], config.convKernel[i])
            let p = "feature_extractor.conv_layers.\(i)."
            let w = try take(p + "conv.weight", [cout, cin, k])
            let bias = config.convBias ? try take(p + "conv.bias", [cout]) : nil
            let hasNorm = config.convLayerNorm || i == 0
            let norm = hasNorm ? try affine(p + "layer_norm", cout) : nil
            var layer = ConvLayer(cin: cin, cout: cout, kernel: k, stride: config.convStride[i], weight: [], bias: nil,
                                  norm: norm, groupNorm: !config.convLayerNorm, winograd: nil, source: w, biasSource: bias)
            Self.refresh(&layer)
            convs.append(layer)
            cin = cout
        }
        self.convs = convs
        // Feature projection.
        let cc = config.convOutputDim
        projectionNorm = config.featureProjectionLayerNorm ? try affine("feature_projection.layer_norm", cc) : nil
        projectionWeight = try take("feature_projection.projection.weight", [c, cc])
        projectionBias = try take("feature_projection.projection.bias", [c])
        // Positional convolution (weight norm over dim 2, as torch.nn.utils.parametrizations.weight_norm(dim=2)).
        let (kp, cg) = (config.posConvKernel, c / config.posConvGroups)
        let pp = "encoder.pos_conv_embed.conv."
        let wShape = [c, cg, kp]
        if r.has(pp + "weight") {
            positionalWeight = .plain(try take(pp + "weight", wShape))
        } else {
            let gName = r.has(pp + "weight_g") ? pp + "weight_g" : pp + "parametrizations.weight.original0"
            let vName = r.has(pp + "weight_v") ? pp + "weight_v" : pp + "parametrizations.weight.original1"
            positionalWeight = .normalized(g: try take(gName, [1, 1, kp]), v: try take(vName, wShape))
        }
        posConvWeight = Self.positionalWeightTapsMajor(positionalWeight, channels: c, groupWidth: cg, kernel: kp)
        posConvBias = try take(pp + "bias", [c])
        encoderNorm = try affine("encoder.layer_norm", c)
        // Transformer layers.
        let (f, h, d) = (config.intermediateSize, config.numHeads, config.headDim)
        var layers: [Layer] = []
        var relative: UnsafeMutablePointer<Float>?
        for i in 0..<config.numLayers {
            let p = "encoder.layers.\(i)."
            func lin(_ name: String, _ out: Int, _ inp: Int) throws -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) {
                (try take(p + name + ".weight", [out, inp]), try take(p + name + ".bias", [out]))
            }
            // q, k, v back to back in one block each for weights and biases (one fused projection GEMM).
            let a = p + "attention."
            let qkvW = store.addBlock([(a + "q_proj.weight", [c, c], try r.take(a + "q_proj.weight", shape: [c, c])),
                                       (a + "k_proj.weight", [c, c], try r.take(a + "k_proj.weight", shape: [c, c])),
                                       (a + "v_proj.weight", [c, c], try r.take(a + "v_proj.weight", shape: [c, c]))])
            let qkvB = store.addBlock([(a + "q_proj.bias", [c], try r.take(a + "q_proj.bias", shape: [c])),
                                       (a + "k_proj.bias", [c], try r.take(a + "k_proj.bias", shape: [c])),
                                       (a + "v_proj.bias", [c], try r.take(a + "v_proj.bias", shape: [c]))])
            let (ow, ob) = try lin("attention.out_proj", c, c)
            var gate: (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>)?
            if config.family == .wavlm {
                let (gw, gb) = try lin("attention.gru_rel_pos_linear", 8, d)
                gate = (gw, gb, try take(p + "attention.gru_rel_pos_const", [1, h, 1, 1]))
                if i == 0 {
                    relative = try take(p + "attention.rel_attn_embed.weight", [config.numBuckets, h])
                }
            }
            let norm1 = try affine(p + "layer_norm", c)
            let (iw, ib) = try lin("feed_forward.intermediate_dense", f, c)
            let (fw, fb) = try lin("feed_forward.output_dense", c, f)
            let norm2 = try affine(p + "final_layer_norm", c)
            layers.append(Layer(qkvWeight: qkvW, qkvBias: qkvB, outWeight: ow, outBias: ob,
                                norm1: norm1, ffInWeight: iw, ffInBias: ib,
                                ffOutWeight: fw, ffOutBias: fb, norm2: norm2, gate: gate))
        }
        self.layers = layers
        relativeEmbedding = relative
        maskedSpecEmbed = r.has("masked_spec_embed") ? try take("masked_spec_embed", [c]) : nil
        try r.finish()
    }

    /// A second instance over `other`'s weights (the same parameter store, derived arrays shared copy-on-write,
    /// positional spectra shared) with its own workspaces and tape: one thread's share of a split taped forward.
    init(sharingWeightsOf other: SpeechEncoder) {
        config = other.config
        preprocessor = other.preprocessor
        parameterStore = other.parameterStore
        checkpointPrefix = other.checkpointPrefix
        positionalSpectraCache = other.positionalSpectraCache
        convs = other.convs
        projectionNorm = other.projectionNorm
        projectionWeight = other.projectionWeight
        projectionBias = other.projectionBias
        positionalWeight = other.positionalWeight
        posConvWeight = other.posConvWeight
        posConvBias = other.posConvBias
        encoderNorm = other.encoderNorm
        layers = other.layers
        relativeEmbedding = other.relativeEmbedding
        maskedSpecEmbed = other.maskedSpecEmbed
    }

    /// `[C_out, C_in, K]` → `[C_out, K, C_in]`, so one output frame's receptive field is contiguous in a
    /// frames-major `[T, C_in]` input.
    static func tapsMajor(_ w: [Float], cout: Int, cin: Int, k: Int) -> [Float] {
        var out = [Float](repeating: 0, count: w.count)
        for o in 0..<cout { for i in 0..<cin { for t in 0..<k { out[(o * k + t) * cin + i] = w[(o * cin + i) * k + t] } } }
        return out
    }

    /// Number of parameters held (for reports): every checkpoint tensor, with weight norm's `g` folded into the
    /// positional conv weight and `masked_spec_embed` (unused by the forward) left out.
    public var parameterCount: Int {
        var n = parameterStore.tensors.reduce(0) { $0 + $1.count }
        if case .normalized = positionalWeight { n -= config.posConvKernel }
        if maskedSpecEmbed != nil { n -= config.hiddenSize }
        return n
    }
}
