// Praat's pitch path finder (manual page "Pitch: Path finder..."; Boersma 1993, section 5): a Viterbi search for
// the path through every frame's candidates that maximises the summed local strengths minus transition costs.
//   local strength, unvoiced: voicingThreshold + max(0, 2 − intensity / (silenceThreshold / (1 + voicingThreshold)))
//   local strength, voiced:   strength − octaveCost · log2(ceiling / f)
//   transition: voiced ↔ unvoiced: voicedUnvoicedCost; voiced → voiced: octaveJumpCost · |log2(f1 / f2)|
// (both costs times 0.01 s / time step). A candidate counts as unvoiced when its frequency is not in (0, ceiling).
// Ties keep the earlier candidate; the chosen candidate is moved to the front of its frame.

import Foundation

/// The Viterbi path finder through pitch candidates.
struct PraatPitchPath {
    /// The analysis' thresholds and costs.
    var settings: PraatPitchSettings
    /// The effective ceiling (the settings' one, capped at the Nyquist frequency).
    var ceiling: Double
    /// The effective time step (the settings' one, or the automatic one when that is 0).
    var dt: Double

    /// `frames` with each frame's chosen candidate swapped to the front.
    func choose(_ frames: [[PraatPitchCandidates.Candidate]], intensities: [Double]) -> [[PraatPitchCandidates.Candidate]] {
        let n = frames.count
        guard n > 0 else { return frames }
        let correction = 0.01 / dt
        let (silenceThreshold, voicingThreshold, octaveCost) = (settings.silenceThreshold, settings.voicingThreshold, settings.octaveCost)
        let jumpCost = settings.octaveJumpCost * correction, vuvCost = settings.voicedUnvoicedCost * correction
        func voiceless(_ f: Double) -> Bool { !(f > 0.0 && f < ceiling) }
        // local strengths
        var delta: [[Double]] = []
        delta.reserveCapacity(n)
        for (frame, intensity) in zip(frames, intensities) {
            var unvoiced = silenceThreshold <= 0 ? 0.0 : 2.0 - intensity / (silenceThreshold / (1.0 + voicingThreshold))
            unvoiced = voicingThreshold + (unvoiced > 0 ? unvoiced : 0)
            delta.append(frame.map { c in
                voiceless(c.frequency) ? unvoiced
                    : c.strength - octaveCost * PraatPitchFrameAnalyzer.log2(ceiling / c.frequency)
            })
        }
        // forward pass
        var psi = [[Int]](repeating: [], count: n)
        psi[0] = [Int](repeating: 0, count: frames[0].count)
        for f in 1..<n {
            let prev = frames[f - 1], cur = frames[f]
            let prevDelta = delta[f - 1]
            var curPsi = [Int](repeating: 0, count: cur.count)
            for c2 in cur.indices {
                let f2 = cur[c2].frequency
                let currentVoiceless = voiceless(f2)
                var maximum = -1e30
                var place = 0
                for c1 in prev.indices {
                    let f1 = prev[c1].frequency
                    let previousVoiceless = voiceless(f1)
                    let cost: Double
                    if currentVoiceless {
                        cost = previousVoiceless ? 0 : vuvCost
                    } else {
                        cost = previousVoiceless ? vuvCost : jumpCost * abs(PraatPitchFrameAnalyzer.log2(f1 / f2))
                    }
                    let value = prevDelta[c1] - cost + delta[f][c2]
                    if value > maximum { maximum = value; place = c1 }
                }
                delta[f][c2] = maximum
                curPsi[c2] = place
            }
            psi[f] = curPsi
        }
        // end of the best path, then backtrack
        var place = 0
        var maximum = delta[n - 1][0]
        for c in 1..<max(delta[n - 1].count, 1) where delta[n - 1][c] > maximum {
            place = c
            maximum = delta[n - 1][c]
        }
        var out = frames
        for f in stride(from: n - 1, through: 0, by: -1) {
            out[f].swapAt(0, place)
            place = psi[f][place]
        }
        return out
    }
}
