// Jitter (local) and shimmer (local) exactly as Praat 6.1.38 computes them from a PointProcess of glottal pulses
// ("PointProcess: Get jitter (local)..." and "Sound & PointProcess: Get shimmer (local)..."), whole-domain window,
// with the settings the peer pipeline uses: shortest period 0.0001 s, longest period 0.02 s, maximum period factor 1.3,
// maximum amplitude factor 1.6.
//
// Sources: the Praat manual pages "PointProcess: Get jitter (local)...", "Voice 2. Jitter", "Voice 3. Shimmer" and
// "Sound & PointProcess: Get shimmer (local)..." (Paul Boersma & David Weenink, praat.org); details worked out from
// reading Praat's fon/VoiceAnalysis.cpp, fon/PointProcess.cpp and fon/AmplitudeTier.cpp (GPL, not copied) and checked
// number by number against praat-parselmouth 0.4.7 (Tests/Reference/praat_pulses_reference.py).
//
// Jitter (local) = [Σ |T_i − T_{i+1}| / (N − 1)] / mean period, over the consecutive interval pairs (T_i, T_{i+1})
// of the pulses in which both intervals lie in [shortest, longest] and their ratio is ≤ the maximum period factor;
// N = number of intervals minus those failing pairs. The mean period averages the intervals that count as periods:
// in [shortest, longest] and not more than the factor away from *both* neighbouring intervals (an interval at an
// end of the pulse train, with one neighbour, only has to be in range). Undefined (nil) with fewer than 2 periods.
//
// Shimmer (local): each pulse with both adjacent intervals passing the jitter test gets an amplitude, the RMS of
// the sound under an asymmetric Hann window reaching 0.2 × the left interval to the left and 0.2 × the right
// interval to the right (samples whose times lie in that window; √(Σ(x·w)²/Σw²); needs ≥ 3 samples and a
// positive value). Praat calls these peaks but they are windowed RMS values, not interpolated waveform maxima.
// Then over consecutive amplitude points whose time distance lies in [shortest, longest] and whose amplitude ratio
// is ≤ the maximum amplitude factor: shimmer = mean |A_i − A_{i+1}| / (mean of all amplitudes but the last).
// Undefined with fewer than 3 pulses, no such pair, or a zero denominator.

import Foundation

/// Praat's jitter (local) and shimmer (local).
public enum PraatJitterShimmer {
    /// The period and amplitude limits of Praat's voice measures.
    public struct Limits: Sendable, Equatable {
        /// Shortest interval that counts as a period (s).
        public var shortestPeriod = 0.0001
        /// Longest interval that counts as a period (s).
        public var longestPeriod = 0.02
        /// Largest ratio between consecutive periods.
        public var maximumPeriodFactor = 1.3
        /// Largest ratio between consecutive amplitudes (shimmer only).
        public var maximumAmplitudeFactor = 1.6

        /// Praat's standard values (0.0001 s, 0.02 s, 1.3, 1.6).
        public init() {}
    }

    /// Jitter, shimmer and the pulses they came from.
    public struct Measures: Sendable, Equatable {
        /// Pulse times (s).
        public var pulses: [Double]
        /// Jitter (local) as a fraction; nil where Praat's is undefined.
        public var jitterLocal: Double?
        /// Shimmer (local) as a fraction; nil where Praat's is undefined.
        public var shimmerLocal: Double?
    }

    /// Pulses by `PraatPointProcess` from `pitch`, then jitter and shimmer over the whole clip: Praat's
    /// `To PointProcess (periodic, cc)` → `Get jitter (local)` / `Get shimmer (local)` given Praat's pitch.
    public static func measures(_ y: [Double], sampleRate: Double, pitch: PraatPitchTrack,
                                limits: Limits = Limits()) -> Measures {
        let pulses = PraatPointProcess.pulses(y, sampleRate: sampleRate, pitch: pitch)
        let domain = 0...(Double(y.count) / sampleRate)
        return Measures(pulses: pulses,
                        jitterLocal: jitterLocal(pulses, in: domain, limits: limits),
                        shimmerLocal: shimmerLocal(pulses, y, sampleRate: sampleRate, limits: limits))
    }

    /// Praat's `Get jitter (local)` of the pulses inside `window` (s; nil = all).
    public static func jitterLocal(_ pulses: [Double], in window: ClosedRange<Double>? = nil,
                                   limits: Limits = Limits()) -> Double? {
        let t = window.map { w in pulses.filter { w.contains($0) } } ?? pulses
        var periods = t.count - 1
        guard periods >= 2 else { return nil }
        var sum = 0.0
        for i in 1..<(t.count - 1) {
            let p1 = t[i] - t[i - 1], p2 = t[i + 1] - t[i]
            if pairCounts(p1, p2, limits) { sum += abs(p1 - p2) } else { periods -= 1 }
        }
        guard periods >= 2, let mean = meanPeriod(t, limits: limits) else { return nil }
        return sum / Double(periods - 1) / mean
    }

    /// Praat's `Get mean period`: mean of the intervals that count as periods (see the file header); nil if none.
    public static func meanPeriod(_ t: [Double], limits: Limits = Limits()) -> Double? {
        var sum = 0.0, count = 0
        for i in 0..<max(t.count - 1, 0) where isPeriod(t, i, limits) {
            sum += t[i + 1] - t[i]
            count += 1
        }
        return count > 0 ? sum / Double(count) : nil
    }

    /// Praat's `Get shimmer (local)` of `y` (sampled at `sampleRate`, sample j at (j + 0.5)/sampleRate) at the
    /// pulses inside the sound's domain.
    public static func shimmerLocal(_ pulses: [Double], _ y: [Double], sampleRate: Double,
                                    limits: Limits = Limits()) -> Double? {
        guard let points = periodAmplitudes(pulses, y, sampleRate: sampleRate, limits: limits) else { return nil }
        var numerator = 0.0, pairs = 0
        for i in points.indices.dropFirst() {
            let p = points[i].time - points[i - 1].time
            guard limits.shortestPeriod == limits.longestPeriod
                || (p >= limits.shortestPeriod && p <= limits.longestPeriod) else { continue }
            let a1 = points[i - 1].amplitude, a2 = points[i].amplitude
            let factor = a1 > a2 ? a1 / a2 : a2 / a1
            if factor <= limits.maximumAmplitudeFactor {
                numerator += abs(a1 - a2)
                pairs += 1
            }
        }
        guard pairs >= 1 else { return nil }
        numerator /= Double(pairs)
        var denominator = 0.0
        for p in points.dropLast() { denominator += p.amplitude }
        denominator /= Double(points.count - 1)
        return denominator == 0 ? nil : numerator / denominator
    }

    /// Praat's `To AmplitudeTier (period)` over the whole sound: (pulse time, Hann-windowed RMS) for every inner
    /// pulse whose two intervals pass the period test; nil (Praat: "too few pulses") with fewer than 3 pulses.
    public static func periodAmplitudes(_ pulses: [Double], _ y: [Double], sampleRate: Double,
                                        limits: Limits = Limits()) -> [(time: Double, amplitude: Double)]? {
        let dx = 1 / sampleRate, x1 = 0.5 * dx
        let xmax = Double(y.count) * dx
        let t = pulses.filter { $0 >= 0 && $0 <= xmax }
        guard t.count >= 3 else { return nil }
        var out: [(time: Double, amplitude: Double)] = []
        for i in 1..<(t.count - 1) {
            let p1 = t[i] - t[i - 1], p2 = t[i + 1] - t[i]
            guard pairCounts(p1, p2, limits),
                  let a = hannWindowedRMS(y, x1: x1, dx: dx, centre: t[i], left: 0.2 * p1, right: 0.2 * p2),
                  a > 0 else { continue }
            out.append((t[i], a))
        }
        return out
    }

    /// Both intervals in range and their ratio within the period factor (or no limits at all).
    static func pairCounts(_ p1: Double, _ p2: Double, _ l: Limits) -> Bool {
        if l.shortestPeriod == l.longestPeriod { return true }
        let factor = p1 > p2 ? p1 / p2 : p2 / p1
        return p1 >= l.shortestPeriod && p1 <= l.longestPeriod && p2 >= l.shortestPeriod && p2 <= l.longestPeriod
            && factor <= l.maximumPeriodFactor
    }

    /// Whether the interval t[i]…t[i+1] counts as a period: in range, and not more than the factor away from both
    /// neighbouring intervals where both exist.
    static func isPeriod(_ t: [Double], _ i: Int, _ l: Limits) -> Bool {
        guard i >= 0, i + 1 < t.count else { return false }
        if l.shortestPeriod == l.longestPeriod { return true }
        let interval = t[i + 1] - t[i]
        guard interval > 0, interval >= l.shortestPeriod, interval <= l.longestPeriod else { return false }
        guard l.maximumPeriodFactor.isFinite, l.maximumPeriodFactor >= 1 else { return true }
        func factor(_ other: Double) -> Double? {
            guard other > 0 else { return nil }
            let f = interval / other
            return f < 1 ? 1 / f : f
        }
        let previous = i >= 1 ? factor(t[i] - t[i - 1]) : nil
        let next = i + 2 < t.count ? factor(t[i + 2] - t[i + 1]) : nil
        if let p = previous, let n = next, p > l.maximumPeriodFactor, n > l.maximumPeriodFactor { return false }
        return true
    }

    /// RMS of `y` under a Hann window centred on `centre` reaching `left` s to the left and `right` s to the right
    /// (samples whose times lie in the window); nil with fewer than 3 samples.
    static func hannWindowedRMS(_ y: [Double], x1: Double, dx: Double, centre: Double, left: Double,
                                right: Double) -> Double? {
        let first = max(1, Int(((centre - left - x1) / dx).rounded(.up)) + 1)          // 1-based
        let last = min(y.count, Int(((centre + right - x1) / dx).rounded(.down)) + 1)
        guard last - first + 1 >= 3 else { return nil }
        var sumOfSquares = 0.0, windowSumOfSquares = 0.0
        for i in first...last {
            let t = x1 + Double(i - 1) * dx
            let phase = (t - centre) / (t < centre ? left : right)      // −1 … 1
            let w = 0.5 + 0.5 * cos(Double.pi * phase)
            let v = y[i - 1] * w
            sumOfSquares += v * v
            windowSumOfSquares += w * w
        }
        return (sumOfSquares / windowSumOfSquares).squareRoot()
    }
}
