import EmoLayers
import CEmoKernels
import EmoTensor
import Foundation
import XCTest

/// The C kernels behind `Dense` (both paths in the same run: portable always, avx2-fma where the CPU has it)
/// against the math in double precision, at lengths with every kind of tail, and guarded against writing past
/// the end.
///
/// Tolerances: GELU 3e-7 · max(1, |x|) (A&S 7.1.26's 1.5e-7 times |x|/2 plus Float32 rounding; the Swift
/// FastMath.gelu meets the same bound, checked below); fused forms add the rounding of the Float32 affine or sum
/// (stated at each); softmax and norms relative bounds from Float32 sums of up to ~1000 terms.
final class CEmoKernelsTests: XCTestCase {
    /// Lengths covering empty, shorter than a block, one block, a block plus one, and long runs with tails.
    let lengths = [0, 1, 7, 8, 9, 1000, 1003]
    /// Padding after each output checked to be left alone.
    let guardCount = 9
    let sentinel: Float = 12_345

    /// The kernel tables this CPU can run.
    var paths: [EmoKernelTable] {
        [emo_kernels_portable().pointee] + (emo_kernels_avx2().map { [$0.pointee] } ?? [])
            + (emo_kernels_avx512().map { [$0.pointee] } ?? [])
    }

    /// `n` values spread over [lo, hi] in a scrambled order (golden-ratio sequence).
    func values(_ n: Int, _ lo: Double, _ hi: Double, seed: Double = 0) -> [Float] {
        (0..<n).map { i in
            let u = (Double(i) * 0.6180339887498949 + seed).truncatingRemainder(dividingBy: 1)
            return Float(lo + (hi - lo) * u)
        }
    }

    func geluExact(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

    /// `body` on a buffer holding `data` followed by `guardCount` sentinels; asserts the sentinels survive and
    /// returns the first `data.count` values.
    func guarded(_ data: [Float], _ what: String, _ body: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        var buffer = data + [Float](repeating: sentinel, count: guardCount)
        buffer.withUnsafeMutableBufferPointer { p in if let base = p.baseAddress { body(base) } }
        XCTAssertEqual(Array(buffer[data.count...]), [Float](repeating: sentinel, count: guardCount),
                       "\(what): wrote past the end")
        return Array(buffer[..<data.count])
    }

    func testDispatchFollowsTheCPUAndTheEnvironment() {
        func set(_ name: String) -> Bool { ProcessInfo.processInfo.environment[name].map { !$0.isEmpty && $0 != "0" } ?? false }
        let expected = set("EMOKIT_NO_AVX2") ? "portable"
            : (!set("EMOKIT_NO_AVX512") && emo_kernels_avx512() != nil) ? "avx512"
            : (emo_kernels_avx2() == nil ? "portable" : "avx2-fma")
        XCTAssertEqual(Kernels.elementwisePath, expected)
        #if arch(x86_64)
        // The reference machine (and every x86-64 CI runner this project uses) has AVX2 + FMA.
        if emo_kernels_avx2() == nil { print("note: this CPU lacks AVX2/FMA; only the portable path is tested") }
        #else
        XCTAssertNil(emo_kernels_avx2(), "avx2-fma exists only on x86-64")
        #endif
    }

    func testGeluMatchesTheExactFormula() {
        for k in paths {
            let name = String(cString: k.name)
            for n in lengths + [100_003] {
                let x = values(n, -10, 10)
                let y = guarded([Float](repeating: .nan, count: n), "\(name) gelu n=\(n)") { y in
                    x.withUnsafeBufferPointer { if let xp = $0.baseAddress { k.gelu(xp, y, n) } }
                }
                let inPlace = guarded(x, "\(name) gelu in place n=\(n)") { k.gelu($0, $0, n) }
                XCTAssertEqual(inPlace, y, "\(name): in place differs from out of place")
                var worst = 0.0
                for i in 0..<n { worst = max(worst, abs(Double(y[i]) - geluExact(Double(x[i]))) / max(1, abs(Double(x[i])))) }
                XCTAssertLessThan(worst, 3e-7, "\(name) gelu n=\(n)")
            }
        }
        // The Swift 8-lane GELU meets the same bound (the C kernels port it).
        var worstSwift = 0.0
        for x in values(10_007, -10, 10) {
            worstSwift = max(worstSwift, abs(Double(FastMath.gelu(SIMD8(repeating: x))[0]) - geluExact(Double(x))) / max(1, abs(Double(x))))
        }
        XCTAssertLessThan(worstSwift, 3e-7, "FastMath.gelu")
    }

    func testGeluNonFiniteAndExtremeValuesAsTheSwiftVersion() {
        let edges: [Float] = [.infinity, -.infinity, .nan, 0, -0.0, 50, -50, 1e30, -1e30, .leastNonzeroMagnitude,
                              -.leastNonzeroMagnitude, .greatestFiniteMagnitude, 5.5, -5.5, 88.7, -88.7]
        for k in paths {
            let name = String(cString: k.name)
            let got = guarded(edges, "\(name) gelu edges") { k.gelu($0, $0, edges.count) }
            for (i, x) in edges.enumerated() {
                let swift = FastMath.gelu(SIMD8(repeating: x))[0]
                if swift.isNaN {
                    XCTAssertTrue(got[i].isNaN, "\(name) gelu(\(x)) = \(got[i]), Swift NaN")
                } else {
                    // Equal values (a zero's sign may differ with FMA: −50 gives ±0).
                    XCTAssertEqual(got[i], swift, accuracy: 3e-7 * max(1, abs(x)), "\(name) gelu(\(x))")
                    XCTAssertEqual(got[i].isInfinite, swift.isInfinite, "\(name) gelu(\(x))")
                }
            }
            XCTAssertEqual(got[0], .infinity)
            XCTAssertTrue(got[1].isNaN, "gelu(−∞) is −∞ · 0 = NaN, as in the Swift kernel")
            XCTAssertTrue(got[2].isNaN)
            // The same values inside a 32-lane block (the 16 edges twice) give the same results.
            let wide = guarded(edges + edges, "\(name) gelu edges, 32 lanes") { k.gelu($0, $0, 2 * edges.count) }
            for i in 0..<(2 * edges.count) {
                let narrow = got[i % edges.count]
                XCTAssertTrue(wide[i] == narrow || (wide[i].isNaN && narrow.isNaN), "\(name) gelu(\(edges[i % edges.count])) 32-lane \(wide[i]), 8-lane \(narrow)")
            }
        }
    }

    /// The GELU loops take 32 lanes at a time and the rest 8 at a time; both run the same expressions, so every
    /// element must come out bit-identical to a call on that element alone (which takes the 8-lane path).
    func testThirtyTwoLaneBlocksEqualEightLaneOnesBitwise() {
        let n = 1003, cols = 45, rows = 3
        for k in paths {
            let name = String(cString: k.name)
            let x = values(n, -12, 12), h0 = values(n, -3, 3, seed: 0.37)
            var whole = [Float](repeating: 0, count: n), one: Float = 0
            k.gelu(x, &whole, n)
            var added = h0
            k.add_gelu(x, &added, n)
            for i in 0..<n {
                k.gelu([x[i]], &one, 1)
                XCTAssertEqual(whole[i].bitPattern, one.bitPattern, "\(name) gelu x=\(x[i])")
                var single = h0[i]
                k.add_gelu([x[i]], &single, 1)
                XCTAssertEqual(added[i].bitPattern, single.bitPattern, "\(name) add_gelu x=\(x[i])")
            }
            let xs = values(rows * cols, -6, 6, seed: 0.11), center = values(cols, -1, 1, seed: 0.3)
            let scale = values(cols, 0.5, 2, seed: 0.2), shift = values(cols, -1, 1, seed: 0.7)
            var y = [Float](repeating: 0, count: rows * cols)
            k.centered_affine_gelu(xs, rows, cols, center, scale, shift, &y)
            for r in 0..<rows {
                for c in 0..<cols {
                    k.centered_affine_gelu([xs[r * cols + c]], 1, 1, [center[c]], [scale[c]], [shift[c]], &one)
                    XCTAssertEqual(y[r * cols + c].bitPattern, one.bitPattern, "\(name) centered_affine_gelu [\(r), \(c)]")
                }
            }
        }
    }

    /// The avx512 path runs the avx2-fma path's expressions on wider registers: every kernel's output must be
    /// bit-identical between the two (so switching paths can never move a parity result).
    func testAVX512PathEqualsAVX2PathBitwise() throws {
        guard let wide = emo_kernels_avx512()?.pointee, let narrow = emo_kernels_avx2()?.pointee else {
            throw XCTSkip("this CPU (or OS) has no AVX-512 F/VL/BW/DQ; the avx512 path cannot run here")
        }
        let rows = 7, cols = 301, n = rows * cols
        let x = values(n, -9, 9, seed: 0.21), h = values(n, -2, 2, seed: 0.43)
        let gamma = values(cols, 0.5, 1.5, seed: 0.1), beta = values(cols, -0.5, 0.5, seed: 0.6)
        let center = values(cols, -1, 1, seed: 0.3), scale = values(cols, 0.5, 2, seed: 0.9)
        func both(_ what: String, _ body: (EmoKernelTable, inout [Float]) -> Void, start: [Float]) {
            var a = start, b = start
            body(wide, &a)
            body(narrow, &b)
            XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern), "\(what): avx512 and avx2-fma differ")
        }
        both("gelu", { k, y in k.gelu(x, &y, n) }, start: [Float](repeating: 0, count: n))
        both("add_gelu", { k, y in k.add_gelu(x, &y, n) }, start: h)
        both("affine_gelu", { k, y in k.affine_gelu(x, rows, cols, gamma, beta, &y) }, start: [Float](repeating: 0, count: n))
        both("centered_affine_gelu", { k, y in k.centered_affine_gelu(x, rows, cols, center, scale, beta, &y) },
             start: [Float](repeating: 0, count: n))
        both("softmax", { k, y in y.withUnsafeMutableBufferPointer { p in
            for r in 0..<rows { if let base = p.baseAddress { k.softmax(base + r * cols, cols) } } } }, start: x)
        both("layer_norm", { k, y in
            var xhat = [Float](repeating: 0, count: n), rstd = [Float](repeating: 0, count: rows)
            k.layer_norm(x, rows, cols, gamma, beta, 1e-5, &y, &xhat, nil, &rstd)
            y += xhat + rstd
        }, start: [Float](repeating: 0, count: n))
        both("column_moments", { k, y in
            var mean = [Float](repeating: 0, count: cols), m2 = [Float](repeating: 0, count: cols)
            k.column_moments(x, rows, cols, cols, &mean, &m2)
            y = mean + m2
        }, start: [])
        both("column_normalize", { k, y in
            var mean = [Float](repeating: 0, count: cols), rstd = [Float](repeating: 0, count: cols)
            k.column_normalize(&y, rows, cols, cols, gamma, beta, 1e-5, &mean, &rstd)
            y += mean + rstd
        }, start: x)
        both("add", { k, y in k.add(x, &y, n) }, start: h)
    }

    func testAddGeluAndAdd() {
        for k in paths {
            let name = String(cString: k.name)
            for n in lengths {
                let z = values(n, -8, 8), h0 = values(n, -3, 3, seed: 0.37)
                let h = guarded(h0, "\(name) add_gelu n=\(n)") { h in
                    z.withUnsafeBufferPointer { if let zp = $0.baseAddress { k.add_gelu(zp, h, n) } }
                }
                for i in 0..<n {
                    let exact = Double(h0[i]) + geluExact(Double(z[i]))
                    // GELU's bound plus the rounding of the Float32 sum.
                    let bound = 3e-7 * max(1, abs(Double(z[i]))) + Double(Float(exact).ulp)
                    XCTAssertEqual(Double(h[i]), exact, accuracy: bound, "\(name) add_gelu n=\(n) i=\(i)")
                    if abs(Double(h[i]) - exact) > bound { break }
                }
                let s = guarded(h0, "\(name) add n=\(n)") { y in
                    z.withUnsafeBufferPointer { if let zp = $0.baseAddress { k.add(zp, y, n) } }
                }
                XCTAssertEqual(s, zip(h0, z).map { $0 + $1 }, "\(name) add n=\(n): one correctly rounded sum each")
            }
        }
    }

    func testAffineGelu() {
        for k in paths {
            let name = String(cString: k.name)
            for cols in lengths {
                let rows = 5
                let xhat = values(rows * cols, -4, 4), gamma = values(cols, 0.5, 2, seed: 0.2)
                let beta = values(cols, -1, 1, seed: 0.7)
                let y = guarded([Float](repeating: .nan, count: rows * cols), "\(name) affine_gelu cols=\(cols)") { y in
                    k.affine_gelu(xhat, rows, cols, gamma, beta, y)
                }
                for r in 0..<rows {
                    for c in 0..<cols {
                        let z = Double(xhat[r * cols + c]) * Double(gamma[c]) + Double(beta[c])
                        // GELU's bound plus the Float32 affine's rounding (≤ 2 ulp of z, times |gelu'| ≤ 1.13).
                        let bound = 3e-7 * max(1, abs(z)) + 2.3 * Double(Float(z).ulp)
                        XCTAssertEqual(Double(y[r * cols + c]), geluExact(z), accuracy: bound, "\(name) [\(r), \(c)]")
                    }
                }
            }
        }
    }

    func testSoftmaxMatchesDoubleAndKeepsNonFiniteBehaviour() {
        for k in paths {
            let name = String(cString: k.name)
            for n in lengths + [149] {
                let x = values(n, -30, 20)
                let y = guarded(x, "\(name) softmax n=\(n)") { k.softmax($0, n) }
                let m = x.map(Double.init).max() ?? 0
                let total = x.reduce(0.0) { $0 + exp(Double($1) - m) }
                var worst = 0.0
                for i in 0..<n {
                    let e = exp(Double(x[i]) - m) / total
                    // Float32 rounds x − max (half an ulp of it, which e^· turns into that relative error), then
                    // exp ≤ 2 ulp, a Float32 sum of ≤ 1003 terms in 8 lanes and one scaling: 1e-6 for those.
                    let bound = Double(Float(abs(Double(x[i]) - m)).ulp) / 2 + 1e-6
                    worst = max(worst, abs(Double(y[i]) - e) / e / bound)
                }
                XCTAssertLessThan(worst, 1, "\(name) softmax n=\(n): worst relative error over its bound")
            }
            func run(_ row: [Float]) -> [Float] { guarded(row, "\(name) softmax edges") { k.softmax($0, row.count) } }
            XCTAssertEqual(run([0, -.infinity, 0, 0, 0, 0, 0, 0, 0]), [0.125, 0, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125])
            XCTAssertTrue(run([1, .nan, 2]).allSatisfy(\.isNaN), "a NaN makes the row NaN")
            XCTAssertTrue(run([.infinity, 0, 1]).allSatisfy(\.isNaN), "+∞ − +∞ is NaN")
            XCTAssertTrue(run([-.infinity, -.infinity]).allSatisfy(\.isNaN), "a row of −∞ is NaN (Dense.softmax's behaviour)")
            XCTAssertEqual(run([1000, 0]), [1, 0])
        }
    }

    /// Layer norm of one row in double precision.
    func layerNormRow(_ x: ArraySlice<Float>, gamma: [Float], beta: [Float], eps: Double) -> (y: [Double], xhat: [Double], rstd: Double) {
        let v = x.map(Double.init), n = Double(x.count)
        let mean = v.reduce(0, +) / n
        let rstd = 1 / (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / n + eps).squareRoot()
        let xhat = v.map { ($0 - mean) * rstd }
        return (xhat.indices.map { xhat[$0] * Double(gamma[$0]) + Double(beta[$0]) }, xhat, rstd)
    }

    func testLayerNormWithAndWithoutStatistics() {
        for k in paths {
            let name = String(cString: k.name)
            for n in lengths where n > 0 {
                let rows = 4
                // An offset mean (as residual streams have) makes the centring matter.
                let x = values(rows * n, 2, 9), gamma = values(n, 0.5, 2, seed: 0.3), beta = values(n, -1, 1, seed: 0.6)
                var xhat = [Float](repeating: .nan, count: rows * n), rstd = [Float](repeating: .nan, count: rows)
                var mean = [Float](repeating: .nan, count: rows)
                let y = guarded([Float](repeating: .nan, count: rows * n), "\(name) layer_norm n=\(n)") { y in
                    k.layer_norm(x, rows, n, gamma, beta, 1e-5, y, &xhat, &mean, &rstd)
                }
                for r in 0..<rows {
                    let exact = x[(r * n)..<((r + 1) * n)].reduce(0.0) { $0 + Double($1) } / Double(n)
                    XCTAssertEqual(Double(mean[r]), exact, accuracy: 1e-6 * max(1, abs(exact)), "\(name) mean row \(r)")
                }
                let yPlain = guarded([Float](repeating: .nan, count: rows * n), "\(name) layer_norm n=\(n)") { y in
                    k.layer_norm(x, rows, n, gamma, beta, 1e-5, y, nil, nil, nil)
                }
                XCTAssertEqual(yPlain, y, "\(name): recording the statistics changes nothing")
                // In place: x, y and xhat the same buffer.
                let inPlace = guarded(x, "\(name) layer_norm in place n=\(n)") { p in
                    k.layer_norm(p, rows, n, gamma, beta, 1e-5, p, nil, nil, nil)
                }
                XCTAssertEqual(inPlace, y, "\(name): in place differs")
                for r in 0..<rows {
                    let ref = layerNormRow(x[(r * n)..<((r + 1) * n)], gamma: gamma, beta: beta, eps: 1e-5)
                    XCTAssertEqual(Double(rstd[r]), ref.rstd, accuracy: 1e-5 * ref.rstd, "\(name) rstd row \(r)")
                    for i in 0..<n {
                        // Float32 mean and variance of ≤ 1003 terms: 2e-6 relative to the unit-variance scale.
                        XCTAssertEqual(Double(xhat[r * n + i]), ref.xhat[i], accuracy: 2e-6 * max(1, abs(ref.xhat[i])), "\(name) xhat [\(r), \(i)]")
                        XCTAssertEqual(Double(y[r * n + i]), ref.y[i], accuracy: 5e-6 * max(1, abs(ref.y[i])), "\(name) y [\(r), \(i)]")
                    }
                }
            }
        }
    }

    func testColumnNormalizeWithAndWithoutAffine() {
        for k in paths {
            let name = String(cString: k.name)
            for cols in lengths where cols > 0 && cols < 1000 {
                let (rows, ld) = (37, cols + 3)  // a row stride wider than the columns: the rest stays untouched
                let x = values(rows * ld, 1, 6), gamma = values(cols, 0.5, 2, seed: 0.4), beta = values(cols, -1, 1, seed: 0.8)
                for affine in [false, true] {
                    var mean = [Float](repeating: .nan, count: cols), rstd = mean
                    let y = guarded(x, "\(name) column_normalize cols=\(cols)") { p in
                        if affine {
                            k.column_normalize(p, rows, cols, ld, gamma, beta, 1e-5, &mean, &rstd)
                        } else {
                            k.column_normalize(p, rows, cols, ld, nil, nil, 1e-5, &mean, &rstd)
                        }
                    }
                    for c in 0..<cols {
                        let col = (0..<rows).map { Double(x[$0 * ld + c]) }
                        let m = col.reduce(0, +) / Double(rows)
                        let s = 1 / (col.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(rows) + 1e-5).squareRoot()
                        XCTAssertEqual(Double(mean[c]), m, accuracy: 1e-6 * abs(m), "\(name) mean \(c)")
                        XCTAssertEqual(Double(rstd[c]), s, accuracy: 1e-5 * s, "\(name) rstd \(c)")
                        for t in 0..<rows {
                            var e = (col[t] - m) * s
                            if affine { e = e * Double(gamma[c]) + Double(beta[c]) }
                            XCTAssertEqual(Double(y[t * ld + c]), e, accuracy: 5e-6 * max(1, abs(e)), "\(name) [\(t), \(c)]")
                        }
                    }
                    for t in 0..<rows {
                        XCTAssertEqual(Array(y[(t * ld + cols)..<((t + 1) * ld)]), Array(x[(t * ld + cols)..<((t + 1) * ld)]),
                                       "\(name): columns past `cols` changed")
                    }
                }
            }
        }
    }
}
