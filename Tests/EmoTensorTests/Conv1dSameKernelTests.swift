import EmoTensor
import XCTest

/// The "same" grouped conv kernels (`Kernels.conv1dSame`, `Kernels.conv1dSameFFT`, their input gradients) and the
/// speech feature encoder's input gradient (`Kernels.conv1dChannelsLastInputGradient`) against their naive twins,
/// `NaiveKernels.conv1dChannelsLast` / `conv1dChannelsLastBackward` (Double accumulation): odd and even kernels, clips
/// shorter than a kernel, one block and several blocks of the FFT, batches. Tolerance: max |kernel − naive| ≤
/// 1e-5 × max(1, max |naive|). The base layout (C = 768, G = 16, K = 128) is checked in PositionalConvFFTTests.
final class Conv1dSameKernelTests: XCTestCase {
    /// (C, G, K, T, B): K = 8 gives FFT blocks of n = 16, hop 9 (T = 40: 5 blocks); K = 7 gives hop 10.
    let cases: [(c: Int, g: Int, k: Int, t: Int, b: Int)] = [
        (32, 2, 8, 1, 1), (32, 2, 8, 5, 2), (32, 2, 8, 9, 1), (32, 2, 8, 40, 3), (48, 3, 7, 23, 2), (16, 16, 4, 11, 2),
        (32, 1, 6, 17, 1),
    ]

    func random(_ count: Int, _ rng: inout SeededGenerator, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in scale * rng.nextNormal() }
    }

    /// The naive "same" conv: the channels-last conv with padding K/2, the even kernel's extra frame dropped.
    func naiveSame(_ g: Conv1dGeometry, batch: Int, frames t: Int, x: [Float], w: [Float], bias: [Float]) -> [Float] {
        let tOut = g.outputLength(inputLength: t), c = g.outChannels
        var full = [Float](repeating: .nan, count: batch * tOut * c)
        NaiveKernels.conv1dChannelsLast(g, batch: batch, inputLength: t, x: x, packedWeight: w, bias: bias, y: &full, workspace: nil)
        var y = [Float]()
        for b in 0..<batch { y += full[(b * tOut * c)..<((b * tOut + t) * c)] }
        return y
    }

    /// The naive adjoint: `conv1dChannelsLastBackward`'s input gradient with a zero gradient at the dropped frame.
    func naiveSameAdjoint(_ g: Conv1dGeometry, batch: Int, frames t: Int, dy: [Float], w: [Float]) -> [Float] {
        let tOut = g.outputLength(inputLength: t), c = g.outChannels
        var full = [Float](repeating: 0, count: batch * tOut * c)
        for b in 0..<batch { for r in 0..<(t * c) { full[b * tOut * c + r] = dy[b * t * c + r] } }
        let x = [Float](repeating: 0, count: batch * t * c)
        var dx = [Float](repeating: .nan, count: batch * t * c)
        NaiveKernels.conv1dChannelsLastBackward(g, batch: batch, inputLength: t, x: x, packedWeight: w, gradOutput: full,
                                                gradInput: &dx, gradPackedWeight: nil, gradBias: nil, workspace: nil)
        return dx
    }

    func assertClose(_ got: [Float], _ want: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, what, file: file, line: line)
        let scale = want.map(abs).max() ?? 0
        let diff = zip(got, want).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertFalse(diff.isNaN, "\(what): NaN", file: file, line: line)
        XCTAssertLessThanOrEqual(diff, 1e-5 * max(1, scale), "\(what): max abs diff \(diff) of \(scale)", file: file, line: line)
    }

    func testForwardDirectAndFFTEqualTheNaiveConv() throws {
        var rng = SeededGenerator(seed: 21)
        for (c, groups, k, t, batch) in cases {
            let g = Conv1dGeometry(inChannels: c, outChannels: c, kernelSize: k, stride: 1, padding: k / 2, groups: groups)
            XCTAssertTrue(Kernels.isConv1dSame(g))
            let x = random(batch * t * c, &rng), w = random(g.weightCount, &rng, scale: 0.2), bias = random(c, &rng)
            let want = naiveSame(g, batch: batch, frames: t, x: x, w: w, bias: bias)
            let what = "C \(c) G \(groups) K \(k) T \(t) B \(batch)"

            var direct = [Float](repeating: .nan, count: batch * t * c)
            var work = [Float](repeating: .nan, count: Kernels.conv1dSameWorkspaceCount(g, batch: batch, frames: t))
            Kernels.conv1dSame(g, batch: batch, frames: t, x: x, packedWeight: w, bias: bias, y: &direct, workspace: &work)
            assertClose(direct, want, "direct, \(what)")

            let spectra = try XCTUnwrap(Conv1dSameSpectra(packedWeight: w, channels: c, groups: groups, kernel: k))
            var fft = [Float](repeating: .nan, count: batch * t * c)
            var scratch = [Float](repeating: .nan, count: Kernels.conv1dSameFFTScratchCount(spectra, batch: batch, frames: t))
            Kernels.conv1dSameFFT(spectra, batch: batch, frames: t, x: x, adjoint: false, bias: bias, accumulate: false,
                                  into: &fft, scratch: &scratch)
            assertClose(fft, want, "FFT, \(what)")
        }
    }

    /// Both input gradients add `convT(dy)` into what the buffer held.
    func testInputGradientsEqualTheNaiveAdjoint() throws {
        var rng = SeededGenerator(seed: 22)
        for (c, groups, k, t, batch) in cases {
            let g = Conv1dGeometry(inChannels: c, outChannels: c, kernelSize: k, stride: 1, padding: k / 2, groups: groups)
            let dy = random(batch * t * c, &rng), w = random(g.weightCount, &rng, scale: 0.2), dx0 = random(batch * t * c, &rng)
            let want = naiveSameAdjoint(g, batch: batch, frames: t, dy: dy, w: w)
            let what = "C \(c) G \(groups) K \(k) T \(t) B \(batch)"

            var direct = dx0
            var work = [Float](repeating: .nan, count: Kernels.conv1dSameWorkspaceCount(g, batch: batch, frames: t))
            Kernels.conv1dSameInputGradient(g, batch: batch, frames: t, gradOutput: dy, packedWeight: w, gradInput: &direct,
                                            workspace: &work)
            assertClose(zip(direct, dx0).map { $0 - $1 }, want, "direct adjoint, \(what)")

            let spectra = try XCTUnwrap(Conv1dSameSpectra(packedWeight: w, channels: c, groups: groups, kernel: k))
            var fft = dx0
            var scratch = [Float](repeating: .nan, count: Kernels.conv1dSameFFTScratchCount(spectra, batch: batch, frames: t))
            Kernels.conv1dSameFFT(spectra, batch: batch, frames: t, x: dy, adjoint: true, bias: nil, accumulate: true,
                                  into: &fft, scratch: &scratch)
            assertClose(zip(fft, dx0).map { $0 - $1 }, want, "FFT adjoint, \(what)")
        }
    }

    /// Layouts without an FFT path are refused, and the cost model prefers the FFT only for long inputs.
    func testSpectraRefuseUnsupportedLayoutsAndTheCostModelGrowsWithLength() {
        XCTAssertNil(Conv1dSameSpectra(packedWeight: [Float](repeating: 0, count: 24 * 4 * 12), channels: 24, groups: 2, kernel: 4))
        XCTAssertNil(Conv1dSameSpectra(packedWeight: [Float](repeating: 0, count: 10), channels: 32, groups: 2, kernel: 8))
        let base = Conv1dGeometry(inChannels: 768, outChannels: 768, kernelSize: 128, stride: 1, padding: 64, groups: 16)
        XCTAssertFalse(Kernels.conv1dSameFFTPays(base, batch: 1, frames: 16))
        XCTAssertTrue(Kernels.conv1dSameFFTPays(base, batch: 1, frames: 149))
        var strided = base
        strided.stride = 2
        XCTAssertFalse(Kernels.isConv1dSame(strided))
        XCTAssertFalse(Kernels.conv1dSameFFTPays(strided, batch: 1, frames: 149))
    }

    /// The feature encoder's input gradient: the zero-copy strided path (K·Cin > 64), the col path of a small
    /// receptive field (the first layer: Cin = 1, K = 10, stride 5), a grouped padded conv, and `Tout` below the
    /// input's full output length (frames past it take no gradient).
    func testConvInputGradientEqualsTheNaiveBackward() {
        var rng = SeededGenerator(seed: 23)
        let geometries: [(Conv1dGeometry, Int, Int?)] = [
            (Conv1dGeometry(inChannels: 1, outChannels: 8, kernelSize: 10, stride: 5), 103, nil),
            (Conv1dGeometry(inChannels: 32, outChannels: 16, kernelSize: 3, stride: 2), 41, nil),
            (Conv1dGeometry(inChannels: 40, outChannels: 12, kernelSize: 2, stride: 2), 30, nil),
            (Conv1dGeometry(inChannels: 16, outChannels: 12, kernelSize: 3, stride: 2), 21, nil),
            (Conv1dGeometry(inChannels: 8, outChannels: 8, kernelSize: 5, stride: 1, padding: 2, groups: 2), 13, nil),
            (Conv1dGeometry(inChannels: 32, outChannels: 16, kernelSize: 3, stride: 2), 41, 15),
        ]
        for (g, tIn, framesOut) in geometries {
            let full = g.outputLength(inputLength: tIn), tOut = framesOut ?? full
            var dyFull = random(full * g.outChannels, &rng)
            for i in (tOut * g.outChannels)..<dyFull.count { dyFull[i] = 0 }
            let w = random(g.weightCount, &rng, scale: 0.3), x = [Float](repeating: 0, count: tIn * g.inChannels)
            var want = [Float](repeating: .nan, count: tIn * g.inChannels)
            NaiveKernels.conv1dChannelsLastBackward(g, batch: 1, inputLength: tIn, x: x, packedWeight: w, gradOutput: dyFull,
                                                    gradInput: &want, gradPackedWeight: nil, gradBias: nil, workspace: nil)
            var got = random(tIn * g.inChannels, &rng)  // overwritten
            var work = [Float](repeating: .nan, count: max(1, Kernels.conv1dChannelsLastInputGradientWorkspaceCount(g, outputFrames: tOut)))
            let dy = Array(dyFull[0..<(tOut * g.outChannels)])
            Kernels.conv1dChannelsLastInputGradient(g, inputLength: tIn, outputFrames: tOut, gradOutput: dy, packedWeight: w,
                                                    gradInput: &got, workspace: &work)
            assertClose(got, want, "Cin \(g.inChannels) Cout \(g.outChannels) K \(g.kernelSize) s \(g.stride) G \(g.groups) Tin \(tIn) Tout \(tOut)")
        }
    }
}
