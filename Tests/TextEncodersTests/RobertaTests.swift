import EmoCore
import EmoModels
import EmoTextEncoders
import EmoTestSupport
import Foundation
import XCTest

/// RoBERTa encoder parity with transformers' TextTransformer on a tiny random-weight checkpoint
/// (fixtures from Tests/Reference/make_text_fixtures.py: hidden 32, 2 layers, 4 heads, vocab 513).
final class RobertaTests: XCTestCase {
    static let modelFolder = Fixtures.folder.appendingPathComponent("tiny-roberta").path

    /// Largest |a − b| divided by the largest |b| (at least 1): the tolerance's "relative to activation scale".
    func scaledMaxDiff(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
        precondition(a.count == b.count)
        var diff: Float = 0, scale: Float = 1
        for (x, y) in zip(a, b) { diff = max(diff, abs(x - y)); scale = max(scale, abs(y)) }
        return diff / scale
    }

    func testTokenizerGivesTheReferenceIDsAndMask() throws {
        let fx = try Fixtures.json("tiny_roberta_activations.json")
        let tok = try RobertaTokenizer(folder: Self.modelFolder)
        let texts = try XCTUnwrap(fx["texts"] as? [String])
        let batch = try tok.encode(batch: texts, maxLength: 24, padding: .longest)
        let refIDs = try XCTUnwrap(fx["input_ids"] as? [[Any]]).map { ints($0) }
        let refMask = try XCTUnwrap(fx["attention_mask"] as? [[Any]]).map { ints($0) }
        XCTAssertEqual(batch.ids, refIDs)
        XCTAssertEqual(batch.attentionMask, refMask)
    }

    func testEveryHiddenStateMatchesTransformers() throws {
        let fx = try Fixtures.json("tiny_roberta_activations.json")
        let model = try TextTransformer(folder: Self.modelFolder)
        let ids = try XCTUnwrap(fx["input_ids"] as? [[Any]]).map { ints($0) }
        let mask = try XCTUnwrap(fx["attention_mask"] as? [[Any]]).map { ints($0) }
        let shape = ints(fx["hidden_states_shape"])  // [L+1, B, T, C]
        let reference = floats(fx["hidden_states"])
        let out = try model.forward(ids: ids, mask: mask, keepHiddenStates: true)
        let hidden = try XCTUnwrap(out.hiddenStates)
        XCTAssertEqual([model.config.numLayers + 1, out.batch, out.tokens, out.channels], shape)
        XCTAssertEqual(hidden.count, reference.count)
        let per = shape[1] * shape[2] * shape[3]
        for l in 0..<shape[0] {
            let d = scaledMaxDiff(hidden[(l * per)..<((l + 1) * per)], reference[(l * per)..<((l + 1) * per)])
            XCTAssertLessThanOrEqual(d, 1e-4, "hidden state \(l) (0 = embeddings) differs from transformers by \(d) of its scale")
            print("tiny-roberta hidden state \(l): max |swift - transformers| / max(1, max |transformers|) = \(d)")
        }
        XCTAssertEqual(Array(hidden.suffix(per)), out.lastHiddenState)
    }

    func testEncoderComponentPoolsCLSAndMaskedMeanLikeTheReference() throws {
        let fx = try Fixtures.json("tiny_roberta_activations.json")
        let texts = try XCTUnwrap(fx["texts"] as? [String])
        let inputs = texts.map { Value.text($0) }
        for (pooling, key) in [("cls", "cls"), ("mean", "mean")] {
            for padding in ["longest", "max_length"] {
                let encoder = try RobertaEncoder(config: ["model": .string(Self.modelFolder), "max_tokens": 24,
                                                          "pooling": .string(pooling), "padding": .string(padding)])
                let out = try encoder.forward(inputs)
                XCTAssertEqual(out.count, 1)
                let emb = try XCTUnwrap(out[0].array)
                XCTAssertEqual(emb.shape, [texts.count, 32])
                let d = scaledMaxDiff(emb.data[...], floats(fx[key])[...])
                XCTAssertLessThanOrEqual(d, 1e-4, "\(pooling) pooling with \(padding) padding")
            }
        }
    }

    func testHiddenStatesOutputAndLayerChoice() throws {
        let encoder = try RobertaEncoder(config: ["model": .string(Self.modelFolder), "hidden_states": true, "layer": 0])
        let out = try encoder.forward([.text("Kids are talking by the door"), .text("Dogs")])
        XCTAssertEqual(out.count, 2)
        let hidden = try XCTUnwrap(out[1].array)
        XCTAssertEqual(hidden.shape.count, 4)
        XCTAssertEqual(Array(hidden.shape.prefix(2)), [3, 2])
        let t = hidden.shape[2], c = hidden.shape[3]
        // layer 0 = embeddings output: the CLS vector is row (b, 0) of hidden state 0.
        let emb = try XCTUnwrap(out[0].array)
        XCTAssertEqual(Array(emb.data[0..<c]), Array(hidden.data[0..<c]))
        XCTAssertEqual(Array(emb.data[c..<(2 * c)]), Array(hidden.data[(t * c)..<(t * c + c)]))
    }

    func testTokenIDInputGivesTheSameEmbeddingAsText() throws {
        let fx = try Fixtures.json("tiny_roberta_activations.json")
        let ids = try XCTUnwrap(fx["input_ids"] as? [[Any]]).map { ints($0) }
        let encoder = try RobertaEncoder(config: ["model": .string(Self.modelFolder), "max_tokens": 24])
        let out = try encoder.forward([.ids(shape: [ids.count, ids[0].count], values: ids.joined().map { Int64($0) })])
        let d = scaledMaxDiff(try XCTUnwrap(out[0].array).data[...], floats(fx["cls"])[...])
        XCTAssertLessThanOrEqual(d, 1e-4)
    }

    func testMissingAndMisShapedTensorsAreNamed() throws {
        let source = try SafeTensorsFile(path: Self.modelFolder + "/model.safetensors")
        let config = try TextTransformerConfig(path: Self.modelFolder + "/config.json")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("roberta-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        func rewrite(prefix: String = "", extra: [String: [Float]] = [:],
                     _ edit: (String, [Int], [Float]) -> (shape: [Int], values: [Float])?) throws -> SafeTensorsFile {
            var w = SafeTensorsWriter()
            for name in source.names {
                let info = try source.info(name)
                if let (shape, values) = edit(name, info.shape, try source.floats(name)) { w.add(prefix + name, shape: shape, values: values) }
            }
            for (name, values) in extra { w.add(name, shape: [values.count], values: values) }
            let path = dir.appendingPathComponent("m\(UUID().uuidString).safetensors").path
            try w.write(to: path)
            return try SafeTensorsFile(path: path)
        }
        let missing = try rewrite { name, shape, v in name == "encoder.layer.1.attention.self.key.bias" ? nil : (shape, v) }
        XCTAssertThrowsError(try TextTransformer(config: config, weights: missing)) { error in
            XCTAssertEqual(error as? CheckpointError, .missingTensor(path: missing.path, name: "encoder.layer.1.attention.self.key.bias"))
        }
        let wrong = try rewrite { name, shape, v in
            name == "encoder.layer.0.intermediate.dense.weight" ? ([32, 64], v) : (shape, v)
        }
        XCTAssertThrowsError(try TextTransformer(config: config, weights: wrong)) { error in
            XCTAssertTrue("\(error)".contains("encoder.layer.0.intermediate.dense.weight"), "\(error)")
            XCTAssertTrue("\(error)".contains("[64, 32]"), "\(error)")
        }
        // A RobertaForMaskedLM-style checkpoint: everything under "roberta.", plus an lm_head: loads, same outputs.
        let prefixed = try rewrite(prefix: "roberta.", extra: ["lm_head.bias": [Float](repeating: 0, count: 513)]) { _, shape, v in (shape, v) }
        let plain = try TextTransformer(folder: Self.modelFolder)
        let task = try TextTransformer(config: config, weights: prefixed)
        let ids = [[0, 100, 200, 2]], mask = [[1, 1, 1, 1]]
        XCTAssertEqual(try task.forward(ids: ids, mask: mask).lastHiddenState, try plain.forward(ids: ids, mask: mask).lastHiddenState)
        let unexpected = try rewrite(extra: ["encoder.layer.9.output.dense.bias": [0, 0]]) { _, shape, v in (shape, v) }
        XCTAssertThrowsError(try TextTransformer(config: config, weights: unexpected)) {
            XCTAssertTrue("\($0)".contains("encoder.layer.9.output.dense.bias"), "\($0)")
        }
        let extra = try rewrite { name, shape, v in name.hasPrefix("pooler") ? ([shape.reduce(1, *)], v) : (shape, v) }
        XCTAssertNoThrow(try TextTransformer(config: config, weights: extra), "pooler tensors are ignored")
    }

    func testConfigAndInputErrorsAreReported() throws {
        XCTAssertThrowsError(try RobertaEncoder(config: ["model": ""])) { XCTAssertTrue("\($0)".contains("model")) }
        XCTAssertThrowsError(try RobertaEncoder(config: ["model": "/nonexistent/roberta"])) {
            XCTAssertTrue("\($0)".contains("/nonexistent/roberta"), "\($0)")
        }
        XCTAssertThrowsError(try RobertaEncoder(config: ["model": .string(Self.modelFolder), "pooling": "max"]))
        XCTAssertThrowsError(try RobertaEncoder(config: ["model": .string(Self.modelFolder), "max_tokens": "64"])) {
            XCTAssertTrue("\($0)".contains("max_tokens"), "\($0)")
        }
        XCTAssertThrowsError(try RobertaEncoder(config: ["model": .string(Self.modelFolder), "max_tokens": 500])) {
            XCTAssertTrue("\($0)".contains("70 positions"), "\($0)")  // 72 position rows − padding_idx 1 − 1
        }
        let encoder = try RobertaEncoder(config: ["model": .string(Self.modelFolder)])
        XCTAssertThrowsError(try encoder.forward([]))
        XCTAssertThrowsError(try encoder.forward([.ids(shape: [1, 3], values: [0, 9999, 2])])) {
            XCTAssertTrue("\($0)".contains("9999"), "\($0)")
        }
    }

    func testPositionIDsFollowRobertasPaddingOffset() throws {
        let model = try TextTransformer(folder: Self.modelFolder)
        // create_position_ids_from_input_ids: cumsum(id != pad) * (id != pad) + pad
        XCTAssertEqual(model.positionIDs([0, 50, 60, 2, 1, 1]), [2, 3, 4, 5, 1, 1])
    }

    /// A checkpoint holding NaN is refused by name and position when it is loaded (it used to load and give NaN
    /// features that were stored as successes).
    func testNonFiniteWeightsAreRefusedOnLoad() throws {
        let dir = try TestRepository.temporaryFolder(self)
        let folder = dir.appendingPathComponent("model").path
        try FileManager.default.copyItem(atPath: Self.modelFolder, toPath: folder)
        let weights = folder + "/model.safetensors"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: weights)))
        // Element 5 of the word embeddings (F32) becomes NaN: find it through the safetensors header.
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any])
        let entry = try XCTUnwrap(header["embeddings.word_embeddings.weight"] as? [String: Any])
        let start = 8 + headerLength + ints(entry["data_offsets"])[0] + 5 * 4
        bytes.replaceSubrange(start..<(start + 4), with: [0x00, 0x00, 0xC0, 0x7F])
        try Data(bytes).write(to: URL(fileURLWithPath: weights))
        XCTAssertThrowsError(try TextTransformer(folder: folder)) {
            XCTAssertTrue("\($0)".contains("embeddings.word_embeddings.weight' holds nan at element 5"), "\($0)")
        }
    }
}
