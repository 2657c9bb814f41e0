// Viterbi decoding of pYIN's 2·n-state HMM, equal to librosa's dense `sequence.viterbi` (same states, ties
// included) but O(T·n·w) instead of O(T·n²), vectorised.
//
// librosa's transition is kron([[1−s', s'], [s', 1−s']], L) with L the row-normalised triangular
// `transition_local(n, w)`; librosa adds `tiny` before the log, so every pair where L is 0 costs log(tiny) = −708.4.
// Three observations make the banded version fast and exact:
//  1. The forward recursion only needs the maximum over sources, which does not depend on the order in which the
//     candidates are visited, nor on candidates skipped because a bound shows they cannot be larger. So we compute
//     exactly the same candidate sums `value[k] + logTransition[k, j]` as librosa, in any order, and keep maxima.
//  2. Away from the edges every row of L is the same triangle shifted (bit for bit: same window values, same row
//     sum), so the unvoiced sources' contribution is a max-plus convolution with one kernel: vectorised over
//     targets with the kernel value broadcast, it runs from L1 cache. The ~w/2 edge rows on each side (renormalised
//     triangles) and the voiced sources (almost all at log(tiny) below the rest: only the previous frame's few trough
//     bins are alive) are scattered row by row, each skipped when its best sum cannot beat the smallest target value
//     in its band. Sources outside the band all cost log(tiny); they matter only when a target's best is below the
//     global maximum + log(tiny).
//  3. Back-pointers are only needed along the decoded path. We keep every frame's values and, while
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
    /// Row support of L: source bin k reaches targets rowLo[k]...rowHi[k] (the same pairs as the columns).
    let rowLo: [Int]
    let rowHi: [Int]
    /// Offsets into `rowLogStay`/`rowLogSwitch` for each source row k.
    let rowOffset: [Int]
    /// log(stay · L[k, j] + tiny) for j in row k's support, concatenated over k.
    let rowLogStay: [Double]
    /// log(switch · L[k, j] + tiny), same layout.
    let rowLogSwitch: [Double]
    /// Largest log-stay and log-switch of each row.
    let rowMaxStay: [Double]
    let rowMaxSwitch: [Double]
    /// Rows that are not the shifted kernel (renormalised near the edges): scattered one by one.
    let edgeRows: [Int]
    /// Whether row k is the shifted kernel: targets k − kernelLeft ... k + kernelRight, values bit for bit
    /// `kernelStay`/`kernelSwitch`.
    let isKernelRow: [Bool]
    /// Extent of the kernel left and right of the diagonal (in targets).
    let kernelLeft: Int
    let kernelRight: Int
    /// Kernel values by e = j − k + kernelLeft, e in 0...kernelLeft + kernelRight.
    let kernelStay: [Double]
    let kernelSwitch: [Double]
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
        // The same matrix by rows. The triangle is positive on its support, so every row's and column's support is
        // one interval and (k, j) lies in row k's interval exactly when it lies in column j's.
        var rlo: [Int] = [], rhi: [Int] = [], roff: [Int] = []
        var rls: [Double] = [], rlw: [Double] = [], rms: [Double] = [], rmw: [Double] = []
        for k in 0..<n {
            var a = n, b = -1
            for j in 0..<n where local[k * n + j] > 0 { a = min(a, j); b = max(b, j) }
            if b < a { a = k; b = k - 1 }
            rlo.append(a); rhi.append(b); roff.append(rls.count)
            var ms = -Double.infinity, mw = -Double.infinity
            if b >= a {
                for j in a...b {
                    let x = log(stay * local[k * n + j] + tiny), y = log(sw * local[k * n + j] + tiny)
                    rls.append(x); rlw.append(y)
                    ms = Swift.max(ms, x); mw = Swift.max(mw, y)
                }
            }
            rms.append(ms); rmw.append(mw)
        }
        rowLo = rlo; rowHi = rhi; rowOffset = roff; rowLogStay = rls; rowLogSwitch = rlw
        rowMaxStay = rms; rowMaxSwitch = rmw
        // The kernel: the middle row, shifted. A row is a kernel row when its interval and values match bit for bit.
        let mid = n / 2
        let kl = n > 0 ? Swift.max(mid - rlo[mid], 0) : 0, kr = n > 0 ? Swift.max(rhi[mid] - mid, -1) : -1
        let kLen = Swift.max(kl + kr + 1, 0)
        let kStay = kLen > 0 ? Array(rls[roff[mid]..<(roff[mid] + kLen)]) : []
        let kSwitch = kLen > 0 ? Array(rlw[roff[mid]..<(roff[mid] + kLen)]) : []
        var kernelRow = [Bool](repeating: false, count: n)
        var edges: [Int] = []
        for k in 0..<n {
            var same = kLen > 0 && rlo[k] == k - kl && rhi[k] == k + kr
            if same {
                for e in 0..<kLen where rls[roff[k] + e] != kStay[e] || rlw[roff[k] + e] != kSwitch[e] { same = false; break }
            }
            kernelRow[k] = same
            if !same { edges.append(k) }
        }
        kernelLeft = kl; kernelRight = kr; kernelStay = kStay; kernelSwitch = kSwitch
        isKernelRow = kernelRow; edgeRows = edges
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

    /// Lane-wise maximum as a compare and select. The standard library's `pointwiseMax` follows IEEE `maximum`
    /// (NaN handling per lane) and compiles to scalar compares and branches; values here are never NaN (finite or
    /// −inf), so `a < b ? b : a` per lane is the same maximum and compiles to `maxpd`.
    @inline(__always)
    static func vmax(_ a: SIMD4<Double>, _ b: SIMD4<Double>) -> SIMD4<Double> { a.replacing(with: b, where: a .< b) }

    /// `vmax` for two lanes.
    @inline(__always)
    static func vmax2(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> SIMD2<Double> { a.replacing(with: b, where: a .< b) }

    /// Width of a target block for the lower bounds used to skip scattered rows.
    static let blockShift = 5

    /// Most likely state sequence for observation probabilities `[T, 2n]` (librosa's `viterbi` with uniform p_init).
    public func decode(observations obs: [Double], frames: Int) -> [Int] {
        let n = nPitchBins, s2 = 2 * n
        guard frames > 0, n > 0 else { return [] }
        let tiny = Double.leastNormalMagnitude
        var values = [Double](repeating: 0, count: frames * s2)     // [T, 2n]
        for s in 0..<s2 { values[s] = log(obs[s] + tiny) + logInit }
        var levels = 1
        while (1 << levels) <= s2 { levels += 1 }
        var table = [Double](repeating: 0, count: levels * s2)      // sparse table of range maxima, built on demand
        let nPad = (n + 3) & ~3
        let kLen = kernelLeft + kernelRight + 1
        let upLength = nPad + Swift.max(kLen, 0) + 4
        var upad = [Double](repeating: -.infinity, count: upLength)
        var upLevels = 1
        while (1 << upLevels) <= upLength { upLevels += 1 }
        var upTable = [Double](repeating: 0, count: upLevels * upLength)   // range maxima of upad, per frame
        // the kernel cut into rings around the diagonal (d = k − j in ±4, then 5…12, 13…24, 25…44 and the rest on
        // each side), as kernel index ranges ea...eb with their largest stay and switch values
        var rings: [(ea: Int, eb: Int, maxStay: Double, maxSwitch: Double)] = []
        if kLen > 0 {
            var bounds: [(Int, Int)] = [(-4, 4)]
            var inner = 4
            for outer in [12, 24, 44, Int.max / 4] {
                bounds.append((inner + 1, outer)); bounds.append((-outer, -inner - 1))
                inner = outer
            }
            for (dLo, dHi) in bounds {
                let ea = Swift.max(kernelLeft - dHi, 0), eb = Swift.min(kernelLeft - dLo, kLen - 1)
                guard ea <= eb else { continue }
                rings.append((ea, eb, kernelStay[ea...eb].max() ?? -.infinity, kernelSwitch[ea...eb].max() ?? -.infinity))
            }
        }  // kernel-row sources
        var toVoiced = [Double](repeating: -.infinity, count: nPad)   // [n] best into voiced j
        var toUnvoiced = [Double](repeating: -.infinity, count: nPad) // [n] best into unvoiced n + j
        // kernel values as broadcast pairs (one aligned load each in the convolution)
        var kernelPairs = [SIMD2<Double>](repeating: .zero, count: 2 * Swift.max(kLen, 0))   // [stay e..., switch e...]
        for e in 0..<Swift.max(kLen, 0) {
            kernelPairs[e] = SIMD2(repeating: kernelStay[e]); kernelPairs[kLen + e] = SIMD2(repeating: kernelSwitch[e])
        }
        let nBlocks = (n + (1 << Self.blockShift) - 1) >> Self.blockShift
        var minVoiced = [Double](repeating: 0, count: nBlocks)        // lower bounds per block of targets
        var minUnvoiced = [Double](repeating: 0, count: nBlocks)
        rowLogStay.withUnsafeBufferPointer { rsp in
        rowLogSwitch.withUnsafeBufferPointer { rwp in
        kernelPairs.withUnsafeBufferPointer { kpp in
        table.withUnsafeMutableBufferPointer { tb in
        upad.withUnsafeMutableBufferPointer { upb in
        upTable.withUnsafeMutableBufferPointer { utb in
        toVoiced.withUnsafeMutableBufferPointer { tvb in
        toUnvoiced.withUnsafeMutableBufferPointer { tub in
        minVoiced.withUnsafeMutableBufferPointer { mvb in
        minUnvoiced.withUnsafeMutableBufferPointer { mub in
        values.withUnsafeMutableBufferPointer { vb in
            guard let rs = rsp.baseAddress, let rw = rwp.baseAddress, let all = vb.baseAddress,
                  let up = upb.baseAddress, let tv = tvb.baseAddress, let tu = tub.baseAddress,
                  let kbs = kpp.baseAddress else { return }
            let kbw = kbs + kLen
            // log(p + tiny), memoised on the last argument: most voiced observations are 0 and all unvoiced ones
            // of a frame are equal, so this takes a handful of logs per frame instead of 2n
            var lastP = 0.0, lastLog = logTiny
            @inline(__always) func logObs(_ p: Double) -> Double {
                if p == 0 { return logTiny }
                if p != lastP { lastP = p; lastLog = log(p + tiny) }
                return lastLog
            }
            @inline(__always) func blockMins() {
                for bk in 0..<nBlocks {
                    let a = bk << Self.blockShift, b = Swift.min(a + (1 << Self.blockShift), n)
                    var mv = Double.infinity, mu = Double.infinity
                    for j in a..<b {
                        if tv[j] < mv { mv = tv[j] }
                        if tu[j] < mu { mu = tu[j] }
                    }
                    mvb[bk] = mv; mub[bk] = mu
                }
            }
            /// Smallest current value into voiced / unvoiced targets a...b (a lower bound: values only grow).
            @inline(__always) func bandMin(_ a: Int, _ b: Int) -> (Double, Double) {
                var mv = Double.infinity, mu = Double.infinity
                var bk = a >> Self.blockShift
                let last = b >> Self.blockShift
                while bk <= last {
                    if mvb[bk] < mv { mv = mvb[bk] }
                    if mub[bk] < mu { mu = mub[bk] }
                    bk += 1
                }
                return (mv, mu)
            }
            /// Scatters one source row: into voiced targets with `intoVoiced`, into unvoiced with `intoUnvoiced`.
            @inline(__always) func scatter(_ x: Double, _ k: Int, intoVoiced: UnsafePointer<Double>,
                                           intoUnvoiced: UnsafePointer<Double>) {
                let a = rowLo[k], cnt = rowHi[k] - a + 1, o = rowOffset[k]
                guard cnt > 0 else { return }
                let xv = SIMD4<Double>(repeating: x)
                let pv = UnsafeMutableRawPointer(tv + a), pu = UnsafeMutableRawPointer(tu + a)
                let lv = UnsafeRawPointer(intoVoiced + o), lu = UnsafeRawPointer(intoUnvoiced + o)
                var i = 0
                while i &+ 4 <= cnt {
                    let bo = i &* 8
                    let cv = xv + lv.loadUnaligned(fromByteOffset: bo, as: SIMD4<Double>.self)
                    let cu = xv + lu.loadUnaligned(fromByteOffset: bo, as: SIMD4<Double>.self)
                    pv.storeBytes(of: Self.vmax(pv.loadUnaligned(fromByteOffset: bo, as: SIMD4<Double>.self), cv),
                                  toByteOffset: bo, as: SIMD4<Double>.self)
                    pu.storeBytes(of: Self.vmax(pu.loadUnaligned(fromByteOffset: bo, as: SIMD4<Double>.self), cu),
                                  toByteOffset: bo, as: SIMD4<Double>.self)
                    i = i &+ 4
                }
                while i < cnt {
                    let cv = x + intoVoiced[o &+ i], cu = x + intoUnvoiced[o &+ i]
                    if tv[a &+ i] < cv { tv[a &+ i] = cv }
                    if tu[a &+ i] < cu { tu[a &+ i] = cu }
                    i = i &+ 1
                }
            }
            for t in 1..<frames {
                let v = UnsafePointer(all + (t - 1) * s2), out = all + t * s2
                // 1. Unvoiced sources on kernel rows: max-plus convolution, 4 targets at a time, kernel broadcast.
                //    Unvoiced → voiced is a switch, unvoiced → unvoiced a stay.
                if kLen > 0 { for k in 0..<n { up[k + kernelRight] = isKernelRow[k] ? v[n + k] : -.infinity } }
                let ru = UnsafeRawPointer(up)
                let rks = UnsafeRawPointer(kbs), rkw = UnsafeRawPointer(kbw)
                buildSparseTable(UnsafePointer(up), s2: upLength, levels: upLevels, into: utb)
                @inline(__always) func upMax(_ a: Int, _ b: Int) -> Double {   // max of upad[a...b], a <= b
                    let k = Int.bitWidth &- 1 &- (b &- a &+ 1).leadingZeroBitCount
                    let x = utb[k &* upLength &+ a], y = utb[k &* upLength &+ b &- (1 << k) &+ 1]
                    return x < y ? y : x
                }
                var j0 = 0
                while j0 < nPad {       // 4 targets per pass: 4 accumulators + 2 loads + 2 kernel pairs stay in registers
                    var sw0 = SIMD2<Double>(repeating: -.infinity), sw1 = sw0, st0 = sw0, st1 = sw0
                    // Rings of the kernel from the diagonal outwards; a ring is skipped when its largest source plus
                    // its largest transition cannot beat the smallest of the 4 targets' current values.
                    for r in 0..<rings.count {
                        let ring = rings[r]
                        if r > 0 {
                            let minSw = Swift.min(Swift.min(sw0[0], sw0[1]), Swift.min(sw1[0], sw1[1]))
                            let minSt = Swift.min(Swift.min(st0[0], st0[1]), Swift.min(st1[0], st1[1]))
                            let um = upMax(j0 &+ kLen &- 1 &- ring.eb, j0 &+ 3 &+ kLen &- 1 &- ring.ea)
                            if !(um + ring.maxSwitch > minSw || um + ring.maxStay > minSt) { continue }
                        }
                        var e = ring.ea
                        // target j takes source k = j + kernelLeft − e, stored at upad[k + kernelRight]
                        var bo = (j0 &+ kLen &- 1 &- e) &* 8
                        while e <= ring.eb {
                            let u0 = ru.loadUnaligned(fromByteOffset: bo, as: SIMD2<Double>.self)
                            let u1 = ru.loadUnaligned(fromByteOffset: bo &+ 16, as: SIMD2<Double>.self)
                            let ks = rks.load(fromByteOffset: e &* 16, as: SIMD2<Double>.self)
                            let kw = rkw.load(fromByteOffset: e &* 16, as: SIMD2<Double>.self)
                            sw0 = Self.vmax2(sw0, u0 + kw); sw1 = Self.vmax2(sw1, u1 + kw)
                            st0 = Self.vmax2(st0, u0 + ks); st1 = Self.vmax2(st1, u1 + ks)
                            e = e &+ 1
                            bo = bo &- 8
                        }
                    }
                    let pv = UnsafeMutableRawPointer(tv + j0), pu = UnsafeMutableRawPointer(tu + j0)
                    pv.storeBytes(of: sw0, toByteOffset: 0, as: SIMD2<Double>.self)
                    pv.storeBytes(of: sw1, toByteOffset: 16, as: SIMD2<Double>.self)
                    pu.storeBytes(of: st0, toByteOffset: 0, as: SIMD2<Double>.self)
                    pu.storeBytes(of: st1, toByteOffset: 16, as: SIMD2<Double>.self)
                    j0 = j0 &+ 4
                }
                // 2. Unvoiced sources on edge rows, then voiced sources (all but a few at log(tiny) below the rest),
                //    row by row; a row is skipped when its best sum cannot beat the smallest target in its band.
                blockMins()
                for k in edgeRows {
                    let x = v[n + k]
                    let (mv, mu) = bandMin(rowLo[k], rowHi[k])
                    if x + rowMaxSwitch[k] > mv || x + rowMaxStay[k] > mu {
                        scatter(x, k, intoVoiced: rw, intoUnvoiced: rs)
                    }
                }
                if !edgeRows.isEmpty { blockMins() }
                var gv = Double.infinity, gu = Double.infinity
                for bk in 0..<nBlocks { gv = Swift.min(gv, mvb[bk]); gu = Swift.min(gu, mub[bk]) }
                for k in 0..<n {
                    let x = v[k]
                    guard x + rowMaxStay[k] > gv || x + rowMaxSwitch[k] > gu else { continue }
                    let (mv, mu) = bandMin(rowLo[k], rowHi[k])
                    if x + rowMaxStay[k] > mv || x + rowMaxSwitch[k] > mu {
                        scatter(x, k, intoVoiced: rs, intoUnvoiced: rw)
                    }
                }
                // 3. Sources outside a target's band all cost log(tiny); they can matter only if the band's best is
                //    below the global maximum + log(tiny). Range maxima come from a sparse table built on demand.
                var globalMax = -Double.infinity
                for s in 0..<s2 where v[s] > globalMax { globalMax = v[s] }
                let outsideFloor = globalMax + logTiny
                var tableBuilt = false
                @inline(__always) func rangeMax(_ a: Int, _ b: Int) -> Double {   // inclusive; -inf if empty
                    guard a <= b else { return -.infinity }
                    let k = Int.bitWidth &- 1 &- (b &- a &+ 1).leadingZeroBitCount   // floor(log2(length))
                    return Swift.max(tb[k &* s2 &+ a], tb[k &* s2 &+ b &- (1 << k) &+ 1])
                }
                for j in 0..<n {
                    var bv = tv[j], bu = tu[j]
                    if bv < outsideFloor || bu < outsideFloor {
                        if !tableBuilt { buildSparseTable(v, s2: s2, levels: levels, into: tb); tableBuilt = true }
                        let a = colLo[j], b = colHi[j]
                        let outside = Swift.max(rangeMax(0, a - 1), Swift.max(rangeMax(b + 1, n + a - 1), rangeMax(n + b + 1, s2 - 1))) + logTiny
                        bv = Swift.max(bv, outside); bu = Swift.max(bu, outside)
                    }
                    out[j] = logObs(obs[t * s2 + j]) + bv
                    out[n + j] = logObs(obs[t * s2 + n + j]) + bu
                }
            }
        }}}}}}}}}}}
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

    /// Sparse table of range maxima over `v` (`levels` rows of `count`): row l holds max(v[s ..< s + 2^l]).
    func buildSparseTable(_ v: UnsafePointer<Double>, s2 count: Int, levels: Int, into tb: UnsafeMutableBufferPointer<Double>) {
        guard let t = tb.baseAddress else { return }
        for s in 0..<count { t[s] = v[s] }
        var lev = 1
        while lev < levels {
            let span = 1 << (lev - 1), base = lev * count, prev = (lev - 1) * count
            let last = count - (1 << lev)             // rows hold count − 2^l + 1 valid entries
            var s = 0
            let src = UnsafeRawPointer(t + prev), dst = UnsafeMutableRawPointer(t + base)
            while s &+ 3 <= last {
                let x = src.loadUnaligned(fromByteOffset: s &* 8, as: SIMD4<Double>.self)
                let y = src.loadUnaligned(fromByteOffset: (s &+ span) &* 8, as: SIMD4<Double>.self)
                dst.storeBytes(of: Self.vmax(x, y), toByteOffset: s &* 8, as: SIMD4<Double>.self)
                s = s &+ 4
            }
            while s <= last {
                let x = t[prev &+ s], y = t[prev &+ s &+ span]
                t[base &+ s] = x < y ? y : x
                s = s &+ 1
            }
            lev += 1
        }
    }
}
