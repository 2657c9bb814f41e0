// Mel spectrogram and MFCC exactly as librosa 0.11: Slaney mel scale (HTK off), Slaney area normalisation,
// float32 filter weights (librosa builds `filters.mel` with dtype float32), `power_to_db(ref=1, amin=1e-10,
// top_db=80)` over the whole clip, then an orthonormal DCT-II over the mel axis.

import Foundation

/// Slaney / HTK mel scale conversions (librosa `hz_to_mel`, `mel_to_hz`).
public enum MelScale {
    static let fSp = 200.0 / 3
    static let minLogHz = 1000.0
    static let minLogMel = 1000.0 / (200.0 / 3)
    static let logStep = log(6.4) / 27.0

    /// Hz → mel.
    public static func hzToMel(_ f: Double, htk: Bool) -> Double {
        if htk { return 2595.0 * log10(1.0 + f / 700.0) }
        var mel = f / fSp
        if f >= minLogHz { mel = minLogMel + log(f / minLogHz) / logStep }
        return mel
    }

    /// mel → Hz.
    public static func melToHz(_ m: Double, htk: Bool) -> Double {
        if htk { return 700.0 * (pow(10.0, m / 2595.0) - 1.0) }
        var f = fSp * m
        if m >= minLogMel { f = minLogHz * exp(logStep * (m - minLogMel)) }
        return f
    }

    /// numpy `linspace(a, b, n)`: `a + i·step`, last element exactly b.
    static func linspace(_ a: Double, _ b: Double, _ n: Int) -> [Double] {
        guard n > 1 else { return [a] }
        let step = (b - a) / Double(n - 1)
        var out = (0..<n).map { Double($0) * step + a }
        out[n - 1] = b
        return out
    }
}

/// A mel filter bank `[M, bins]` (librosa `filters.mel`), weights rounded to Float32 as librosa stores them.
public struct MelFilterbank: Sendable {
    /// M.
    public let nMels: Int
    /// Frequency bins, n_fft/2 + 1.
    public let bins: Int
    /// Weights // [M, bins]
    public let weights: [Double]
    /// First and last nonzero bin of each filter (sparse dot products).
    let support: [(Int, Int)]

    /// Builds the bank for a sample rate, n_fft, mel count and band edges.
    public init(sampleRate: Double, nFFT: Int, nMels: Int, fmin: Double, fmax: Double, htk: Bool = false) {
        self.nMels = nMels
        bins = nFFT / 2 + 1
        let fftFreqs = Spectrogram.frequencies(sampleRate: sampleRate, nFFT: nFFT)
        let melF = MelScale.linspace(MelScale.hzToMel(fmin, htk: htk), MelScale.hzToMel(fmax, htk: htk), nMels + 2)
            .map { MelScale.melToHz($0, htk: htk) }
        var w = [Double](repeating: 0, count: nMels * bins)
        var support: [(Int, Int)] = []
        for i in 0..<nMels {
            let fd0 = melF[i + 1] - melF[i], fd1 = melF[i + 2] - melF[i + 1]
            let enorm = 2.0 / (melF[i + 2] - melF[i])
            var lo = bins, hi = -1
            for k in 0..<bins {
                let lower = -(melF[i] - fftFreqs[k]) / fd0
                let upper = (melF[i + 2] - fftFreqs[k]) / fd1
                let v = Float(max(0, min(lower, upper)))          // float32 weights, as librosa
                let normed = Double(Float(Double(v) * enorm))     // `weights *= enorm`: float64 product stored as float32
                w[i * bins + k] = normed
                if normed != 0 { lo = min(lo, k); hi = max(hi, k) }
            }
            support.append(hi >= lo ? (lo, hi) : (0, -1))
        }
        weights = w
        self.support = support
    }

    /// Mel power spectrogram of a power spectrogram. // [T, bins] → [T, M]
    public func apply(_ power: [Double], frames: Int) -> [Double] {
        var out = [Double](repeating: 0, count: frames * nMels)
        power.withUnsafeBufferPointer { p in
            weights.withUnsafeBufferPointer { w in
                for t in 0..<frames {
                    let row = t * bins
                    for m in 0..<nMels {
                        let (lo, hi) = support[m]
                        var s = 0.0
                        if hi >= lo { for k in lo...hi { s += w[m * bins + k] * p[row + k] } }
                        out[t * nMels + m] = s
                    }
                }
            }
        }
        return out
    }
}

/// librosa `power_to_db` with `ref = 1.0`: `10·log10(max(amin, S))`, floored at `max − top_db` over all of S.
public func powerToDB(_ s: [Double], amin: Double = 1e-10, topDB: Double? = 80) -> [Double] {
    var out = s.map { 10.0 * log10(max(amin, $0)) }
    if let topDB, let mx = out.max() {
        let floor = mx - topDB
        for i in out.indices where out[i] < floor { out[i] = floor }
    }
    return out
}

/// Orthonormal DCT-II (scipy `dct(type=2, norm='ortho')`) keeping the first `nOut` coefficients.
public struct DCT2: Sendable {
    /// Input length n.
    public let n: Int
    /// Coefficients kept.
    public let nOut: Int
    /// Basis // [nOut, n]
    let basis: [Double]
    /// The basis arranged for frame-by-basis products.
    let product: RowProducts

    /// Builds the basis `c_k · cos(π k (2i + 1) / 2n)`, `c_0 = √(1/n)`, `c_k = √(2/n)`.
    public init(n: Int, nOut: Int) {
        self.n = n
        self.nOut = nOut
        var b = [Double](repeating: 0, count: nOut * n)
        for k in 0..<nOut {
            let c = k == 0 ? (1.0 / Double(n)).squareRoot() : (2.0 / Double(n)).squareRoot()
            for i in 0..<n { b[k * n + i] = c * cos(Double.pi * Double(k) * Double(2 * i + 1) / Double(2 * n)) }
        }
        basis = b
        product = RowProducts(weights: b, outputs: nOut, inputs: n)
    }

    /// Transforms each row. // [T, n] → [T, nOut]
    public func apply(_ x: [Double], rows: Int) -> [Double] {
        product.apply(x, rows: rows)
    }
}
