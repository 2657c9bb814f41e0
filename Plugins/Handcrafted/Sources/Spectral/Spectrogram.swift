// Short-time Fourier transform exactly as librosa 0.11's `stft` with its defaults: periodic Hann window
// (scipy's `get_window('hann', n_fft, fftbins=True)`), centred frames with zero ("constant") padding of n_fft/2 on
// both sides, `1 + len/hop` frames.

import Foundation

/// Dimension legend: docs/numerics.md (`T` frames; `bins` = n_fft/2 + 1 frequency bins).
/// Magnitude and power spectrogram of one clip, stored frame-major (`[T, bins]`, one contiguous row per frame).
public struct Spectrogram: Sendable {
    /// Number of frames T.
    public let frames: Int
    /// Number of bins, n_fft/2 + 1.
    public let bins: Int
    /// n_fft.
    public let nFFT: Int
    /// |X| // [T, bins]
    public var magnitude: [Double]
    /// |X|² // [T, bins]
    public var power: [Double]

    /// Bin centre frequencies, `k · sr / n_fft` (numpy's `rfftfreq`).
    public static func frequencies(sampleRate: Double, nFFT: Int) -> [Double] {
        (0...(nFFT / 2)).map { Double($0) * (sampleRate / Double(nFFT)) }
    }
}

/// Window functions as scipy.signal builds them.
public enum Window {
    /// Periodic Hann of length n: scipy's `general_cosine(n + 1, [0.5, 0.5])` truncated to n, computed the same way
    /// (`0.5 + 0.5·cos(fac)` with `fac = linspace(-π, π, n + 1)`).
    public static func hannPeriodic(_ n: Int) -> [Double] {
        let step = 2 * Double.pi / Double(n)
        return (0..<n).map { i in 0.5 + 0.5 * cos(Double(i) * step + -Double.pi) }
    }

    /// Symmetric triangle window (scipy's `triang(m)`), used by pYIN's local transition matrix.
    public static func triangle(_ m: Int) -> [Double] {
        let half = (m + 1) / 2
        if m % 2 == 0 {
            let w = (1...half).map { (2 * Double($0) - 1) / Double(m) }
            return w + w.reversed()
        } else {
            let w = (1...half).map { 2 * Double($0) / (Double(m) + 1) }
            return w + w.dropLast().reversed()
        }
    }
}

/// Computes librosa-compatible STFTs of one length; owns its FFT plan and scratch (one per thread).
public final class STFT {
    /// n_fft.
    public let nFFT: Int
    /// Hop in samples.
    public let hop: Int
    private let fft: RealFFT
    private let window: [Double]
    private var frame: [Double]
    private var re: [Double]
    private var im: [Double]

    /// Creates a plan for `nFFT` (power of two) and `hop`.
    public init(nFFT: Int, hop: Int) throws(FeatureError) {
        guard hop > 0 else { throw FeatureError.invalidConfig("hop_length must be > 0, got \(hop)") }
        self.nFFT = nFFT
        self.hop = hop
        fft = try RealFFT(n: nFFT)
        window = Window.hannPeriodic(nFFT)
        frame = [Double](repeating: 0, count: nFFT)
        re = [Double](repeating: 0, count: nFFT / 2 + 1)
        im = [Double](repeating: 0, count: nFFT / 2 + 1)
    }

    /// Number of centred frames for `count` samples: `1 + count / hop`.
    public func frameCount(_ count: Int) -> Int { 1 + count / hop }

    /// Magnitude and power spectrogram of `samples` (centred, zero padded).
    public func callAsFunction(_ samples: [Double]) -> Spectrogram {
        let t = frameCount(samples.count)
        let f = nFFT / 2 + 1
        var mag = [Double](repeating: 0, count: t * f)
        var pow = [Double](repeating: 0, count: t * f)
        let pad = nFFT / 2
        let n = samples.count
        samples.withUnsafeBufferPointer { y in
            window.withUnsafeBufferPointer { w in
                frame.withUnsafeMutableBufferPointer { fr in
                    re.withUnsafeMutableBufferPointer { reb in
                        im.withUnsafeMutableBufferPointer { imb in
                            guard let frp = fr.baseAddress, let rp = reb.baseAddress, let ip = imb.baseAddress else { return }
                            for ti in 0..<t {
                                let start = ti * hop - pad
                                for i in 0..<nFFT {
                                    let s = start + i
                                    frp[i] = (s >= 0 && s < n) ? y[s] * w[i] : 0
                                }
                                fft.forward(UnsafePointer(frp), rp, ip)
                                let row = ti * f
                                for k in 0..<f {
                                    let p = rp[k] * rp[k] + ip[k] * ip[k]
                                    let m = p.squareRoot()
                                    mag[row + k] = m
                                    pow[row + k] = m * m
                                }
                            }
                        }
                    }
                }
            }
        }
        return Spectrogram(frames: t, bins: f, nFFT: nFFT, magnitude: mag, power: pow)
    }
}
