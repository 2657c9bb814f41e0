@testable import EmoHandcrafted
import Foundation
import XCTest

/// The banded, vectorised pYIN Viterbi against a naive dense Viterbi written from librosa's definition
/// (`sequence.viterbi`: log(p + tiny), first argmax on ties) over the full kron(switch, local) matrix.
final class ViterbiTests: XCTestCase {
    /// Dense reference: transition built exactly as librosa (transition_local triangle, transition_loop, kron).
    func denseViterbi(_ hmm: PYINViterbi, width: Int, switchProb: Double, obs: [Double], frames: Int) -> [Int] {
        let n = hmm.nPitchBins, s2 = 2 * n
        let tiny = Double.leastNormalMagnitude
        let win = Window.triangle(width)
        var local = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            var row = [Double](repeating: 0, count: n)
            for (q, v) in win.enumerated() where (n - width) / 2 + q < n { row[(n - width) / 2 + q] = v }
            var rolled = [Double](repeating: 0, count: n)
            for q in 0..<n { rolled[(q + n / 2 + i + 1) % n] = row[q] }
            for q in 0..<n where q >= min(n, i + width / 2 + 1) || q < max(0, i - width / 2) { rolled[q] = 0 }
            let s = rolled.reduce(0, +)
            local[i] = rolled.map { $0 / s }
        }
        let stay = 1 - switchProb, sw = 1 - stay
        func logTrans(_ k: Int, _ j: Int) -> Double {
            let sk = k < n ? 0 : 1, sj = j < n ? 0 : 1
            return log((sk == sj ? stay : sw) * local[k % n][j % n] + tiny)
        }
        var logT = [Double](repeating: 0, count: s2 * s2)
        for k in 0..<s2 { for j in 0..<s2 { logT[k * s2 + j] = logTrans(k, j) } }
        var value = (0..<s2).map { log(obs[$0] + tiny) + log(1.0 / Double(s2) + tiny) }
        var ptr = [[Int]](repeating: [Int](repeating: 0, count: s2), count: frames)
        for t in 1..<frames {
            var next = value
            for j in 0..<s2 {
                var best = 0
                for k in 1..<s2 where value[k] + logT[k * s2 + j] > value[best] + logT[best * s2 + j] { best = k }
                ptr[t][j] = best
                next[j] = log(obs[t * s2 + j] + tiny) + (value[best] + logT[best * s2 + j])
            }
            value = next
        }
        var states = [Int](repeating: 0, count: frames)
        var last = 0
        for s in 1..<s2 where value[s] > value[last] { last = s }
        states[frames - 1] = last
        for t in stride(from: frames - 2, through: 0, by: -1) { states[t] = ptr[t + 1][states[t + 1]] }
        return states
    }

    func testBandedViterbiEqualsDense() {
        var rng = Support.Rng(state: 2025)
        // the last two have kernel rows in the middle and renormalised edge rows (601 × 141 is pYIN's 16 kHz default)
        for (n, width, frames) in [(30, 7, 40), (61, 15, 60), (25, 25, 30), (150, 41, 40), (601, 141, 8)] {
            let hmm = PYINViterbi(nPitchBins: n, transitionWidth: width, switchProb: 0.01)
            // pYIN-like observations: a few voiced candidates per frame, the rest zero; some frames fully voiced
            // (unvoiced probability exactly 0, so whole blocks sit at log(tiny)), some with no candidate at all.
            var obs = [Double](repeating: 0, count: frames * 2 * n)
            for t in 0..<frames {
                var vp = 0.0
                let kind = t % 7
                if kind != 3 {
                    for _ in 0..<(1 + Int((rng.next() + 1) * 2)) {
                        let b = Int((rng.next() + 1) / 2 * Double(n - 1))
                        let p = kind == 5 ? 0.5 : (rng.next() + 1) / 4
                        obs[t * 2 * n + b] = p
                    }
                    vp = min((0..<n).reduce(0) { $0 + obs[t * 2 * n + $1] }, 1)
                }
                for s in n..<(2 * n) { obs[t * 2 * n + s] = (1 - vp) / Double(n) }
            }
            let fast = hmm.decode(observations: obs, frames: frames)
            let dense = denseViterbi(hmm, width: width, switchProb: 0.01, obs: obs, frames: frames)
            XCTAssertEqual(fast, dense, "n=\(n) width=\(width)")
        }
    }
}
