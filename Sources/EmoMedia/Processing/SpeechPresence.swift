import Foundation

/// Whether a clip can hold speech at all, from frame energies (25 ms frames every 10 ms, DC removed): a model trained
/// on speech answers with confidence on anything, so silence, a DC offset, channels that cancel, a steady tone or hum
/// and clips too short to hold a word are refused before they reach it.
///
/// Three rules, each with its measured margin on the 4240 RAVDESS + TESS clips (all pass):
/// - at least `minimumSeconds` (0.2 s; the shortest real clip is 1.25 s);
/// - the loudest frame at least `silenceDBFS` (−80 dBFS; the quietest real clip's loudest frame is −54.6 dBFS);
/// - frame energies that vary: the 95th minus the 10th percentile at least `minimumRangeDB` (6 dB; speech alternates
///   syllables and pauses: the smallest real range is 11.6 dB, a steady tone or white noise measures under 1 dB).
public enum SpeechPresence {
    /// Shortest clip that can hold speech, in seconds.
    public static let minimumSeconds = 0.2
    /// Loudest-frame energy below which a clip is silent, in dBFS.
    public static let silenceDBFS = -80.0
    /// Smallest spread of frame energies (95th − 10th percentile) a clip with speech shows, in dB.
    public static let minimumRangeDB = 6.0

    /// Why `samples` at `sampleRate` hold no speech, or nil when they may.
    public static func problem(_ samples: [Float], sampleRate: Int) -> String? {
        let seconds = Double(samples.count) / Double(max(sampleRate, 1))
        guard seconds >= minimumSeconds else {
            return String(format: "no speech: the clip is %.3f s long; speech needs at least %.1f s", seconds, minimumSeconds)
        }
        let energies = frameEnergies(samples, sampleRate: sampleRate).sorted()
        guard let loudest = energies.last, !energies.isEmpty else {
            return "no speech: the clip has no complete 25 ms frame"
        }
        guard loudest >= silenceDBFS else {
            return String(format: "no speech: the clip is silent (loudest 25 ms frame %.0f dBFS after removing any DC offset; speech needs %.0f dBFS)", loudest, silenceDBFS)
        }
        let range = percentile(energies, 0.95) - percentile(energies, 0.10)
        guard range >= minimumRangeDB else {
            return String(format: "no speech: the level barely changes (frame energies spread %.1f dB; speech spreads at least %.0f dB) — a steady tone, hum or noise", range, minimumRangeDB)
        }
        return nil
    }

    /// Energy in dBFS of each 25 ms frame every 10 ms, after subtracting the clip's mean.
    static func frameEnergies(_ samples: [Float], sampleRate: Int) -> [Double] {
        let frame = max(1, sampleRate / 40), hop = max(1, sampleRate / 100)
        guard samples.count >= frame else { return [] }
        var mean = 0.0
        for s in samples { mean += Double(s) }
        mean /= Double(samples.count)
        var out: [Double] = []
        out.reserveCapacity((samples.count - frame) / hop + 1)
        var start = 0
        while start + frame <= samples.count {
            var power = 0.0
            for i in start..<(start + frame) {
                let d = Double(samples[i]) - mean
                power += d * d
            }
            out.append(10 * log10(power / Double(frame) + 1e-12))
            start += hop
        }
        return out
    }

    /// The `q` quantile of sorted values (linear interpolation, as numpy's default).
    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        guard let first = sorted.first else { return 0 }
        let position = q * Double(sorted.count - 1)
        let lo = Int(position), hi = min(lo + 1, sorted.count - 1)
        return lo >= sorted.count - 1 ? (sorted.last ?? first) : sorted[lo] + (position - Double(lo)) * (sorted[hi] - sorted[lo])
    }
}
