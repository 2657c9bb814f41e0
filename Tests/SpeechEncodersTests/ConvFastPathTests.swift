@testable import EmoSpeechEncoders
import EmoModels
import EmoTensor
import XCTest

/// The conv feature encoder's fast paths.
///
/// Winograd F(3, 2) for stride-2, kernel-3 conv layers (`SpeechEncoder.convolveWinograd`) against the direct
/// convolution (`convolve`, GEMMs over the taps) and against a Double loop, on random weights of wav2vec2-base's
/// conv width (512 → 512) and of the tiny fixture's (16 → 16), for frame counts that leave 0, 1 and 2 frames after
/// the last tile, with and without bias. Tolerance: max |Winograd − Double| ≤ 2e-5 × max(1, max |Double|), and no
/// worse than 2× the direct path's own error plus 1e-6 of the output scale (the transforms add a few roundings).
final class ConvFastPathTests: XCTestCase {
    func testWinogradEqualsDirectConvolution() throws {
        let encoder = try SpeechEncoder(directory: Fixtures.encoder("wav2vec2-base").path)
        var rng = SeededGenerator(seed: 7)
        for (cin, cout) in [(512, 512), (16, 16), (24, 40)] {
            for withBias in [false, true] {
                let w = (0..<(cout * 3 * cin)).map { _ in (2 * rng.nextUniform() - 1) / Float(cin).squareRoot() }  // [C_out, 3, C_in]
                let bias = withBias ? (0..<cout).map { _ in (2 * rng.nextUniform() - 1) } : nil
                guard let wino = SpeechEncoder.WinogradWeights(kernel: 3, stride: 2, inChannels: cin, outChannels: cout, packedWeight: w, bias: bias) else {
                    return XCTFail("stride-2 kernel-3 layer got no Winograd weights")
                }
                let cl = SpeechEncoder.ConvLayer(cin: cin, cout: cout, kernel: 3, stride: 2, weight: w, bias: bias, norm: nil,
                                                 groupNorm: true, winograd: wino)
                for tOut in cin >= 512 ? [12, 13, 14, 31] : [12, 13, 14, 15, 100, 299] {
                    let tIn = 2 * tOut + 1 + (tOut % 2)  // (tIn − 3)/2 + 1 = tOut, with and without a spare sample
                    let x = (0..<(tIn * cin)).map { _ in (2 * rng.nextUniform() - 1) * 3 }  // [T_in, C_in]
                    var direct = [Float](repeating: .nan, count: tOut * cout)
                    var fast = [Float](repeating: .nan, count: tOut * cout)
                    var col = [Float](repeating: 0, count: tOut * 3 * cin)
                    var scratch = [Float](repeating: .nan, count: SpeechEncoder.winogradScratchCount(frames: tOut, cin: cin, cout: cout))
                    x.withUnsafeBufferPointer { xp in
                        guard let xp = xp.baseAddress else { return }
                        direct.withUnsafeMutableBufferPointer { d in
                            col.withUnsafeMutableBufferPointer { c in
                                guard let d = d.baseAddress, let c = c.baseAddress else { return }
                                encoder.convolve(cl, xp, frames: tOut, into: d, col: c)
                            }
                        }
                        fast.withUnsafeMutableBufferPointer { f in
                            scratch.withUnsafeMutableBufferPointer { s in
                                guard let f = f.baseAddress, let s = s.baseAddress else { return }
                                encoder.convolveWinograd(cl, wino, xp, frames: tOut, into: f, scratch: s)
                            }
                        }
                    }
                    // Double reference: y[t, o] = b[o] + Σ_k Σ_c W[o, k, c] x[2t + k, c].
                    var exact = [Float](repeating: 0, count: tOut * cout)
                    for t in 0..<tOut {
                        for o in 0..<cout {
                            var acc = Double(bias?[o] ?? 0)
                            for k in 0..<3 {
                                for c in 0..<cin { acc += Double(w[(o * 3 + k) * cin + c]) * Double(x[(2 * t + k) * cin + c]) }
                            }
                            exact[t * cout + o] = Float(acc)
                        }
                    }
                    let scale = max(1, maxAbs(exact))
                    let errFast = maxAbsDiff(fast, exact), errDirect = maxAbsDiff(direct, exact)
                    let what = "C_in \(cin) C_out \(cout) bias \(withBias) T_out \(tOut)"
                    XCTAssertFalse(fast.contains { $0.isNaN }, "\(what): an output frame was not written")
                    XCTAssertLessThanOrEqual(errFast, 2e-5 * scale, "\(what): Winograd off the Double result by \(errFast)")
                    XCTAssertLessThanOrEqual(errFast, 2 * errDirect + 1e-6 * scale,
                                             "\(what): Winograd error \(errFast) against the direct path's \(errDirect)")
                }
            }
        }
    }
}

extension ConvFastPathTests {
    /// Without a tape, the group-normed first conv layer takes its statistics block by block, merged in Double
    /// (`convolveGroupNormGelu`); with a tape it normalises the whole layer at once (`columnNormalize` +
    /// `affineGelu`). Both against a Double GroupNorm + exact GELU, over several blocks (the tiny fixture's 16
    /// channels take 2048 rows per block; 30 000 samples are 5 999 rows), on clips with a large DC offset and with a
    /// loud click at the start (where E[z²] − E[z]², or a mean folded into the shift, would cancel digits).
    /// Tolerance: max |fast − Double| ≤ 1e-4 × max(1, max |Double|) (the encoder parity tolerance: on these inputs
    /// the float conv output itself is off by up to ~1e-4 after centring), and no worse than the taped path + 1e-6.
    func testTapelessGroupNormMatchesDouble() throws {
        let encoder = try SpeechEncoder(directory: Fixtures.encoder("wav2vec2-base").path)
        let cl = encoder.convs[0]
        guard let norm = cl.norm, cl.groupNorm, cl.cin == 1 else { return XCTFail("fixture's first conv layer is not group-normed") }
        let n = 30_000, tOut = (n - cl.kernel) / cl.stride + 1, cout = cl.cout
        let clips: [(String, [Float])] = [
            ("DC offset 40", (0..<n).map { 40 + sinf(Float($0) * 0.05) + 0.3 * sinf(Float($0) * 0.71) }),
            ("click then quiet", (0..<n).map { ($0 < 50 ? 200 : 0) + 0.5 * cosf(Float($0) * 0.013 * Float(1 + $0 % 3)) }),
        ]
        let scratch = encoder.convScratch(samples: n, chunk: 0, backward: true, forward: true)  // a set apart from the forward's
        for (name, x) in clips {
            // Double reference: conv (no bias in this layout), GroupNorm(C, C) over time, affine, exact GELU.
            var z = [Double](repeating: 0, count: tOut * cout)
            for t in 0..<tOut {
                for o in 0..<cout {
                    var acc = 0.0
                    for k in 0..<cl.kernel { acc += Double(cl.weight[o * cl.kernel + k]) * Double(x[t * cl.stride + k]) }
                    z[t * cout + o] = acc + Double(cl.bias?[o] ?? 0)
                }
            }
            var exact = [Float](repeating: 0, count: tOut * cout)
            for o in 0..<cout {
                var mean = 0.0, m2 = 0.0
                for t in 0..<tOut { mean += z[t * cout + o] }
                mean /= Double(tOut)
                for t in 0..<tOut { let d = z[t * cout + o] - mean; m2 += d * d }
                let rstd = 1 / (m2 / Double(tOut) + 1e-5).squareRoot()
                for t in 0..<tOut {
                    let v = (z[t * cout + o] - mean) * rstd * Double(norm.weight[o]) + Double(norm.bias[o])
                    exact[t * cout + o] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
                }
            }
            var fast = [Float](repeating: .nan, count: tOut * cout), taped = fast
            var rstd = [Float](repeating: 0, count: cout), normScratch = [Float](repeating: 0, count: 2 * cout)
            x.withUnsafeBufferPointer { xp in
                guard let xp = xp.baseAddress else { return }
                fast.withUnsafeMutableBufferPointer { f in
                    guard let f = f.baseAddress else { return }
                    encoder.convolveGroupNormGelu(cl, norm: norm, xp, frames: tOut, conv: f, into: f, scratch: scratch)
                }
                taped.withUnsafeMutableBufferPointer { tp in
                    guard let tp = tp.baseAddress else { return }
                    encoder.convolve(cl, xp, frames: tOut, into: tp, col: scratch.col)
                    Dense.columnNormalize(rows: tOut, cols: cout, x: tp, eps: 1e-5, rstd: &rstd, scratch: &normScratch)
                    Dense.affineGelu(tp, rows: tOut, cols: cout, gamma: norm.weight, beta: norm.bias, into: tp)
                }
            }
            let scale = max(1, maxAbs(exact))
            let errFast = maxAbsDiff(fast, exact), errTaped = maxAbsDiff(taped, exact)
            print("\(name): tape-less error \(errFast), taped error \(errTaped) (scale \(scale))")
            XCTAssertLessThanOrEqual(errFast, 1e-4 * scale, "\(name): tape-less GroupNorm + GELU off Double by \(errFast)")
            XCTAssertLessThanOrEqual(errFast, errTaped + 1e-6 * scale, "\(name): tape-less \(errFast) worse than taped \(errTaped)")
        }
    }
}
