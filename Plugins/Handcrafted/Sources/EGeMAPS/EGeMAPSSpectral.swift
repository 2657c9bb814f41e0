// eGeMAPS v02's spectral low-level descriptors as openSMILE 3.0 computes them (config chain
// gemaps/v01b/GeMAPSv01b_core.lld.conf.inc + egemaps/v02/eGeMAPSv02_core.lld.conf.inc), from one spectrum per frame:
//   frames      20 ms (320 samples) every 10 ms, first frame [0, 320) ("frameCenterSpecial = left"); only whole frames
//   window      Hamming 0.54 − 0.46 cos(2πi/(N−1)) (smileDsp_winHam), no pre-emphasis
//   spectrum    frame zero-padded symmetrically to 512 (96 zeros each side), |FFT| unnormalised
//               (cFFTmagphase), bin k at k · 31.25 Hz (the FFT frame length, not the 20 ms window, sets the axis)
// and the per-frame energy of the unwindowed frame for the equivalent sound level. docs/history.md (session 11, eGeMAPS) lists each
// definition with its openSMILE source line.

import Foundation

/// One clip's spectral LLDs, frame by frame (unsmoothed; `EGeMAPS` applies openSMILE's 3-frame smoothing).
struct EGeMAPSSpectralFrames {
    /// cPlp auditory spectrum mean (openSMILE `loudness`, the `ll1` operation is a mean, not a sum) [T].
    var loudness: [Double] = []
    /// 10·log10(energy 1–5 kHz / energy 0–1 kHz) [T].
    var alphaRatio: [Double] = []
    /// 10·log10(max power 0–2 kHz / max power 2–5 kHz) [T].
    var hammarberg: [Double] = []
    /// Least-squares slope of the dB power spectrum over 0–500 Hz and 500–1500 Hz, in dB/Hz [T].
    var slope0500: [Double] = []
    var slope5001500: [Double] = []
    /// sqrt(mean over bins 0..159 of (|X_t| − |X_{t−1}|)²); 0 for the first frame [T].
    var flux: [Double] = []
    /// HTK MFCC 1–4 from a 26-band mel power spectrum [4][T].
    var mfcc: [[Double]] = [[], [], [], []]
    /// Mean square of the unwindowed frame (cEnergy energy2) [T].
    var energy: [Double] = []
    /// F1–F3 frequency and bandwidth (Hz, 0 = none) from the 11 kHz LPC of the same FFT [3][T].
    var formantFreq: [[Double]] = [[], [], []]
    var formantBandwidth: [[Double]] = [[], [], []]
}

/// The spectral analysis (tables built once; one instance per thread).
final class EGeMAPSSpectral {
    static let sampleRate = 16000.0
    static let frameLength = 320
    static let hop = 160
    static let fftLength = 512
    static let bins = 257
    /// Bin spacing (Hz): 1 / (512 / 16000 s).
    static let binHz = 31.25

    private let fft: RealFFT
    private let window: [Double]
    /// Mel filterbank (26 bands, 20–8000 Hz, openSMILE's cMelspec): for bin n, the lower band `chan[n]` (−1: none)
    /// gets weight `coef[n]` and band `chan[n] + 1` (if < 26) gets 1 − `coef[n]`; bins outside (nLo, nHi) skipped.
    private var chan: [Int]
    private var coef: [Double]
    private let nLo: Int, nHi: Int
    /// Equal-loudness weight at each band's centre (cPlp, smileDsp_equalLoudnessWeight).
    private var eql: [Double]
    /// DCT-II rows for MFCC 1–4 times the cepstral lifter and sqrt(2/26).
    private var dct: [[Double]]

    init() throws(FeatureError) {
        fft = try RealFFT(n: Self.fftLength)
        let n = Double(Self.frameLength)
        window = (0..<Self.frameLength).map { 0.54 - 0.46 * cos(2 * Double.pi * Double($0) / (n - 1)) }
        // cMelspec::computeFilters, standard mel bank: 28 mel points equally spaced from mel(20) to mel(8000).
        let nBands = 26
        func mel(_ f: Double) -> Double { 1127 * log(1 + f / 700) }
        let loF = mel(20), hiF = mel(8000)
        let bw = (hiF - loF) / Double(nBands + 1)
        let cfs = (0...(nBands + 1)).map { loF + Double($0) * bw }
        nLo = Int((20 / Self.binHz).rounded()); nHi = Int((8000 / Self.binHz).rounded())
        chan = [Int](repeating: -3, count: Self.bins)
        coef = [Double](repeating: 0, count: Self.bins)
        var m = 0
        for k in 0..<Self.bins where k > nLo && k < nHi {
            let fm = mel(Double(k) * Self.binHz)
            while cfs[m] < fm { if m > nBands { break }; m += 1 }
            chan[k] = m - 2
        }
        m = 0
        for k in nLo..<nHi {
            let fm = mel(Double(k) * Self.binHz)
            while fm > cfs[m + 1] && m <= nBands { m += 1 }
            coef[k] = (cfs[m + 1] - fm) / (cfs[m + 1] - cfs[m])
        }
        eql = (1...nBands).map { b in
            let fc = 700 * (exp(cfs[b] / 1127) - 1)
            // openSMILE's curve has w⁷ (w2·w2·w2·w) where Hermansky's PLP has w⁶: kept as openSMILE has it.
            let w = 2 * Double.pi * fc, w2 = w * w, c = w2 + 6_300_000
            return 1e32 * ((w2 + 56.8e6) * w2 * w2) / (c * c * (w2 + 0.38e9) * (w2 * w2 * w2 * w + 1.7e31))
        }
        dct = (1...4).map { i in
            let lifter = 1 + 22 / 2 * sin(Double.pi * Double(i) / 22)
            let factor = (2.0 / Double(nBands)).squareRoot()
            return (0..<nBands).map { cos(Double.pi * Double(i) / Double(nBands) * (Double($0) + 0.5)) * lifter * factor }
        }
    }

    /// Number of whole 20 ms frames in `count` samples.
    static func frameCount(_ count: Int) -> Int { count < frameLength ? 0 : (count - frameLength) / hop + 1 }

    /// All spectral LLDs of `y` (16 kHz), frame by frame.
    func analyze(_ y: [Double]) -> EGeMAPSSpectralFrames {
        let T = Self.frameCount(y.count)
        var out = EGeMAPSSpectralFrames()
        out.loudness.reserveCapacity(T)
        var buf = [Double](repeating: 0, count: Self.fftLength)
        var re = [Double](repeating: 0, count: Self.bins), im = re
        var mag = re, prev = re, power = re
        var melBands = [Double](repeating: 0, count: 26)
        let pad = (Self.fftLength - Self.frameLength) / 2
        for t in 0..<T {
            let start = t * Self.hop
            var e = 0.0
            for i in 0..<Self.frameLength {
                let x = y[start + i]
                e += x * x
                buf[pad + i] = x * window[i]
            }
            out.energy.append(e / Double(Self.frameLength))
            buf.withUnsafeBufferPointer { b in
                re.withUnsafeMutableBufferPointer { r in
                    im.withUnsafeMutableBufferPointer { m in
                        if let bp = b.baseAddress, let rp = r.baseAddress, let mp = m.baseAddress { fft.forward(bp, rp, mp) }
                    }
                }
            }
            let fm = EGeMAPSFormants.formants(re: re, im: im)
            for i in 0..<3 { out.formantFreq[i].append(fm.freq[i]); out.formantBandwidth[i].append(fm.bandwidth[i]) }
            for k in 0..<Self.bins {
                power[k] = re[k] * re[k] + im[k] * im[k]
                mag[k] = power[k].squareRoot()
            }
            // Mel power bands (cMelspec, usePower = 1).
            for b in 0..<26 { melBands[b] = 0 }
            for k in nLo..<nHi {
                let m = chan[k]
                guard m > -2 else { continue }
                let a = power[k] * coef[k]
                if m > -1 { melBands[m] += a }
                if m < 25 { melBands[m + 1] += power[k] - a }
            }
            // Loudness: cPlp auditory spectrum (floor 9.3e-10, equal-loudness weight, ^0.33), then its mean.
            var loud = 0.0
            for b in 0..<26 { loud += pow(max(melBands[b], 9.3e-10) * eql[b], 0.33) }
            out.loudness.append(loud / 26)
            // MFCC 1–4 (cMfcc, htkcompatible: bands scaled by 32767², floor 1 before the log).
            var logMel = [Double](repeating: 0, count: 26)
            for b in 0..<26 { logMel[b] = log(max(melBands[b] * 32767 * 32767, 1)) }
            for i in 0..<4 {
                var s = 0.0
                for b in 0..<26 { s += logMel[b] * dct[i][b] }
                out.mfcc[i].append(s)
            }
            // Alpha ratio and Hammarberg index over bins up to 5000 Hz inclusive (k ≤ 160).
            var s01 = 0.0, s15 = 0.0, max02 = 0.0, max25 = 0.0
            for k in 0...160 {
                if k < 32 { s01 += power[k] } else { s15 += power[k] }
                if k < 64 { max02 = max(max02, power[k]) } else { max25 = max(max25, power[k]) }
            }
            let floor = 1e-14
            out.alphaRatio.append(s01 > 0 ? 10 * log10(max(s15, floor) / s01) : 0)
            out.hammarberg.append(max25 > 0 ? 10 * log10(max(max02, floor) / max25) : 0)
            // Slopes of the dB spectrum (power ≤ 1e-14 → −140 dB).
            func db(_ k: Int) -> Double { power[k] <= floor ? -140 : 10 * log10(power[k]) }
            out.slope0500.append(Self.slope(db, from: 0, to: 16))
            out.slope5001500.append(Self.slope(db, from: 16, to: 48))
            // Flux over bins 0..159 (the 0–5000 Hz range, upper bound exclusive), magnitudes unnormalised.
            if t == 0 { out.flux.append(0) } else {
                var s = 0.0
                for k in 0..<160 { let d = mag[k] - prev[k]; s += d * d }
                out.flux.append(s > 0 ? (s / 160).squareRoot() : 0)
            }
            swap(&prev, &mag)
        }
        return out
    }

    /// cSpectral's band slope: least squares of `v(k)` on frequency over bins `lo...hi`, with openSMILE's N = hi − lo
    /// (one less than the number of bins summed) in the normal equations — a flat spectrum gets a non-zero slope.
    static func slope(_ v: (Int) -> Double, from lo: Int, to hi: Int) -> Double {
        let n = Double(hi - lo)
        var sf = 0.0, s2f = 0.0, sa = 0.0, sb = 0.0
        for k in lo...hi {
            let f = Double(k) * binHz, x = v(k)
            sf += f; s2f += f * f; sa += f * x; sb += x
        }
        let den = n * s2f - sf * sf
        return den != 0 ? (n * sa - sf * sb) / den : 0
    }
}
