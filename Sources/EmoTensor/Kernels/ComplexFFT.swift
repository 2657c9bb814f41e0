import Foundation

/// An in-place radix-2 complex FFT of a power-of-two length that transforms 8 independent signals at once, one
/// per SIMD lane (the positional conv runs it over 8 channels of a frames-major `[T, C]` tensor, no transpose).
///
/// A signal is two planes, `re` and `im`, each `[N, 8]` floats (sample `n` of lane `l` at `8 * n + l`); the
/// planes need no alignment. `forward` computes `X[k] = sum_n x[n] e^{-2 pi i n k / N}` and `inverse` the same sum
/// with `e^{+...}`, unscaled (so `inverse(forward(x)) = N x`). Twiddles are computed in Double and stored once;
/// the butterflies run in Float (error about `log2(N)` float roundings relative to the signal's norm).
public struct ComplexFFT: Sendable {
    /// N, a power of two ≥ 1.
    public let count: Int
    /// `cos(2 pi j / N)` and `sin(2 pi j / N)` for `j < N / 2`.
    private let cosines: [Float], sines: [Float]
    /// `reversed[i]`: `i` with its log2(N) bits reversed (where a caller that fills the planes itself puts sample `i`
    /// to skip the permutation: `permuted: true`).
    public let reversed: [Int]
    /// The bit-reversal pairs `(i, j)`, `i < j`, that the permutation before the butterflies swaps.
    private let swaps: [(Int, Int)]

    /// Plans a transform of `count` points (`nil` unless `count` is a power of two).
    public init?(count: Int) {
        guard count >= 1, count & (count - 1) == 0 else { return nil }
        self.count = count
        cosines = (0..<(count / 2)).map { Float(cos(2 * Double.pi * Double($0) / Double(count))) }
        sines = (0..<(count / 2)).map { Float(sin(2 * Double.pi * Double($0) / Double(count))) }
        let bits = count.trailingZeroBitCount
        reversed = (0..<count).map { i in
            var r = 0
            for b in 0..<bits where i & (1 << b) != 0 { r |= 1 << (bits - 1 - b) }
            return r
        }
        swaps = reversed.enumerated().filter { $0.offset < $0.element }.map { ($0.offset, $0.element) }
    }

    /// Forward transform (`e^{-2 pi i n k / N}`) of the 8 signals in `re`/`im` `[N, 8]`, in place; with
    /// `permuted`, sample `i` was stored at `reversed[i]` (the output is in natural order either way).
    public func forward(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, permuted: Bool = false) {
        transform(re: re, im: im, sign: -1, permuted: permuted)
    }

    /// Inverse transform (`e^{+2 pi i n k / N}`, unscaled) of the 8 signals in `re`/`im` `[N, 8]`, in place;
    /// `permuted` as for `forward`.
    public func inverse(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, permuted: Bool = false) {
        transform(re: re, im: im, sign: 1, permuted: permuted)
    }

    /// Iterative decimation in time: bit-reversal permutation (unless `permuted`), then log2(N) stages of butterflies.
    private func transform(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, sign: Float, permuted: Bool) {
        let n = count
        let r = UnsafeMutableRawPointer(re), i = UnsafeMutableRawPointer(im)
        @inline(__always) func load(_ p: UnsafeMutableRawPointer, _ k: Int) -> SIMD8<Float> {
            UnsafeRawPointer(p).loadUnaligned(fromByteOffset: k * 32, as: SIMD8<Float>.self)
        }
        @inline(__always) func store(_ p: UnsafeMutableRawPointer, _ k: Int, _ v: SIMD8<Float>) {
            p.storeBytes(of: v, toByteOffset: k * 32, as: SIMD8<Float>.self)
        }
        for (a, b) in swaps where !permuted {
            let (ra, ia, rb, ib) = (load(r, a), load(i, a), load(r, b), load(i, b))
            store(r, a, rb); store(i, a, ib); store(r, b, ra); store(i, b, ia)
        }
        // Stage 1 (span 2): twiddle 1.
        var start = 0
        while start + 1 < n {
            let (ra, ia, rb, ib) = (load(r, start), load(i, start), load(r, start + 1), load(i, start + 1))
            store(r, start, ra + rb); store(i, start, ia + ib)
            store(r, start + 1, ra - rb); store(i, start + 1, ia - ib)
            start += 2
        }
        var half = 2
        while half < n {
            let step = n / (2 * half)
            cosines.withUnsafeBufferPointer { cw in
                sines.withUnsafeBufferPointer { sw in
                    for j in 0..<half {
                        let wr = SIMD8<Float>(repeating: cw[j * step]), wi = SIMD8<Float>(repeating: sign * sw[j * step])
                        var a = j
                        while a < n {
                            let b = a + half
                            let (xr, xi) = (load(r, b), load(i, b))
                            let tr = wr * xr - wi * xi, ti = wr * xi + wi * xr
                            let (ur, ui) = (load(r, a), load(i, a))
                            store(r, b, ur - tr); store(i, b, ui - ti)
                            store(r, a, ur + tr); store(i, a, ui + ti)
                            a += 2 * half
                        }
                    }
                }
            }
            half *= 2
        }
    }
}
