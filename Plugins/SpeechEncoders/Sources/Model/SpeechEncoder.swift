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
/// Each stored field names the checkpoint tensor it came from. Weights are converted to Float32 at load and
/// re-laid out once for the kernels (conv weights `[C_out, C_in, K]` become `[C_out, K, C_in]`, q/k/v are fused).
public final class SpeechEncoder: @unchecked Sendable {
    /// The architecture (config.json).
    public let config: SpeechEncoderConfig
    /// Input preparation (preprocessor_config.json).
    public let preprocessor: SpeechPreprocessorConfig

    /// One conv layer of the feature encoder: `feature_extractor.conv_layers.{i}`.
    struct ConvLayer {
        var cin: Int, cout: Int, kernel: Int, stride: Int
        /// `conv.weight` `[C_out, C_in, K]`, stored as `[C_out, K, C_in]`.
        var weight: [Float]
        /// `conv.bias` `[C_out]` (when `conv_bias`).
        var bias: [Float]?
        /// `layer_norm.weight` / `.bias` `[C_out]`: GroupNorm(C_out, C_out) when `group`, LayerNorm when `layer`.
        var norm: (weight: [Float], bias: [Float])?
        /// True for the group-norm variant (normalise each channel over time).
        var groupNorm: Bool
        /// Winograd F(3, 2) weights of a stride-2, kernel-3 layer (`convolveWinograd`); nil for other shapes.
        var winograd: WinogradWeights?

        /// The layer as the kernel library describes a convolution (no padding, no dilation, one group).
        var geometry: Conv1dGeometry {
            Conv1dGeometry(inChannels: cin, outChannels: cout, kernelSize: kernel, stride: stride)
        }

        /// Input frames that give exactly `frames` outputs (the frames past them are never read).
        func inputLength(frames: Int) -> Int { (max(frames, 1) - 1) * stride + kernel }
    }

    /// One transformer layer: `encoder.layers.{i}`.
    struct Layer {
        /// `attention.{q,k,v}_proj.weight` fused `[3C, C]`, and their biases `[3C]`.
        var qkvWeight: [Float], qkvBias: [Float]
        /// `attention.out_proj.weight` `[C, C]`, `.bias` `[C]`.
        var outWeight: [Float], outBias: [Float]
        /// `layer_norm.weight` / `.bias` `[C]`.
        var norm1: (weight: [Float], bias: [Float])
        /// `feed_forward.intermediate_dense.weight` `[F, C]`, `.bias` `[F]`.
        var ffInWeight: [Float], ffInBias: [Float]
        /// `feed_forward.output_dense.weight` `[C, F]`, `.bias` `[C]`.
        var ffOutWeight: [Float], ffOutBias: [Float]
        /// `final_layer_norm.weight` / `.bias` `[C]`.
        var norm2: (weight: [Float], bias: [Float])
        /// WavLM: `attention.gru_rel_pos_linear.weight` `[8, D]`, `.bias` `[8]`, `attention.gru_rel_pos_const` `[1, H, 1, 1]`.
        var gate: (weight: [Float], bias: [Float], const: [Float])?
    }

    /// Scratch memory reused across calls (so one instance serves one thread at a time).
    let workspace = SpeechWorkspace()
    /// One workspace per sub-batch of a batch-split forward (see `forwardSplittingBatch`).
    var chunkWorkspaces: [SpeechWorkspace] = []
    /// Activations a recording forward keeps for the backward pass (grown once, reused across calls).
    let tapeSpace = SpeechWorkspace()
    /// The shape of what `tapeSpace` holds after a recording forward (nil: nothing recorded).
    var tapeShape: TapeShape?
    var convs: [ConvLayer] = []
    /// `feature_projection.layer_norm.weight` / `.bias` `[C']` (absent for HuBERT with `feat_proj_layer_norm: false`).
    var projectionNorm: (weight: [Float], bias: [Float])?
    /// `feature_projection.projection.weight` `[C, C']`.
    var projectionWeight: [Float] = []
    /// `feature_projection.projection.bias` `[C]`.
    var projectionBias: [Float] = []
    /// `encoder.pos_conv_embed.conv` weight after weight norm (`g * v / ||v||` over dims 0, 1), `[C, C/G, K]`
    /// stored as `[C, K, C/G]`.
    var posConvWeight: [Float] = [] { didSet { positionalSpectraCache.reset() } }
    /// `posConvWeight`'s spectra for the FFT path, built on first use (see `PositionalConvSpectra`).
    let positionalSpectraCache: LazyPositionalSpectra
    /// Instances over the same weights, one per thread of a taped forward split across threads (each keeps its
    /// sub-batch's tape; see `forwardSplittingBatch`).
    var splitClones: [SpeechEncoder] = []
    /// After a taped forward split across `splitClones`: clone k holds clips `splitRanges[k]` (nil otherwise).
    var splitRanges: [Range<Int>]?
    /// `encoder.pos_conv_embed.conv.bias` `[C]`.
    var posConvBias: [Float] = []
    /// `encoder.layer_norm.weight` / `.bias` `[C]`.
    var encoderNorm: (weight: [Float], bias: [Float]) = ([], [])
    var layers: [Layer] = []
    /// WavLM: `encoder.layers.0.attention.rel_attn_embed.weight` `[buckets, H]`.
    var relativeEmbedding: [Float]?

    /// Tensor names (after the prefix) a checkpoint may hold that inference does not use.
    static let ignoredNames = ["masked_spec_embed"]

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
        let r = WeightReader(file: file, prefix: prefix)
        let c = config.hiddenSize
        // Conv feature encoder.
        var cin = 1
        for i in 0..<config.convDim.count {
            let (cout, k) = (config.convDim[i], config.convKernel[i])
            let p = "feature_extractor.conv_layers.\(i)."
            let w = try r.take(p + "conv.weight", shape: [cout, cin, k])
            let bias = config.convBias ? try r.take(p + "conv.bias", shape: [cout]) : nil
            let hasNorm = config.convLayerNorm || i == 0
            let norm = hasNorm ? (try r.take(p + "layer_norm.weight", shape: [cout]), try r.take(p + "layer_norm.bias", shape: [cout])) : nil
            let packed = Self.tapsMajor(w, cout: cout, cin: cin, k: k)
            convs.append(ConvLayer(cin: cin, cout: cout, kernel: k, stride: config.convStride[i],
                                   weight: packed, bias: bias, norm: norm, groupNorm: !config.convLayerNorm,
                                   winograd: WinogradWeights(kernel: k, stride: config.convStride[i], cin: cin, cout: cout,
                                                             weight: packed, bias: bias)))
            cin = cout
        }
        // Feature projection.
        let cc = config.convOutputDim
        if config.featureProjectionLayerNorm {
            projectionNorm = (try r.take("feature_projection.layer_norm.weight", shape: [cc]),
                              try r.take("feature_projection.layer_norm.bias", shape: [cc]))
        }
        projectionWeight = try r.take("feature_projection.projection.weight", shape: [c, cc])
        projectionBias = try r.take("feature_projection.projection.bias", shape: [c])
        // Positional convolution (weight norm over dim 2, as torch.nn.utils.parametrizations.weight_norm(dim=2)).
        let (kp, cg) = (config.posConvKernel, c / config.posConvGroups)
        let pp = "encoder.pos_conv_embed.conv."
        let wShape = [c, cg, kp]
        var posW: [Float]
        if r.has(pp + "weight") {
            posW = try r.take(pp + "weight", shape: wShape)
        } else {
            let gName = r.has(pp + "weight_g") ? pp + "weight_g" : pp + "parametrizations.weight.original0"
            let vName = r.has(pp + "weight_v") ? pp + "weight_v" : pp + "parametrizations.weight.original1"
            let g = try r.take(gName, shape: [1, 1, kp])
            posW = try r.take(vName, shape: wShape)
            for t in 0..<kp {
                var ss: Float = 0
                for o in 0..<c { for i in 0..<cg { let v = posW[(o * cg + i) * kp + t]; ss += v * v } }
                let scale = g[t] / ss.squareRoot()
                for o in 0..<c { for i in 0..<cg { posW[(o * cg + i) * kp + t] *= scale } }
            }
        }
        posConvWeight = Self.tapsMajor(posW, cout: c, cin: cg, k: kp)
        posConvBias = try r.take(pp + "bias", shape: [c])
        encoderNorm = (try r.take("encoder.layer_norm.weight", shape: [c]), try r.take("encoder.layer_norm.bias", shape: [c]))
        // Transformer layers.
        let (f, h, d) = (config.intermediateSize, config.numHeads, config.headDim)
        for i in 0..<config.numLayers {
            let p = "encoder.layers.\(i)."
            func lin(_ name: String, _ out: Int, _ inp: Int) throws -> ([Float], [Float]) {
                (try r.take(p + name + ".weight", shape: [out, inp]), try r.take(p + name + ".bias", shape: [out]))
            }
            func norm(_ name: String) throws -> ([Float], [Float]) {
                (try r.take(p + name + ".weight", shape: [c]), try r.take(p + name + ".bias", shape: [c]))
            }
            let (qw, qb) = try lin("attention.q_proj", c, c)
            let (kw, kb) = try lin("attention.k_proj", c, c)
            let (vw, vb) = try lin("attention.v_proj", c, c)
            let (ow, ob) = try lin("attention.out_proj", c, c)
            let (iw, ib) = try lin("feed_forward.intermediate_dense", f, c)
            let (fw, fb) = try lin("feed_forward.output_dense", c, f)
            var gate: ([Float], [Float], [Float])?
            if config.family == .wavlm {
                let (gw, gb) = try lin("attention.gru_rel_pos_linear", 8, d)
                gate = (gw, gb, try r.take(p + "attention.gru_rel_pos_const", shape: [1, h, 1, 1]))
                if i == 0 {
                    relativeEmbedding = try r.take(p + "attention.rel_attn_embed.weight", shape: [config.numBuckets, h])
                }
            }
            layers.append(Layer(qkvWeight: qw + kw + vw, qkvBias: qb + kb + vb, outWeight: ow, outBias: ob,
                                norm1: try norm("layer_norm"), ffInWeight: iw, ffInBias: ib,
                                ffOutWeight: fw, ffOutBias: fb, norm2: try norm("final_layer_norm"), gate: gate))
        }
        try r.finish(ignoring: Self.ignoredNames)
    }

    /// A second instance over `other`'s weights (arrays shared copy-on-write, positional spectra shared) with its own
    /// workspaces and tape: one thread's share of a split taped forward.
    init(sharingWeightsOf other: SpeechEncoder) {
        config = other.config
        preprocessor = other.preprocessor
        positionalSpectraCache = other.positionalSpectraCache
        convs = other.convs
        projectionNorm = other.projectionNorm
        projectionWeight = other.projectionWeight
        projectionBias = other.projectionBias
        posConvWeight = other.posConvWeight
        posConvBias = other.posConvBias
        encoderNorm = other.encoderNorm
        layers = other.layers
        relativeEmbedding = other.relativeEmbedding
    }

    /// `[C_out, C_in, K]` → `[C_out, K, C_in]`, so one output frame's receptive field is contiguous in a
    /// frames-major `[T, C_in]` input.
    static func tapsMajor(_ w: [Float], cout: Int, cin: Int, k: Int) -> [Float] {
        var out = [Float](repeating: 0, count: w.count)
        for o in 0..<cout { for i in 0..<cin { for t in 0..<k { out[(o * k + t) * cin + i] = w[(o * cin + i) * k + t] } } }
        return out
    }

    /// Number of parameters held (for reports).
    public var parameterCount: Int {
        var n = projectionWeight.count + projectionBias.count + posConvWeight.count + posConvBias.count
        n += encoderNorm.weight.count * 2 + (projectionNorm?.weight.count ?? 0) * 2 + (relativeEmbedding?.count ?? 0)
        for cl in convs { n += cl.weight.count + (cl.bias?.count ?? 0) + (cl.norm?.weight.count ?? 0) * 2 }
        for l in layers {
            n += l.qkvWeight.count + l.qkvBias.count + l.outWeight.count + l.outBias.count + 4 * l.norm1.weight.count
            n += l.ffInWeight.count + l.ffInBias.count + l.ffOutWeight.count + l.ffOutBias.count
            n += (l.gate?.weight.count ?? 0) + (l.gate?.bias.count ?? 0) + (l.gate?.const.count ?? 0)
        }
        return n
    }
}
