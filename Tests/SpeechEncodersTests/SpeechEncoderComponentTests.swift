import EmoTestSupport
import EmoCore
import EmoModels
import EmoPluginSDK
import EmoSpeechEncoders
import Foundation
import XCTest

/// The wav2vec2 / hubert / wavlm components: config, normalisation + pooling against Hugging Face, backward.
final class SpeechEncoderComponentTests: XCTestCase {
    static var root: URL { TestRepository.root }

    static func fixture(_ name: String) -> URL { root.appendingPathComponent("Tests/EmoModelsTests/Fixtures/encoders/\(name)") }

    func testPluginComponentListIsValid() {
        XCTAssertEqual(PluginExport.validate([Wav2Vec2Encoder.self, HuBERTEncoder.self, WavLMEncoder.self]), [])
        XCTAssertEqual(WavLMEncoder.componentInfo.kind, .encoder)
        XCTAssertEqual(WavLMEncoder.componentInfo.configDefaults["pooling"], "mean")
    }

    /// Raw audio in (the component normalises it), HF's mean-pooled last_hidden_state out, single and padded batch.
    func testEmbeddingMatchesTransformersFromRawAudio() throws {
        let cases: [(String, (JSONValue) throws -> any Component)] = [
            ("wav2vec2-base", { try Wav2Vec2Encoder(config: $0) }), ("hubert-large", { try HuBERTEncoder(config: $0) }),
            ("wavlm-base", { try WavLMEncoder(config: $0) }),
        ]
        for (name, make) in cases {
            let dir = Self.fixture(name)
            let enc = try make(["model": .string(dir.path)])
            let expected = try SafeTensorsFile(path: dir.appendingPathComponent("expected.safetensors").path)
            for run in ["single", "batch"] {
                let shape = try expected.info("\(run).raw").shape
                let mask = try expected.floats("\(run).mask")
                let lengths = (0..<shape[0]).map { b in mask[(b * shape[1])..<((b + 1) * shape[1])].reduce(0, +) }
                var inputs: [Value] = [.array(try NDArray(shape: shape, data: try expected.floats("\(run).raw")))]
                if shape[0] > 1 { inputs.append(.array(NDArray(vector: lengths))) }
                let out = try enc.forward(inputs)
                let emb = try XCTUnwrap(out.first?.array)
                let ref = try expected.floats("\(run).pooled_mean")
                XCTAssertEqual(emb.shape, [shape[0], 32])
                let d = zip(emb.data, ref).map { abs($0 - $1) }.max() ?? .infinity
                XCTAssertLessThan(d, 1e-4 * max(1, ref.map(abs).max() ?? 0), "\(name) \(run)")
            }
        }
    }

    func testHiddenStatesAndLayerPooling() throws {
        let dir = Self.fixture("wavlm-large")
        let expected = try SafeTensorsFile(path: dir.appendingPathComponent("expected.safetensors").path)
        let raw = try NDArray(shape: [1, 1200], data: try expected.floats("single.raw"))
        let enc = try WavLMEncoder(config: ["model": .string(dir.path), "pooling": "layer", "layer": 1, "hidden_states": true])
        let out = try enc.forward([.array(raw)])
        XCTAssertEqual(out.count, 2)
        let hidden = try XCTUnwrap(out[1].array)
        XCTAssertEqual(hidden.shape, [3, 1, 59, 32])
        let h1 = try expected.floats("single.hidden_states.1")
        XCTAssertLessThan(zip(hidden.data[(59 * 32)..<(2 * 59 * 32)], h1).map { abs($0 - $1) }.max() ?? 1, 1e-3)
        // layer pooling = mean over frames of hidden_states[1]
        let emb = try XCTUnwrap(out[0].array)
        for c in 0..<32 {
            let m = (0..<59).map { h1[$0 * 32 + c] }.reduce(0, +) / 59
            XCTAssertEqual(emb.data[c], m, accuracy: 1e-4)
        }
    }

    /// A clip longer than `max_seconds` is refused by name before any memory is spent on it; the key is left out of
    /// the resolved config (it changes no output, so cached features stay valid).
    func testClipsLongerThanMaxSecondsAreRefused() throws {
        let encoder = try WavLMEncoder(config: ["model": .string(Self.fixture("wavlm-base").path), "max_seconds": 1])
        XCTAssertNil(encoder.resolvedDescription["config"]?["max_seconds"])
        XCTAssertNoThrow(try encoder.forward([.array(NDArray(vector: [Float](repeating: 0.01, count: 8_000)))]))
        XCTAssertThrowsError(try encoder.forward([.array(NDArray(vector: [Float](repeating: 0.01, count: 24_000)))])) {
            XCTAssertTrue("\($0)".contains("a clip of 1.5 s is longer than max_seconds (1 s)"), "\($0)")
        }
        XCTAssertThrowsError(try WavLMEncoder(config: ["model": .string(Self.fixture("wavlm-base").path), "max_seconds": 0])) {
            XCTAssertTrue("\($0)".contains("'max_seconds' must be ≥ 1"), "\($0)")
        }
    }

    func testConfigErrors() {
        XCTAssertThrowsError(try Wav2Vec2Encoder(config: [:])) { XCTAssertTrue("\($0)".contains("'model' is required"), "\($0)") }
        XCTAssertThrowsError(try Wav2Vec2Encoder(config: ["model": .string(Self.fixture("hubert-base").path)])) {
            XCTAssertTrue("\($0)".contains("hubert"), "\($0)")
        }
        XCTAssertThrowsError(try HuBERTEncoder(config: ["model": .string(Self.fixture("hubert-base").path), "pooling": "max"]))
        XCTAssertThrowsError(try HuBERTEncoder(config: ["model": .string(Self.fixture("hubert-base").path), "layer": 7]))
        XCTAssertThrowsError(try WavLMEncoder(config: ["model": "no-such-model-registered"])) {
            XCTAssertTrue("\($0)".contains("emo models import"), "\($0)")
        }
    }

    /// backward (embedding → raw audio, through the normalisation) against central finite differences.
    func testBackwardMatchesFiniteDifferences() throws {
        let dir = Self.fixture("wavlm-base")
        let expected = try SafeTensorsFile(path: dir.appendingPathComponent("expected.safetensors").path)
        let raw = try expected.floats("single.raw")
        let enc = try WavLMEncoder(config: ["model": .string(dir.path)])
        let weights = (0..<32).map { Float(($0 * 37) % 11) / 11 - 0.5 }
        func loss(_ x: [Float]) throws -> Double {
            let e = try XCTUnwrap(try enc.forward([.array(try NDArray(shape: [1, x.count], data: x))]).first?.array)
            return zip(e.data, weights).reduce(0) { $0 + Double($1.0 * $1.1) }
        }
        _ = try loss(raw)
        let grad = try enc.backward([try NDArray(shape: [1, 32], data: weights)])
        XCTAssertEqual(grad.count, 1)
        let g = grad[0].data
        XCTAssertEqual(grad[0].shape, [1, 1200])
        let scale = g.map(abs).max() ?? 0
        XCTAssertGreaterThan(scale, 0)
        // The 6 samples with the largest gradient, plus a few fixed ones.
        let idx = Array(g.indices.sorted { abs(g[$0]) > abs(g[$1]) }.prefix(6)) + [0, 600, 1199]
        let eps: Float = 1e-2
        for i in idx {
            var p = raw, m = raw
            p[i] += eps
            m[i] -= eps
            let fd = (try loss(p) - loss(m)) / Double(2 * eps)
            XCTAssertEqual(Double(g[i]), fd, accuracy: 0.05 * Double(scale), "sample \(i)")
        }
    }
}

/// Weighted-sum pooling: softmax(weights) over hidden states, then the mean over frames.
final class WeightedPoolingTests: XCTestCase {
    func testWeightedSumEqualsSoftmaxMixOfLayerMeans() throws {
        let dir = SpeechEncoderComponentTests.fixture("hubert-base")
        let expected = try SafeTensorsFile(path: dir.appendingPathComponent("expected.safetensors").path)
        let raw = try NDArray(shape: [1, 1200], data: try expected.floats("single.raw"))
        let w: [Double] = [0.5, -1, 2]
        let enc = try HuBERTEncoder(config: ["model": .string(dir.path), "pooling": "weighted", "layer_weights": .array(w.map { .number($0) })])
        let emb = try XCTUnwrap(try enc.forward([.array(raw)]).first?.array)
        let e = w.map { exp($0) }, s = e.reduce(0, +)
        for c in 0..<32 {
            var want = 0.0
            for l in 0..<3 {
                let h = try expected.floats("single.hidden_states.\(l)")
                want += e[l] / s * (0..<59).map { Double(h[$0 * 32 + c]) }.reduce(0, +) / 59
            }
            XCTAssertEqual(Double(emb.data[c]), want, accuracy: 1e-4)
        }
        XCTAssertThrowsError(try HuBERTEncoder(config: ["model": .string(dir.path), "pooling": "weighted", "layer_weights": [1, 2]]))
    }
}
