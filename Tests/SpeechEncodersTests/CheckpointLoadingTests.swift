import EmoCore
import EmoModels
import EmoSpeechEncoders
import Foundation
import XCTest

/// Loading speech-encoder checkpoints: names kept at the boundary, every mismatch named in the error, task-model
/// prefixes, legacy weight-norm names, F16 weights, config validation, the model registry.
final class CheckpointLoadingTests: XCTestCase {
    typealias Tensors = [(name: String, shape: [Int], values: [Float])]

    /// The tiny wav2vec2-base fixture's tensors, in file order.
    func fixtureTensors(_ name: String = "wav2vec2-base") throws -> Tensors {
        let f = try SafeTensorsFile(path: Fixtures.encoder(name).appendingPathComponent("model.safetensors").path)
        return try f.names.map { ($0, try f.info($0).shape, try f.floats($0)) }
    }

    /// A checkpoint folder with the fixture's config and `tensors`.
    func folder(_ tensors: Tensors, from fixture: String = "wav2vec2-base", dtype: SafeTensorsFile.DType = .f32) throws -> URL {
        let dir = try Fixtures.tempDir()
        for file in ["config.json", "preprocessor_config.json"] {
            try FileManager.default.copyItem(at: Fixtures.encoder(fixture).appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        var w = SafeTensorsWriter()
        for t in tensors { w.add(t.name, shape: t.shape, values: t.values, dtype: dtype) }
        try w.write(to: dir.appendingPathComponent("model.safetensors").path)
        return dir
    }

    func output(_ dir: URL) throws -> [Float] {
        let enc = try SpeechEncoder(directory: dir.path)
        let x = (0..<1200).map { sinf(Float($0) * 0.05) }
        return try enc.forward(x, batch: 1, samples: x.count).hiddenStates
    }

    /// A sharded checkpoint (two safetensors shards and `model.safetensors.index.json`, as Hugging Face publishes
    /// large models) loads to the same outputs as the single file; a missing shard and a broken index are named.
    func testShardedSafetensorsLoadLikeOneFile() throws {
        let tensors = try fixtureTensors()
        let single = try folder(tensors)
        let dir = try Fixtures.tempDir()
        for file in ["config.json", "preprocessor_config.json"] {
            try FileManager.default.copyItem(at: single.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        var shards = [SafeTensorsWriter(), SafeTensorsWriter()]
        var map: [String: JSONValue] = [:]
        for (i, t) in tensors.enumerated() {
            shards[i % 2].add(t.name, shape: t.shape, values: t.values)
            map[t.name] = .string("model-0000\(i % 2 + 1)-of-00002.safetensors")
        }
        for (k, w) in shards.enumerated() { try w.write(to: dir.appendingPathComponent("model-0000\(k + 1)-of-00002.safetensors").path) }
        let index = dir.appendingPathComponent("model.safetensors.index.json")
        try Data(JSONValue.object(["weight_map": .object(map)]).serialized().utf8).write(to: index)
        XCTAssertEqual(try output(dir), try output(single))

        try FileManager.default.removeItem(at: dir.appendingPathComponent("model-00002-of-00002.safetensors"))
        XCTAssertThrowsError(try SpeechEncoder(directory: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("model-00002-of-00002.safetensors: missing: the index names it for"), "\(error)")
        }
        try Data(#"{"metadata": {}}"#.utf8).write(to: index)
        XCTAssertThrowsError(try SpeechEncoder(directory: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("no \"weight_map\" object"), "\(error)")
        }
    }

    func testMissingTensorIsNamed() throws {
        let dir = try folder(try fixtureTensors().filter { $0.name != "encoder.layers.1.attention.k_proj.bias" })
        XCTAssertThrowsError(try SpeechEncoder(directory: dir.path)) { e in
            XCTAssertEqual(e as? CheckpointError, .missingTensor(path: dir.appendingPathComponent("model.safetensors").path,
                                                                 name: "encoder.layers.1.attention.k_proj.bias"))
            XCTAssertTrue("\(e)".contains("encoder.layers.1.attention.k_proj.bias"))
        }
    }

    func testMisShapedTensorIsNamedWithBothShapes() throws {
        var t = try fixtureTensors()
        let i = try XCTUnwrap(t.firstIndex { $0.name == "feature_projection.projection.weight" })
        t[i].shape = [t[i].shape[1], t[i].shape[0]]
        let dir = try folder(t)
        XCTAssertThrowsError(try SpeechEncoder(directory: dir.path)) { e in
            guard case .wrongShape(_, let name, let expected, let found)? = e as? CheckpointError else { return XCTFail("\(e)") }
            XCTAssertEqual(name, "feature_projection.projection.weight")
            XCTAssertEqual(expected, [32, 16])
            XCTAssertEqual(found, [16, 32])
        }
    }

    func testUnexpectedTensorsAreNamed() throws {
        let dir = try folder(try fixtureTensors() + [("encoder.layers.0.attention.extra.weight", [2], [1, 2])])
        XCTAssertThrowsError(try SpeechEncoder(directory: dir.path)) { e in
            guard case .unexpectedTensors(_, let names)? = e as? CheckpointError else { return XCTFail("\(e)") }
            XCTAssertEqual(names, ["encoder.layers.0.attention.extra.weight"])
        }
    }

    /// `Wav2Vec2ForCTC`-style checkpoints: the encoder under `wav2vec2.`, a head beside it (ignored).
    func testTaskModelPrefixAndHeadsLoadToTheSameNetwork() throws {
        let plain = try fixtureTensors()
        let prefixed = plain.map { ("wav2vec2." + $0.name, $0.shape, $0.values) }
            + [("lm_head.weight", [5, 32], [Float](repeating: 0.1, count: 160)), ("wav2vec2.masked_spec_embed", [32], [Float](repeating: 0, count: 32))]
        XCTAssertEqual(try output(try folder(prefixed)), try output(try folder(plain)))
    }

    /// Checkpoints saved before torch's parametrizations API store `weight_g` / `weight_v`.
    func testLegacyWeightNormNamesLoad() throws {
        let plain = try fixtureTensors()
        let legacy = plain.map { t -> (String, [Int], [Float]) in
            let n = t.name.replacingOccurrences(of: "parametrizations.weight.original0", with: "weight_g")
                .replacingOccurrences(of: "parametrizations.weight.original1", with: "weight_v")
            return (n, t.shape, t.values)
        }
        XCTAssertNotEqual(legacy.map(\.0), plain.map(\.name))
        XCTAssertEqual(try output(try folder(legacy)), try output(try folder(plain)))
    }

    /// An F16 checkpoint gives exactly what F32 weights holding the same (F16-rounded) values give.
    func testHalfPrecisionCheckpointConvertsExactly() throws {
        let half = try folder(try fixtureTensors(), dtype: .f16)
        let halfFile = try SafeTensorsFile(path: half.appendingPathComponent("model.safetensors").path)
        let rounded = try halfFile.names.map { ($0, try halfFile.info($0).shape, try halfFile.floats($0)) }
        XCTAssertEqual(try output(half), try output(try folder(rounded)))
        let bf = try folder(try fixtureTensors(), dtype: .bf16)
        let ref = try output(try folder(try fixtureTensors()))
        let d = maxAbsDiff(try output(bf), ref)
        XCTAssertGreaterThan(d, 0, "bf16 rounding must change something")
        XCTAssertLessThan(d, 0.2 * max(1, maxAbs(ref)), "bf16 weights stay close to f32")
    }

    func testConfigErrorsNameTheKey() throws {
        func parse(_ text: String) -> String {
            do { _ = try SpeechEncoderConfig(json: try JSONValue.parse(text), path: "config.json"); return "ok" } catch { return "\(error)" }
        }
        XCTAssertTrue(parse(#"{"model_type":"bert"}"#).contains("bert"))
        XCTAssertTrue(parse(#"{}"#).contains("model_type"))
        XCTAssertTrue(parse(#"{"model_type":"wav2vec2","hidden_size":30,"num_attention_heads":4}"#).contains("divisible"))
        XCTAssertTrue(parse(#"{"model_type":"wav2vec2","conv_dim":[512,512],"conv_kernel":[10]}"#).contains("same length"))
        XCTAssertTrue(parse(#"{"model_type":"hubert","feat_extract_norm":"batch"}"#).contains("feat_extract_norm"))
        XCTAssertTrue(parse(#"{"model_type":"wavlm","hidden_act":"relu"}"#).contains("hidden_act"))
        XCTAssertTrue(parse(#"{"model_type":"wav2vec2","add_adapter":true}"#).contains("add_adapter"))
        XCTAssertEqual(parse(#"{"model_type":"wavlm"}"#), "ok")
        let base = try SpeechEncoderConfig(json: ["model_type": "wav2vec2"], path: "c")
        XCTAssertEqual(base.frameCount(samples: 48_000), 149, "wav2vec2-base: 3 s → 149 frames (HF)")
        XCTAssertEqual(base.frameCount(samples: 399), 0)
        XCTAssertEqual(base.frameCount(samples: 400), 1)
    }

    /// The layout list and the random-checkpoint writer agree with the loader for every family.
    func testRandomCheckpointOfEveryFamilyLoads() throws {
        for family in SpeechEncoderConfig.Family.allCases {
            let json: JSONValue = ["model_type": .string(family.rawValue), "hidden_size": 16, "num_hidden_layers": 1,
                                   "num_attention_heads": 2, "intermediate_size": 8, "conv_dim": [8, 8],
                                   "conv_kernel": [10, 3], "conv_stride": [5, 2], "num_conv_pos_embeddings": 4,
                                   "num_conv_pos_embedding_groups": 2, "num_buckets": 8, "max_bucket_distance": 16]
            let cfg = try SpeechEncoderConfig(json: json, path: "c")
            let dir = try Fixtures.tempDir()
            try cfg.writeRandomCheckpoint(to: dir.path, configJSON: json, seed: 1)
            let enc = try SpeechEncoder(directory: dir.path)
            // Weight norm folds g [1, 1, K] into the positional conv weight, so K fewer parameters remain.
            XCTAssertEqual(enc.parameterCount, cfg.checkpointTensors.reduce(0) { $0 + $1.shape.reduce(1, *) } - cfg.posConvKernel,
                           "\(family): every checkpoint tensor is loaded once")
            let out = try enc.forward([Float](repeating: 0.1, count: 800), batch: 1, samples: 800)
            XCTAssertEqual(out.layers, 2)
            XCTAssertTrue(out.lastHiddenState.allSatisfy(\.isFinite))
        }
    }

    func testModelRegistryRoundTrip() throws {
        let dir = try Fixtures.tempDir()
        let reg = ModelRegistry(file: dir.appendingPathComponent("models.json").path)
        XCTAssertEqual(try reg.entries().count, 0)
        try reg.register(name: "tiny-w2v", entry: .init(path: Fixtures.encoder("wav2vec2-base").path, family: "wav2vec2", parameters: 7))
        XCTAssertEqual(try reg.resolve("tiny-w2v"), Fixtures.encoder("wav2vec2-base").path)
        XCTAssertEqual(try reg.entries()["tiny-w2v"]?.parameters, 7)
        XCTAssertEqual(try reg.resolve(dir.path), dir.path, "an existing folder resolves to itself")
        XCTAssertThrowsError(try reg.resolve("no-such-model"))
        XCTAssertThrowsError(try reg.register(name: "Bad Name", entry: .init(path: "/", family: "", parameters: 0)))
    }
}
