import EmoCore
import EmoMedia
import EmoModels
import EmoTensor
import EmoTestSupport
@testable import EmoTextEncoders
import Foundation
import XCTest

/// Fine-tuning Whisper's encoder: d loss / d every encoder weight against torch.autograd and Float64 central
/// differences (fixture from Tests/Reference/make_whisper_finetune_fixtures.py), the trainable `whisper-encoder`
/// component (scopes, batch accumulation, a frozen component unchanged), and its state under Hugging Face's names.
final class WhisperFineTuneTests: XCTestCase {
    static let tinyWhisper = Fixtures.folder.appendingPathComponent("tiny-whisper").path

    /// R[c] = sin(0.37 c + 0.1), the script's loss weights.
    func lossWeights(_ c: Int) -> [Float] { (0..<c).map { Float(sin(0.37 * Double($0) + 0.1)) } }

    /// A Hugging Face tensor of `tensors` by name.
    func tensor(_ name: String, in tensors: [(name: String, shape: [Int], values: [Float])]) throws -> [Float] {
        try XCTUnwrap(tensors.first { $0.name == name }, "no tensor \(name)").values
    }

    /// One recorded forward of the fixture's mel and a backward of Σ mean_t(last hidden state) · R into
    /// `scope`'s gradients; returns the pooled output and the gradients under Hugging Face's names.
    func fixtureGradients(_ model: WhisperModel, scope: WhisperModel.TrainableScope, fixture f: [String: Any]) throws
        -> (pooled: [Float], grads: [(name: String, shape: [Int], values: [Float])]) {
        let melFrames = try XCTUnwrap(f["mel_frames"] as? Int)
        let tape = WhisperEncoderTape()
        let enc = try model.encode(mel: floats(f["mel"]), melFrames: melFrames, keepHiddenStates: false, tape: tape)
        let t = enc.frames, c = enc.channels
        var pooled = [Float](repeating: 0, count: c)
        for j in 0..<t { for k in 0..<c { pooled[k] += enc.lastHiddenState[j * c + k] / Float(t) } }
        let r = floats(f["weights"])
        var dLast = [Float](repeating: 0, count: t * c)
        for j in 0..<t { for k in 0..<c { dLast[j * c + k] = r[k] / Float(t) } }
        var gradHidden = [[Float]?](repeating: nil, count: model.encoderLayers.count + 1)
        gradHidden[model.encoderLayers.count] = dLast
        let gradients = model.makeEncoderGradients(for: scope)
        XCTAssertNil(try model.encoderBackward(tape: tape, gradHidden: gradHidden, gradients: gradients, inputGradient: false))
        return (pooled, gradients.huggingFaceTensors())
    }

    /// Every encoder weight's gradient of the tiny random Whisper against torch.autograd: sampled entries within
    /// 1e-4 of each tensor's largest |grad| (measured worst in the notes), norms within 1e-4 relative; a few entries
    /// against Float64 central differences.
    func testTinyWhisperWeightGradientsMatchTorchAutograd() throws {
        let f = try Fixtures.json("whisper_finetune_gradients.json")
        let model = try WhisperModel(folder: Self.tinyWhisper)
        let all = WhisperModel.TrainableScope(layers: model.encoderLayers.count, convolutions: true)
        let (pooled, grads) = try fixtureGradients(model, scope: all, fixture: f)
        let refPooled = floats(f["pooled"])
        let pooledDiff = zip(pooled, refPooled).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(pooledDiff, 2e-5, "pooled output against transformers' encoder")
        let refs = try XCTUnwrap(f["gradients"] as? [String: [String: Any]])
        XCTAssertEqual(Set(grads.map(\.name)), Set(refs.keys), "the trained weights are transformers' requires_grad encoder parameters")
        var worst = 0.0, worstName = "", worstNorm = 0.0
        for (name, ref) in refs.sorted(by: { $0.key < $1.key }) {
            let mine = try XCTUnwrap(grads.first { $0.name == name })
            XCTAssertEqual(mine.shape, try XCTUnwrap(ref["shape"] as? [Int]), name)
            let scale = try XCTUnwrap(ref["max_abs"] as? Double), norm = try XCTUnwrap(ref["norm"] as? Double)
            var diff = 0.0
            for s in try XCTUnwrap(ref["samples"] as? [[Double]]) { diff = max(diff, abs(Double(mine.values[Int(s[0])]) - s[1])) }
            let relative = diff / scale
            XCTAssertLessThanOrEqual(relative, 1e-4, "\(name): off by \(diff) (largest |grad| \(scale))")
            let myNorm = mine.values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertEqual(myNorm, norm, accuracy: norm * 1e-4, "\(name): gradient norm")
            worstNorm = max(worstNorm, abs(myNorm - norm) / norm)
            if relative > worst { (worst, worstName) = (relative, name) }
        }
        print("tiny-whisper: \(refs.count) encoder weight gradients vs torch.autograd: worst sampled entry \(worstName) at \(worst) of its largest |grad|; worst norm \(worstNorm) relative; pooled within \(pooledDiff)")
        for check in try XCTUnwrap(f["finite_differences"] as? [[String: Any]]) {
            let name = try XCTUnwrap(check["name"] as? String), index = try XCTUnwrap(check["index"] as? Int)
            let fd = try XCTUnwrap(check["finite_difference"] as? Double)
            let mine = Double(try tensor(name, in: grads)[index])
            let scale = try XCTUnwrap(refs[name]?["max_abs"] as? Double)
            XCTAssertLessThanOrEqual(abs(mine - fd), 1e-4 * scale, "\(name)[\(index)]: \(mine) vs Float64 central difference \(fd)")
            print("  \(name)[\(index)]: ours \(mine), Float64 central difference \(fd), off by \(abs(mine - fd) / abs(fd)) relative")
        }
    }

    /// top-K trains only the top K layers and the final norm; the lower layers' and the convolutions' gradients are
    /// not formed, the trained ones equal the full run's.
    func testTopKScopeGivesTheSameGradientsForItsWeights() throws {
        let f = try Fixtures.json("whisper_finetune_gradients.json")
        let model = try WhisperModel(folder: Self.tinyWhisper)
        let full = try fixtureGradients(model, scope: .init(layers: 2, convolutions: true), fixture: f).grads
        let top = try fixtureGradients(model, scope: .init(layers: 1, convolutions: false), fixture: f).grads
        XCTAssertEqual(top.map(\.name).filter { !$0.contains("layers.1.") }, ["model.encoder.layer_norm.weight", "model.encoder.layer_norm.bias"])
        XCTAssertEqual(top.count, 15 + 2)
        for t in top { XCTAssertEqual(t.values, try tensor(t.name, in: full), t.name) }
    }

    /// A synthetic 16 kHz clip: two sines and a little seeded noise.
    func clip(_ seconds: Double, pitch: Double) -> [Float] {
        var generator = SeededGenerator(seed: UInt64(pitch))
        return (0..<Int(seconds * 16_000)).map { i in
            let t = Double(i) / 16_000
            return Float(0.3 * sin(2 * .pi * pitch * t) + 0.1 * sin(2 * .pi * 3.1 * pitch * t)) + 0.01 * (generator.nextUniform() - 0.5)
        }
    }

    /// Clips padded into `[.array([B, S]), .array([B])]`, as the host feeds a fine-tuned audio group.
    func batch(_ clips: [[Float]]) throws -> [Value] {
        let s = clips.map(\.count).max() ?? 0
        var data = [Float](repeating: 0, count: clips.count * s)
        for (r, c) in clips.enumerated() { for (i, v) in c.enumerated() { data[r * s + i] = v } }
        return [.array(try NDArray(shape: [clips.count, s], data: data)),
                .array(try NDArray(shape: [clips.count], data: clips.map { Float($0.count) }))]
    }

    /// The gradients a training forward + backward of Σ pooled · R over `clips` leaves in `encoder`.
    func trainingGradients(_ encoder: WhisperEncoder, _ clips: [[Float]]) throws -> [[Float]] {
        for p in encoder.parameters { p.grad.update(repeating: 0, count: p.count) }
        let out = try XCTUnwrap(try encoder.forward(try batch(clips)).first?.array)
        let c = out.shape[1]
        XCTAssertEqual(try encoder.backward([NDArray(shape: out.shape, data: (0..<clips.count).flatMap { _ in lossWeights(c) })]).count, 0,
                       "a training backward returns no input gradient")
        return encoder.parameters.map { Array(UnsafeBufferPointer(start: $0.grad, count: $0.count)) }
    }

    func testComponentTrainsOverAPaddedBatchAndAccumulatesOverClips() throws {
        let encoder = try WhisperEncoder(config: ["model": .string(Self.tinyWhisper), "window": "clip", "fine_tune": "all", "seed": 3])
        XCTAssertEqual(encoder.info.manifest["trainable"], true)
        XCTAssertEqual(encoder.parameters.count, 36)
        encoder.setTraining(true)
        let a = clip(0.7, pitch: 220), b = clip(1.1, pitch: 330)
        let both = try trainingGradients(encoder, [a, b])
        let onlyA = try trainingGradients(encoder, [a]), onlyB = try trainingGradients(encoder, [b])
        var worst: Float = 0
        for (p, (g, (ga, gb))) in zip(encoder.parameters, zip(both, zip(onlyA, onlyB))) {
            let scale = g.map(abs).max() ?? 0
            XCTAssertGreaterThan(scale, 0, "\(p.name) gets a gradient")
            let diff = zip(g, zip(ga, gb)).map { abs($0 - $1.0 - $1.1) }.max() ?? 0
            worst = max(worst, diff / scale)
        }
        XCTAssertLessThanOrEqual(worst, 1e-5, "a padded batch's gradient is the sum of its clips' own")
        // Out of training mode the component is the differentiable encoder it was: backward gives d audio again.
        encoder.setTraining(false)
        let out = try XCTUnwrap(try encoder.forward(try batch([a])).first?.array)
        let dAudio = try encoder.backward([NDArray(shape: out.shape, data: lossWeights(out.shape[1]))])
        XCTAssertEqual(dAudio.first?.shape, [1, a.count])
        let description = encoder.resolvedDescription
        XCTAssertEqual(description["config"]?["fine_tune"], "all")
        XCTAssertEqual(description["config"]?["seed"], 3)
        XCTAssertNotNil(description["training_memory"]?["fixed_bytes"]?.doubleValue)
        XCTAssertEqual(description["training_memory"]?["max_tokens"], 1500)
    }

    func testScopesAndAFrozenComponentUnchanged() throws {
        let frozen = try WhisperEncoder(config: ["model": .string(Self.tinyWhisper)])
        XCTAssertTrue(frozen.parameters.isEmpty)
        let keys = Set(try XCTUnwrap(frozen.resolvedDescription["config"]?.objectValue).keys)
        XCTAssertEqual(keys, ["window", "pooling", "layer", "layer_weights", "hidden_states", "checkpoint_sha256"],
                       "a frozen encoder's resolved config (the feature cache's key) is what it was before fine-tuning")
        XCTAssertNil(frozen.resolvedDescription["training_memory"])
        frozen.setTraining(true)
        XCTAssertFalse(frozen.training)
        let top = try WhisperEncoder(config: ["model": .string(Self.tinyWhisper), "fine_tune": "top-1"])
        XCTAssertEqual(top.parameters.map(\.name).filter { !$0.contains("layers.1.") }, ["model.encoder.layer_norm.weight", "model.encoder.layer_norm.bias"])
        let noConv = try WhisperEncoder(config: ["model": .string(Self.tinyWhisper), "fine_tune": "all", "freeze_conv": true])
        XCTAssertEqual(noConv.parameters.count, 32)
        XCTAssertFalse(noConv.parameters.contains { $0.name.contains("conv") })
        for bad in ["top-3", "top-0", "some"] {
            XCTAssertThrowsError(try WhisperEncoder(config: ["model": .string(Self.tinyWhisper), "fine_tune": .string(bad)])) { error in
                XCTAssertTrue("\(error)".contains("fine_tune"), "\(error)")
            }
        }
    }

    /// The state is the encoder under the checkpoint's own names and shapes (`model.encoder.…`, embed_positions
    /// included, no k_proj bias), equal to it before training; after a step, loading it into a fresh component
    /// gives the trained component's outputs.
    func testStateIsTheHuggingFaceEncoderAndLoadsBack() throws {
        let config: JSONValue = ["model": .string(Self.tinyWhisper), "window": "clip", "fine_tune": "all"]
        let trained = try WhisperEncoder(config: config)
        let original = try SafeTensorsFile(path: Self.tinyWhisper + "/model.safetensors")
        let encoderNames = original.names.filter { $0.hasPrefix("model.encoder.") }
        let exported = trained.model.encoderHuggingFaceTensors()
        XCTAssertEqual(Set(exported.map(\.name)), Set(encoderNames))
        for t in exported {
            XCTAssertEqual(t.shape, original.shape(of: t.name), t.name)
            XCTAssertEqual(t.values, try original.floats(t.name), "\(t.name) round-trips unchanged")
        }
        // One SGD step, then save and load into a fresh component.
        trained.setTraining(true)
        let a = clip(0.9, pitch: 250)
        _ = try trainingGradients(trained, [a])
        for p in trained.parameters { for i in 0..<p.count { p.value[i] -= 0.5 * p.grad[i] } }
        trained.setTraining(false)
        let state = try trained.saveState()
        let fresh = try WhisperEncoder(config: config)
        let before = try XCTUnwrap(try fresh.forward(try batch([a])).first?.array).data
        try fresh.loadState(state)
        let want = try XCTUnwrap(try trained.forward(try batch([a])).first?.array).data
        let got = try XCTUnwrap(try fresh.forward(try batch([a])).first?.array).data
        XCTAssertEqual(got, want, "the loaded state gives the trained outputs")
        XCTAssertNotEqual(before, want, "the step changed the outputs")
        XCTAssertThrowsError(try fresh.loadState([1, 2, 3]))
    }
}
