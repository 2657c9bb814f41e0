import EmoModels
import EmoSpeechEncoders
import XCTest

/// Backward to the waveform against PyTorch autograd: the fixtures hold d(Σ_b mean_c pooled[b, c]) / d input, where
/// pooled is last_hidden_state averaged over each clip's real frames. Tolerance: 1e-4 × max |grad| (float32
/// accumulation over the whole network; observed errors are far smaller).
/// The tape-reading backward (`forward(recordTape: true)` then `inputGradientOfLastForward`, the default of
/// `inputGradient`) and the checkpointed one (layers recomputed during backward) both meet that tolerance, and
/// agree with each other to float32 rounding (they run the same kernels on the same values).
final class SpeechEncoderGradientTests: XCTestCase {
    func runCase(_ name: String, run: String) throws {
        let dir = Fixtures.encoder(name)
        let encoder = try SpeechEncoder(directory: dir.path)
        let expected = try SafeTensorsFile(path: dir.appendingPathComponent("expected.safetensors").path)
        let shape = try expected.info("\(run).input").shape
        let (b, n) = (shape[0], shape[1])
        let mask = try expected.floats("\(run).mask")
        let lengths = (0..<b).map { bi in Int(mask[(bi * n)..<((bi + 1) * n)].reduce(0, +)) }
        let c = encoder.config.hiddenSize
        let input = try expected.floats("\(run).input")
        let pooledGrad = [Float](repeating: 1 / Float(c), count: b * c)
        let (out, grad) = try encoder.inputGradient(input, batch: b, samples: n, lengths: b > 1 ? lengths : nil,
                                                    pooledGrad: pooledGrad)
        let (_, checkpointed) = try encoder.inputGradient(input, batch: b, samples: n, lengths: b > 1 ? lengths : nil,
                                                          pooledGrad: pooledGrad, checkpointed: true)
        _ = try encoder.forward(input, batch: b, samples: n, lengths: b > 1 ? lengths : nil, recordTape: true)
        let ofLast = try encoder.inputGradientOfLastForward(pooledGrad: pooledGrad)
        XCTAssertEqual(out.batch, b)
        let ref = try expected.floats("\(run).grad_input")
        let scale = maxAbs(ref)
        XCTAssertGreaterThan(scale, 0)
        for (label, g) in [("tape", grad), ("checkpointed", checkpointed), ("of last forward", ofLast)] {
            let d = maxAbsDiff(g, ref)
            XCTAssertLessThanOrEqual(d, 1e-4 * scale, "\(name) \(run) \(label): grad max abs diff \(d) vs scale \(scale)")
        }
        XCTAssertLessThanOrEqual(maxAbsDiff(grad, checkpointed), 1e-6 * scale, "\(name) \(run): tape vs checkpointed")
        XCTAssertLessThanOrEqual(maxAbsDiff(grad, ofLast), 1e-6 * scale, "\(name) \(run): tape vs of-last-forward")
    }

    func testBackwardWithoutARecordedForwardIsAnError() throws {
        let encoder = try SpeechEncoder(directory: Fixtures.encoder("wav2vec2-base").path)
        let x = (0..<1200).map { Float(sin(Double($0) * 0.05)) }
        _ = try encoder.forward(x, batch: 1, samples: 1200)
        XCTAssertThrowsError(try encoder.inputGradientOfLastForward(pooledGrad: [Float](repeating: 0, count: encoder.config.hiddenSize))) {
            XCTAssertTrue("\($0)".contains("recordTape"), "\($0)")
        }
    }

    func testGradientToInputMatchesAutogradSingleClip() throws {
        for name in SpeechEncoderParityTests.cases { try runCase(name, run: "single") }
    }

    func testGradientToInputMatchesAutogradPaddedBatch() throws {
        for name in SpeechEncoderParityTests.cases { try runCase(name, run: "batch") }
    }
}
