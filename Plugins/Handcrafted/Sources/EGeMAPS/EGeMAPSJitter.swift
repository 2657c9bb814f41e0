// eGeMAPS v02's jitter and shimmer as openSMILE 3.0's cPitchJitter computes them (pitchJitter.cpp, minCC 0.5,
// searchRangeRel 0.1, minNumPeriods 2, peak amplitudes, period from the correlation peak). It walks the waveform
// frame by frame with state carried between frames, reading from `lastIdx`:
//   read        toRead0 = 160 + lastMis samples; when voiced at least 2·ceil(1.1·Tf) + 2 (Tf = 16000 / F0), at most
//               lastMis + 960; when lastIdx has drifted from the frame start − lastMis it restarts at the frame
//               start (reading at most 960)
//   periods     from `start`, for every lag L in floor(0.9·Tf)…ceil(1.1·Tf) the Pearson correlation of
//               x[start, start+L) with x[start+L, start+2L); the highest local maximum (interior lags only) is
//               the period (no maximum: skip T0f = round(Tf) samples); its parabola gives the period in seconds and
//               the correlation, which must exceed 0.5 for the period to count; shimmer compares the peak-to-peak
//               amplitudes (samples 1…L−2) of the two periods
//   jitter      mean |T_i − T_{i−1}| over the frame / mean period, where T_{i−1} may come from the previous frame
//               (reset by an unvoiced frame); capped at 1; a voiced frame without any accepted period repeats the
//               previous frame's value, one with a single period (and no predecessor) gives 0
//   shimmer dB  20·log10(1 + mean |A_i − A_{i+1}| / mean amplitude), the same carry-over rules
// Frames after the last one the Viterbi smoother had decided at the end of the input are never processed
// (cPitchJitter does nothing at end of input): they are 0.

import Foundation

enum EGeMAPSJitter {
    /// Jitter (local) and shimmer (local, dB) per 60 ms frame for frames 0...`converged` (the rest 0).
    /// `x`: the samples as openSMILE holds them (float); `f0`: gated F0 in Hz per frame.
    static func analyze(_ x: [Float], f0: [Double], converged: Int) -> (jitter: [Double], shimmer: [Double]) {
        let T = f0.count
        var jitter = [Double](repeating: 0, count: T), shimmer = jitter
        var lastIdx = 0, lastMis = 0
        var lastT0: Float = 0, lastDiff: Float = 0, lastJitter: Float = 0, lastShimmer: Float = 0
        let sampleT = 1.0 / 16000
        guard converged >= 0 else { return (jitter, shimmer) }
        for t in 0...min(converged, T - 1) {
            let F0 = Float(f0[t])
            let startVidx = 160 * t
            let toRead0 = 160 + lastMis
            var toRead = toRead0
            var Tf = 0.0, T0f = 0, T0minF = 0, T0maxF = 0
            if F0 > 0 {
                Tf = (1.0 / Double(F0)) / sampleT
                T0f = Int(Tf.rounded())
                T0minF = Int((0.9 * Tf).rounded(.down))
                T0maxF = Int((1.1 * Tf).rounded(.up))
                toRead = max(toRead, 2 * T0maxF + 2)
            }
            var maxRead = lastMis + 960
            toRead = min(toRead, maxRead)
            if startVidx - lastMis != lastIdx {
                lastIdx = startVidx
                toRead = min(toRead, 960); maxRead = min(maxRead, 960)
            }
            guard lastIdx >= 0, lastIdx + toRead <= x.count, maxRead >= 1 else { break }
            let d = Array(x[lastIdx..<(lastIdx + toRead)])
            var lastPeriod = 0
            var nPeriods: Float = 0, nLocal: Float = 0, avgPeriod: Float = 0, jit: Float = 0
            var avgAmp: Float = 0, avgAmpDiff: Float = 0
            if F0 > 0 {
                var start = 0
                var cc = [Double](repeating: 0, count: T0maxF - T0minF + 1)
                while start < d.count - 2 * T0maxF - 1 {
                    for L in T0minF...T0maxF { cc[L - T0minF] = crossCorr(d, start, start + L, L) }
                    var maxI = -1, mx = 0.0
                    if T0maxF - T0minF - 1 > 1 {
                        for i in 1..<(T0maxF - T0minF - 1) where cc[i - 1] < cc[i] && cc[i] > cc[i + 1] {
                            if maxI == -1 || cc[i] > mx { maxI = i; mx = cc[i] }
                        }
                    }
                    let os = start
                    if maxI >= 0 {
                        let pp = T0minF + maxI
                        start += pp
                        let (a0, a1) = (peakToPeak(d, os, pp), peakToPeak(d, start, pp))
                        let ad = abs(a0 - a1)
                        let (vx, ccI) = EGeMAPSPitch.parabola(Double(maxI - 1), cc[maxI - 1], Double(maxI), cc[maxI],
                                                              Double(maxI + 1), cc[maxI + 1])
                        let period = Float(abs(Double(T0minF) + vx) * sampleT)
                        if Float(ccI) > 0.5 {
                            avgPeriod += period; nPeriods += 1
                            if lastT0 > 0 {
                                let diff = abs(lastT0 - period)
                                jit += diff; nLocal += 1
                                lastDiff = diff
                            }
                            lastT0 = period
                            avgAmp += (a0 + a1) / 2
                            avgAmpDiff += ad
                        }
                    } else {
                        start += T0f
                    }
                    if start < toRead0 - 1 { lastPeriod = start }
                }
                lastMis = toRead0 - lastPeriod
            } else {
                lastPeriod = toRead0
                lastMis = 0
                lastT0 = 0; lastDiff = 0; lastJitter = 0; lastShimmer = 0
            }
            lastIdx += lastPeriod
            if nPeriods > 0 && nLocal > 0 && F0 > 0 { lastJitter = (jit / nLocal) / (avgPeriod / nPeriods) }
            if nPeriods > 0 && nLocal > 0 && F0 > 0 || nPeriods == 0 && F0 > 0 {
                lastJitter = min(lastJitter, 1)
                jitter[t] = Double(lastJitter)
            }
            if nPeriods > 0 && F0 > 0 { lastShimmer = avgAmp > 0 ? avgAmpDiff / avgAmp : 0 }
            if F0 > 0 {
                lastShimmer = min(lastShimmer, 1)
                let a = Double(lastShimmer + 1)
                shimmer[t] = Double(Float(a > 10e-50 ? 20 * log(a) / log(10.0) : -1000))
            }
        }
        return (jitter, shimmer)
    }

    /// Pearson correlation of d[a, a+n) and d[b, b+n) (cPitchJitter::crossCorr, double sums of float samples).
    static func crossCorr(_ d: [Float], _ a: Int, _ b: Int, _ n: Int) -> Double {
        var mx = 0.0, my = 0.0
        for i in 0..<n { mx += Double(d[a + i]); my += Double(d[b + i]) }
        mx /= Double(n); my /= Double(n)
        var c = 0.0, nx = 0.0, ny = 0.0
        for i in 0..<n {
            let u = Double(d[a + i]) - mx, v = Double(d[b + i]) - my
            c += u * v; nx += u * u; ny += v * v
        }
        return c / (nx.squareRoot() * ny.squareRoot())
    }

    /// max − min of d[s+1 ..< s+n−1] (cPitchJitter::amplitudeDiff skips the first and last sample).
    static func peakToPeak(_ d: [Float], _ s: Int, _ n: Int) -> Float {
        var hi = d[s + 1], lo = d[s + 1]
        if n > 2 { for i in 1..<(n - 1) { hi = max(hi, d[s + i]); lo = min(lo, d[s + i]) } }
        return hi - lo
    }
}
