import EmoModels
import EmoTensor
import Foundation

/// Training-time dropout, as `transformers` applies it in training mode, with masks drawn from `dropoutGenerator`
/// and kept on the tape for the backward.
///
/// Dimension legend: docs/numerics.md. Used here: `B` batch, `T` frames, `C` hidden width, `H` heads, `F`
/// feed-forward width.
///
/// Where (wav2vec2, HuBERT and WavLM alike):
/// - `feat_proj_dropout` on the feature projection's output `[B, T, C]`;
/// - `hidden_dropout` on the encoder's input (after `encoder.layer_norm` for post-LN layouts, after the positional
///   conv for pre-LN ones), and in every layer on the attention block's output and the feed-forward block's output
///   (before their residual adds);
/// - `attention_dropout` on the attention probabilities `[B, H, T, T]` (the softmax output, before `· V`);
/// - `activation_dropout` on the GELU output inside the feed-forward block `[B, T, F]`.
/// Masks are inverted dropout (`Kernels.dropoutMask`: 0, or 1/(1 − p)), drawn in a fixed order (front end, then
/// layer by layer: probabilities, attention output, activation, feed-forward output), so one seed gives one run.
/// Not applied: `layerdrop` (whole layers skipped) and SpecAugment (`mask_time_prob`, `masked_spec_embed`).
extension SpeechEncoder {
    /// The probabilities of the dropouts a training forward applies.
    public struct DropoutRates: Sendable, Equatable {
        /// `hidden_dropout`, `attention_dropout`, `activation_dropout`, `feat_proj_dropout`.
        public var hidden: Float, attention: Float, activation: Float, featureProjection: Float

        /// The rates of `config` (the checkpoint's config.json).
        public init(_ config: SpeechEncoderConfig) {
            self.init(hidden: config.hiddenDropout, attention: config.attentionDropout,
                      activation: config.activationDropout, featureProjection: config.featProjDropout)
        }

        /// Explicit rates.
        public init(hidden: Float, attention: Float, activation: Float, featureProjection: Float) {
            self.hidden = hidden
            self.attention = attention
            self.activation = activation
            self.featureProjection = featureProjection
        }

        /// Whether any rate is above zero.
        public var isActive: Bool { hidden > 0 || attention > 0 || activation > 0 || featureProjection > 0 }
    }

    /// Draws the front end's masks (`rows` = B·T).
    func drawDropoutMasks(_ front: FrontTape, rows: Int) {
        guard let rates = dropoutRates else { return }
        let c = config.hiddenSize
        if let m = front.projMask { Kernels.dropoutMask(m, count: rows * c, p: rates.featureProjection, generator: &dropoutGenerator) }
        if let m = front.encMask { Kernels.dropoutMask(m, count: rows * c, p: rates.hidden, generator: &dropoutGenerator) }
    }

    /// Draws one layer's masks.
    func drawDropoutMasks(_ tape: LayerTape, batch: Int, frames t: Int) {
        guard let rates = dropoutRates else { return }
        let (c, f, nh) = (config.hiddenSize, config.intermediateSize, config.numHeads)
        let rows = batch * t
        if let m = tape.attnMask { Kernels.dropoutMask(m, count: batch * nh * t * t, p: rates.attention, generator: &dropoutGenerator) }
        if let m = tape.attnOutMask { Kernels.dropoutMask(m, count: rows * c, p: rates.hidden, generator: &dropoutGenerator) }
        if let m = tape.actMask { Kernels.dropoutMask(m, count: rows * f, p: rates.activation, generator: &dropoutGenerator) }
        if let m = tape.ffOutMask { Kernels.dropoutMask(m, count: rows * c, p: rates.hidden, generator: &dropoutGenerator) }
    }

    /// Adds a residual branch `[rows, C]` into `h`: `compute(y, accumulate)` writes the branch into `y` (or adds it
    /// with `accumulate`). Without a mask the branch is added in place by its own GEMM (beta 1, the inference
    /// path); with one it is computed apart, dropped, then added.
    @inline(__always)
    func addBranch(into h: UnsafeMutablePointer<Float>, rows: Int, mask: UnsafeMutablePointer<Float>?, ws: SpeechWorkspace,
                   _ compute: (UnsafeMutablePointer<Float>, Bool) -> Void) {
        guard let mask else { return compute(h, true) }
        let count = rows * config.hiddenSize
        let y = ws.buffer(.dropOut, count)  // [B·T, C]
        compute(y, false)
        Kernels.multiply(y, by: mask, into: y, count: count)
        Dense.add(y, into: h, count: count)
    }

    /// `grad ⊙ mask` into the backward's scratch when there is a mask, else `grad` itself.
    func throughDropout(_ grad: UnsafeMutablePointer<Float>, _ mask: UnsafeMutablePointer<Float>?, count: Int) -> UnsafeMutablePointer<Float> {
        guard let mask else { return grad }
        let out = workspace.buffer(.bDropOut, count)
        Kernels.multiply(grad, by: mask, into: out, count: count)
        return out
    }
}
