/// What a recording RoBERTa forward keeps for `TextTransformer.backward`: per layer the fused q|k|v projection, the
/// attention probabilities, the attention context, the feed-forward pre-activation, and for every layer norm its
/// input with the mean and 1/σ of each row.
///
/// Buffers are (re)allocated by `begin` for the batch's shape; one tape serves one forward/backward pair at a time.
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
        /// `[B, H, T, T]` softmax probabilities.
        let probabilities: UnsafeMutablePointer<Float>
        /// `[N, C]` attention output before the output projection.
        let context: UnsafeMutablePointer<Float>
        /// `[N, F]` feed-forward input of GELU.
        let ffnPreActivation: UnsafeMutablePointer<Float>
        /// attention.output.LayerNorm and output.LayerNorm.
        let attnNorm: NormRecord, outNorm: NormRecord

        init(batch b: Int, tokens t: Int, channels c: Int, heads h: Int, ffn f: Int) {
            let n = b * t
            qkv = .allocate(capacity: n * 3 * c)
            probabilities = .allocate(capacity: b * h * t * t)
            context = .allocate(capacity: n * c)
            ffnPreActivation = .allocate(capacity: n * f)
            attnNorm = NormRecord(rows: n, channels: c)
            outNorm = NormRecord(rows: n, channels: c)
        }

        deinit {
            qkv.deallocate()
            probabilities.deallocate()
            context.deallocate()
            ffnPreActivation.deallocate()
        }
    }

    /// B, T, C, H, F of the recorded forward (0 before one).
    private(set) var batch = 0, tokens = 0, channels = 0, heads = 0, ffn = 0
    /// embeddings.LayerNorm.
    private(set) var embeddings = NormRecord(rows: 0, channels: 0)
    /// Per layer.
    private(set) var layers: [LayerRecord] = []
    /// `[B, T]` 1 = attended key.
    private(set) var keyMask: [UInt8] = []
    /// True once a forward has been recorded.
    public var isRecorded: Bool { batch > 0 }

    /// An empty tape.
    public init() {}

    /// Sizes the buffers for a forward of this shape (reusing them when the shape is unchanged).
    func begin(batch b: Int, tokens t: Int, channels c: Int, heads h: Int, ffn f: Int, layers count: Int,
               keyMask mask: UnsafePointer<UInt8>) {
        if (b, t, c, h, f, count) != (batch, tokens, channels, heads, ffn, layers.count) {
            embeddings = NormRecord(rows: b * t, channels: c)
            layers = (0..<count).map { _ in LayerRecord(batch: b, tokens: t, channels: c, heads: h, ffn: f) }
            (batch, tokens, channels, heads, ffn) = (b, t, c, h, f)
        }
        keyMask = Array(UnsafeBufferPointer(start: mask, count: b * t))
    }
}
