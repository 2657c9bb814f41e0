import Foundation

// Winograd F(3, 2) for the conv feature encoder's stride-2, kernel-3 layers (wav2vec2-base's layers 1–4: a third
// of a forward's multiply-adds).
//
// A stride-2 conv splits into its two phases (polyphase):
//
//     y[t] = W0·x[2t] + W2·x[2t+2]  +  W1·x[2t+1]
//            └── 2-tap correlation over d[j] = x[2j] ──┘    └ 1 tap ┘
//
// The 2-tap part, three outputs at a time from four inputs d0…d3, takes four products instead of six (Lavin & Gray
// 2016, interpolation points 0, 1, −1, ∞):
//
//     U0 = d0 − d2   U1 = d1 + d2   U2 = d2 − d1   U3 = d3 − d1        (input transform)
//     V0 = W0        V1 = (W0 + W2)/2   V2 = (W0 − W2)/2   V3 = W2     (weights, once at load)
//     Mk = Uk·Vkᵀ                                                       (four GEMMs over all tiles)
//     y0 = M0 + M1 + M2   y1 = M1 − M2   y2 = M1 + M2 + M3             (output transform)
//
// so a layer costs 4/3 + 1 products per output frame instead of 3: 22 % fewer multiply-adds. The transforms only
// add and subtract, and halving is exact, so the result differs from the direct convolution by a few roundings of
// the sums (tested against the direct `conv1dChannelsLast` in `WinogradKernelTests`).
//
// Order of work: M1 (into the y1 rows) and M2 (scratch) are the only GEMMs with beta 0, which OpenBLAS runs as a
// zeroing pass over C before its kernel; the output transform then writes M1 ± M2 + bias into all three rows, and
// the M0, M3 and odd-phase GEMMs accumulate onto them (beta 1). Two zeroing passes per tile fewer than writing
// each Mk on its own.

extension Kernels {
    /// The transformed weights of one stride-2, kernel-3 convolution for `conv1dWinogradStride2`:
    /// `V1 = (W0 + W2)/2` and `V2 = (W0 − W2)/2`, each `[Cout, Cin]` (`V0 = W0` and `V3 = W2` are read from the
    /// packed weight itself), and the bias (zeros without one).
    public struct Conv1dWinogradWeights: Sendable {
        /// `(W0 + W2)/2`, `[Cout, Cin]`.
        public var v1: [Float]
        /// `(W0 − W2)/2`, `[Cout, Cin]`.
        public var v2: [Float]
        /// `[Cout]`.
        public var bias: [Float]

        /// The transform of a packed weight `[Cout, 3, Cin]` (taps-major, as `conv1dChannelsLast` takes it); nil unless
        /// the convolution is stride 2, kernel 3.
        public init?(kernel: Int, stride: Int, inChannels cin: Int, outChannels cout: Int, packedWeight weight: [Float], bias: [Float]?) {
            guard kernel == 3, stride == 2, weight.count == cout * 3 * cin else { return nil }
            self.bias = bias ?? [Float](repeating: 0, count: cout)
            v1 = [Float](repeating: 0, count: cout * cin)
            v2 = v1
            for o in 0..<cout {
                for i in 0..<cin {
                    let (w0, w2) = (weight[(o * 3) * cin + i], weight[(o * 3 + 2) * cin + i])
                    v1[o * cin + i] = (w0 + w2) * 0.5
                    v2[o * cin + i] = (w0 - w2) * 0.5
                }
            }
        }
    }

    /// Below this many output frames a convolution should run direct (the transforms would not pay).
    public static let conv1dWinogradMinFrames = 12

    /// Floats of scratch `conv1dWinogradStride2` needs for `frames` outputs: four `[tiles, Cin]` transformed inputs
    /// and one `[tiles, Cout]` product (M2; the others go straight into the output rows).
    public static func conv1dWinogradScratchCount(frames: Int, inChannels cin: Int, outChannels cout: Int) -> Int {
        (frames / 3) * (4 * cin + cout)
    }

    /// `dst [T_out, Cout] = conv(src [T_in, Cin]) + bias` for a stride-2, kernel-3, unpadded convolution of one clip,
    /// frames-major, by Winograd F(3, 2); the naive twin is `conv1dChannelsLast` with the same geometry (a few
    /// roundings of the transform sums apart). `packedWeight` is `[Cout, 3, Cin]`; `scratch` holds
    /// `conv1dWinogradScratchCount` floats. Its GEMMs use the caller's BLAS threading (single-threaded inside
    /// `Dense.parallelChunksWithSerialBLAS`).
    public static func conv1dWinogradStride2(inChannels cin: Int, outChannels cout: Int, weights: Conv1dWinogradWeights,
                                             packedWeight w: UnsafePointer<Float>, input src: UnsafePointer<Float>,
                                             outputFrames tOut: Int, output dst: UnsafeMutablePointer<Float>,
                                             scratch: UnsafeMutablePointer<Float>) {
        let tiles = tOut / 3
        let u = scratch, m2 = scratch + 4 * tiles * cin
        // Input transform: tile i reads d[3i…3i+3] = x rows 6i, 6i+2, 6i+4, 6i+6 (8 lanes at a time: the loop is
        // memory-bound, and four output streams defeat the auto-vectoriser).
        let vec = cin / 8 * 8
        for i in 0..<tiles {
            let d0 = src + 6 * i * cin, d1 = d0 + 2 * cin, d2 = d0 + 4 * cin, d3 = d0 + 6 * cin
            let u0 = u + i * cin, u1 = u0 + tiles * cin, u2 = u1 + tiles * cin, u3 = u2 + tiles * cin
            var c = 0
            while c < vec {
                let a = Kernels.load8(d0 + c), b = Kernels.load8(d1 + c), e = Kernels.load8(d2 + c), f = Kernels.load8(d3 + c)
                Kernels.store8(a - e, u0 + c)
                Kernels.store8(b + e, u1 + c)
                Kernels.store8(e - b, u2 + c)
                Kernels.store8(f - b, u3 + c)
                c += 8
            }
            while c < cin {
                u0[c] = d0[c] - d2[c]
                u1[c] = d1[c] + d2[c]
                u2[c] = d2[c] - d1[c]
                u3[c] = d3[c] - d1[c]
                c += 1
            }
        }
        weights.v1.withUnsafeBufferPointer { v1 in
            weights.v2.withUnsafeBufferPointer { v2 in
                weights.bias.withUnsafeBufferPointer { biasBuffer in
                    guard let v1 = v1.baseAddress, let v2 = v2.baseAddress, let bias = biasBuffer.baseAddress else { return }
                    let ldw = 3 * cin
                    // M1 straight into output rows 3i+1 (row stride 3·C_out), M2 to scratch: the only two
                    // products written with beta 0 (OpenBLAS zeroes C first, a pass of its own).
                    Kernels.sgemm(transB: true, m: tiles, n: cout, k: cin, a: u + tiles * cin, lda: cin, b: v1,
                                  ldb: cin, beta: 0, c: dst + cout, ldc: 3 * cout)
                    Kernels.sgemm(transB: true, m: tiles, n: cout, k: cin, a: u + 2 * tiles * cin, lda: cin, b: v2,
                                  ldb: cin, beta: 0, c: m2, ldc: cout)
                    // Output transform, with the bias: y0 = y2 = M1 + M2 + b, y1 = M1 − M2 + b; M0 and M3 are
                    // then accumulated onto y0 and y2 by their GEMMs (beta 1).
                    do {
                        let vec = cout / 8 * 8
                        for i in 0..<tiles {
                            let y0 = dst + 3 * i * cout, y1 = y0 + cout, y2 = y1 + cout
                            let q = m2 + i * cout
                            var o = 0
                            while o < vec {
                                let (pv, qv, bv) = (Kernels.load8(y1 + o), Kernels.load8(q + o), Kernels.load8(bias + o))
                                let sb = (pv + qv) + bv
                                Kernels.store8(sb, y0 + o)
                                Kernels.store8((pv - qv) + bv, y1 + o)
                                Kernels.store8(sb, y2 + o)
                                o += 8
                            }
                            while o < cout {
                                let (pv, qv) = (y1[o], q[o])
                                let sb = (pv + qv) + bias[o]
                                y0[o] = sb
                                y1[o] = (pv - qv) + bias[o]
                                y2[o] = sb
                                o += 1
                            }
                        }
                    }
                    Kernels.sgemm(transB: true, m: tiles, n: cout, k: cin, a: u, lda: cin, b: w, ldb: ldw, beta: 1,
                                  c: dst, ldc: 3 * cout)
                    Kernels.sgemm(transB: true, m: tiles, n: cout, k: cin, a: u + 3 * tiles * cin, lda: cin,
                                  b: w + 2 * cin, ldb: ldw, beta: 1, c: dst + 2 * cout, ldc: 3 * cout)
                    // The last tOut mod 3 frames, direct: bias, then taps 0 and 2.
                    let t0 = 3 * tiles
                    if t0 < tOut {
                        let rest = tOut - t0
                        for r in t0..<tOut { (dst + r * cout).update(from: bias, count: cout) }
                        for tap in stride(from: 0, through: 2, by: 2) {
                            Kernels.sgemm(transB: true, m: rest, n: cout, k: cin, a: src + (2 * t0 + tap) * cin,
                                          lda: 2 * cin, b: w + tap * cin, ldb: ldw, beta: 1, c: dst + t0 * cout,
                                          ldc: cout)
                        }
                    }
                    // The odd phase, every frame: y[t] += W1·x[2t+1].
                    Kernels.sgemm(transB: true, m: tOut, n: cout, k: cin, a: src + cin, lda: 2 * cin, b: w + cin,
                                  ldb: ldw, beta: 1, c: dst, ldc: cout)
                }
            }
        }
    }
}
