// openSMILE 3.0's smoothing and functionals exactly as eGeMAPS v02 configures them (cContourSmoother, cFunctionals
// with cFunctionalMoments, cFunctionalPercentiles, cFunctionalPeaks2, cFunctionalSegments). Where openSMILE's
// definition is unusual the code keeps it and says so; docs/history.md (session 11, eGeMAPS) collects those places.

import Foundation

/// openSMILE's contour smoothing and functionals (static helpers; no state).
enum SmileFunctionals {
    /// Frame period of every eGeMAPS level (s).
    static let period = 0.01

    /// `sma3` (noZeroSma = 0): 3-frame moving average; the first and last frames repeat themselves as neighbours.
    static func sma3(_ x: [Double]) -> [Double] {
        guard x.count > 1 else { return x }
        let n = x.count
        var y = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let a: Double = x[max(i - 1, 0)], b: Double = x[min(i + 1, n - 1)]
            y[i] = (a + x[i] + b) / 3
        }
        return y
    }

    /// `sma3nz` (noZeroSma = 1): a zero frame stays zero; a non-zero frame averages itself with its non-zero
    /// neighbours (edges repeat themselves, as in `sma3`).
    static func sma3nz(_ x: [Double]) -> [Double] {
        let n = x.count
        return (0..<n).map { i in
            guard x[i] != 0 else { return 0 }
            var s = x[i], c = 1.0
            for j in [max(i - 1, 0), min(i + 1, n - 1)] where x[j] != 0 { s += x[j]; c += 1 }
            return s / c
        }
    }

    /// `sma3nz` on a level that openSMILE joins with the Viterbi-lagged F0: when the input ends, only frames
    /// 0...`converged` have reached the smoother, which then emits frames `converged` and `converged + 1` with
    /// everything after `converged` padded by the value at `converged`; the frames after that arrive with the
    /// smoother's flush and are smoothed normally. (Found by matching openSMILE's LLD output frame by frame.)
    static func sma3nzLagged(_ x: [Double], converged k: Int) -> [Double] {
        var y = sma3nz(x)
        guard k >= 0 && k < x.count else { return y }
        let padded = Array(x[0...k]) + [Double](repeating: x[k], count: x.count - k - 1)
        let p = sma3nz(padded)
        for t in [k, k + 1] where t < x.count { y[t] = p[t] }
        return y
    }

    /// What openSMILE's functionals see of a level joined with the Viterbi-lagged F0: the `sma3nz` track (smoothed
    /// with its real neighbours) up to frame `converged` only — the frames the smoother flushes at the end of the
    /// input never reach the functionals. (Found by matching openSMILE's functionals on real clips whose voicing
    /// runs to the end; with the usual converged = T60 − 2 it is "all frames but the last".)
    static func sma3nzForFunctionals(_ x: [Double], converged k: Int) -> [Double] {
        guard k >= 0 else { return [] }
        return Array(sma3nz(x).prefix(k + 1))
    }

    /// The same for openSMILE's `lldSetNoF0AndLoudnessNz` level (jitter, shimmer, the cHarmonics values and the
    /// voiced formants): frames 0...`converged`, but smoothed as if the input ended there (frame `converged` has
    /// no real right neighbour). Also found by matching real clips whose voicing runs to the end.
    static func sma3nzTruncated(_ x: [Double], converged k: Int) -> [Double] {
        guard k >= 0 else { return [] }
        return sma3nz(Array(x.prefix(k + 1)))
    }

    /// The frames a functional sees: all of them, or (nonZeroFuncts = 1) only the non-zero ones.
    static func input(_ x: [Double], nonZero: Bool) -> [Double] { nonZero ? x.filter { $0 != 0 } : x }

    /// Moments `amean` and `stddevNorm` (= population std / mean, signed: openSMILE's "compatible" mode 2;
    /// a zero mean divides by 1). Empty input gives 0 for both, as openSMILE writes.
    static func meanStddevNorm(_ xs: [Double]) -> (amean: Double, stddevNorm: Double) {
        guard !xs.isEmpty else { return (0, 0) }
        let n = Double(xs.count)
        let mean = xs.reduce(0, +) / n
        let m2 = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        guard m2 > 0 else { return (mean, 0) }
        return (mean, m2.squareRoot() / (mean == 0 ? 1 : mean))
    }

    /// Percentile with linear interpolation between the two closest ranks (numpy's default); 0 for empty input.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let idx = p * Double(sorted.count - 1)
        let i1 = Int(idx.rounded(.down)), i2 = Int(idx.rounded(.up))
        guard i1 != i2 else { return sorted[i1] }
        return sorted[i1] * (Double(i2) - idx) + sorted[i2] * (idx - Double(i1))
    }

    /// The 20th/50th/80th percentiles and the 20–80 range, in openSMILE's order.
    static func percentiles(_ xs: [Double]) -> [Double] {
        guard !xs.isEmpty else { return [0, 0, 0, 0] }
        let s = xs.sorted()
        let p = [0.2, 0.5, 0.8].map { percentile(s, $0) }
        return p + [abs(p[2] - p[0])]
    }

    /// cFunctionalPeaks2's peak list (relThresh 0.1 of the range, absolute): candidates are local extrema at
    /// indices 2..<N−2, then small rises/falls and duplicate extrema are removed in openSMILE's three passes.
    static func peakList(_ x: [Double]) -> [(isMax: Bool, x: Int, y: Double)] {
        let n = x.count
        guard n > 0, let lo = x.min(), let hi = x.max() else { return [] }
        let absThresh = 0.1 * (hi - lo)
        func below(_ d: Double) -> Bool { d < absThresh }
        var el: [(isMax: Bool, x: Int, y: Double)] = []
        if n > 4 {
            for i in 2..<(n - 2) {
                if x[i] > x[i - 1] && x[i] > x[i + 1] { el.append((true, i, x[i])) }
                else if x[i] < x[i - 1] && x[i] < x[i + 1] { el.append((false, i, x[i])) }
            }
        }
        var alive = [Bool](repeating: true, count: el.count)
        // Pass 2a: mutual minimum rise/fall.
        var lastVal = x[0], lastMin = x[0], lastMax = x[0]
        var minFlag = false
        var lastMaxIdx: Int?
        for i in el.indices where alive[i] {
            let e = el[i]
            if e.isMax {
                if below(abs(e.y - lastVal)) {
                    if below(e.y - lastMin) {
                        alive[i] = false
                    } else {
                        if e.y > lastMax * 1.05 {
                            if let p = lastMaxIdx { alive[p] = false }
                            lastMax = e.y; lastMaxIdx = i
                        } else if minFlag {
                            lastMax = e.y; lastMaxIdx = i
                        } else {
                            alive[i] = false
                        }
                        minFlag = false
                    }
                } else {
                    minFlag = false; lastMax = e.y; lastMaxIdx = i
                }
            } else if !below(abs(e.y - lastVal)) {
                minFlag = true; lastMin = e.y
            }
            lastVal = e.y
        }
        // Pass 2b: minima too close to the last maximum.
        lastMax = x[0]
        for i in el.indices where alive[i] {
            if el[i].isMax { lastMax = el[i].y } else if below(lastMax - el[i].y) { alive[i] = false }
        }
        // Pass 3: of consecutive maxima keep the highest, of consecutive minima the lowest.
        var isMinRun = false, initial = true
        var lastMinIdx = 0, lastMaxIdx3 = 0
        for i in el.indices where alive[i] {
            let e = el[i]
            if !e.isMax {
                if !isMinRun || initial { lastMinIdx = i; isMinRun = true; initial = false }
                else if e.y >= el[lastMinIdx].y { alive[i] = false }
                else { alive[lastMinIdx] = false; lastMinIdx = i }
            } else {
                if isMinRun || initial { lastMaxIdx3 = i; isMinRun = false; initial = false }
                else if e.y <= el[lastMaxIdx3].y { alive[i] = false }
                else { alive[lastMaxIdx3] = false; lastMaxIdx3 = i }
            }
        }
        return el.indices.filter { alive[$0] }.map { el[$0] }
    }

    /// Peaks per second (Peaks2 numPeaks, norm = seconds): maxima / (N · 10 ms).
    static func peaksPerSecond(_ x: [Double]) -> Double {
        guard !x.isEmpty else { return 0 }
        return Double(peakList(x).filter { $0.isMax }.count) / (Double(x.count) * period)
    }

    /// Peaks2 mean and std of rising and falling slopes (per second), in openSMILE's order
    /// [meanRising, stddevRising, meanFalling, stddevFalling]. openSMILE's own quirks kept: the stretch from the last
    /// extremum to the end counts in the mean but not in the std; with no extremum the single slope is
    /// (x[N−1] − x[0]) / N per frame (not per second); the std divides by the count only when it exceeds 1.
    static func slopes(_ x: [Double]) -> [Double] {
        let n = x.count
        guard n > 0 else { return [0, 0, 0, 0] }
        let list = peakList(x)
        let T = period
        var rising: [Double] = [], falling: [Double] = []
        var lastMax = x[0], lastMaxPos = 0, lastMin = x[0], lastMinPos = 0
        var lastIsMax: Bool?
        for e in list {
            if !e.isMax {
                lastMin = e.y; lastMinPos = e.x
                if lastMinPos - lastMaxPos > 0 {
                    falling.append((lastMax - lastMin) / (Double(lastMinPos - lastMaxPos) * T)); lastIsMax = false
                }
            } else {
                lastMax = e.y; lastMaxPos = e.x
                if lastMaxPos - lastMinPos > 0 {
                    rising.append((lastMax - lastMin) / (Double(lastMaxPos - lastMinPos) * T)); lastIsMax = true
                }
            }
        }
        var sumR = rising.reduce(0, +), sumF = falling.reduce(0, +)
        var nR = rising.count, nF = falling.count
        switch lastIsMax {
        case true?:
            if n - 1 - lastMaxPos > 0 { sumF += (x[n - 1] - lastMax) / (Double(n - 1 - lastMaxPos) * T); nF += 1 }
        case false?:
            if n - 1 - lastMinPos > 0 { sumR += (x[n - 1] - lastMin) / (Double(n - 1 - lastMinPos) * T); nR += 1 }
        case nil:
            let s = (x[n - 1] - x[0]) / Double(n)
            if s > 0 { sumR = s; nR = 1 } else if s < 0 { sumF = s; nF = 1 }
        }
        let meanR = nR > 1 ? sumR / Double(nR) : sumR
        let meanF = nF > 1 ? sumF / Double(nF) : sumF
        // Std pass: the slopes between extrema only (a max at the same frame as the last min is skipped).
        var vR = 0.0, vF = 0.0
        lastMax = x[0]; lastMaxPos = 0; lastMin = x[0]; lastMinPos = 0
        for e in list {
            if !e.isMax {
                lastMin = e.y; lastMinPos = e.x
                if lastMinPos - lastMaxPos > 0 {
                    let s = (lastMax - lastMin) / (Double(lastMinPos - lastMaxPos) * T); vF += (s - meanF) * (s - meanF)
                }
            } else {
                lastMax = e.y; lastMaxPos = e.x
                if lastMaxPos != lastMinPos {
                    let s = (lastMax - lastMin) / (Double(lastMaxPos - lastMinPos) * T); vR += (s - meanR) * (s - meanR)
                }
            }
        }
        if nR > 1 { vR /= Double(nR) }
        if nF > 1 { vF /= Double(nF) }
        return [meanR, vR > 0 ? vR.squareRoot() : 0, meanF, vF > 0 ? vF.squareRoot() : 0]
    }

    /// cFunctionalSegments (segMinLng 3, pauseMinLng 2, maxNumSeg 1000, norm = second) on segments where the
    /// value is ≠ 0 (`nonZero`, algorithm nonX) or == 0 (eqX): [segments per second, mean length s, std length s].
    /// openSMILE's segment length is end − start where end is the last in-segment frame, one frame short of the
    /// segment's frame count; kept as it is.
    static func segments(_ x: [Double], nonZero: Bool) -> [Double] {
        let n = x.count
        guard n > 0 else { return [0, 0, 0] }
        var lens: [Int] = []
        var start = 0, state = 0, segStart = 0, segEnd = 0
        for i in 0..<n {
            let inside = nonZero ? x[i] != 0 : x[i] == 0
            if inside {
                switch state {
                case 1:
                    segEnd = 0; segStart += 1
                    if segStart >= 3 { segStart = 0; state = 2 }
                case 0:
                    segStart += 1; start = i; state = 1
                default:
                    segEnd = 0
                }
            } else {
                if state == 2 {
                    segStart = 0; segEnd += 1
                    if segEnd >= 2 {
                        state = 0
                        if lens.count < 1000 { lens.append(i - segEnd - start) }
                        segEnd = 0
                    }
                } else if state == 1 {
                    segEnd += 1
                    if segEnd >= 2 { state = 0; segEnd = 0; segStart = 0 }
                }
            }
        }
        if state == 2 { segEnd += 1; if lens.count < 1000 { lens.append(n - segEnd - start) } }
        let count = Double(lens.count)
        let total = Double(lens.reduce(0, +))
        let mean = lens.count > 1 ? total / count : total
        var dev = 0.0
        if lens.count > 1 {
            dev = (lens.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / count).squareRoot()
        }
        return [count / (Double(n) * period), mean * period, dev * period]
    }
}
