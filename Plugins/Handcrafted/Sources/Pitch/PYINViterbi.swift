// Viterbi decoding of pYIN's 2·n-state HMM, equal to librosa's dense `sequence.viterbi` but O(T·n·w) instead of
// O(T·n²). librosa's transition is kron([[1−s', s'], [s', 1−s']], L) with L the row-normalised triangular
// `transition_local(n, w)`; entries where L is 0 become log(tiny) = −708.4 after librosa adds `tiny` before the log.
// For each target state we scan only the band of sources where L > 0 (in both voicing blocks) and take the
// out-of-band sources (all worth value + log(tiny)) from a sparse-table range maximum, visiting the five source
// ranges in index order with a strict `>` so ties go to the lowest index, like numpy's argmax.

import Foundation

/// The banded HMM of pYIN and its Viterbi decoder.
public struct PYINViterbi: Sendable {
    /// n (pitch bins); states 0..<n are voiced, n..<2n unvoiced.
    public let nPitchBins: Int
    /// For target bin j, sources k in band[j].lo...band[j].hi have L[k, j] > 0.
    let bandLo: [Int]
    let bandHi: [Int]
    /// Offsets into `logStay`/`logSwitch` for each target bin j.
    let bandOffset: [Int]
    /// log(stay · L[k, j] + tiny), k in band, concatenated over j.
    let logStay: [Double]
    /// log(switch · L[k, j] + tiny), k in band, concatenated over j.
    let logSwitch: [Double]
    /// log(tiny): the log-transition of every out-of-band pair.
    let logTiny: Double
    /// log(1/(2n) + tiny).
    let logInit: Double

    /// Builds the transition structure exactly as librosa's `transition_local(n, width, 'triangle', wrap=False)`
    /// and `transition_loop(2, 1 − switch_prob)`.
    public init(nPitchBins n: Int, transitionWidth width: Int, switchProb: Double) {
        nPitchBins = n
        let tiny = Double.leastNormalMagnitude
        // dense local transition, row by row as librosa builds it
        let win = Window.triangle(width)
        var local = [Double](repeating: 0, count: n * n)  // [n, n], row = source
        for i in 0..<n {
            var row = [Double](repeating: 0, count: n)
            let lpad = (n - width) / 2
            for (q, v) in win.enumerated() where lpad + q >= 0 && lpad + q < n { row[lpad + q] = v }
            // np.roll(row, n//2 + i + 1)
            let shift = ((n / 2 + i + 1) % n + n) % n
            var rolled = [Double](repeating: 0, count: n)
            for q in 0..<n { rolled[(q + shift) % n] = row[q] }
            let hiCut = min(n, i + width / 2 + 1)
            for q in hiCut..<n { rolled[q] = 0 }
            let loCut = max(0, i - width / 2)
            for q in 0..<loCut { rolled[q] = 0 }
            let sum = rolled.reduce(0, +)
            for q in 0..<n { local[i * n + q] = rolled[q] / sum }
        }
        let stay = 1 - switchProb                    // transition_loop(2, prob = 1 − switch_prob): diagonal
        let sw = (1.0 - stay) / Double(2 - 1)        // off-diagonal, computed as librosa does
        var lo: [Int] = [], hi: [Int] = [], off: [Int] = []
        var ls: [Double] = [], lw: [Double] = []
        for j in 0..<n {
            var a = n, b = -1
            for k in 0..<n where local[k * n + j] > 0 { a = min(a, k); b = max(b, k) }
            if b < a { a = j; b = j - 1 }
            lo.append(a); hi.append(b); off.append(ls.count)
            if b >= a {
                for k in a...b {
                    ls.append(log(stay * local[k * n + j] + tiny))
                    lw.append(log(sw * local[k * n + j] + tiny))
                }
            }
        }
        bandLo = lo; bandHi = hi; bandOffset = off; logStay = ls; logSwitch = lw
        logTiny = log(tiny)
        logInit = log(1.0 / Double(2 * n) + tiny)
    }

    /// Most likely state sequence for observation probabilities `[T, 2n]` (librosa's `viterbi` with uniform p_init).
    public func decode(observations obs: [Double], frames: Int) -> [Int] {
        let n = nPitchBins, s2 = 2 * n
        guard frames > 0 else { return [] }
        let tiny = Double.leastNormalMagnitude
        var logObs = [Double](repeating: 0, count: obs.count)
        for i in obs.indices { logObs[i] = log(obs[i] + tiny) }
        var value = [Double](repeating: 0, count: s2)
        var next = [Double](repeating: 0, count: s2)
        var ptr = [Int32](repeating: 0, count: frames * s2)
        for s in 0..<s2 { value[s] = logObs[s] + logInit }
        // sparse table for range max (value, first index)
        var levels = 1
        while (1 << levels) <= s2 { levels += 1 }
        var tableIdx = [Int32](repeating: 0, count: levels * s2)
        logStay.withUnsafeBufferPointer { lsp in
            logSwitch.withUnsafeBufferPointer { lwp in
                tableIdx.withUnsafeMutableBufferPointer { tb in
                    ptr.withUnsafeMutableBufferPointer { pp in
                        guard let lsBase = lsp.baseAddress, let lwBase = lwp.baseAddress else { return }
                        for t in 1..<frames {
                            value.withUnsafeBufferPointer { v in
                                // build the sparse table of first-argmax over value[t-1]
                                for s in 0..<s2 { tb[s] = Int32(s) }
                                var lev = 1
                                while lev < levels {
                                    let span = 1 << (lev - 1)
                                    let base = lev * s2, prev = (lev - 1) * s2
                                    for s in 0...(s2 - (1 << lev)) {
                                        let l = Int(tb[prev + s]), r = Int(tb[prev + s + span])
                                        tb[base + s] = v[r] > v[l] ? Int32(r) : Int32(l)
                                    }
                                    lev += 1
                                }
                                @inline(__always) func rangeMax(_ a: Int, _ b: Int) -> Int {   // inclusive, a <= b
                                    let len = b - a + 1
                                    var k = 0
                                    while (2 << k) <= len { k += 1 }
                                    let l = Int(tb[k * s2 + a]), r = Int(tb[k * s2 + b - (1 << k) + 1])
                                    return v[r] > v[l] ? r : l
                                }
                                for target in 0..<s2 {
                                    let j = target < n ? target : target - n
                                    let voicedTarget = target < n
                                    let a = bandLo[j], b = bandHi[j], o = bandOffset[j]
                                    var best = -Double.infinity
                                    var arg = 0
                                    @inline(__always) func outOfBand(_ x: Int, _ y: Int) {
                                        guard x <= y else { return }
                                        let r = rangeMax(x, y)
                                        let c = v[r] + logTiny
                                        if c > best { best = c; arg = r }
                                    }
                                    // voiced sources: same block as a voiced target
                                    let voicedLog = voicedTarget ? lsBase : lwBase
                                    let unvoicedLog = voicedTarget ? lwBase : lsBase
                                    outOfBand(0, a - 1)
                                    if b >= a {
                                        for k in a...b {
                                            let c = v[k] + voicedLog[o + k - a]
                                            if c > best { best = c; arg = k }
                                        }
                                    }
                                    outOfBand(b + 1, n + a - 1)
                                    if b >= a {
                                        for k in a...b {
                                            let c = v[n + k] + unvoicedLog[o + k - a]
                                            if c > best { best = c; arg = n + k }
                                        }
                                    }
                                    outOfBand(n + b + 1, s2 - 1)
                                    pp[t * s2 + target] = Int32(arg)
                                    next[target] = logObs[t * s2 + target] + best
                                }
                            }
                            swap(&value, &next)
                        }
                    }
                }
            }
        }
        var states = [Int](repeating: 0, count: frames)
        var last = 0
        for s in 1..<s2 where value[s] > value[last] { last = s }
        states[frames - 1] = last
        if frames > 1 {
            for t in stride(from: frames - 2, through: 0, by: -1) { states[t] = Int(ptr[(t + 1) * s2 + states[t + 1]]) }
        }
        return states
    }
}
