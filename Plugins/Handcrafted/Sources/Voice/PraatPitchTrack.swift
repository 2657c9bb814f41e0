// A pitch contour laid out as Praat's Pitch object is: equally spaced frames, a frequency per frame, 0 = unvoiced.
// The Praat-compatible voice-quality measures (pitch, harmonicity, point process, jitter/shimmer, the voicing mask
// for formants and syllable nuclei) exchange contours in this form.

import Foundation

/// A Praat-style pitch contour: frame i lies at `x1 + i·dt` seconds; `f0[i]` is in Hz, 0 where unvoiced.
public struct PraatPitchTrack: Sendable, Equatable {
    /// Time of the first frame's centre (s), clip time where input sample j lies at (j + 0.5) / sample rate.
    public var x1: Double
    /// Time step between frames (s).
    public var dt: Double
    /// Frequency per frame (Hz); 0 marks an unvoiced frame.
    public var f0: [Double]

    /// Creates a contour.
    public init(x1: Double, dt: Double, f0: [Double]) {
        self.x1 = x1
        self.dt = dt
        self.f0 = f0
    }

    /// Centre time of frame `i` (s).
    public func time(ofFrame i: Int) -> Double { x1 + Double(i) * dt }

    /// Times of the voiced frames (s).
    public var voicedTimes: [Double] { f0.indices.filter { f0[$0] > 0 }.map { time(ofFrame: $0) } }

    /// The frequency at time `t` as Praat's `Get value at time` (linear interpolation) gives it: nil where the
    /// nearest frame is unvoiced or `t` lies outside the frames; between a voiced and an unvoiced frame, the voiced
    /// frame's value.
    public func value(at t: Double) -> Double? {
        guard !f0.isEmpty else { return nil }
        let r = (t - x1) / dt                 // real frame index
        let nearest = Int(r.rounded())
        guard nearest >= 0, nearest < f0.count, f0[nearest] > 0 else { return nil }
        let left = Int(r.rounded(.down)), right = left + 1
        guard left >= 0, right < f0.count, f0[left] > 0, f0[right] > 0 else { return f0[nearest] }
        let phase = r - Double(left)
        return f0[left] + phase * (f0[right] - f0[left])
    }
}
