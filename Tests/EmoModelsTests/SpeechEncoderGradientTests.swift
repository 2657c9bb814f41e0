import EmoModels
import XCTest

/// Backward to the waveform against PyTorch autograd: the fixtures hold d(Σ_b mean_c pooled[b, c]) / d input, where
/// pooled is last_hidden_state averaged over each clip's real frames. Tolerance: 1e-4 × max |grad| (float32
/// accumulation over the whole network; observed errors are far smaller).
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
        let (out, grad) = try encoder.inputGradient(try expected.floats("\(run).input"), batch: b, samples: n,
                                                    lengths: b > 1 ? lengths : nil,
                                                    pooledGrad: [Float](repeating: 1 / Float(c), count: b * c))
        XCTAssertEqual(out.batch, b)
        let ref = try expected.floats("\(run).grad_input")
        let scale = maxAbs(ref)
        XCTAssertGreaterThan(scale, 0)
        let d = maxAbsDiff(grad, ref)
        XCTAssertLessThanOrEqual(d, 1e-4 * scale, "\(name) \(run): grad max abs diff \(d) vs scale \(scale)")
    }

    func testGradientToInputMatchesAutogradSingleClip() throws {
        for name in SpeechEncoderParityTests.cases { try runCase(name, run: "single") }
    }

    func testGradientToInputMatchesAutogradPaddedBatch() throws {
        for name in SpeechEncoderParityTests.cases { try runCase(name, run: "batch") }
    }
}
