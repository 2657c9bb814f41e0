import EmoLayers
import EmoTensor
import EmoModels
import EmoSpeechEncoders
import XCTest

/// Layer-by-layer parity of the wav2vec2 / HuBERT / WavLM encoders with Hugging Face `transformers`, on the tiny
/// random-weight checkpoints written by Tests/Reference/make_encoder_fixtures.py (expected.safetensors holds HF's
/// activations). Tolerance: max |EmoKit − HF| ≤ 1e-4 × max(1, max |HF|) per tensor.
final class SpeechEncoderParityTests: XCTestCase {
    static let cases = ["wav2vec2-base", "wav2vec2-large", "hubert-base", "hubert-large", "wavlm-base", "wavlm-large"]

    func check(_ name: String, _ ours: [Float], _ theirs: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let tol = 1e-4 * max(1, maxAbs(theirs))
        let d = maxAbsDiff(ours, theirs)
        XCTAssertLessThanOrEqual(d, tol, "\(name) \(what): max abs diff \(d) > \(tol)", file: file, line: line)
    }

    func runCase(_ name: String, run: String) throws {
        let dir = Fixtures.encoder(name)
        let encoder = try SpeechEncoder(directory: dir.path)
        let expected = try SafeTensorsFile(path: dir.appendingPathComponent("expected.safetensors").path)
        let inputInfo = try expected.info("\(run).input")
        let (b, n) = (inputInfo.shape[0], inputInfo.shape[1])
        let input = try expected.floats("\(run).input")
        // Input normalisation per preprocessor_config.json matches Wav2Vec2FeatureExtractor.
        let raw = try expected.floats("\(run).raw"), mask = try expected.floats("\(run).mask")
        let lengths = (0..<b).map { bi in Int(mask[(bi * n)..<((bi + 1) * n)].reduce(0, +)) }
        let clips = (0..<b).map { bi in Array(raw[(bi * n)..<(bi * n + lengths[bi])]) }
        let prepared = encoder.prepare(clips)
        check(name, prepared.input, input, "\(run) normalised input")

        let out = try encoder.forward(input, batch: b, samples: n, lengths: b > 1 ? lengths : nil, keepConvFeatures: true)
        check(name, out.convFeatures ?? [], try expected.floats("\(run).conv_features"), "\(run) conv features")
        let layers = Int(expected.metadata["hidden_states"] ?? "") ?? -1
        XCTAssertEqual(out.layers, layers, "\(name): number of hidden states")
        let per = out.batch * out.frames * out.channels
        for i in 0..<min(layers, out.layers) {
            check(name, Array(out.hiddenStates[(i * per)..<((i + 1) * per)]), try expected.floats("\(run).hidden_states.\(i)"), "\(run) hidden_states[\(i)]")
        }
        check(name, out.lastHiddenState, try expected.floats("\(run).last_hidden_state"), "\(run) last_hidden_state")
        check(name, out.meanPooled(), try expected.floats("\(run).pooled_mean"), "\(run) mean over valid frames")
        // Layers in place, only the last hidden state kept (what mean pooling uses).
        let lean = try encoder.forward(input, batch: b, samples: n, lengths: b > 1 ? lengths : nil, keepHiddenStates: false)
        XCTAssertTrue(lean.hiddenStates.isEmpty)
        check(name, lean.lastHiddenState, try expected.floats("\(run).last_hidden_state"), "\(run) last_hidden_state (in place)")
        check(name, lean.meanPooled(), try expected.floats("\(run).pooled_mean"), "\(run) mean (in place)")
        let frameMask = try expected.floats("\(run).frame_mask")
        XCTAssertEqual(out.frameLengths, (0..<b).map { bi in Int(frameMask[(bi * out.frames)..<((bi + 1) * out.frames)].reduce(0, +)) })
    }

    func testSingleClipMatchesTransformers() throws {
        for name in Self.cases { try runCase(name, run: "single") }
    }

    func testPaddedBatchMatchesTransformers() throws {
        for name in Self.cases { try runCase(name, run: "batch") }
    }

    /// A forward without a tape splits the batch across threads (one sub-batch per thread, serial GEMMs); its
    /// outputs must be those of one pass over the whole batch: every hidden state, conv features, frame lengths.
    /// Forces two threads so the split also runs on a one-core machine; 3 clips split unevenly (1 + 2).
    func testBatchSplitForwardEqualsOnePass() throws {
        try forEachSplitCase(frequency: 0.031, noise: 0.7, lengths: [4000, 2500, 3100]) { name, encoder, x, b, n, lengths in
            let split = try encoder.forward(x, batch: b, samples: n, lengths: lengths, keepConvFeatures: true)
            let whole = try Dense.serially { try encoder.forward(x, batch: b, samples: n, lengths: lengths, keepConvFeatures: true) }
            XCTAssertEqual(split.hiddenStates.count, whole.hiddenStates.count)
            XCTAssertEqual(split.frameLengths, whole.frameLengths)
            check(name, split.hiddenStates, whole.hiddenStates, "split vs one pass: hidden states")
            check(name, split.lastHiddenState, whole.lastHiddenState, "split vs one pass: last hidden state")
            check(name, split.convFeatures ?? [], whole.convFeatures ?? [], "split vs one pass: conv features")
            print("\(name): split vs one pass max abs diff \(maxAbsDiff(split.hiddenStates, whole.hiddenStates)) of \(maxAbs(whole.hiddenStates))")
            XCTAssertLessThanOrEqual(maxAbsDiff(split.hiddenStates, whole.hiddenStates), 1e-5 * max(1, maxAbs(whole.hiddenStates)),
                                     "\(name): the split changes results beyond rounding")
        }
    }

    /// A taped forward splits the same way, each sub-batch on its own instance over the same weights with its own
    /// tape, and the backward splits with it: outputs and input gradients equal one pass's up to rounding.
    func testBatchSplitTapedForwardAndBackwardEqualOnePass() throws {
        try forEachSplitCase(frequency: 0.027, noise: 0.9, lengths: [4000, 2600, 3300]) { name, encoder, x, b, n, lengths in
            let c = encoder.config.hiddenSize
            let pooledGrad = (0..<(b * c)).map { Float(($0 * 7919) % 13) / 13 - 0.5 }
            let split = try encoder.forward(x, batch: b, samples: n, lengths: lengths, recordTape: true)
            let dSplit = try encoder.inputGradientOfLastForward(pooledGrad: pooledGrad)
            let (whole, dWhole) = try Dense.serially { () throws -> (SpeechEncoderOutput, [Float]) in
                let out = try encoder.forward(x, batch: b, samples: n, lengths: lengths, recordTape: true)
                return (out, try encoder.inputGradientOfLastForward(pooledGrad: pooledGrad))
            }
            check(name, split.lastHiddenState, whole.lastHiddenState, "taped split vs one pass: last hidden state")
            XCTAssertEqual(dSplit.count, b * n)
            let d = maxAbsDiff(dSplit, dWhole)
            print("\(name): taped split vs one pass input gradient max abs diff \(d) of \(maxAbs(dWhole))")
            XCTAssertLessThanOrEqual(d, 1e-5 * max(1, maxAbs(dWhole)), "\(name): the split changes the input gradient beyond rounding")
        }
    }

    /// Runs `body` for wav2vec2-base and WavLM-base with two threads forced (so the batch split also runs on a
    /// one-core machine) on 3 clips of 4000 samples (split unevenly, 1 + 2): chirps of base `frequency` with a
    /// cosine of `noise` rad/sample, real lengths `lengths`.
    private func forEachSplitCase(frequency: Float, noise: Float, lengths: [Int],
                                  _ body: (String, SpeechEncoder, [Float], Int, Int, [Int]) throws -> Void) throws {
        let saved = Dense.threads
        Dense.threads = 2
        defer { Dense.threads = saved }
        for name in ["wav2vec2-base", "wavlm-base"] {
            let encoder = try SpeechEncoder(directory: Fixtures.encoder(name).path)
            let (b, n) = (3, 4000)
            var x = [Float](repeating: 0, count: b * n)
            for i in x.indices { x[i] = sinf(Float(i % n) * frequency * Float(1 + i / n)) + 0.1 * cosf(Float(i) * noise) }
            try body(name, encoder, x, b, n, lengths)
        }
    }
}
