// Glottal pulses as Praat's "Sound & Pitch: To PointProcess (cc)" marks them (Praat 6.1.38; what "Sound: To
// PointProcess (periodic, cc)" runs after computing its own pitch), given the pitch contour.
//
// Sources: the Praat manual pages "Sound & Pitch: To PointProcess (cc)" and "Voice 2. Jitter" (Paul Boersma & David
// Weenink, praat.org); the behaviour below was worked out from reading Praat's fon/Pitch_to_PointProcess.cpp (GPL, not
// copied) and checked number by number against praat-parselmouth 0.4.7 (Tests/Reference/praat_pulses_reference.py).
//
// Conventions (Praat's Sound): input sample j (0-based) lies at time (j + 0.5)/sr; the sound's domain is
// [0, n/sr]; the pitch contour's frames are voiced where f0 > 0 and its domain is the sound's.
//  1. Voiced intervals, left to right: from the first frame at or after the running time t (index rounded up) to
//     the last of the following run of voiced frames; each frame counts as voiced over ±dt/2 around its centre,
//     clipped to the domain. After an interval, t = its right end.
//  2. The first pulse is the sample of largest |amplitude| within ±half a period (1/(2·f0) from the pitch at the
//     interval's middle) around the middle, refined by a parabola through it and its neighbours (not at the
//     ends of the search range).
//  3. From there, leftwards then rightwards: with f0 the pitch at the current pulse (stop where it is undefined),
//     take one period of samples centred on the pulse, and slide a window of the same length over the next
//     candidate positions 0.8–1.25 periods away; the normalised cross-correlation r = Σ x1·x2 / √(Σx1²·Σx2²)
//     at each offset (samples outside the sound skipped) is tracked as a running triple and the first strictly
//     better local maximum (r2 ≥ both neighbours, counting the two positions before the first as r = 0) wins; a
//     parabola through the triple refines both the offset and r. The new pulse is the current one shifted by that
//     offset. A pulse is kept when r > 0.3 and the window's peak |x| exceeds 1 % of the clip's peak (leftwards,
//     only if it is more than 0.8 periods right of the rightmost pulse of the previous interval). The walk stops
//     at the first pulse past the interval's edge, which is kept only if r > 0.7 and its peak exceeds 2.3333 % of the
//     clip's peak. Where no maximum is found the walk moves one period on and adds nothing.
//  4. Pulses are inserted in time order; a pulse exactly equal to an earlier one (not the last) is not added twice.

import Foundation

/// Praat's cross-correlation glottal pulse marking (`Sound & Pitch: To PointProcess (cc)`).
public enum PraatPointProcess {
    /// Pulse times in seconds (ascending; sample j of `y` lies at (j + 0.5)/sampleRate) for the sound `y` and its
    /// pitch contour `pitch` (Praat's `To Pitch` frames; 0 = unvoiced). Empty when nothing is voiced.
    public static func pulses(_ y: [Double], sampleRate: Double, pitch: PraatPitchTrack) -> [Double] {
        let sound = Sound(y: y, dx: 1 / sampleRate)
        guard sound.nx > 0, !pitch.f0.isEmpty, pitch.dt > 0 else { return [] }
        var globalPeak = 0.0
        for v in y { globalPeak = max(globalPeak, abs(v)) }
        var points = SortedPoints()
        var t = 0.0                     // the pitch's xmin
        var addedRight = -1e308
        while let (tleft, tright) = voicedInterval(pitch, after: t, xmax: sound.xmax) {
            defer { t = tright }
            let tmiddle = 0.5 * (tleft + tright)
            // Praat stops with an internal error here; with a contour from Praat's own tracker it cannot happen
            guard let f0middle = pitch.value(at: tmiddle) else { continue }
            let tstart = sound.extremum(from: tmiddle - 0.5 / f0middle, to: tmiddle + 0.5 / f0middle)
            points.add(tstart)
            // leftwards
            var tmax = tstart
            while let f0 = pitch.value(at: tmax) {
                let m = sound.maximumCorrelation(at: tmax, window: 1 / f0, from: tmax - 1.25 / f0, to: tmax - 0.8 / f0)
                let next = m.correlation == -1 ? tmax - 1 / f0 : m.time
                // the walk must move on; it always does unless a period is about a sample long (the search starts
                // 0.8 periods away, the parabolic refinement shifts by less than a sample), where Praat would loop
                guard next < tmax else { break }
                tmax = next
                if tmax < tleft {
                    if m.correlation > 0.7, m.peak > 0.023333 * globalPeak, tmax - addedRight > 0.8 / f0 { points.add(tmax) }
                    break
                }
                if m.correlation > 0.3, m.peak == 0 || m.peak > 0.01 * globalPeak, tmax - addedRight > 0.8 / f0 {
                    points.add(tmax)
                }
            }
            // rightwards
            tmax = tstart
            while let f0 = pitch.value(at: tmax) {
                let m = sound.maximumCorrelation(at: tmax, window: 1 / f0, from: tmax + 0.8 / f0, to: tmax + 1.25 / f0)
                let next = m.correlation == -1 ? tmax + 1 / f0 : m.time
                guard next > tmax else { break }
                tmax = next
                if tmax > tright {
                    if m.correlation > 0.7, m.peak > 0.023333 * globalPeak { points.add(tmax); addedRight = tmax }
                    break
                }
                if m.correlation > 0.3, m.peak == 0 || m.peak > 0.01 * globalPeak { points.add(tmax); addedRight = tmax }
            }
        }
        return points.times
    }

    /// The next voiced stretch at or after `after`: (left edge, right edge) in seconds, each voiced frame covering
    /// ±dt/2 around its centre, clipped to [0, xmax]; nil when there is none.
    static func voicedInterval(_ pitch: PraatPitchTrack, after: Double, xmax: Double) -> (Double, Double)? {
        let nx = pitch.f0.count
        var ileft = Int(((after - pitch.x1) / pitch.dt + 1).rounded(.up))   // 1-based, as Praat's frame numbers
        guard ileft <= nx else { return nil }
        ileft = max(ileft, 1)
        while ileft <= nx && !(pitch.f0[ileft - 1] > 0) { ileft += 1 }
        guard ileft <= nx else { return nil }
        var iright = ileft
        while iright <= nx && pitch.f0[iright - 1] > 0 { iright += 1 }
        iright -= 1
        var tleft = pitch.x1 + Double(ileft - 1) * pitch.dt - 0.5 * pitch.dt
        var tright = pitch.x1 + Double(iright - 1) * pitch.dt + 0.5 * pitch.dt
        guard tleft < xmax - 0.5 * pitch.dt else { return nil }
        tleft = max(tleft, 0)
        tright = min(tright, xmax)
        guard tright > after else { return nil }
        return (tleft, tright)
    }

    /// A mono sound in Praat's layout: 1-based sample i at x1 + (i − 1)·dx, x1 = dx/2, domain [0, nx·dx].
    struct Sound {
        let y: [Double]
        let dx: Double
        var nx: Int { y.count }
        var x1: Double { 0.5 * dx }
        var xmax: Double { Double(y.count) * dx }

        /// Real 1-based sample index of time `x`.
        func index(_ x: Double) -> Double { (x - x1) / dx + 1 }

        /// Time of the largest |sample| between `tmin` and `tmax` (sample range widened outwards), refined by a
        /// parabola unless it lies at an end of the range; the middle of the range when it holds no sample.
        func extremum(from tmin: Double, to tmax: Double) -> Double {
            let imin = max(Int(index(tmin).rounded(.down)), 1)
            let imax = min(Int(index(tmax).rounded(.up)), nx)
            let n = imax - imin + 1
            let base = imin - 1                                   // y[base + k - 1] is Praat's k-th sample
            let position: Double                                  // 1-based within the range
            if n <= 0 {
                return 0.5 * (tmin + tmax)
            } else if n == 1 {
                position = 1
            } else if n == 2 {
                let a = abs(y[base]), b = abs(y[base + 1])
                position = a > b ? 1 : a < b ? 2 : 1.5
            } else {
                var minimum = y[base], maximum = y[base], kmin = 1, kmax = 1
                for k in 2...n {
                    let v = y[base + k - 1]
                    if v < minimum { minimum = v; kmin = k }
                    if v > maximum { maximum = v; kmax = k }
                }
                if minimum == maximum {
                    position = 0.5 * Double(n + 1)
                } else {
                    let k = abs(minimum) > abs(maximum) ? kmin : kmax
                    if k == 1 || k == n {
                        position = Double(k)
                    } else {
                        let mid = y[base + k - 1], left = y[base + k - 2], right = y[base + k]
                        position = Double(k) + 0.5 * (right - left) / (2 * mid - left - right)
                    }
                }
            }
            return x1 + (Double(imin - 1) + position - 1) * dx
        }

        /// The best match of the one-period window centred on `t1` among windows whose centres lie in
        /// [tmin2, tmax2]: refined correlation (−1 when no local maximum was found), the matched time, and the
        /// largest |sample| in the matched window.
        func maximumCorrelation(at t1: Double, window: Double, from tmin2: Double, to tmax2: Double)
            -> (correlation: Double, time: Double, peak: Double) {
            let half = 0.5 * window
            let ileft1 = Int((index(t1 - half) + 0.5).rounded(.down))
            let iright1 = Int((index(t1 + half) + 0.5).rounded(.down))
            let ileft2min = Int(index(tmin2 - half).rounded(.down))
            let ileft2max = Int(index(tmax2 - half).rounded(.up))
            var best = -1.0, r1Best = 0.0, r3Best = 0.0, ir = 0.0, peak = 0.0
            var r1 = 0.0, r2 = 0.0, r3 = 0.0
            // Σ x1² over the whole window, valid while every partner sample lies inside the sound
            let first1 = max(ileft1, 1), last1 = min(iright1, nx)
            var fullNorm1 = 0.0
            if first1 <= last1 { for i in first1...last1 { fullNorm1 += y[i - 1] * y[i - 1] } }
            if ileft2max >= ileft2min {
                for ileft2 in ileft2min...ileft2max {
                    let shift = ileft2 - ileft1
                    // i1 and i1 + shift both in 1...nx
                    let lo = max(ileft1, 1, 1 - shift), hi = min(iright1, nx, nx - shift)
                    var norm1 = 0.0, norm2 = 0.0, product = 0.0, localPeak = 0.0
                    if lo <= hi {
                        let sameRange = lo == first1 && hi == last1
                        for i1 in lo...hi {
                            let a1 = y[i1 - 1], a2 = y[i1 + shift - 1]
                            if !sameRange { norm1 += a1 * a1 }
                            norm2 += a2 * a2
                            product += a1 * a2
                            if abs(a2) > localPeak { localPeak = abs(a2) }
                        }
                        if sameRange { norm1 = fullNorm1 }
                    }
                    r1 = r2
                    r2 = r3
                    r3 = product != 0 ? product / (norm1 * norm2).squareRoot() : 0
                    if r2 > best && r2 >= r1 && r2 >= r3 {
                        r1Best = r1; best = r2; r3Best = r3
                        ir = Double(ileft2 - 1)
                        peak = localPeak
                    }
                }
            }
            guard best > -1 else { return (-1, t1, peak) }
            let d2r = 2 * best - r1Best - r3Best
            if d2r != 0 {
                let dr = 0.5 * (r3Best - r1Best)
                best += 0.5 * dr * dr / d2r
                ir += dr / d2r
            }
            return (best, t1 + (ir - Double(ileft1)) * dx, peak)
        }
    }

    /// Pulse times kept sorted as Praat's PointProcess_addPoint keeps them: appended when not earlier than the last,
    /// otherwise inserted in place unless an equal time is already there.
    struct SortedPoints {
        var times: [Double] = []

        mutating func add(_ t: Double) {
            guard let last = times.last, t < last else { times.append(t); return }
            // first index whose time exceeds t
            var lo = 0, hi = times.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if times[mid] <= t { lo = mid + 1 } else { hi = mid }
            }
            if lo > 0 && times[lo - 1] == t { return }
            times.insert(t, at: lo)
        }
    }
}
