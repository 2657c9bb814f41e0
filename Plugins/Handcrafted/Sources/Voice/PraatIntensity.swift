// Praat's "Sound: To Intensity..." (Praat 6.1.38; manual page of that name), written from its description and
// checked against praat-parselmouth 0.4.7:
//  - window: Kaiser–Bessel, I0((2π² + 0.5)·√(1 − x²)) for x ∈ [−1, 1] over 6.4 / minimum pitch seconds (2·⌊3.2 /
//    minimum pitch · sr⌋ + 1 samples), I0 by the polynomial approximations of Abramowitz & Stegun 9.8.1–9.8.2;
//  - frames as Sampled_shortTermAnalysis places them (window 6.4 / minimum pitch; default step 0.8 / minimum pitch),
//    each centred on the sample nearest its time, the window cut at the clip's edges;
//  - per frame, optionally minus the mean of the samples under the window, the window-weighted mean square
//    Σ w x² / Σ w, in dB re (2·10⁻⁵)² (−300 dB below 10⁻³⁰ of it).

import Foundation

/// Intensity contour exactly as Praat's `To Intensity` computes it.
public struct PraatIntensity: Sendable {
    /// Minimum pitch (Hz): the window spans 6.4 periods of it.
    public var minimumPitch = 50.0
    /// Time step between frames (s); 0 = automatic (0.8 / minimumPitch).
    public var timeStep = 0.01
    /// Subtract the mean of each window before squaring ("subtract mean": yes).
    public var subtractMean = true

    /// The peer's settings for speech rate (50 Hz, 10 ms, subtract mean).
    public init() {}

    /// Frames of one intensity analysis.
    public struct Track: Sendable, Equatable {
        /// Time of the first frame's centre (s).
        public var x1: Double
        /// Time step between frames (s).
        public var dt: Double
        /// Intensity per frame (dB re 2·10⁻⁵ Pa).
        public var values: [Double]

        /// Centre time of frame `i` (s).
        public func time(ofFrame i: Int) -> Double { x1 + Double(i) * dt }
    }

    /// Intensity frames of `y` sampled at `sampleRate` Hz (no frames when the clip is shorter than one window).
    public func track(_ y: [Double], sampleRate: Double) -> Track {
        let dx = 1.0 / sampleRate
        let nx = y.count
        guard nx > 0, sampleRate > 0, minimumPitch > 0, timeStep >= 0 else {
            return Track(x1: 0, dt: timeStep, values: [])
        }
        let logicalWindow = 3.2 / minimumPitch
        let dt = timeStep > 0 ? timeStep : logicalWindow / 4.0
        let physicalWindow = 2.0 * logicalWindow
        let halfWindow = 0.5 * physicalWindow
        let halfSamples = Int(floor(halfWindow / dx))
        let windowCount = 2 * halfSamples + 1
        let centre = halfSamples + 1                           // 1-based
        let duration = dx * Double(nx)
        guard physicalWindow <= duration else { return Track(x1: 0, dt: dt, values: []) }
        let window = (1...windowCount).map { i -> Double in
            let x = Double(i - centre) * dx / halfWindow
            return Self.besselI0((2.0 * Double.pi * Double.pi + 0.5) * max(0.0, 1.0 - x * x).squareRoot())
        }
        let nFrames = Int(floor((duration - physicalWindow) / dt)) + 1
        let x1 = 0.5 * dx
        let t1 = (x1 - 0.5 * dx + 0.5 * duration) - 0.5 * (Double(nFrames) * dt) + 0.5 * dt
        var values = [Double](repeating: 0, count: nFrames)
        var amplitude = [Double](repeating: 0, count: windowCount)
        for f in 0..<nFrames {
            let t = t1 + Double(f) * dt
            let mid = Int(((t - x1) / dx + 1.0).rounded())         // nearest sample, 1-based
            let left = max(mid - halfSamples, 1), right = min(mid + halfSamples, nx)
            guard right >= left else { values[f] = -300; continue }
            let offset = centre - mid                             // window index = sample index + offset
            let count = right - left + 1
            for k in 0..<count { amplitude[k] = y[left - 1 + k] }
            if subtractMean {
                var sum = 0.0
                for k in 0..<count { sum += amplitude[k] }
                let mean = sum / Double(count)
                for k in 0..<count { amplitude[k] -= mean }
            }
            var sumxw = 0.0, sumw = 0.0
            for k in 0..<count {
                let w = window[left + offset - 1 + k]
                sumxw += amplitude[k] * amplitude[k] * w
                sumw += w
            }
            let relative = (sumxw / sumw) / (2.0e-5 * 2.0e-5)
            values[f] = relative < 1.0e-30 ? -300.0 : 10.0 * log10(relative)
        }
        return Track(x1: t1, dt: dt, values: values)
    }

    /// Modified Bessel function I0 by Abramowitz & Stegun 9.8.1 (|x| < 3.75) and 9.8.2 (otherwise).
    static func besselI0(_ x0: Double) -> Double {
        let x = abs(x0)
        if x < 3.75 {
            var t = x / 3.75
            t *= t
            return 1.0 + t * (3.5156229 + t * (3.0899424 + t * (1.2067492
                + t * (0.2659732 + t * (0.0360768 + t * 0.0045813)))))
        }
        let t = 3.75 / x
        return exp(x) / x.squareRoot() * (0.39894228 + t * (0.01328592
            + t * (0.00225319 + t * (-0.00157565 + t * (0.00916281
            + t * (-0.02057706 + t * (0.02635537 + t * (-0.01647633
            + t * 0.00392377))))))))
    }
}
