import EmoCore
import EmoModels
import EmoTestSupport
import EmoTextEncoders
import Foundation
import XCTest

/// Fine-tuning the BERT-family encoder: d loss / d every weight against torch.autograd (fixtures from
/// Tests/Reference/make_finetune_fixtures.py), central finite differences, dropout, state and export.
final class FineTuneTests: XCTestCase {
    static let tinyBert = Fixtures.folder.appendingPathComponent("tiny-bert").path
    static let tinyRoberta = Fixtures.folder.appendingPathComponent("tiny-roberta").path

    /// The fixture case `name` (of `file`).
    func fixtureCase(_ name: String, file: String = "finetune_gradients.json") throws -> [String: Any] {
        let cases = try XCTUnwrap(try Fixtures.json(file)["cases"] as? [[String: Any]])
        return try XCTUnwrap(cases.first { $0["name"] as? String == name }, "no case \(name)")
    }

    /// A trainable encoder for `folder` (every weight, no dropout) with the fixture case's pooling.
    func encoder(_ folder: String, _ c: [String: Any], fineTune: String = "all", dropout: Bool = false) throws -> any TrainableComponent {
        let config: JSONValue = ["model": .string(folder), "fine_tune": .string(fineTune), "dropout": .bool(dropout),
                                 "pooling": .string(try XCTUnwrap(c["pooling"] as? String)),
                                 "normalize": .bool(c["normalize"] as? Bool ?? false), "max_tokens": 40]
        let isRoberta = FileManager.default.fileExists(atPath: folder + "/merges.txt")
        return isRoberta ? try RobertaEncoder(config: config) : try BertEncoder(config: config)
    }

    /// The fixture's ids as one `.ids` input.
    func idsInput(_ c: [String: Any]) throws -> (Value, b: Int) {
        let ids = try XCTUnwrap(c["ids"] as? [[Any]]).map { ints($0) }
        return (.ids(shape: [ids.count, ids[0].count], values: ids.joined().map { Int64($0) }), ids.count)
    }

    /// R[b, k] = sin(0.37 (b C + k) + 0.1), the script's loss weights.
    func lossWeights(_ b: Int, _ c: Int) -> [Float] {
        (0..<(b * c)).map { Float(sin(0.37 * Double($0) + 0.1)) }
    }

    /// Our gradient of the Hugging Face parameter `name` (the fused q|k|v sliced back into query, key, value).
    func gradient(_ name: String, in params: [ParameterBuffer], channels c: Int) throws -> [Float] {
        let stripped = name.replacingOccurrences(of: "bert.", with: "").replacingOccurrences(of: "roberta.", with: "")
        for (k, role) in ["query", "key", "value"].enumerated() where stripped.contains("attention.self.\(role).") {
            let isWeight = stripped.hasSuffix(".weight")
            let fused = stripped.replacingOccurrences(of: "\(role).", with: "qkv.")
            let p = try XCTUnwrap(params.first { $0.name == fused }, "no parameter \(fused)")
            let part = isWeight ? c * c : c
            return Array(UnsafeBufferPointer(start: p.grad + k * part, count: part))
        }
        let p = try XCTUnwrap(params.first { $0.name == stripped }, "no parameter \(stripped)")
        return Array(UnsafeBufferPointer(start: p.grad, count: p.count))
    }

    /// One training forward + backward of Σ pooled · R; compares every parameter's gradient with the fixture.
    func checkAgainstTorch(_ name: String, folder: String, tolerance: Double, file: String = "finetune_gradients.json") throws {
        let c = try fixtureCase(name, file: file)
        let enc = try encoder(folder, c)
        enc.setTraining(true)
        let (input, b) = try idsInput(c)
        let pooled = try XCTUnwrap(try enc.forward([input]).first?.array)
        let width = pooled.shape[1]
        let refPooled = floats(c["pooled"])
        XCTAssertEqual(pooled.data.count, refPooled.count)
        let pooledDiff = zip(pooled.data, refPooled).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(pooledDiff, 2e-5, "\(name): pooled output")
        let params = enc.parameters
        for p in params { p.grad.update(repeating: 0, count: p.count) }
        XCTAssertEqual(try enc.backward([NDArray(shape: [b, width], data: lossWeights(b, width))]).count, 0)
        let refs = try XCTUnwrap(c["gradients"] as? [String: [String: Any]])
        let fused = params.filter { $0.name.contains(".qkv.") }.count  // each stands for query, key and value
        XCTAssertEqual(refs.count, params.count + 2 * fused, "\(name): every Hugging Face parameter has a counterpart")
        var worst = 0.0, worstName = ""
        for (pname, ref) in refs.sorted(by: { $0.key < $1.key }) {
            let mine = try gradient(pname, in: params, channels: width)
            let scale = try XCTUnwrap(ref["max_abs"] as? Double)
            let norm = try XCTUnwrap(ref["norm"] as? Double)
            let samples = try XCTUnwrap(ref["samples"] as? [[Double]])
            XCTAssertEqual(mine.count, try XCTUnwrap(ref["shape"] as? [Int]).reduce(1, *), pname)
            if pname.hasSuffix("attention.self.key.bias") {
                // Analytically zero (softmax ignores a shift shared by every key of a query): both sides hold only
                // rounding noise. Check that ours is noise too: tiny beside the same layer's query-weight gradient.
                let query = try gradient(pname.replacingOccurrences(of: "key.bias", with: "query.weight"), in: params, channels: width)
                let queryScale = query.map { abs(Double($0)) }.max() ?? 0
                let noise = mine.map { abs(Double($0)) }.max() ?? 0
                XCTAssertLessThanOrEqual(noise, 1e-4 * queryScale, "\(name) \(pname): should be rounding noise around 0")
                continue
            }
            var diff = 0.0
            for s in samples { diff = max(diff, abs(Double(mine[Int(s[0])]) - s[1])) }
            let myNorm = mine.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            let relative = scale > 0 ? diff / scale : diff
            XCTAssertLessThanOrEqual(relative, tolerance, "\(name) \(pname): off by \(diff) (largest |grad| \(scale))")
            XCTAssertEqual(myNorm, norm, accuracy: max(1e-9, norm * tolerance * 10), "\(name) \(pname): gradient norm")
            if relative > worst { (worst, worstName) = (relative, pname) }
        }
        print("\(name): \(refs.count) parameter gradients vs torch.autograd, worst \(worstName) at \(worst) of its largest |grad|")
    }

    func testTinyBertWeightGradientsMatchTorchAutograd() throws {
        try checkAgainstTorch("tiny-bert", folder: Self.tinyBert, tolerance: 3e-5)
    }

    func testTinyRobertaWeightGradientsMatchTorchAutograd() throws {
        try checkAgainstTorch("tiny-roberta", folder: Self.tinyRoberta, tolerance: 3e-5)
    }

    /// DistilBERT (`Tests/Reference/make_distilbert_fixtures.py`): BERT's network without token types under its own
    /// tensor names and config keys: pooled output and every weight gradient against transformers' DistilBertModel;
    /// the exported state carries DistilBERT's names and shapes, no token-type table, and loads back.
    func testTinyDistilBertMatchesTransformersAndTorchAutograd() throws {
        let folder = Fixtures.folder.appendingPathComponent("tiny-distilbert").path
        try checkAgainstTorch("tiny-distilbert", folder: folder, tolerance: 3e-5, file: "distilbert_gradients.json")
        let model = try TextTransformer(folder: folder)
        XCTAssertTrue(model.config.distil)
        XCTAssertEqual([model.config.hiddenSize, model.config.numLayers, model.config.numHeads, model.config.intermediateSize], [32, 2, 4, 64])
        XCTAssertFalse(model.parameters.contains { $0.name.contains("token_type") }, "DistilBERT has no token types to train")
        let original = try SafeTensorsFile(path: folder + "/model.safetensors")
        let exported = model.huggingFaceTensors()
        XCTAssertEqual(Set(exported.map(\.name)), Set(original.names), "every tensor under DistilBERT's own name")
        for t in exported { XCTAssertEqual(t.shape, original.shape(of: t.name), t.name) }
        XCTAssertEqual(try XCTUnwrap(exported.first { $0.name == "transformer.layer.1.attention.k_lin.weight" }).values,
                       try original.floats("transformer.layer.1.attention.k_lin.weight"))
    }

    /// The state file written in place (`safetensors()`, the fused q|k|v read as three row blocks) is byte for byte
    /// the file the copied tensors give, for BERT's and DistilBERT's names.
    func testInPlaceStateEqualsTheCopiedTensors() throws {
        for folder in [Self.tinyBert, Fixtures.folder.appendingPathComponent("tiny-distilbert").path] {
            let model = try TextTransformer(folder: folder)
            let inPlace = model.safetensors(randomState: [5, 6, 7, 8])
            let copied = EncoderState.serialized(model.huggingFaceTensors(), randomState: [5, 6, 7, 8])
            XCTAssertTrue(inPlace == copied, "\(folder): the in-place state differs from the copied tensors' file")
        }
    }

    func testRealMiniLMWeightGradientsMatchTorchAutograd() throws {
        try checkAgainstTorch("all-minilm-l6-v2", folder: try RealModels.miniLM(), tolerance: 3e-5)
    }

    /// Σ last hidden state · R of a training forward whose dropout masks restart from `seed` (so every call draws
    /// the same masks), in Double.
    func dropoutLoss(_ model: TextTransformer, ids: [[Int]], mask: [[Int]], tape: TextTransformerTape, seed: UInt64) throws -> Double {
        tape.enableDropout(.init(hidden: model.config.hiddenDropout, attention: model.config.attentionDropout), seed: seed)
        let out = try model.forward(ids: ids, mask: mask, tape: tape).lastHiddenState
        let r = lossWeights(1, out.count)
        return zip(out, r).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    func testWeightGradientsWithDropoutMatchFiniteDifferences() throws {
        // tiny-bert trains with its checkpoint's dropout (0.1 on hidden states and attention probabilities); the
        // masks are fixed by the seed, so the loss is a smooth function of the weights and central differences
        // (ε = 1e-2, Float32 forward, Double sums) check every path the masks touch.
        let model = try TextTransformer(folder: Self.tinyBert)
        XCTAssertEqual(model.config.hiddenDropout, 0.1)
        XCTAssertEqual(model.config.attentionDropout, 0.1)
        let ids = [[101, 500, 731, 402, 102, 0], [101, 999, 102, 0, 0, 0]]
        let mask = ids.map { $0.map { $0 == 0 ? 0 : 1 } }
        let tape = TextTransformerTape(), seed: UInt64 = 77
        let eval = try model.forward(ids: ids, mask: mask).lastHiddenState
        let base = try dropoutLoss(model, ids: ids, mask: mask, tape: tape, seed: seed)
        XCTAssertNotEqual(Float(base), zip(eval, lossWeights(1, eval.count)).reduce(0) { $0 + $1.0 * $1.1 },
                          "a training forward must drop something")
        XCTAssertEqual(try dropoutLoss(model, ids: ids, mask: mask, tape: tape, seed: seed), base, "same seed, same masks")
        let grads = model.makeGradients(for: .all(model.config))
        try model.backward(tape: tape, gradHidden: lossWeights(1, eval.count), layer: model.config.numLayers,
                           gradients: grads, inputGradient: false)
        let weights = model.parameters, gradList = grads.parameters
        XCTAssertEqual(weights.map(\.name), gradList.map(\.name))
        var checked = 0
        for (w, g) in zip(weights, gradList) {
            // The entry with the largest gradient in each tensor (the position table's used rows, etc.).
            let grad = Array(UnsafeBufferPointer(start: g.value, count: g.count))
            guard let i = grad.indices.max(by: { abs(grad[$0]) < abs(grad[$1]) }), abs(grad[i]) > 1e-3 else { continue }
            let saved = w.value[i], eps: Float = 1e-2
            w.value[i] = saved + eps
            let up = try dropoutLoss(model, ids: ids, mask: mask, tape: tape, seed: seed)
            w.value[i] = saved - eps
            let down = try dropoutLoss(model, ids: ids, mask: mask, tape: tape, seed: seed)
            w.value[i] = saved
            let numeric = (up - down) / Double(2 * eps)
            XCTAssertEqual(Double(grad[i]), numeric, accuracy: 2e-2 * max(1, abs(numeric)), "\(w.name)[\(i)]")
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 25, "most tensors have a gradient entry worth checking")
    }

    func testTopLayersScopeTrainsOnlyThoseLayersWithTheSameGradients() throws {
        let c = try fixtureCase("tiny-bert")
        let (input, b) = try idsInput(c)
        let all = try encoder(Self.tinyBert, c), top = try encoder(Self.tinyBert, c, fineTune: "top-1")
        XCTAssertEqual(top.parameters.count, 12, "one layer's 12 tensors, no embeddings")
        XCTAssertTrue(top.parameters.allSatisfy { $0.name.hasPrefix("encoder.layer.1.") })
        for e in [all, top] {
            e.setTraining(true)
            _ = try e.forward([input])
            _ = try e.backward([NDArray(shape: [b, 32], data: lossWeights(b, 32))])
        }
        for p in top.parameters {
            let q = try XCTUnwrap(all.parameters.first { $0.name == p.name })
            XCTAssertEqual(Array(UnsafeBufferPointer(start: p.grad, count: p.count)),
                           Array(UnsafeBufferPointer(start: q.grad, count: q.count)), p.name)
        }
        XCTAssertThrowsError(try encoder(Self.tinyBert, c, fineTune: "top-3")) { XCTAssertTrue("\($0)".contains("top-K with K in 1...2"), "\($0)") }
        XCTAssertThrowsError(try encoder(Self.tinyBert, c, fineTune: "some")) { XCTAssertTrue("\($0)".contains("fine_tune"), "\($0)") }
        let frozen = try encoder(Self.tinyBert, c, fineTune: "frozen")
        XCTAssertTrue(frozen.parameters.isEmpty)
    }

    func testStateRoundTripsAndExportsUnderHuggingFaceNames() throws {
        for folder in [Self.tinyBert, Self.tinyRoberta] {
            let c = try fixtureCase(folder == Self.tinyBert ? "tiny-bert" : "tiny-roberta")
            let (input, b) = try idsInput(c)
            let trained = try encoder(folder, c)
            // One SGD step changes every weight the batch reaches.
            trained.setTraining(true)
            _ = try trained.forward([input])
            _ = try trained.backward([NDArray(shape: [b, 32], data: lossWeights(b, 32))])
            for p in trained.parameters { for i in 0..<p.count { p.value[i] -= 0.1 * p.grad[i] } }
            trained.setTraining(false)
            let after = try XCTUnwrap(try trained.forward([input]).first?.array)
            let fresh = try encoder(folder, c)
            let before = try XCTUnwrap(try fresh.forward([input]).first?.array)
            XCTAssertGreaterThan(zip(after.data, before.data).map { abs($0 - $1) }.max() ?? 0, 1e-4, "the step moved the output")
            let state = try trained.saveState()
            try fresh.loadState(state)
            XCTAssertEqual(try fresh.forward([input]).first?.array, after, "\(folder): restored weights give the same output")
            // The state is a safetensors file with exactly the checkpoint's tensor names, shapes and dtype.
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("finetune-\(UUID().uuidString).safetensors").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try Data(state).write(to: URL(fileURLWithPath: path))
            let exported = try SafeTensorsFile(path: path), original = try SafeTensorsFile(path: folder + "/model.safetensors")
            let originalNames = Set(original.names.filter { !$0.contains("position_ids") && !$0.hasPrefix("pooler.") })
            XCTAssertEqual(Set(exported.names), originalNames, folder)
            for name in exported.names {
                XCTAssertEqual(exported.tensors[name]?.shape, original.tensors[name]?.shape, name)
                XCTAssertEqual(exported.tensors[name]?.dtype, .f32, name)
            }
            // Unchanged weights export bit-exactly (so the split of the fused q|k|v is the checkpoint's order).
            let untouched = try encoder(folder, c).saveState()
            try Data(untouched).write(to: URL(fileURLWithPath: path))
            let plain = try SafeTensorsFile(path: path)
            for name in plain.names { XCTAssertEqual(try plain.floats(name), try original.floats(name), name) }
            XCTAssertThrowsError(try fresh.loadState(Array(state.prefix(100)))) { XCTAssertTrue("\($0)".contains("saved state"), "\($0)") }
        }
    }

    func testTrainingForwardWithoutDropoutEqualsTheEvaluationForward() throws {
        // What training optimises is what evaluation computes: with dropout off, the recorded training forward and
        // the plain evaluation forward give the same embeddings, before and after weight updates, whatever the batch.
        let c = try fixtureCase("tiny-bert")
        let enc = try encoder(Self.tinyBert, c)
        let texts: [Value] = ["we were on a break", "oh my god", "how you doin", "pivot pivot pivot", "no"].map { .text($0) }
        for step in 0..<3 {
            enc.setTraining(true)
            let trained = try XCTUnwrap(try enc.forward(texts).first?.array)
            _ = try enc.backward([NDArray(shape: trained.shape, data: lossWeights(texts.count, 32))])
            enc.setTraining(false)
            let evaluated = try XCTUnwrap(try enc.forward(texts).first?.array)
            XCTAssertEqual(trained.data.count, evaluated.data.count)
            let diff = zip(trained.data, evaluated.data).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThanOrEqual(diff, 1e-5, "step \(step): training and evaluation forwards differ by \(diff)")
            // Evaluating one text alone gives its row of the batch.
            let alone = try XCTUnwrap(try enc.forward([texts[1]]).first?.array)
            XCTAssertLessThanOrEqual(zip(alone.data, evaluated.data[32..<64]).map { abs($0 - $1) }.max() ?? .infinity, 1e-5)
            for p in enc.parameters { for i in 0..<p.count { p.value[i] -= 0.05 * p.grad[i]; p.grad[i] = 0 } }
        }
    }

    func testRealMiniLMTrainingForwardEqualsTheEvaluationForwardOnLongBatches() throws {
        // Long rows (T ≈ 70) take the attention kernel's head-parallel path, which short fixtures never reach.
        let folder = try RealModels.miniLM()
        let enc = try BertEncoder(config: ["model": .string(folder), "fine_tune": "all", "dropout": false, "max_tokens": 128])
        let long = String(repeating: "I told you I was fine, but honestly I am not fine at all, Ross. ", count: 5)
        let texts: [Value] = [.text(long), .text("What?"), .text(long + " Really."), .text("Oh my God.")]
        enc.setTraining(true)
        let trained = try XCTUnwrap(try enc.forward(texts).first?.array)
        enc.setTraining(false)
        let evaluated = try XCTUnwrap(try enc.forward(texts).first?.array)
        let diff = zip(trained.data, evaluated.data).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(diff, 1e-5, "training and evaluation forwards differ by \(diff)")
    }
}
