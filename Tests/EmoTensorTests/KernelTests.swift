// Every fast kernel against its naive twin (NaiveKernels), on tables of shapes that hit each code path.
import XCTest
@testable import EmoTensor

final class KernelTests: XCTestCase {
    func testSGEMMMatchesNaiveForAllTransposesAndStrides() {
        let (m, n, k) = (7, 9, 13)
        for (transA, transB) in [(false, false), (true, false), (false, true), (true, true)] {
            for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1.5)] {
                let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1
                let aRows = transA ? k : m, bRows = transB ? n : k
                var fast = [randomArray(aRows * lda, seed: 1), randomArray(bRows * ldb, seed: 2),
                            randomArray(m * ldc, seed: 3)]
                var slow = fast
                withBuffers(&fast) { p in
                    Kernels.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: p[0], lda: lda,
                                  b: p[1], ldb: ldb, beta: beta, c: p[2], ldc: ldc)
                }
                withBuffers(&slow) { p in
                    NaiveKernels.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: p[0],
                                       lda: lda, b: p[1], ldb: ldb, beta: beta, c: p[2], ldc: ldc)
                }
                assertClose(fast[2], slow[2], "sgemm tA=\(transA) tB=\(transB) α=\(alpha) β=\(beta)")
            }
        }
    }

    func testSGEMMWithZeroReductionScalesC() {
        var c: [[Float]] = [[1, 2, 3, 4], [0]]
        withBuffers(&c) { p in
            Kernels.sgemm(m: 2, n: 2, k: 0, a: p[1], lda: 1, b: p[1], ldb: 2, beta: 2, c: p[0], ldc: 2)
        }
        XCTAssertEqual(c[0], [2, 4, 6, 8])
    }

    func testLinearMatchesNaive() {
        let (n, i, o) = (5, 11, 6)
        for (useBias, accumulate) in [(true, false), (false, false), (true, true), (false, true)] {
            var fast = [randomArray(n * i, seed: 4), randomArray(o * i, seed: 5), randomArray(o, seed: 6),
                        randomArray(n * o, seed: 7)]
            var slow = fast
            withBuffers(&fast) { p in
                Kernels.linear(x: p[0], rows: n, inFeatures: i, weight: p[1], bias: useBias ? UnsafePointer(p[2]) : nil,
                               outFeatures: o, y: p[3], accumulate: accumulate)
            }
            withBuffers(&slow) { p in
                NaiveKernels.linear(x: p[0], rows: n, inFeatures: i, weight: p[1],
                                    bias: useBias ? UnsafePointer(p[2]) : nil, outFeatures: o, y: p[3],
                                    accumulate: accumulate)
            }
            assertClose(fast[3], slow[3], "linear bias=\(useBias) accumulate=\(accumulate)")
        }
    }

    /// Geometries covering: strided, padded, dilated, grouped, depthwise, pointwise, single-channel input,
    /// and the channels-last in-place path (Cin ≥ 16) with K < s, K = s, K > s.
    static let convCases: [(Conv1dGeometry, tIn: Int)] = [
        (Conv1dGeometry(inChannels: 4, outChannels: 6, kernelSize: 3, stride: 2, padding: 1), 17),
        (Conv1dGeometry(inChannels: 4, outChannels: 6, kernelSize: 5, stride: 1, padding: 4, dilation: 2, groups: 2), 12),
        (Conv1dGeometry(inChannels: 6, outChannels: 6, kernelSize: 3, stride: 1, padding: 1, groups: 6), 9),
        (Conv1dGeometry(inChannels: 5, outChannels: 3, kernelSize: 1), 8),
        (Conv1dGeometry(inChannels: 1, outChannels: 8, kernelSize: 10, stride: 5), 64),
        (Conv1dGeometry(inChannels: 16, outChannels: 8, kernelSize: 3, stride: 2, padding: 1), 21),
        (Conv1dGeometry(inChannels: 16, outChannels: 8, kernelSize: 2, stride: 2), 20),
        (Conv1dGeometry(inChannels: 20, outChannels: 7, kernelSize: 5, stride: 2, padding: 3), 19),
        (Conv1dGeometry(inChannels: 16, outChannels: 4, kernelSize: 3, stride: 3, padding: 2), 23),
        (Conv1dGeometry(inChannels: 24, outChannels: 24, kernelSize: 8, stride: 1, padding: 4, groups: 4), 15),
    ]

    func testConv1dMatchesNaive() throws {
        for (index, (g, tIn)) in Self.convCases.enumerated() {
            try g.validate(inputLength: tIn)
            let b = 2, tOut = g.outputLength(inputLength: tIn)
            let work = max(1, g.workspaceCount(inputLength: tIn))
            var fast = [randomArray(b * g.inChannels * tIn, seed: 10), randomArray(g.weightCount, seed: 11),
                        randomArray(g.outChannels, seed: 12), [Float](repeating: .nan, count: b * g.outChannels * tOut),
                        [Float](repeating: .nan, count: work)]
            var slow = fast
            withBuffers(&fast) { p in
                Kernels.conv1d(g, batch: b, inputLength: tIn, x: p[0], weight: p[1], bias: p[2], y: p[3], workspace: p[4])
            }
            withBuffers(&slow) { p in
                NaiveKernels.conv1d(g, batch: b, inputLength: tIn, x: p[0], weight: p[1], bias: p[2], y: p[3],
                                    workspace: nil)
            }
            assertClose(fast[3], slow[3], "conv1d case \(index) \(g)")
        }
    }

    func testConv1dChannelsLastMatchesNaiveAndPyTorchLayout() throws {
        for (index, (g, tIn)) in Self.convCases.enumerated() {
            let b = 2, tOut = g.outputLength(inputLength: tIn)
            let xNCL = randomArray(b * g.inChannels * tIn, seed: 20), weight = randomArray(g.weightCount, seed: 21)
            let bias = randomArray(g.outChannels, seed: 22)
            var xNTC = [Float](repeating: 0, count: xNCL.count)
            for bi in 0..<b { for c in 0..<g.inChannels { for t in 0..<tIn {
                xNTC[(bi * tIn + t) * g.inChannels + c] = xNCL[(bi * g.inChannels + c) * tIn + t]
            } } }
            var packed = [Float](repeating: 0, count: g.weightCount)
            weight.withUnsafeBufferPointer { w in
                packed.withUnsafeMutableBufferPointer { d in
                    Kernels.packConv1dWeightChannelsLast(g, weight: w.baseAddress!, into: d.baseAddress!)
                }
            }
            let work = max(1, Kernels.conv1dChannelsLastWorkspaceCount(g, inputLength: tIn))
            var fast = [xNTC, packed, bias, [Float](repeating: .nan, count: b * tOut * g.outChannels),
                        [Float](repeating: .nan, count: work)]
            var slow = fast
            withBuffers(&fast) { p in
                Kernels.conv1dChannelsLast(g, batch: b, inputLength: tIn, x: p[0], packedWeight: p[1], bias: p[2],
                                           y: p[3], workspace: p[4])
            }
            withBuffers(&slow) { p in
                NaiveKernels.conv1dChannelsLast(g, batch: b, inputLength: tIn, x: p[0], packedWeight: p[1], bias: p[2],
                                                y: p[3], workspace: nil)
            }
            assertClose(fast[3], slow[3], "conv1dChannelsLast case \(index) \(g)")
            // Same numbers as the PyTorch-layout naive conv, transposed.
            var ncl = [xNCL, weight, bias, [Float](repeating: 0, count: b * g.outChannels * tOut)]
            withBuffers(&ncl) { p in
                NaiveKernels.conv1d(g, batch: b, inputLength: tIn, x: p[0], weight: p[1], bias: p[2], y: p[3],
                                    workspace: nil)
            }
            var transposed = [Float](repeating: 0, count: ncl[3].count)
            for bi in 0..<b { for o in 0..<g.outChannels { for t in 0..<tOut {
                transposed[(bi * tOut + t) * g.outChannels + o] = ncl[3][(bi * g.outChannels + o) * tOut + t]
            } } }
            assertClose(slow[3], transposed, "channels-last vs PyTorch layout case \(index)")
        }
    }

    func testConv1dGeometryValidation() {
        XCTAssertThrowsError(try Conv1dGeometry(inChannels: 6, outChannels: 4, kernelSize: 3, groups: 4)
            .validate(inputLength: 10))
        XCTAssertThrowsError(try Conv1dGeometry(inChannels: 2, outChannels: 2, kernelSize: 5).validate(inputLength: 4))
        XCTAssertEqual(Conv1dGeometry(inChannels: 1, outChannels: 512, kernelSize: 10, stride: 5)
            .outputLength(inputLength: 24000), 4799)  // wav2vec2's first layer on 1.5 s
    }

    func testLayerNormMatchesNaive() {
        let (n, c) = (6, 37)
        var fast = [randomArray(n * c, seed: 30, scale: 3), randomArray(c, seed: 31), randomArray(c, seed: 32),
                    [Float](repeating: 0, count: n * c), [Float](repeating: 0, count: n), [Float](repeating: 0, count: n)]
        var slow = fast
        withBuffers(&fast) { p in
            Kernels.layerNorm(x: p[0], rows: n, features: c, gamma: p[1], beta: p[2], eps: 1e-5, y: p[3],
                              mean: p[4], rstd: p[5])
        }
        withBuffers(&slow) { p in
            NaiveKernels.layerNorm(x: p[0], rows: n, features: c, gamma: p[1], beta: p[2], eps: 1e-5, y: p[3],
                                   mean: p[4], rstd: p[5])
        }
        for k in 3...5 { assertClose(fast[k], slow[k], "layerNorm output \(k)") }
        // In place gives the same result.
        var inPlace = [fast[0], fast[1], fast[2]]
        withBuffers(&inPlace) { p in
            Kernels.layerNorm(x: p[0], rows: n, features: c, gamma: p[1], beta: p[2], eps: 1e-5, y: p[0])
        }
        XCTAssertEqual(inPlace[0], fast[3])
    }

    func testGroupNormMatchesNaiveInBothLayouts() {
        for (b, c, t, groups) in [(2, 8, 13, 4), (1, 6, 40, 6), (2, 4, 5, 1)] {
            var fast = [randomArray(b * c * t, seed: 40, scale: 2), randomArray(c, seed: 41), randomArray(c, seed: 42),
                        [Float](repeating: 0, count: b * c * t), [Float](repeating: 0, count: b * groups),
                        [Float](repeating: 0, count: b * groups)]
            var slow = fast
            withBuffers(&fast) { p in
                Kernels.groupNorm(x: p[0], batch: b, channels: c, length: t, groups: groups, gamma: p[1], beta: p[2],
                                  eps: 1e-5, y: p[3], mean: p[4], rstd: p[5])
            }
            withBuffers(&slow) { p in
                NaiveKernels.groupNorm(x: p[0], batch: b, channels: c, length: t, groups: groups, gamma: p[1],
                                       beta: p[2], eps: 1e-5, y: p[3], mean: p[4], rstd: p[5])
            }
            for k in 3...5 { assertClose(fast[k], slow[k], "groupNorm \(b)x\(c)x\(t) G\(groups) output \(k)") }
            var fastNTC = fast, slowNTC = slow
            withBuffers(&fastNTC) { p in
                Kernels.groupNormChannelsLast(x: p[0], batch: b, length: t, channels: c, groups: groups, gamma: p[1],
                                              beta: p[2], eps: 1e-5, y: p[3], mean: p[4], rstd: p[5])
            }
            withBuffers(&slowNTC) { p in
                NaiveKernels.groupNormChannelsLast(x: p[0], batch: b, length: t, channels: c, groups: groups,
                                                   gamma: p[1], beta: p[2], eps: 1e-5, y: p[3], mean: p[4], rstd: p[5])
            }
            for k in 3...5 { assertClose(fastNTC[k], slowNTC[k], "groupNormChannelsLast output \(k)") }
        }
    }

    func testGELUMatchesNaiveAndKnownValues() {
        for approximation in [GELUApproximation.none, .tanh] {
            var fast = [randomArray(257, seed: 50, scale: 4), [Float](repeating: 0, count: 257)]
            var slow = fast
            withBuffers(&fast) { p in Kernels.gelu(x: p[0], y: p[1], count: 257, approximation: approximation) }
            withBuffers(&slow) { p in NaiveKernels.gelu(x: p[0], y: p[1], count: 257, approximation: approximation) }
            assertClose(fast[1], slow[1], rtol: 1e-5, atol: 1e-6, "gelu \(approximation)")
        }
        // Φ(1) = 0.841344746...; tanh form 0.5·(1 + tanh(√(2/π)·1.044715)) = 0.841191990...
        var one: [[Float]] = [[1], [0], [0]]
        withBuffers(&one) { p in
            Kernels.gelu(x: p[0], y: p[1], count: 1, approximation: .none)
            Kernels.gelu(x: p[0], y: p[2], count: 1, approximation: .tanh)
        }
        XCTAssertEqual(one[1][0], 0.841344746, accuracy: 1e-6)
        XCTAssertEqual(one[2][0], 0.841191990, accuracy: 1e-6)
    }

    func testSoftmaxMatchesNaiveAndHandlesMaskedRows() {
        let (n, d) = (5, 33)
        var x = randomArray(n * d, seed: 60, scale: 5)
        for j in 0..<d { x[2 * d + j] = -.infinity }  // a fully masked row → zeros
        x[3 * d + 4] = -.infinity
        var fast = [x, [Float](repeating: 0, count: n * d)]
        var slow = fast
        withBuffers(&fast) { p in Kernels.softmax(x: p[0], rows: n, columns: d, y: p[1]) }
        withBuffers(&slow) { p in NaiveKernels.softmax(x: p[0], rows: n, columns: d, y: p[1]) }
        assertClose(fast[1], slow[1], rtol: 1e-5, atol: 1e-7, "softmax")
        XCTAssertEqual(fast[1][(2 * d)..<(3 * d)].reduce(0, +), 0)
        XCTAssertEqual(fast[1][0..<d].reduce(0, +), 1, accuracy: 1e-5)
    }

    /// Kernels.attention against its naive twin on q, k, v sliced from one fused `[B, T, 3C]` projection, the second
    /// item's keys from `maskFrom` on masked, for each (mask and bias, saved probabilities) case; returns the naive
    /// probabilities of the last case.
    @discardableResult
    func checkAttention(b: Int, h: Int, d: Int, t: Int, maskFrom: Int, seed: UInt64,
                        cases: [(maskAndBias: Bool, bias: Bool, saveProbabilities: Bool)]) -> [Float] {
        let c = h * d
        let qkv = randomArray(b * t * 3 * c, seed: seed)
        var mask = [UInt8](repeating: 1, count: b * t)
        for j in maskFrom..<t { mask[t + j] = 0 }
        let bias = randomArray(b * h * t * t, seed: seed + 1)
        let g = AttentionGeometry(batch: b, heads: h, headDim: d, queryLength: t, keyLength: t)
        let strides = AttentionStrides(query: 3 * c, key: 3 * c, value: 3 * c, output: c)
        var last: [Float] = []
        for (useMask, useBias, saveProbabilities) in cases {
            var fast = [qkv, bias, [Float](repeating: .nan, count: b * t * c),
                        [Float](repeating: .nan, count: g.probabilitiesCount), [Float](repeating: .nan, count: g.workspaceCount)]
            var slow = fast
            mask.withUnsafeBufferPointer { m in
                let maskPointer = useMask ? m.baseAddress : nil
                withBuffers(&fast) { p in
                    Kernels.attention(g, strides: strides, q: p[0], k: p[0] + c, v: p[0] + 2 * c, keyMask: maskPointer,
                                      positionBias: useBias ? UnsafePointer(p[1]) : nil, biasBatchStride: h * t * t,
                                      output: p[2], probabilities: saveProbabilities ? p[3] : nil, workspace: p[4])
                }
                withBuffers(&slow) { p in
                    NaiveKernels.attention(g, strides: strides, q: p[0], k: p[0] + c, v: p[0] + 2 * c,
                                           keyMask: maskPointer, positionBias: useBias ? UnsafePointer(p[1]) : nil,
                                           biasBatchStride: h * t * t, output: p[2], probabilities: p[3], workspace: nil)
                }
            }
            assertClose(fast[2], slow[2], "attention T=\(t) mask=\(useMask) bias=\(useBias)")
            if saveProbabilities { assertClose(fast[3], slow[3], "attention probabilities T=\(t)") }
            if useMask {
                // Padded keys get exactly zero weight.
                for hi in 0..<h { for i in 0..<t { for j in maskFrom..<t {
                    XCTAssertEqual(slow[3][((1 * h + hi) * t + i) * t + j], 0)
                } } }
            }
            last = slow[3]
        }
        return last
    }

    func testAttentionMatchesNaiveWithMaskBiasAndFusedQKV() {
        checkAttention(b: 2, h: 3, d: 4, t: 7, maskFrom: 5, seed: 70,
                       cases: [(false, false, false), (true, true, true), (true, false, false)])
    }

    /// Long sequences (Tq·Tk ≥ 512²) run whole heads per thread with per-thread score buffers: same results, with
    /// and without saved probabilities, masks and per-item bias.
    func testLongSequenceAttentionRunsHeadsInParallelWithTheSameResult() {
        XCTAssertGreaterThanOrEqual(520 * 520, 512 * 512)
        checkAttention(b: 2, h: 2, d: 8, t: 520, maskFrom: 500, seed: 72, cases: [(false, false, false), (true, true, true)])
    }
}

final class ElementwiseKernelTests: XCTestCase {
    func testTransposeMatchesNaiveAndAddIsElementwise() {
        for (rows, cols) in [(1, 1), (5, 70), (33, 31), (64, 3)] {
            var fast = [randomArray(rows * cols, seed: 130), [Float](repeating: .nan, count: rows * cols)]
            var slow = fast
            withBuffers(&fast) { p in Kernels.transpose(p[0], rows: rows, cols: cols, into: p[1]) }
            withBuffers(&slow) { p in NaiveKernels.transpose(p[0], rows: rows, cols: cols, into: p[1]) }
            XCTAssertEqual(fast[1], slow[1], "transpose \(rows)×\(cols)")
        }
        var buffers: [[Float]] = [[1, 2, 3], [10, 20, 30]]
        withBuffers(&buffers) { p in Kernels.add(p[0], p[1], into: p[0], count: 3) }
        XCTAssertEqual(buffers[0], [11, 22, 33])
    }
}

final class ParallelKernelTests: XCTestCase {
    /// Sizes large enough that GELU, softmax and layer norm split across two threads.
    func testThreadedKernelsMatchNaive() {
        BLASInfo.setThreadCount(2)
        let count = 100_003  // not a multiple of 8 or of the slice size
        for approximation in [GELUApproximation.none, .tanh] {
            var fast = [randomArray(count, seed: 140, scale: 3), [Float](repeating: .nan, count: count)]
            var slow = fast
            withBuffers(&fast) { p in Kernels.gelu(x: p[0], y: p[1], count: count, approximation: approximation) }
            withBuffers(&slow) { p in NaiveKernels.gelu(x: p[0], y: p[1], count: count, approximation: approximation) }
            assertClose(fast[1], slow[1], rtol: 1e-5, atol: 2e-6, "threaded gelu \(approximation)")
        }
        let (n, d) = (211, 401)
        var fast = [randomArray(n * d, seed: 141, scale: 4), [Float](repeating: .nan, count: n * d),
                    randomArray(d, seed: 142), randomArray(d, seed: 143)]
        var slow = fast
        withBuffers(&fast) { p in Kernels.softmax(x: p[0], rows: n, columns: d, y: p[1]) }
        withBuffers(&slow) { p in NaiveKernels.softmax(x: p[0], rows: n, columns: d, y: p[1]) }
        assertClose(fast[1], slow[1], rtol: 1e-5, atol: 1e-7, "threaded softmax")
        withBuffers(&fast) { p in
            Kernels.layerNorm(x: p[0], rows: n, features: d, gamma: p[2], beta: p[3], eps: 1e-5, y: p[1])
        }
        withBuffers(&slow) { p in
            NaiveKernels.layerNorm(x: p[0], rows: n, features: d, gamma: p[2], beta: p[3], eps: 1e-5, y: p[1])
        }
        assertClose(fast[1], slow[1], "threaded layerNorm")
    }
}
