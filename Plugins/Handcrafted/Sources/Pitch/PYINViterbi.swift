// Viterbi decoding of pYIN's 2·n-state HMM, equal to librosa's dense `sequence.viterbi` (same states, ties
// included) but O(T·n·w) instead of O(T·n²), vectorised.
//
// librosa's transition is kron([[1−s', s'], [s', 1−s']], L) with L the row-normalised triangular
// `transition_local(n, w)`; librosa adds `tiny` before the log, so every pair where L is 0 costs log(tiny) = −708.4.
// Two observations make the banded version exact:
//  1. The forward recursion only needs the maximum over sources, which does not depend on the order in which the
//     candidates are visited. For target j we take the maximum over the band of sources where L[·, j] > 0 (in both
//     voicing blocks, SIMD) and over the out-of-band sources, which all cost log(tiny), so their best is a range
//     maximum of the previous values (sparse table).
//  2. Back-pointers are only needed along the decoded path. We keep every frame's values and, while
//     backtracking, rescan all 2n sources of the one target in index order with a strict `>`: that is numpy's
//     first-index argmax over exactly the candidates librosa compares.

import Foundation

/// The banded HMM of pYIN and its Viterbi decoder.
public struct PYINViterbi: Sendable {
    /// n (pitch bins); states 0..<n are voiced, n..<2n unvoiced.
    public let nPitchBins: Int
    /// Column support of L: for target bin j, sources k in colLo[j]...colHi[j] have L[k, j] > 0.
    let colLo: [Int]
    let colHi: [Int]
    /// Offsets into `logStay`/`logSwitch` for each target column j.
    let colOffset: [Int]
    /// log(stay · L[k, j] + tiny) for k in column j's support, concatenated over j.
    let logStay: [Double]
    /// log(switch · L[k, j] + tiny), same layout.
    let logSwitch: [Double]
    /// Each band is cut into rings around the diagonal (±4, then 8, 12, 20 and the rest on each side), visited from
    /// the largest transition outwards; per chunk:
    /// (first source offset in the band, length, largest log-stay, largest log-switch), concatenated over j.
    let chunks: [(start: Int, count: Int, maxStay: Double, maxSwitch: Double)]
    /// Range of `chunks` belonging to column j.
    let chunkRange: [Range<Int>]
    /// Largest log-stay and log-switch of column j's band.
    let maxStay: [Double]
    let maxSwitch: [Double]
    /// log(tiny): the log-transition of every pair outside the band.
    let logTiny: Double
    /// log(1/(2n) + tiny).
    let logInit: Double

    /// Builds the transition structure exactly as librosa's `transition_local(n, width, 'triangle', wrap=False)`
    /// and `transition_loop(2, 1 − switch_prob)`.
    public init(nPitchBins n: Int, transitionWidth width: Int, switchProb: Double) {
        nPitchBins = n
        let tiny = Double.leastNormalMagnitude
        let win = Window.triangle(width)
        var local = [Double](repeating: 0, count: n * n)  // [n, n], row = source
        for i in 0..<n {
            var row = [Double](repeating: 0, count: n)
            let lpad = (n - width) / 2
            for (q, v) in win.enumerated() where lpad + q >= 0 && lpad + q < n { row[lpad + q] = v }
            let shift = ((n / 2 + i + 1) % n + n) % n        // np.roll(row, n//2 + i + 1)
            var rolled = [Double](repeating: 0, count: n)
            for q in 0..<n { rolled[(q + shift) % n] = row[q] }
            for q in min(n, i + width / 2 + 1)..<n { rolled[q] = 0 }
            for q in 0..<max(0, i - width / 2) { rolled[q] = 0 }
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
        colLo = lo; colHi = hi; colOffset = off; logStay = ls; logSwitch = lw
        var ch: [(start: Int, count: Int, maxStay: Double, maxSwitch: Double)] = []
        var cr: [Range<Int>] = []
        for j in 0..<n {
            var mine: [(start: Int, count: Int, maxStay: Double, maxSwitch: Double)] = []
            // rings around the diagonal, narrow where the transition is largest so that the bound is tight there
            var ranges: [(Int, Int)] = [(j - 4, j + 4)]
            var inner = 4
            for outer in [12, 24, 44, Int.max / 4] {
                ranges.append((j + inner + 1, j + outer))
                ranges.append((j - outer, j - inner - 1))
                inner = outer
            }
            for (x, y) in ranges {
                let lo0 = Swift.max(x, lo[j]), hi0 = Swift.min(y, hi[j])
                guard lo0 <= hi0 else { continue }
                let st = lo0 - lo[j], c = hi0 - lo0 + 1
                var ms = -Double.infinity, mw = -Double.infinity
                for i in st..<(st + c) { ms = Swift.max(ms, ls[off[j] + i]); mw = Swift.max(mw, lw[off[j] + i]) }
                mine.append((st, c, ms, mw))
            }
            mine.sort { $0.maxStay > $1.maxStay }
            cr.append(ch.count..<(ch.count + mine.count))
            ch += mine
        }
        chunks = ch
        chunkRange = cr
        maxStay = cr.map { r in r.map { ch[$0].maxStay }.max() ?? -Double.infinity }
        maxSwitch = cr.map { r in r.map { ch[$0].maxSwitch }.max() ?? -Double.infinity }
        logTiny = log(tiny)
        logInit = log(1.0 / Double(2 * n) + tiny)
    }

    /// log transition from state k to state j (any of the 2n states), exactly librosa's log(kron(...) + tiny).
    @inline(__always)
    func logTransition(_ k: Int, _ j: Int) -> Double {
        let n = nPitchBins
        let kk = k < n ? k : k - n, jj = j < n ? j : j - n
        guard kk >= colLo[jj], kk <= colHi[jj] else { return logTiny }
        let sameBlock = (k < n) == (j < n)
        return sameBlock ? logStay[colOffset[jj] + kk - colLo[jj]] : logSwitch[colOffset[jj] + kk - colLo[jj]]
    }

    /// (max_i v[i] + logsA[i], max_i v[i] + logsB[i]) for i < count: one pass over v, SIMD.
    @inline(__always)
    static func bandMax2(_ v: UnsafePointer<Double>, _ logsA: UnsafePointer<Double>, _ logsB: UnsafePointer<Double>,
                         _ count: Int) -> (Double, Double) {
        var a0 = SIMD2<Double>(repeating: -.infinity), a1 = a0, b0 = a0, b1 = a0
        let rv = UnsafeRawPointer(v), ra = UnsafeRawPointer(logsA), rb = UnsafeRawPointer(logsB)
        var i = 0
        while i &+ 4 <= count {      // wrapping arithmetic: indices are small, and this drops overflow checks
            let o = i &* 8
            let v0 = rv.loadUnaligned(fromByteOffset: o, as: SIMD2<Double>.self)
            let v1 = rv.loadUnaligned(fromByteOffset: o &+ 16, as: SIMD2<Double>.self)
            a0 = pointwiseMax(a0, v0 + ra.loadUnaligned(fromByteOffset: o, as: SIMD2<Double>.self))
            a1 = pointwiseMax(a1, v1 + ra.loadUnaligned(fromByteOffset: o &+ 16, as: SIMD2<Double>.self))
            b0 = pointwiseMax(b0, v0 + rb.loadUnaligned(fromByteOffset: o, as: SIMD2<Double>.self))
            b1 = pointwiseMax(b1, v1 + rb.loadUnaligned(fromByteOffset: o &+ 16, as: SIMD2<Double>.self))
            i = i &+ 4
        }
        var ma = pointwiseMax(a0, a1).max(), mb = pointwiseMax(b0, b1).max()
        while i < count {
            ma = Swift.max(ma, v[i] + logsA[i])
            mb = Swift.max(mb, v[i] + logsB[i])
            i += 1
        }
        return (ma, mb)
    }

    /// Most likely state sequence for observation probabilities `[T, 2n]` (librosa's `viterbi` with uniform p_init).
    public func decode(observations obs: [Double], frames: Int) -> [Int] {
        let n = nPitchBins, s2 = 2 * n
        guard frames > 0 else { return [] }
        let tiny = Double.leastNormalMagnitude
        var values = [Double](repeating: 0, count: frames * s2)     // [T, 2n]
        for s in 0..<s2 { values[s] = log(obs[s] + tiny) + logInit }
        var levels = 1
        while (1 << levels) <= s2 { levels += 1 }
        var table = [Double](repeating: 0, count: levels * s2)      // sparse table of range maxima
        logStay.withUnsafeBufferPointer { lsp in
        logSwitch.withUnsafeBufferPointer { lwp in
        table.withUnsafeMutableBufferPointer { tb in
        values.withUnsafeMutableBufferPointer { vb in
            guard let ls = lsp.baseAddress, let lw = lwp.baseAddress, let all = vb.baseAddress else { return }
            // log(p + tiny), memoised on the last argument: most voiced observations are 0 and all unvoiced ones
            // of a frame are equal, so this takes a handful of logs per frame instead of 2n
            var lastP = 0.0, lastLog = logTiny
            @inline(__always) func logObs(_ p: Double) -> Double {
                if p == 0 { return logTiny }
                if p != lastP { lastP = p; lastLog = log(p + tiny) }
                return lastLog
            }
            for t in 1..<frames {
                let v = UnsafePointer(all + (t - 1) * s2), out = all + t * s2
                for s in 0..<s2 { tb[s] = v[s] }
                var lev = 1
                while lev < levels {
                    let span = 1 << (lev - 1), base = lev * s2, prev = (lev - 1) * s2
                    if s2 - (1 << lev) >= 0 {
                        for s in 0...(s2 - (1 << lev)) { tb[base + s] = Swift.max(tb[prev + s], tb[prev + s + span]) }
                    }
                    lev += 1
                }
                let globalMax = Swift.max(tb[(levels - 1) * s2], tb[(levels - 1) * s2 + s2 - (1 << (levels - 1))])
                @inline(__always) func rangeMax(_ a: Int, _ b: Int) -> Double {   // inclusive; -inf if empty
                    guard a <= b else { return -.infinity }
                    let k = Int.bitWidth &- 1 &- (b &- a &+ 1).leadingZeroBitCount   // floor(log2(length))
                    return Swift.max(tb[k &* s2 &+ a], tb[k &* s2 &+ b &- (1 << k) &+ 1])
                }
                // Each pass over a chunk of sources yields both targets j and n + j. A chunk is skipped when its best
                // source plus its largest transition cannot beat what either target already has: the forward pass
                // only needs maxima, so skipping candidates that are not larger changes nothing. Chunks are visited
                // from the diagonal outwards so that the bound bites early.
                for j in 0..<n {
                    let a = colLo[j], b = colHi[j], o = colOffset[j]
                    var toVoiced = -Double.infinity, toUnvoiced = -Double.infinity
                    let chunkIDs = chunkRange[j]
                    // unvoiced sources (usually all alive): switch into voiced j, stay into unvoiced n + j
                    for c in chunkIDs {
                        let (st, cnt, mStay, mSwitch) = chunks[c]
                        let ru = rangeMax(n + a + st, n + a + st + cnt - 1)
                        if ru + mSwitch > toVoiced || ru + mStay > toUnvoiced {
                            let (mv, mu) = Self.bandMax2(v + n + a + st, lw + o + st, ls + o + st, cnt)
                            toVoiced = Swift.max(toVoiced, mv); toUnvoiced = Swift.max(toUnvoiced, mu)
                        }
                    }
                    // voiced sources (mostly at log(tiny) below the rest): one test for the whole band first
                    let rvAll = rangeMax(a, b)
                    if b >= a, rvAll + maxStay[j] > toVoiced || rvAll + maxSwitch[j] > toUnvoiced {
                        for c in chunkIDs {
                            let (st, cnt, mStay, mSwitch) = chunks[c]
                            let rv = rangeMax(a + st, a + st + cnt - 1)
                            if rv + mStay > toVoiced || rv + mSwitch > toUnvoiced {
                                let (mv, mu) = Self.bandMax2(v + a + st, ls + o + st, lw + o + st, cnt)
                                toVoiced = Swift.max(toVoiced, mv); toUnvoiced = Swift.max(toUnvoiced, mu)
                            }
                        }
                    }
                    // sources outside the band all cost log(tiny); they can matter only if the band's best is below
                    // the global maximum + log(tiny)
                    if toVoiced < globalMax + logTiny || toUnvoiced < globalMax + logTiny {
                        let outside = Swift.max(rangeMax(0, a - 1), Swift.max(rangeMax(b + 1, n + a - 1), rangeMax(n + b + 1, s2 - 1))) + logTiny
                        toVoiced = Swift.max(toVoiced, outside); toUnvoiced = Swift.max(toUnvoiced, outside)
                    }
                    out[j] = logObs(obs[t * s2 + j]) + toVoiced
                    out[n + j] = logObs(obs[t * s2 + n + j]) + toUnvoiced
                }
            }
        }}}}
        // Backtrack: first argmax over all 2n sources, in index order, for the one target on the path.
        var states = [Int](repeating: 0, count: frames)
        var last = 0
        let lastRow = (frames - 1) * s2
        for s in 1..<s2 where values[lastRow + s] > values[lastRow + last] { last = s }
        states[frames - 1] = last
        if frames > 1 {
            for t in stride(from: frames - 2, through: 0, by: -1) {
                let j = states[t + 1], row = t * s2
                var best = 0
                var bestV = values[row] + logTransition(0, j)
                for k in 1..<s2 {
                    let c = values[row + k] + logTransition(k, j)
                    if c > bestV { bestV = c; best = k }
                }
                states[t] = best
            }
        }
        return states
    }
}
