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
/// - `layerdrop`: each layer skipped whole with that probability (WavLM never skips layer 0, whose relative position
///   table the others use), one uniform draw per layer after the front end's masks.
/// SpecAugment along time is at the end of this file; along features (`mask_feature_prob`) it is not applied.
extension SpeechEncoder {
    /// The probabilities of the dropouts a training forward applies.
    public struct DropoutRates: Sendable, Equatable {
        /// `hidden_dropout`, `attention_dropout`, `activation_dropout`, `feat_proj_dropout`, `layerdrop`.
        public var hidden: Float, attention: Float, activation: Float, featureProjection: Float, layerdrop: Float

        /// The rates of `config` (the checkpoint's config.json).
        public init(_ config: SpeechEncoderConfig) {
            self.init(hidden: config.hiddenDropout, attention: config.attentionDropout,
                      activation: config.activationDropout, featureProjection: config.featProjDropout,
                      layerdrop: config.layerdrop)
        }

        /// Explicit rates.
        public init(hidden: Float, attention: Float, activation: Float, featureProjection: Float, layerdrop: Float = 0) {
            self.hidden = hidden
            self.attention = attention
            self.activation = activation
            self.featureProjection = featureProjection
            self.layerdrop = layerdrop
        }

        /// Whether any rate is above zero.
        public var isActive: Bool { hidden > 0 || attention > 0 || activation > 0 || featureProjection > 0 || layerdrop > 0 }
    }

    /// Draws the front end's masks (`rows` = B·T).
    func drawDropoutMasks(_ front: FrontTape, rows: Int) {
        guard let rates = dropoutRates else { return }
        let c = config.hiddenSize
        if let m = front.projMask { Kernels.dropoutMask(m, count: rows * c, p: rates.featureProjection, generator: &dropoutGenerator) }
        if let m = front.encMask { Kernels.dropoutMask(m, count: rows * c, p: rates.hidden, generator: &dropoutGenerator) }
    }

    /// Which layers a training forward skips (LayerDrop), one uniform draw per layer (none for WavLM's layer 0);
    /// empty when `layerdrop` is 0.
    func drawLayerDrop(_ rates: DropoutRates) -> [Bool] {
        guard rates.layerdrop > 0 else { return [] }
        return (0..<config.numLayers).map { i in
            guard !(config.family == .wavlm && i == 0) else { return false }
            return dropoutGenerator.nextUniform() < rates.layerdrop
        }
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

// MARK: - SpecAugment along time

extension SpeechEncoder {
    /// Whether training forwards mask time spans: `specAugment` is on, the config asks for it (`apply_spec_augment`,
    /// `mask_time_prob` > 0) and the checkpoint has `masked_spec_embed` (without it there is nothing to put in).
    var usesTimeMasking: Bool {
        specAugment && config.applySpecAugment && config.maskTimeProb > 0 && maskedSpecEmbed != nil
    }

    /// Draws SpecAugment's time mask (`mask` `[B·T]`, 1 = masked) as `transformers`' `_compute_mask_indices` does,
    /// from `dropoutGenerator`: with ε uniform in [0, 1) per batch, clip b gets
    /// `max(⌊p · T_b / M + ε⌋, min_masks)` spans of M frames (capped so they fit: at most T / M, and at most
    /// T_b − M + 1), their starts drawn without replacement from 0 … T_b − M; then replaces the masked frames of
    /// `h` `[B, T, C]` by `masked_spec_embed`.
    func applyTimeMask(_ mask: UnsafeMutablePointer<Float>, to h: UnsafeMutablePointer<Float>, batch: Int, frames t: Int,
                       frameLengths: [Int]) {
        mask.update(repeating: 0, count: batch * t)
        guard let embed = maskedSpecEmbed else { return }
        let (p, m, c) = (Double(config.maskTimeProb), config.maskTimeLength, config.hiddenSize)
        guard m <= t else { return }
        let epsilon = Double(dropoutGenerator.nextUniform())
        func spans(_ length: Int) -> Int {
            var n = max(Int(p * Double(length) / Double(m) + epsilon), config.maskTimeMinMasks)
            if n * m > t { n = t / m }
            if length - (m - 1) < n { n = max(length - (m - 1), 0) }
            return n
        }
        for b in 0..<batch {
            let length = min(frameLengths[b], t)
            let n = spans(length), choices = length - (m - 1)
            guard n > 0, choices > 0 else { continue }
            var starts = Array(0..<choices)
            for i in 0..<n {  // partial Fisher–Yates: n distinct starts
                let j = i + Int(dropoutGenerator.next() % UInt64(choices - i))
                starts.swapAt(i, j)
                for f in starts[i]..<min(starts[i] + m, t) { mask[b * t + f] = 1 }
            }
        }
        for r in 0..<(batch * t) where mask[r] != 0 { (h + r * c).update(from: embed, count: c) }
    }

    /// Back through the time mask: d `masked_spec_embed` += the gradient `dH` `[B·T, C]` of the masked rows (when
    /// `gradients` trains it), and those rows of `dH` are zeroed (the projection did not produce them).
    func timeMaskBackward(_ mask: UnsafePointer<Float>, _ dH: UnsafeMutablePointer<Float>, rows: Int, into gradients: Gradients?) {
        let c = config.hiddenSize
        let dEmbed = gradients?.of(maskedSpecEmbed)
        for r in 0..<rows where mask[r] != 0 {
            let row = dH + r * c
            if let dEmbed { for j in 0..<c { dEmbed[j] += row[j] } }
            row.update(repeating: 0, count: c)
        }
    }
}
