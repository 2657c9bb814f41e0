import EmoModels
import EmoTensor
import Foundation

/// What a recording forward pass keeps for the backward pass (PyTorch's autograd saved tensors, by hand).
///
/// Only what the vector-Jacobian product to the input needs is kept: per conv layer the GELU input (or, after a
/// norm, the normalised value and its `rstd`), per norm `xhat` and `rstd`, per transformer layer q/k/v, the
/// attention probabilities, the FFN pre-activation and (WavLM) the gate terms. For a 3 s clip through a base model
/// this is about 120 MB per clip. A training forward (`trainingForward`) also keeps the inputs of the linear and
/// convolution layers that weight gradients need and that cannot be rebuilt from the above (`weightInputs`): the
/// input samples, the feature projection's input, the positional conv's input, and per layer the attention input
/// and context (about 2·C more floats per frame and layer, +8 % for a base model); the normalised inputs of the
/// feed-forward block are rebuilt from the saved `xhat`.
extension SpeechEncoder {
    /// How much a recording forward kept.
    enum TapeDepth {
        /// Nothing (inference).
        case none
        /// The front end only; transformer layers are recomputed from the hidden states one at a time during
        /// backward (activation checkpointing: one layer's activations in memory at a time).
        case frontEnd
        /// Front end and every layer.
        case full
    }

    /// The shapes of the last recording forward.
    struct TapeShape {
        var batch: Int
        var samples: Int
        var frames: Int
        var lengths: [Int]?
        var frameLengths: [Int]
        var depth: TapeDepth
        /// Whether the tape also holds what weight gradients need (a `trainingForward`).
        var weightInputs = false
        /// Whether the conv feature encoder's layers are on the tape (not for a training forward that freezes it).
        var convLayers = true
        /// The dropout the forward applied (its masks are on the tape), nil for none.
        var dropout: DropoutRates?
        /// Whether the forward applied SpecAugment time masking (its mask is on the tape).
        var timeMasked = false
        /// Per layer, whether LayerDrop skipped it (empty: none skipped).
        var skippedLayers: [Bool] = []
    }

    /// One transformer layer's saved activations (pointers into `tapeSpace`).
    struct LayerTape {
        /// `[B, T, 3C]` q, k, v (with biases).
        var qkv: UnsafeMutablePointer<Float>
        /// `[B, H, T, T]` attention probabilities (columns ≥ the clip's real keys are stale, never read).
        var probs: UnsafeMutablePointer<Float>
        /// First norm of the layer (`layer_norm`): `xhat [B, T, C]`, `rstd [B, T]`. Post-LN: over the attention
        /// block's output; pre-LN: over the layer input.
        var normAXhat: UnsafeMutablePointer<Float>, normARstd: UnsafeMutablePointer<Float>
        /// `[B, T, F]` FFN pre-activation (GELU input).
        var ffPre: UnsafeMutablePointer<Float>
        /// Second norm (`final_layer_norm`): post-LN over the FFN block's output; pre-LN over the FFN's input.
        var normBXhat: UnsafeMutablePointer<Float>, normBRstd: UnsafeMutablePointer<Float>
        /// WavLM `[B, T, H]`: sigmoid of the gate's two projection sums.
        var gateA: UnsafeMutablePointer<Float>, gateB: UnsafeMutablePointer<Float>
        /// Weight inputs only: `[B, T, C]` the attention input (the layer input for post-LN, its `layer_norm`
        /// output for pre-LN) and the attention context (before `out_proj`).
        var attnIn: UnsafeMutablePointer<Float>?, ctx: UnsafeMutablePointer<Float>?
        /// Dropout masks (0 or 1/(1 − p); nil when that dropout is off): attention probabilities `[B, H, T, T]`,
        /// the attention block's output `[B, T, C]`, the GELU output `[B, T, F]`, the FFN block's output `[B, T, C]`.
        var attnMask: UnsafeMutablePointer<Float>?, attnOutMask: UnsafeMutablePointer<Float>?
        var actMask: UnsafeMutablePointer<Float>?, ffOutMask: UnsafeMutablePointer<Float>?
    }

    /// The front end's saved activations (pointers into `tapeSpace`).
    struct FrontTape {
        /// Per conv layer `[B, T_i, C']`: the GELU input, or for normed layers the normalised value `xhat` (empty
        /// when the conv layers are not taped).
        var conv: [UnsafeMutablePointer<Float>]
        /// Per normed conv layer: `rstd`, `[B, C']` (group norm) or `[B, T_i]` (layer norm).
        var convRstd: [UnsafeMutablePointer<Float>]
        /// `feature_projection.layer_norm`: `xhat [B·T, C']`, `rstd [B·T]`.
        var projXhat: UnsafeMutablePointer<Float>, projRstd: UnsafeMutablePointer<Float>
        /// `[B·T, C]` positional conv pre-activation (GELU input).
        var posPre: UnsafeMutablePointer<Float>
        /// `encoder.layer_norm`: `xhat [B·T, C]`, `rstd [B·T]` (after the positional conv for post-LN layouts,
        /// after the last layer for pre-LN ones).
        var encXhat: UnsafeMutablePointer<Float>, encRstd: UnsafeMutablePointer<Float>
        /// Weight inputs only: the normalised input samples `[B, S]`, the feature projection's input `[B·T, C']`
        /// (after its norm), the positional conv's input `[B·T, C]` (padding frames zeroed).
        var samples: UnsafeMutablePointer<Float>?, projIn: UnsafeMutablePointer<Float>?, posIn: UnsafeMutablePointer<Float>?
        /// Dropout masks `[B·T, C]` (nil when off): the feature projection's output (`feat_proj_dropout`) and the
        /// encoder's input (`hidden_dropout`: after `encoder.layer_norm` for post-LN, after the positional conv for
        /// pre-LN).
        var projMask: UnsafeMutablePointer<Float>?, encMask: UnsafeMutablePointer<Float>?
        /// SpecAugment `[B·T]`: 1 where the frame was replaced by `masked_spec_embed` (nil when off).
        var timeMask: UnsafeMutablePointer<Float>?
    }

    /// Layer tape `slot` for `batch` clips of `t` frames (with the weight inputs when `weightInputs`).
    func layerTape(_ slot: Int, batch: Int, frames t: Int, weightInputs: Bool = false, dropout: DropoutRates? = nil) -> LayerTape {
        let (c, f, nh) = (config.hiddenSize, config.intermediateSize, config.numHeads)
        let rows = batch * t
        let s = tapeSpace
        let gated = config.family == .wavlm
        return LayerTape(qkv: s.buffer(.layer(slot, .qkv), rows * 3 * c), probs: s.buffer(.layer(slot, .probs), batch * nh * t * t),
                         normAXhat: s.buffer(.layer(slot, .normAXhat), rows * c), normARstd: s.buffer(.layer(slot, .normARstd), rows),
                         ffPre: s.buffer(.layer(slot, .ffPre), rows * f),
                         normBXhat: s.buffer(.layer(slot, .normBXhat), rows * c), normBRstd: s.buffer(.layer(slot, .normBRstd), rows),
                         gateA: s.buffer(.layer(slot, .gateA), gated ? rows * nh : 1), gateB: s.buffer(.layer(slot, .gateB), gated ? rows * nh : 1),
                         attnIn: weightInputs ? s.buffer(.layer(slot, .attnIn), rows * c) : nil,
                         ctx: weightInputs ? s.buffer(.layer(slot, .ctx), rows * c) : nil,
                         attnMask: (dropout?.attention ?? 0) > 0 ? s.buffer(.layer(slot, .attnMask), batch * nh * t * t) : nil,
                         attnOutMask: (dropout?.hidden ?? 0) > 0 ? s.buffer(.layer(slot, .attnOutMask), rows * c) : nil,
                         actMask: (dropout?.activation ?? 0) > 0 ? s.buffer(.layer(slot, .actMask), rows * f) : nil,
                         ffOutMask: (dropout?.hidden ?? 0) > 0 ? s.buffer(.layer(slot, .ffOutMask), rows * c) : nil)
    }

    /// The front-end tape for `batch` clips of `samples` samples (`t` frames); without `convLayers`, nothing of the
    /// conv feature encoder (nor the input samples its first layer's weight gradient needs).
    func frontTape(batch: Int, samples: Int, frames t: Int, weightInputs: Bool = false, dropout: DropoutRates? = nil,
                   timeMasking: Bool = false, convLayers: Bool = true) -> FrontTape {
        let (c, cc) = (config.hiddenSize, config.convOutputDim)
        let s = tapeSpace
        var conv: [UnsafeMutablePointer<Float>] = [], rstd: [UnsafeMutablePointer<Float>] = []
        for (i, cl) in convs.enumerated() where convLayers {
            let ti = config.frameCount(samples: samples, layers: i + 1)
            conv.append(s.buffer(.tapeConv(i), batch * ti * cl.cout))
            rstd.append(s.buffer(.tapeConvRstd(i), cl.norm == nil ? 1 : batch * (cl.groupNorm ? cl.cout : ti)))
        }
        return FrontTape(conv: conv, convRstd: rstd, projXhat: s.buffer(.projXhat, batch * t * cc),
                         projRstd: s.buffer(.projRstd, batch * t), posPre: s.buffer(.posPre, batch * t * c),
                         encXhat: s.buffer(.encXhat, batch * t * c), encRstd: s.buffer(.encRstd, batch * t),
                         samples: weightInputs && convLayers ? s.buffer(.tapeSamples, batch * samples) : nil,
                         projIn: weightInputs ? s.buffer(.projIn, batch * t * cc) : nil,
                         posIn: weightInputs ? s.buffer(.posIn, batch * t * c) : nil,
                         projMask: (dropout?.featureProjection ?? 0) > 0 ? s.buffer(.projMask, batch * t * c) : nil,
                         encMask: (dropout?.hidden ?? 0) > 0 ? s.buffer(.encMask, batch * t * c) : nil,
                         timeMask: timeMasking ? s.buffer(.timeMask, batch * t) : nil)
    }

    /// Floats a full tape takes for `batch` clips of `samples` samples (for memory planning and reports); without
    /// `convLayers`, less the conv feature encoder's part.
    public func tapeFloats(batch: Int, samples: Int, convLayers: Bool = true) -> Int {
        let t = config.frameCount(samples: samples)
        let (c, cc) = (config.hiddenSize, config.convOutputDim)
        var n = batch * t * (2 * cc + 2 + 2 * c + 1)
        for (i, cl) in convs.enumerated() where convLayers {
            let ti = config.frameCount(samples: samples, layers: i + 1)
            n += batch * ti * cl.cout + (cl.norm == nil ? 0 : batch * (cl.groupNorm ? cl.cout : ti))
        }
        return n + config.numLayers * layerTapeFloats(batch: batch, samples: samples)
    }

    /// Floats one transformer layer's tape takes (without weight inputs or dropout masks).
    func layerTapeFloats(batch: Int, samples: Int) -> Int {
        let t = config.frameCount(samples: samples)
        let (c, f, nh) = (config.hiddenSize, config.intermediateSize, config.numHeads)
        let rows = batch * t
        return rows * (3 * c + 2 * c + 2 + f) + batch * nh * t * t + (config.family == .wavlm ? 2 * rows * nh : 0)
    }

    /// Floats a training forward's tape takes (`tapeFloats` plus the weight inputs) for `batch` clips of
    /// `samples` samples; `convLayers` false when the conv feature encoder is frozen (not taped); `checkpointed`
    /// for activation checkpointing (one layer's tape and the `L+1` hidden states instead of every layer's tape).
    public func trainingTapeFloats(batch: Int, samples: Int, convLayers: Bool = true, checkpointed: Bool = false) -> Int {
        let t = config.frameCount(samples: samples)
        let (c, cc, l) = (config.hiddenSize, config.convOutputDim, config.numLayers)
        let full = tapeFloats(batch: batch, samples: samples, convLayers: convLayers) + (convLayers ? batch * samples : 0)
            + batch * t * (cc + c) + l * 2 * batch * t * c
        guard checkpointed else { return full }
        let layer = layerTapeFloats(batch: batch, samples: samples) + 2 * batch * t * c  // with its weight inputs
        return full - (l - 1) * layer + (l + 1) * batch * t * c
    }
}
