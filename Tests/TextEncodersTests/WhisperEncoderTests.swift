import EmoCore
import EmoMedia
import EmoTestSupport
import EmoTextEncoders
import Foundation
import XCTest

/// The `whisper-encoder` component on the real Whisper tiny.en: its 30 s mode against CTranslate2's encoder output
/// (fixtures from Tests/Reference/make_whisper_fixtures.py), its clip-length mode, pooling and bad input.
final class WhisperEncoderTests: XCTestCase {
    static let encoders: Result<[String: WhisperEncoder], Error> = Result {
        let model = try RealModels.whisperTinyEn()
        return ["30s": try WhisperEncoder(config: ["model": .string(model), "hidden_states": true]),
                "clip": try WhisperEncoder(config: ["model": .string(model), "window": "clip", "hidden_states": true])]
    }

    func encoder(_ window: String) throws -> WhisperEncoder { try XCTUnwrap(try Self.encoders.get()[window]) }

    func samples(_ relative: String) throws -> [Float] {
        let path = try TestRepository.sharedData().appendingPathComponent(relative).path
        return try MediaDecoder().decode(path: path).samples
    }

    func testThirtySecondModeMatchesCTranslate2OverTheRealFrames() throws {
        let encoder = try encoder("30s")
        let clips = try XCTUnwrap(Fixtures.json("whisper_reference.json")["clips"] as? [[String: Any]])
        for clip in clips.prefix(4) {
            let name = try XCTUnwrap(clip["clip"] as? String)
            let audio = try samples(name)
            XCTAssertEqual(WhisperEncoder.realFrames(samples: audio.count), clip["encoder_real_frames"] as? Int, name)
            let out = try encoder.forward([.array(try NDArray(shape: [audio.count], data: audio))])
            XCTAssertEqual(out.count, 2)
            let pooled = try XCTUnwrap(out[0].array)
            XCTAssertEqual(pooled.shape, [1, 384])
            let ref = floats(clip["encoder_real_mean"])
            let scale = Float(try XCTUnwrap(clip["encoder_abs_max"] as? Double))
            let diff = zip(pooled.data, ref).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(diff / max(1, scale), 1e-5, "\(name): mean over the real frames differs by \(diff)")
            // Hidden states: [L+1, 1, 1500, C]; the last is the final output, whose last real frame matches too.
            let hidden = try XCTUnwrap(out[1].array)
            XCTAssertEqual(hidden.shape, [5, 1, 1500, 384])
            let real = try XCTUnwrap(clip["encoder_real_frames"] as? Int)
            let row = Array(hidden.data[((4 * 1500) + real - 1) * 384..<((4 * 1500) + real) * 384])
            let rowDiff = zip(row, floats(clip["encoder_last_real_frame"])).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(rowDiff / max(1, scale), 1e-5, "\(name): last real frame differs by \(rowDiff)")
            print("whisper-encoder 30s \(name): mean over \(real) real frames max diff \(diff), last real frame \(rowDiff) (scale \(scale))")
        }
    }

    /// A Hugging Face checkpoint (random weights, Whisper's layout at d_model 64, stored as float16) against
    /// transformers' WhisperEncoder with output_hidden_states, every hidden state.
    func testHuggingFaceCheckpointMatchesTransformersEveryHiddenState() throws {
        let folder = Fixtures.folder.appendingPathComponent("tiny-whisper").path
        let encoder = try WhisperEncoder(config: ["model": .string(folder), "hidden_states": true])
        let clips = try XCTUnwrap(Fixtures.json("tiny_whisper_reference.json")["clips"] as? [[String: Any]])
        XCTAssertEqual(clips.count, 2)
        for clip in clips {
            let name = try XCTUnwrap(clip["clip"] as? String)
            let audio = try samples(name)
            let real = try XCTUnwrap(clip["real_frames"] as? Int)
            let out = try encoder.forward([.array(try NDArray(shape: [audio.count], data: audio))])
            let hidden = try XCTUnwrap(out[1].array)
            XCTAssertEqual(hidden.shape, [3, 1, 1500, 64])
            let states = try XCTUnwrap(clip["hidden_states"] as? [[String: Any]])
            XCTAssertEqual(states.count, 3)
            var worst: Float = 0
            for (l, ref) in states.enumerated() {
                let h = hidden.data[(l * 1500 * 64)..<((l + 1) * 1500 * 64)]
                let base = h.startIndex
                let mean = (0..<64).map { k in (0..<real).reduce(Float(0)) { $0 + h[base + $1 * 64 + k] } / Float(real) }
                let first = Array(h.prefix(3 * 64)), last = Array(h[(base + (real - 1) * 64)..<(base + real * 64)])
                for (mine, key) in [(mean, "real_mean"), (first, "first_frames"), (last, "last_real_frame")] {
                    let theirs = floats(ref[key])
                    XCTAssertEqual(theirs.count, mine.count)
                    let scale = max(1, theirs.map(abs).max() ?? 1)
                    let d = (zip(mine, theirs).map { abs($0 - $1) }.max() ?? .infinity) / scale
                    worst = max(worst, d)
                    XCTAssertLessThanOrEqual(d, 1e-4, "\(name) hidden state \(l) \(key): \(d) of its scale")
                }
            }
            print("whisper-encoder on a Hugging Face fp16 checkpoint, \(name): worst hidden-state diff \(worst) of scale")
        }
    }

    /// d (pooled · w) / d samples against torch autograd through Whisper's log-mel and the encoder, for the 30 s
    /// window with mean pooling and the clip window with mean-std and hidden-state-1 pooling.
    func testAudioGradientMatchesTorchAutograd() throws {
        let fx = try Fixtures.json("tiny_whisper_gradients.json")
        let audio = try samples(try XCTUnwrap(fx["clip"] as? String))
        let folder = Fixtures.folder.appendingPathComponent("tiny-whisper").path
        let cases = try XCTUnwrap(fx["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 3)
        for c in cases {
            let window = try XCTUnwrap(c["window"] as? String), pooling = try XCTUnwrap(c["pooling"] as? String)
            var config: JSONValue = ["model": .string(folder), "window": .string(window), "pooling": .string(pooling)]
            if pooling == "layer1" { config = ["model": .string(folder), "window": .string(window), "pooling": "layer", "layer": 1] }
            let encoder = try WhisperEncoder(config: config)
            let pooled = try XCTUnwrap(try encoder.forward([.array(try NDArray(shape: [1, audio.count], data: audio))]).first?.array)
            let refPooled = floats(c["pooled"])
            XCTAssertEqual(pooled.data.count, refPooled.count)
            XCTAssertLessThanOrEqual(zip(pooled.data, refPooled).map { abs($0 - $1) }.max() ?? 1, 1e-4, "\(window) \(pooling): pooled")
            let w = (0..<pooled.data.count).map { Float(sin(0.31 * Double($0))) }
            let grad = try encoder.backward([try NDArray(shape: [1, w.count], data: w)])
            XCTAssertEqual(grad[0].shape, [1, audio.count])
            let g = grad[0].data
            let scale = Float(try XCTUnwrap(c["grad_abs_max"] as? Double))
            XCTAssertGreaterThan(scale, 0)
            let idx = ints(c["indices"]), ref = floats(c["grad_at"])
            let diff = zip(idx, ref).map { abs(g[$0] - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(diff / scale, 1e-4, "\(window) \(pooling): gradient off by \(diff) of \(scale)")
            let norm = g.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
            let refNorm = Float(try XCTUnwrap(c["grad_norm"] as? Double))
            XCTAssertEqual(norm, refNorm, accuracy: refNorm * 1e-4, "\(window) \(pooling): gradient norm")
            print("whisper-encoder d(pooled · w)/d audio, \(window) \(pooling): max diff at 400 samples \(diff) / max |grad| \(scale) = \(diff / scale); norm \(norm) vs torch \(refNorm)")
        }
    }

    func testPoolingChoicesAgreeWithTheHiddenStates() throws {
        let model = try RealModels.whisperTinyEn()
        let audio = try samples("tess/YAF_happy/YAF_dog_happy.flac")
        let input: [Value] = [.array(try NDArray(shape: [audio.count], data: audio))]
        let real = WhisperEncoder.realFrames(samples: audio.count)
        let base = try encoder("clip").forward(input)
        let hidden = try XCTUnwrap(base[1].array)
        XCTAssertEqual(hidden.shape, [5, 1, real, 384], "clip mode runs the clip's own frames")
        func mean(_ l: Int) -> [Float] {
            (0..<384).map { k in (0..<real).reduce(Float(0)) { $0 + hidden.data[(l * real + $1) * 384 + k] } / Float(real) }
        }
        let layer2 = try WhisperEncoder(config: ["model": .string(model), "window": "clip", "pooling": "layer", "layer": 2]).forward(input)
        XCTAssertLessThanOrEqual(zip(try XCTUnwrap(layer2[0].array).data, mean(2)).map { abs($0 - $1) }.max() ?? 1, 1e-5)
        let weights: [Float] = [0, 0, 1, 0, 1]
        let weighted = try WhisperEncoder(config: ["model": .string(model), "window": "clip", "pooling": "weighted",
                                                   "layer_weights": .array(weights.map { .number(Double($0)) })]).forward(input)
        let e = weights.map { exp($0) }, sum = e.reduce(0, +)
        let expected = (0..<384).map { k in (0..<5).reduce(Float(0)) { $0 + e[$1] / sum * mean($1)[k] } }
        XCTAssertLessThanOrEqual(zip(try XCTUnwrap(weighted[0].array).data, expected).map { abs($0 - $1) }.max() ?? 1, 1e-4)
        // Mean pooling is the final output's mean; mean-std appends the population standard deviation.
        XCTAssertLessThanOrEqual(zip(try XCTUnwrap(base[0].array).data, mean(4)).map { abs($0 - $1) }.max() ?? 1, 1e-5)
        let meanStd = try XCTUnwrap(try WhisperEncoder(config: ["model": .string(model), "window": "clip", "pooling": "mean-std"]).forward(input).first?.array)
        XCTAssertEqual(meanStd.shape, [1, 768])
        let m4 = mean(4)
        let std = (0..<384).map { k in
            ((0..<real).reduce(Float(0)) { let d = hidden.data[(4 * real + $1) * 384 + k] - m4[k]; return $0 + d * d } / Float(real)).squareRoot()
        }
        XCTAssertLessThanOrEqual(zip(meanStd.data, m4 + std).map { abs($0 - $1) }.max() ?? 1, 1e-4)
    }

    func testABatchWithLengthsGivesEachClipsOwnEmbedding() throws {
        let encoder = try encoder("clip")
        let a = try samples("ravdess/Actor_01/03-01-01-01-01-01-01.flac")
        let b = Array(try samples("tess/YAF_happy/YAF_dog_happy.flac"))
        let n = max(a.count, b.count)
        let batch = (a + [Float](repeating: 0, count: n - a.count)) + (b + [Float](repeating: 0, count: n - b.count))
        let out = try XCTUnwrap(try encoder.forward([.array(try NDArray(shape: [2, n], data: batch)),
                                                     .array(try NDArray(shape: [2], data: [Float(a.count), Float(b.count)]))]).first?.array)
        for (r, clip) in [a, b].enumerated() {
            let alone = try XCTUnwrap(try encoder.forward([.array(try NDArray(shape: [clip.count], data: clip))]).first?.array)
            XCTAssertLessThanOrEqual(zip(out.data[(r * 384)..<((r + 1) * 384)], alone.data).map { abs($0 - $1) }.max() ?? 1, 1e-5)
        }
    }

    func testShortEmptyAndBrokenInputHaveAStatedBehaviour() throws {
        let encoder = try encoder("clip")
        // 0.1 s: five frames, a finite embedding.
        let tenth = (0..<1600).map { Float(sin(Double($0) * 0.05)) * 0.1 }
        let short = try XCTUnwrap(try encoder.forward([.array(try NDArray(shape: [1600], data: tenth))]).first?.array)
        XCTAssertTrue(short.data.allSatisfy(\.isFinite))
        XCTAssertEqual(WhisperEncoder.realFrames(samples: 1600), 5)
        XCTAssertThrowsError(try encoder.forward([.array(try NDArray(shape: [0], data: []))])) {
            XCTAssertTrue("\($0)".contains("empty"), "\($0)")
        }
        XCTAssertThrowsError(try encoder.forward([.array(try NDArray(shape: [3], data: [0, .nan, 0]))])) {
            XCTAssertTrue("\($0)".contains("finite"), "\($0)")
        }
        // A folder without Whisper weights.
        let dir = try TestRepository.temporaryFolder(self)
        try "{}".write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try WhisperEncoder(config: ["model": .string(dir.path)])) {
            XCTAssertTrue("\($0)".contains("model.bin"), "\($0)")
        }
        XCTAssertThrowsError(try WhisperEncoder(config: ["model": .string(try RealModels.whisperTinyEn()), "window": "10s"])) {
            XCTAssertTrue("\($0)".contains("window"), "\($0)")
        }
    }
}
