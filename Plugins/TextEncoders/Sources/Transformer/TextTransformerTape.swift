import EmoTensor

/// What a recording `TextTransformer` forward keeps for `TextTransformer.backward`: per layer the fused q|k|v
/// projection, the attention probabilities, the attention context, the feed-forward pre-activation, and for every
/// layer norm its input with the mean and 1/σ of each row; the token ids (for the embedding tables' gradients); and,
/// when the tape trains (`enableDropout`), every dropout mask the forward drew.
///
/// Buffers are (re)allocated by `begin` for the batch's shape; one tape serves one forward/backward pair at a time.
/// The inputs of the linear layers that are not kept (each layer's input, the attention norm's output, GELU's
/// output) are recomputed by the backward from what is kept, so a layer costs `3C + HT + C + F + 2(C + 2)` floats
/// per token instead of `5C + HT + 2F + 4`.
public final class TextTransformerTape {
    /// A layer norm's saved input `[N, C]`, mean `[N]` and 1/σ `[N]`.
    final class NormRecord {
        let preNorm: UnsafeMutablePointer<Float>
        let mean: UnsafeMutablePointer<Float>
        let rstd: UnsafeMutablePointer<Float>

        init(rows: Int, channels: Int) {
            preNorm = .allocate(capacity: rows * channels)
            mean = .allocate(capacity: rows)
            rstd = .allocate(capacity: rows)
        }

        deinit {
            preNorm.deallocate()
            mean.deallocate()
            rstd.deallocate()
        }
    }

    /// One layer's saved tensors.
    final class LayerRecord {
        /// `[N, 3C]` q | k | v.
        let qkv: UnsafeMutablePointer<Float>
        /// `[B, H, T, T]` softmax probabilities (before attention dropout).
        let probabilities: UnsafeMutablePointer<Float>
        /// `[N, C]` attention output before the output projection.
        let context: UnsafeMutablePointer<Float>
        /// `[N, F]` feed-forward input of GELU.
        let ffnPreActivation: UnsafeMutablePointer<Float>
        /// attention.output.LayerNorm and output.LayerNorm.
        let attnNorm: NormRecord, outNorm: NormRecord
        /// Dropout keep masks (0 or 1/(1 − p)) of a training forward: attention probabilities `[B, H, T, T]`, the
        /// attention output projection `[N, C]`, the feed-forward output `[N, C]`; nil when that dropout is off.
        let probabilityMask: UnsafeMutablePointer<Float>?, attnOutMask: UnsafeMutablePointer<Float>?,
            ffnOutMask: UnsafeMutablePointer<Float>?

        init(batch b: Int, tokens t: Int, channels c: Int, heads h: Int, ffn f: Int, dropout: DropoutRates?) {
            let n = b * t
            qkv = .allocate(capacity: n * 3 * c)
            probabilities = .allocate(capacity: b * h * t * t)
            context = .allocate(capacity: n * c)
            ffnPreActivation = .allocate(capacity: n * f)
            attnNorm = NormRecord(rows: n, channels: c)
            outNorm = NormRecord(rows: n, channels: c)
            let attention = (dropout?.attention ?? 0) > 0, hidden = (dropout?.hidden ?? 0) > 0
            probabilityMask = attention ? .allocate(capacity: b * h * t * t) : nil
            attnOutMask = hidden ? .allocate(capacity: n * c) : nil
            ffnOutMask = hidden ? .allocate(capacity: n * c) : nil
        }

        deinit {
            qkv.deallocate()
            probabilities.deallocate()
            context.deallocate()
            ffnPreActivation.deallocate()
            probabilityMask?.deallocate()
            attnOutMask?.deallocate()
            ffnOutMask?.deallocate()
        }
    }

    /// Dropout probabilities of a training forward (Hugging Face's `hidden_dropout_prob`,
    /// `attention_probs_dropout_prob`).
    public struct DropoutRates: Sendable, Equatable {
        /// Embeddings output and both sublayer outputs.
        public var hidden: Float
        /// Attention probabilities.
        public var attention: Float

        /// Creates the rates.
        public init(hidden: Float, attention: Float) {
            self.hidden = hidden
            self.attention = attention
        }
    }

    /// B, T, C, H, F of the recorded forward (0 before one).
    private(set) var batch = 0, tokens = 0, channels = 0, heads = 0, ffn = 0
    /// embeddings.LayerNorm.
    private(set) var embeddings = NormRecord(rows: 0, channels: 0)
    /// Keep mask `[N, C]` of the embeddings output's dropout, or nil.
    private(set) var embeddingsMask: UnsafeMutablePointer<Float>?
    /// Per layer.
    private(set) var layers: [LayerRecord] = []
    /// `[B, T]` 1 = attended key.
    private(set) var keyMask: [UInt8] = []
    /// `[B, T]` token ids of the recorded forward.
    private(set) var ids: [[Int]] = []
    /// True when the word rows came from the model's table (so the table gets their gradient), false when the
    /// caller gave word embeddings (their gradient is the backward's result).
    var wordsFromTable = true
    /// Dropout in force for the next forward; nil = evaluation (no dropout).
    public private(set) var dropout: DropoutRates?
    /// The stream every dropout mask is drawn from.
    var generator = SeededGenerator(seed: 0)
    /// True once a forward has been recorded.
    public var isRecorded: Bool { batch > 0 }

    /// An empty tape (no dropout).
    public init() {}

    /// Makes the forwards recorded on this tape training forwards: dropout at `rates` (nil turns it off again),
    /// masks drawn from one stream; with a `seed` the stream restarts from it (the same seed and batches give the
    /// same masks), without one it continues.
    public func enableDropout(_ rates: DropoutRates?, seed: UInt64? = nil) {
        let rates = rates.flatMap { $0.hidden > 0 || $0.attention > 0 ? $0 : nil }
        if rates != dropout { batch = 0 }  // masks are (re)allocated by the next begin
        dropout = rates
        if let seed { generator = SeededGenerator(seed: seed) }
    }

    deinit { embeddingsMask?.deallocate() }

    /// Sizes the buffers for a forward of this shape (reusing them when the shape is unchanged).
    func begin(ids: [[Int]], channels c: Int, heads h: Int, ffn f: Int, layers count: Int,
               keyMask mask: UnsafePointer<UInt8>) {
        let b = ids.count, t = ids.first?.count ?? 0
        if (b, t, c, h, f, count) != (batch, tokens, channels, heads, ffn, layers.count) {
            embeddings = NormRecord(rows: b * t, channels: c)
            embeddingsMask?.deallocate()
            embeddingsMask = (dropout?.hidden ?? 0) > 0 ? .allocate(capacity: b * t * c) : nil
            layers = (0..<count).map { _ in LayerRecord(batch: b, tokens: t, channels: c, heads: h, ffn: f, dropout: dropout) }
            (batch, tokens, channels, heads, ffn) = (b, t, c, h, f)
        }
        self.ids = ids
        keyMask = Array(UnsafeBufferPointer(start: mask, count: b * t))
    }
}
