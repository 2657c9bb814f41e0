// eGeMAPS v02's formant frequencies and bandwidths as openSMILE 3.0 computes them (GeMAPSv01b_core.lld.conf.inc:
// cSpecResample → cLpc → cFormantLpc), from the complex 512-point FFT of the 20 ms Hamming frame:
//   resample    openSMILE's "arbitrary inverse DFT" (smileDsp_irdft) to 11 kHz: 220 outputs
//               x[i] = (R0 + Σ_{m=1}^{109} R_m cos(2π m i / 352) + I_m sin(2π m i / 352)) / 256, with Ooura's sign
//               (I_m = +Σ x_j sin(2π j m / 512)). It re-synthesises the zero-padded 512 buffer from its start, so the
//               220 samples span the 96 leading zeros and only the first ~224 samples of the frame, band-limited to
//               bins < 110 (3.4 kHz): openSMILE's definition, kept.
//   LPC         order 11, autocorrelation + Durbin (smileDsp_calcLpcAcf), a with A(z) = 1 + Σ a_i z^−i
//   roots       of z^11 − a1 z^10 − … − a11 (cFormantLpc negates the coefficients: kept), roots outside the unit
//               circle reflected (1/z*), roots with Im ≥ 0 and 50 ≤ f ≤ 5450 Hz, f = |arg z| · 11000 / 2π,
//               bandwidth −ln|z| · 11000 / π, the first 5 sorted by frequency; missing ones are 0.

import Foundation

enum EGeMAPSFormants {
    static let outputs = 220
    static let order = 11
    static let fs = 11000.0

    /// Cos/sin tables of the inverse DFT [220 × 109].
    static let tables: (cos: [Double], sin: [Double]) = {
        var c = [Double](repeating: 0, count: outputs * 109), s = c
        for i in 0..<outputs {
            for m in 1...109 {
                let a = 2 * Double.pi * Double(m * i) / 352
                c[i * 109 + m - 1] = cos(a); s[i * 109 + m - 1] = sin(a)
            }
        }
        return (c, s)
    }()

    /// F1–F5 and their bandwidths (Hz; 0 where fewer were found) from one frame's FFT (numpy sign: `im` = −I).
    static func formants(re: [Double], im: [Double]) -> (freq: [Double], bandwidth: [Double]) {
        let (ct, st) = tables
        var x = [Double](repeating: 0, count: outputs)
        for i in 0..<outputs {
            var v = re[0]
            for m in 1...109 { v += re[m] * ct[i * 109 + m - 1] - im[m] * st[i * 109 + m - 1] }
            x[i] = v / 256
        }
        var r = [Double](repeating: 0, count: order + 1)
        for k in 0...order { var s = 0.0; for i in k..<outputs { s += x[i] * x[i - k] }; r[k] = s }
        guard r[0] != 0 else { return ([0, 0, 0, 0, 0], [0, 0, 0, 0, 0]) }
        var a = [Double](repeating: 0, count: order)
        var e = r[0]
        for m in 1...order {
            var sum = r[m]
            for i in 1..<m { sum += a[i - 1] * r[m - i] }
            let k = -sum / e
            a[m - 1] = k
            if m / 2 >= 1 {
                for i in 1...(m / 2) {
                    let x0 = a[i - 1]
                    a[i - 1] += k * a[m - i - 1]
                    if i < m / 2 || m & 1 == 1 { a[m - i - 1] += k * x0 }
                }
            }
            e *= 1 - k * k
            if e == 0 { for i in m..<order { a[i] = 0 }; break }
        }
        // Monic polynomial z^11 + c1 z^10 + … with c_i = −a_i (openSMILE's sign).
        let roots = polynomialRoots([1] + a.map { -$0 })
        var found: [(f: Double, b: Double)] = []
        for z in roots {
            var re = z.re, im = z.im
            let m2 = re * re + im * im
            if m2 > 1 { re = re / m2; im = im / m2 }          // 1 / conj(z)
            guard im >= 0 else { continue }
            let f = abs(atan2(im, re)) * fs / (2 * Double.pi)
            guard f >= 50 && f <= 5450 else { continue }
            found.append((f, -log((re * re + im * im).squareRoot()) * fs / Double.pi))
            if found.count == 5 { break }
        }
        found.sort { $0.f < $1.f }
        let freq = (0..<5).map { $0 < found.count ? found[$0].f : 0 }
        let bw = (0..<5).map { $0 < found.count ? found[$0].b : 0 }
        return (freq, bw)
    }
}
