// Functionals: how a frame-level descriptor track becomes clip-level numbers. Non-finite frames (unvoiced f0,
// missing formants) are skipped; an empty track gives NaN.

import Foundation

/// A statistic of a descriptor track.
public enum Functional: String, CaseIterable, Sendable {
    /// Arithmetic mean.
    case mean
    /// Population standard deviation (numpy `std`, ddof 0).
    case std
    /// Minimum.
    case min
    /// Maximum.
    case max
    /// 20th, 50th, 80th percentile (numpy `percentile`, linear interpolation).
    case p20, p50, p80
    /// p80 − p20 (eGeMAPS "range 20–80").
    case range
    /// Least-squares slope against time, per second.
    case slope

    /// Applies the functional to `values` sampled every `dt` seconds.
    public func apply(_ values: [Double], dt: Double) -> Double {
        var xs: [Double] = []
        var ts: [Double] = []
        for (i, v) in values.enumerated() where v.isFinite { xs.append(v); ts.append(Double(i) * dt) }
        guard !xs.isEmpty else { return .nan }
        let n = Double(xs.count)
        switch self {
        case .mean: return xs.reduce(0, +) / n
        case .std:
            let m = xs.reduce(0, +) / n
            return (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / n).squareRoot()
        case .min: return xs.min() ?? .nan
        case .max: return xs.max() ?? .nan
        case .p20: return Functional.percentile(xs, 20)
        case .p50: return Functional.percentile(xs, 50)
        case .p80: return Functional.percentile(xs, 80)
        case .range: return Functional.percentile(xs, 80) - Functional.percentile(xs, 20)
        case .slope:
            guard xs.count > 1 else { return .nan }
            let mt = ts.reduce(0, +) / n, mx = xs.reduce(0, +) / n
            var num = 0.0, den = 0.0
            for i in xs.indices { num += (ts[i] - mt) * (xs[i] - mx); den += (ts[i] - mt) * (ts[i] - mt) }
            return den > 0 ? num / den : .nan
        }
    }

    /// numpy's default percentile (linear interpolation between closest ranks).
    static func percentile(_ xs: [Double], _ q: Double) -> Double {
        let s = xs.sorted()
        let pos = q / 100 * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = Swift.min(lo + 1, s.count - 1)
        return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
    }
}
