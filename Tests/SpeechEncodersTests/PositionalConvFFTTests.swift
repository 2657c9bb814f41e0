@testable import EmoSpeechEncoders
import EmoModels
import EmoCore
@testable import EmoTensor
import Foundation
import XCTest

/// The FFT path of `encoder.pos_conv_embed` (`ComplexFFT`, `Conv1dSameSpectra`, `positionalConvFFT`) against
/// math: the FFT against a naive DFT in Double, the FFT convolution against the direct im2col path (itself checked
/// against Hugging Face by SpeechEncoderParityTests) on random weights of the published base layout
/// (C = 768, 16 groups, K = 128). Tolerance for the convolution: max |FFT − direct| ≤ 1e-5 × max(1, max |direct|).
final class PositionalConvFFTTests: XCTestCase {
    /// Naive DFT in Double of lane `lane` of `[N, 8]` planes (`sign` −1 forward, +1 inverse).
    func naiveDFT(_ re: [Float], _ im: [Float], lane: Int, sign: Double) -> (re: [Double], im: [Double]) {
        let n = re.count / 8
        var outR = [Double](repeating: 0, count: n), outI = [Double](repeating: 0, count: n)
        for k in 0..<n {
            for j in 0..<n {
                let a = sign * 2 * Double.pi * Double((j * k) % n) / Double(n)
                let (xr, xi) = (Double(re[8 * j + lane]), Double(im[8 * j + lane]))
                outR[k] += xr * cos(a) - xi * sin(a)
                outI[k] += xr * sin(a) + xi * cos(a)
            }
        }
        return (outR, outI)
    }

    func testFFTMatchesNaiveDFT() throws {
        var rng = SeededGenerator(seed: 7)
        for n in [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] {
            let fft = try XCTUnwrap(ComplexFFT(count: n))
            let re0 = (0..<(8 * n)).map { _ in rng.nextNormal() }, im0 = (0..<(8 * n)).map { _ in rng.nextNormal() }
            for inverse in [false, true] {
                var re = re0, im = im0
                re.withUnsafeMutableBufferPointer { r in
                    im.withUnsafeMutableBufferPointer { i in
                        guard let r = r.baseAddress, let i = i.baseAddress else { return }
                        if inverse { fft.inverse(re: r, im: i) } else { fft.forward(re: r, im: i) }
                    }
                }
                var worst = 0.0, peak = 0.0
                for lane in 0..<8 {
                    let ref = naiveDFT(re0, im0, lane: lane, sign: inverse ? 1 : -1)
                    for k in 0..<n {
                        worst = max(worst, abs(Double(re[8 * k + lane]) - ref.re[k]), abs(Double(im[8 * k + lane]) - ref.im[k]))
                        peak = max(peak, abs(ref.re[k]), abs(ref.im[k]))
                    }
                }
                XCTAssertLessThanOrEqual(worst, 1e-5 * max(1, peak), "N = \(n), inverse \(inverse): max abs diff \(worst) of \(peak)")
            }
        }
        XCTAssertNil(ComplexFFT(count: 0))
        XCTAssertNil(ComplexFFT(count: 96))
    }

    /// A one-layer encoder with the base model's positional conv (random weights and bias, seeded), built once.
    func baseLayoutEncoder() throws -> SpeechEncoder {
        if let e = Self.shared { return e }
        let e = try makeBaseLayoutEncoder()
        Self.shared = e
        return e
    }

    nonisolated(unsafe) static var shared: SpeechEncoder?

    func makeBaseLayoutEncoder() throws -> SpeechEncoder {
        guard case .object(var o) = SpeechEncoderConfig.baseConfigJSON(.wav2vec2) else {
            throw XCTSkip("baseConfigJSON is not an object")
        }
        o["num_hidden_layers"] = 1
        o["intermediate_size"] = 16
        o["conv_dim"] = [16]
        o["conv_kernel"] = [10]
        o["conv_stride"] = [5]
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = JSONValue.object(o)
        let config = try SpeechEncoderConfig(json: json, path: dir.path + "/config.json")
        try config.writeRandomCheckpoint(to: dir.path, configJSON: json, seed: 11)
        let encoder = try SpeechEncoder(directory: dir.path)
        XCTAssertEqual([encoder.config.hiddenSize, encoder.config.posConvGroups, encoder.config.posConvKernel], [768, 16, 128])
        var rng = SeededGenerator(seed: 12)
        encoder.posConvBias.update(from: (0..<768).map { _ in 0.1 * rng.nextNormal() }, count: 768)
        return encoder
    }

    /// Random `[B, T, C]` input, frames from each clip's length on zeroed (as the forward pass pads clips).
    func randomInput(batch: Int, frames t: Int, lengths: [Int], seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        var h = (0..<(batch * t * 768)).map { _ in rng.nextNormal() }
        for b in 0..<batch { for i in (b * t + lengths[b]) * 768..<((b + 1) * t * 768) { h[i] = 0 } }
        return h
    }

    /// Runs one path on `h`, returning `(h + gelu(z), z)`.
    func run(_ encoder: SpeechEncoder, _ h: [Float], batch: Int, frames t: Int, fft: Bool,
             ws: SpeechWorkspace = SpeechWorkspace()) throws -> (out: [Float], pre: [Float]) {
        var out = h, pre = [Float](repeating: .nan, count: h.count)
        let spectra = try XCTUnwrap(encoder.positionalSpectra())
        out.withUnsafeMutableBufferPointer { o in
            pre.withUnsafeMutableBufferPointer { p in
                guard let o = o.baseAddress, let p = p.baseAddress else { return }
                if fft {
                    encoder.positionalConvFFT(o, batch: batch, frames: t, spectra: spectra, ws: ws, pre: p)
                } else {
                    encoder.positionalConvDirect(o, batch: batch, frames: t, ws: ws, pre: p)
                }
            }
        }
        return (out, pre)
    }

    func testFFTPositionalConvMatchesDirect() throws {
        let encoder = try baseLayoutEncoder()
        let spectra = try XCTUnwrap(encoder.positionalSpectra())
        XCTAssertEqual([spectra.fft.count, spectra.bins, spectra.hop], [256, 129, 129])
        let cases: [(t: Int, lengths: [Int])] = [
            (1, [1]), (2, [2]), (127, [127]), (128, [128]), (129, [129]), (149, [149]), (300, [300]), (1000, [1000]),
            (149, [149, 100, 1, 149]), (300, [258, 300, 129]), (2, [1, 2]),
        ]
        for (i, (t, lengths)) in cases.enumerated() {
            let b = lengths.count
            let h = randomInput(batch: b, frames: t, lengths: lengths, seed: UInt64(100 + i))
            let direct = try run(encoder, h, batch: b, frames: t, fft: false)
            let fft = try run(encoder, h, batch: b, frames: t, fft: true)
            let tolPre = 1e-5 * max(1, maxAbs(direct.pre)), tolOut = 1e-5 * max(1, maxAbs(direct.out))
            let (dPre, dOut) = (maxAbsDiff(fft.pre, direct.pre), maxAbsDiff(fft.out, direct.out))
            print("pos conv B = \(b), T = \(t): FFT vs direct max abs diff \(dPre) (pre-activation, max \(maxAbs(direct.pre))), \(dOut) (output)")
            XCTAssertLessThanOrEqual(dPre, tolPre, "B = \(b), T = \(t), lengths \(lengths): pre-activation")
            XCTAssertLessThanOrEqual(dOut, tolOut, "B = \(b), T = \(t), lengths \(lengths): output")
        }
    }

    /// The FFT adjoint (`dh += convT(dz)`) against the direct col2im backward, same cases and tolerance.
    func testFFTPositionalConvBackwardMatchesDirect() throws {
        let encoder = try baseLayoutEncoder()
        let spectra = try XCTUnwrap(encoder.positionalSpectra())
        let cases: [(t: Int, batch: Int)] = [(1, 1), (2, 2), (127, 1), (128, 1), (129, 1), (149, 4), (300, 3), (1000, 1)]
        for (i, (t, b)) in cases.enumerated() {
            let dz = randomInput(batch: b, frames: t, lengths: Array(repeating: t, count: b), seed: UInt64(300 + i))
            let dh0 = randomInput(batch: b, frames: t, lengths: Array(repeating: t, count: b), seed: UInt64(400 + i))
            var direct = dh0, fft = dh0
            let ws = SpeechWorkspace()
            dz.withUnsafeBufferPointer { d in
                guard let d = d.baseAddress else { return }
                direct.withUnsafeMutableBufferPointer { o in
                    if let o = o.baseAddress { encoder.positionalConvBackwardDirect(d, batch: b, frames: t, into: o) }
                }
                fft.withUnsafeMutableBufferPointer { o in
                    if let o = o.baseAddress { encoder.positionalConvBackwardFFT(d, batch: b, frames: t, spectra: spectra, ws: ws, into: o) }
                }
            }
            let grad = zip(direct, dh0).map { $0 - $1 }
            let d = maxAbsDiff(fft, direct), tol = 1e-5 * max(1, maxAbs(grad))
            print("pos conv backward B = \(b), T = \(t): FFT vs direct max abs diff \(d) (max |convT(dz)| \(maxAbs(grad)))")
            XCTAssertGreaterThan(maxAbs(grad), 0.01, "the backward added nothing")
            XCTAssertLessThanOrEqual(d, tol, "B = \(b), T = \(t)")
        }
    }

    /// The dispatch takes the FFT path for base-layout 3 s clips and the direct one for short ones, and the
    /// public entry point runs each path as asked.
    func testDispatchAndPublicEntry() throws {
        let encoder = try baseLayoutEncoder()
        XCTAssertTrue(encoder.usesFFTPositionalConv(batch: 1, frames: 149))
        XCTAssertTrue(encoder.usesFFTPositionalConv(batch: 4, frames: 149))
        XCTAssertTrue(encoder.usesFFTPositionalConv(batch: 1, frames: 1000))
        XCTAssertFalse(encoder.usesFFTPositionalConv(batch: 1, frames: 1))
        XCTAssertFalse(encoder.usesFFTPositionalConv(batch: 1, frames: 16))
        XCTAssertFalse(encoder.usesFFTPositionalConv(batch: 4, frames: 8))
        // SpeechEncoderParityTests' padded batch (B = 2, T = 59, C = 32, K = 16 and 15) runs the FFT path against HF.
        for name in ["wav2vec2-base", "wav2vec2-large"] {
            let small = try SpeechEncoder(directory: Fixtures.encoder(name).path)
            XCTAssertTrue(small.usesFFTPositionalConv(batch: 2, frames: 59), name)
        }
        let (b, t) = (2, 149)
        let h = randomInput(batch: b, frames: t, lengths: [149, 90], seed: 5)
        var viaDirect = h, viaFFT = h
        try encoder.applyPositionalConv(&viaDirect, batch: b, frames: t, method: .direct)
        try encoder.applyPositionalConv(&viaFFT, batch: b, frames: t, method: .fft)
        XCTAssertGreaterThan(maxAbsDiff(viaDirect, h), 0.01, "the conv changed nothing")
        XCTAssertLessThanOrEqual(maxAbsDiff(viaDirect, viaFFT), 1e-5 * max(1, maxAbs(viaDirect)))
        var wrong = [Float](repeating: 0, count: 10)
        XCTAssertThrowsError(try encoder.applyPositionalConv(&wrong, batch: b, frames: t, method: .fft))
    }

    /// Two threads on separate workspaces, the spectra built under the lock by whichever comes first, give what
    /// the direct path gives; new weights drop the cached spectra.
    func testConcurrentForwardsShareSpectra() throws {
        let encoder = try baseLayoutEncoder()
        let (b, t) = (2, 149)
        let inputs = (0..<2).map { randomInput(batch: b, frames: t, lengths: [149, 149], seed: 40 + UInt64($0)) }
        encoder.positionalSpectraCache.reset()  // the threads race to build the spectra
        let results = UncheckedSendable(UnsafeMutableBufferPointer<[Float]>.allocate(capacity: 2))
        defer { _ = results.value.deinitialize(); results.value.deallocate() }
        let box = UncheckedSendable(encoder)
        DispatchQueue.concurrentPerform(iterations: 2) { k in
            let ws = SpeechWorkspace()
            var h = inputs[k]
            Dense.serially {
                h.withUnsafeMutableBufferPointer { p in
                    guard let p = p.baseAddress else { return }
                    box.value.positionalConv(p, batch: b, frames: t, ws: ws, pre: nil)
                }
            }
            results.value.initializeElement(at: k, to: h)
        }
        for k in 0..<2 {
            let serial = try run(encoder, inputs[k], batch: b, frames: t, fft: false).out
            XCTAssertLessThanOrEqual(maxAbsDiff(results.value[k], serial), 1e-5 * max(1, maxAbs(serial)), "thread \(k)")
        }
        // New weights (on a small fixture encoder: C = 32, K = 16) rebuild the spectra.
        let small = try SpeechEncoder(directory: Fixtures.encoder("wav2vec2-base").path)
        let before = try XCTUnwrap(small.positionalSpectra()).values
        small.posConvWeight = small.posConvWeight.map { 2 * $0 }
        let after = try XCTUnwrap(small.positionalSpectra()).values
        XCTAssertEqual(after[2], 2 * before[2], accuracy: 1e-6 * max(1, abs(after[2])), "stale spectra after new weights")
    }
}
