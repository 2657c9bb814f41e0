// Voice-quality and rhythm descriptors that librosa does not have. Each follows a published definition, simplified
// where noted; the plugin README gives the sources. All use pYIN's voicing and f0 (hop-aligned frames).
//  - Formants F1–F3 (`formant_method` "lpc", the default): pre-emphasis from 50 Hz, 25 ms Hamming frames every 10 ms, LPC by autocorrelation +
//    Levinson–Durbin (Markel & Gray 1976; order 2 + sr/1000 by default), roots by Aberth–Ehrlich iteration,
//    keep roots with 90 Hz < f < sr/2 − 50 Hz and bandwidth < 400 Hz, lowest three, voiced frames only.
//    `formant_method` "praat-burg": Praat's To Formant (burg) with its defaults (PraatBurgFormants.swift), every
//    Praat frame whose centre falls in a pYIN-voiced frame.
//  - HNR: Boersma (1993) "Accurate short-term analysis of the fundamental frequency and the harmonics-to-noise
//    ratio of a sampled sound": Hann window of 4.5 periods of 75 Hz, r(τ) = r_xw(τ)/r_w(τ) normalised at 0, peak
//    near the pYIN period (±20 %) refined parabolically, HNR = 10·log10(r / (1 − r)) per voiced frame.
//  - Jitter/shimmer (local), as Praat defines them (mean absolute difference of consecutive periods / peak
//    amplitudes divided by the mean), on cycles found by waveform cross-correlation guided by pYIN's f0.
//  - Speech rate: syllable nuclei per second after de Jong & Wempe (2009): intensity peaks above (0.99-quantile
//    − 25 dB), with a ≥ 2 dB dip from the previous nucleus, in voiced frames.

import Foundation

/// Voice-quality analysis of one clip given its pYIN track.
public struct VoiceQuality {
    /// Sample rate (Hz).
    public let sampleRate: Double
    /// pYIN hop in samples (to map times to pitch frames).
    public let pitchHop: Int
    /// LPC order for formants (method `lpc`).
    public let lpcOrder: Int
    /// Which formant tracker `formants` uses.
    public let formantMethod: FormantMethod
    /// HNR window length in samples (4.5 periods of 75 Hz).
    let hnrWindow: Int
    /// FFT plan for the HNR autocorrelations (≥ 2 · window, so circular = linear correlation).
    let hnrFFT: RealFFT

    /// Creates the analyser.
    public init(sampleRate: Double, pitchHop: Int, lpcOrder: Int, formantMethod: FormantMethod = .lpc) throws(FeatureError) {
        self.sampleRate = sampleRate
        self.pitchHop = pitchHop
        self.lpcOrder = lpcOrder
        self.formantMethod = formantMethod
        hnrWindow = Int((4.5 / 75.0 * sampleRate).rounded())
        var n = 4
        while n < 2 * hnrWindow { n *= 2 }
        hnrFFT = try RealFFT(n: n)
    }

    /// Autocorrelation r(k), k < count, of `x` (zero-padded to the plan length) through the FFT.
    func autocorrelation(_ x: [Double]) -> [Double] {
        let m = hnrFFT.n
        var buf = x + [Double](repeating: 0, count: m - x.count)
        var re = [Double](repeating: 0, count: m / 2 + 1), im = re
        var out = [Double](repeating: 0, count: m)
        buf.withUnsafeMutableBufferPointer { b in
            re.withUnsafeMutableBufferPointer { r in
                im.withUnsafeMutableBufferPointer { i in
                    out.withUnsafeMutableBufferPointer { o in
                        guard let bp = b.baseAddress, let rp = r.baseAddress, let ip = i.baseAddress, let op = o.baseAddress else { return }
                        hnrFFT.forward(UnsafePointer(bp), rp, ip)
                        for k in 0...(m / 2) { rp[k] = rp[k] * rp[k] + ip[k] * ip[k]; ip[k] = 0 }
                        hnrFFT.inverse(UnsafePointer(rp), UnsafePointer(ip), op)
                    }
                }
            }
        }
        return out
    }

    /// The pitch frame nearest to sample `s`.
    func pitchFrame(_ s: Int, _ track: PitchTrack) -> Int {
        min(max(Int((Double(s) / Double(pitchHop)).rounded()), 0), track.voiced.count - 1)
    }
}
