import EmoCore
import EmoMedia
import EmoModels
import EmoRuntime
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
    func fixtureGradients(_ model: WhisperModel, scope: WhisperModel.TrainableScope, fixture f: [String: Any],
                          checkpointed: Bool = false) throws
        -> (pooled: [Float], grads: [(name: String, shape: [Int], values: [Float])]) {
        let melFrames = try XCTUnwrap(f["mel_frames"] as? Int)
        let tape = WhisperEncoderTape(checkpointed: checkpointed)
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
        XCTAssertEqual(tape.layers.count, checkpointed ? 0 : model.encoderLayers.count, "a checkpointed tape keeps no layer record")
        XCTAssertNil(try model.encoderBackward(tape: tape, gradHidden: gradHidden, gradients: gradients, inputGradient: false))
        return (pooled, gradients.huggingFaceTensors())
    }

    /// `gradient_checkpointing`: a tape that keeps only each layer's input, the layers re-run in backward by the
    /// forward's own code, gives the full tape's output and every weight gradient bit for bit (the convolutions
    /// trained too, so the pass reaches the bottom), and the component's memory estimate drops.
    func testCheckpointedTapeGivesTheFullTapesGradients() throws {
        let f = try Fixtures.json("whisper_finetune_gradients.json")
        let model = try WhisperModel(folder: Self.tinyWhisper)
        let all = WhisperModel.TrainableScope(layers: model.encoderLayers.count, convolutions: true)
        let full = try fixtureGradients(model, scope: all, fixture: f)
        let checkpointed = try fixtureGradients(model, scope: all, fixture: f, checkpointed: true)
        XCTAssertEqual(checkpointed.pooled, full.pooled)
        XCTAssertEqual(checkpointed.grads.map(\.name), full.grads.map(\.name))
        for (a, b) in zip(checkpointed.grads, full.grads) { XCTAssertEqual(a.values, b.values, a.name) }
        func perFrame(_ on: Bool) throws -> Double {
            let e = try WhisperEncoder(config: ["model": .string(Self.tinyWhisper), "fine_tune": "all", "gradient_checkpointing": .bool(on)])
            XCTAssertEqual(e.resolvedDescription["config"]?["gradient_checkpointing"], .bool(on))
            return try XCTUnwrap(e.resolvedDescription["training_memory"]?["bytes_per_token"]?.doubleValue)
        }
        XCTAssertLessThan(try perFrame(true), try perFrame(false))
        let frozen = try WhisperEncoder(config: ["model": .string(Self.tinyWhisper), "gradient_checkpointing": true])
        XCTAssertNil(frozen.resolvedDescription["config"]?["gradient_checkpointing"], "a frozen encoder's cache key is unchanged")
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
        try compare(grads, with: refs, label: "tiny-whisper, clip-length window (T = 50), mean pooling, pooled within \(pooledDiff)")
        for check in try XCTUnwrap(f["finite_differences"] as? [[String: Any]]) {
            let name = try XCTUnwrap(check["name"] as? String), index = try XCTUnwrap(check["index"] as? Int)
            let fd = try XCTUnwrap(check["finite_difference"] as? Double)
            let mine = Double(try tensor(name, in: grads)[index])
            let scale = try XCTUnwrap(refs[name]?["max_abs"] as? Double)
            XCTAssertLessThanOrEqual(abs(mine - fd), 1e-4 * scale, "\(name)[\(index)]: \(mine) vs Float64 central difference \(fd)")
            print("  \(name)[\(index)]: ours \(mine), Float64 central difference \(fd), off by \(abs(mine - fd) / abs(fd)) relative")
        }
    }

    /// Compares our gradients (Hugging Face names and layouts) with the fixture's summaries: every trainable tensor
    /// present, sampled entries within 1e-4 of each tensor's largest |grad|, norms within 1e-4 relative.
    func compare(_ grads: [(name: String, shape: [Int], values: [Float])], with refs: [String: [String: Any]], label: String) throws {
        XCTAssertEqual(Set(grads.map(\.name)), Set(refs.keys), "the trained weights are transformers' requires_grad encoder parameters")
        var worst = 0.0, worstName = "", worstNorm = 0.0
        for (name, ref) in refs.sorted(by: { $0.key < $1.key }) {
            let mine = try XCTUnwrap(grads.first { $0.name == name })
            XCTAssertEqual(mine.shape, try XCTUnwrap(ref["shape"] as? [Int]), name)
            let scale = try XCTUnwrap(ref["max_abs"] as? Double), norm = try XCTUnwrap(ref["norm"] as? Double)
            var diff = 0.0
            for s in try XCTUnwrap(ref["samples"] as? [[Double]]) { diff = max(diff, abs(Double(mine.values[Int(s[0])]) - s[1])) }
            let relative = diff / scale
            XCTAssertLessThanOrEqual(relative, 1e-4, "\(label) \(name): off by \(diff) (largest |grad| \(scale))")
            let myNorm = mine.values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            XCTAssertEqual(myNorm, norm, accuracy: norm * 1e-4, "\(label) \(name): gradient norm")
            worstNorm = max(worstNorm, abs(myNorm - norm) / norm)
            if relative > worst { (worst, worstName) = (relative, name) }
        }
        print("\(label): \(refs.count) encoder weight gradients vs torch.autograd: worst sampled entry \(worstName) at \(worst) of its largest |grad|; worst norm \(worstNorm) relative")
    }

    /// Whisper's 30 s window (1500 frames) with mean-std pooling over the first 40 frames only, as the component
    /// trains on a 0.8 s clip: the pooling's transpose (`hiddenGradients`) and every weight gradient against torch.
    func testThirtySecondWindowMeanStdWeightGradientsMatchTorchAutograd() throws {
        let f = try XCTUnwrap(try Fixtures.json("whisper_finetune_gradients.json")["thirty_seconds"] as? [String: Any])
        let encoder = try WhisperEncoder(config: ["model": .string(Self.tinyWhisper), "pooling": "mean-std", "fine_tune": "all"])
        let model = encoder.model, frames = 3000, real = try XCTUnwrap(f["real_frames"] as? Int)
        var mel = [Float](repeating: 0, count: 80 * frames)  // [M, 3000], the script's formula in Double
        for m in 0..<80 {
            for j in 0..<frames {
                mel[m * frames + j] = Float(0.6 * sin(0.05 * Double(j) + 0.37 * Double(m)) * cos(0.011 * Double(j) * Double(m % 7 + 1)))
            }
        }
        let tape = WhisperEncoderTape()
        let enc = try model.encode(mel: mel, melFrames: frames, keepHiddenStates: false, tape: tape)
        let c = enc.channels
        var pooled = [Float](repeating: 0, count: 2 * c)
        for k in 0..<c {
            let column = (0..<real).map { Double(enc.lastHiddenState[$0 * c + k]) }
            let mean = column.reduce(0, +) / Double(real)
            pooled[k] = Float(mean)
            pooled[c + k] = Float((column.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(real)).squareRoot())
        }
        let pooledDiff = zip(pooled, floats(f["pooled"])).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThanOrEqual(pooledDiff, 2e-5)
        let gradients = model.makeEncoderGradients(for: try XCTUnwrap(encoder.scope))
        let r = (0..<(2 * c)).map { Float(sin(0.37 * Double($0) + 0.1)) }
        XCTAssertNil(try model.encoderBackward(tape: tape, gradHidden: encoder.hiddenGradients(enc, real: real, g: r),
                                               gradients: gradients, inputGradient: false))
        try compare(gradients.huggingFaceTensors(), with: try XCTUnwrap(f["gradients"] as? [String: [String: Any]]),
                    label: "tiny-whisper, 30 s window, mean-std over \(real) real frames, pooled within \(pooledDiff)")
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

    /// Cross-entropy of a fixed linear head (`W[y, k] = 0.05 sin(0.7 y + 0.013 k)`, no bias) on the pooled
    /// embeddings `[B, C]` with labels `labels`, in Double; and d loss / d pooled `[B, C]`.
    func headLoss(_ pooled: NDArray, labels: [Int]) -> (loss: Double, grad: [Float]) {
        let b = pooled.shape[0], c = pooled.shape[1], classes = 2
        func w(_ y: Int, _ k: Int) -> Double { 0.05 * sin(0.7 * Double(y) + 0.013 * Double(k)) }
        var loss = 0.0
        var grad = [Float](repeating: 0, count: b * c)
        for r in 0..<b {
            let logits = (0..<classes).map { y in (0..<c).reduce(0.0) { $0 + w(y, $1) * Double(pooled.data[r * c + $1]) } }
            let top = logits.max() ?? 0
            let z = logits.reduce(0.0) { $0 + exp($1 - top) }
            loss += (top + log(z) - logits[labels[r]]) / Double(b)
            for y in 0..<classes {
                let dLogit = (exp(logits[y] - top) / z - (y == labels[r] ? 1 : 0)) / Double(b)
                for k in 0..<c { grad[r * c + k] += Float(dLogit * w(y, k)) }
            }
        }
        return (loss, grad)
    }

    /// The real Whisper tiny.en (CTranslate2 folder) fine-tunes: on two RAVDESS clips (clip window) one gradient
    /// step of every encoder weight lowers a fixed head's cross-entropy, and a few weight gradients agree with
    /// central differences of the Float32 forward.
    func testRealTinyEnOneStepLowersTheLossAndMatchesFiniteDifferences() throws {
        let folder = try RealModels.whisperTinyEn()
        let encoder = try WhisperEncoder(config: ["model": .string(folder), "window": "clip", "fine_tune": "all"])
        let audio = try ["ravdess/Actor_01/03-01-01-01-01-01-01.flac", "ravdess/Actor_01/03-01-05-01-01-01-01.flac"].map { rel in
            try MediaDecoder().decode(path: try TestRepository.sharedData().appendingPathComponent(rel).path).samples
        }
        let inputs = try batch(audio), labels = [0, 1]
        func loss() throws -> Double { headLoss(try XCTUnwrap(try encoder.forward(inputs).first?.array), labels: labels).loss }
        encoder.setTraining(true)
        for p in encoder.parameters { p.grad.update(repeating: 0, count: p.count) }
        let pooled = try XCTUnwrap(try encoder.forward(inputs).first?.array)
        let (before, dPooled) = headLoss(pooled, labels: labels)
        XCTAssertEqual(try encoder.backward([NDArray(shape: pooled.shape, data: dPooled)]).count, 0)
        encoder.setTraining(false)
        let params = encoder.parameters
        XCTAssertEqual(params.count, 4 + 4 * 15 + 2)
        // Central differences (Float32 forward, loss in Double) at each chosen tensor's largest gradient entry.
        var checked: [String] = []
        for name in ["model.encoder.layer_norm.weight", "model.encoder.layers.3.fc2.weight",
                     "model.encoder.layers.1.self_attn.v_proj.weight", "model.encoder.conv1.bias"] {
            let p = try XCTUnwrap(params.first { $0.name == name }, name)
            let grads = UnsafeBufferPointer(start: p.grad, count: p.count)
            let i = try XCTUnwrap(grads.indices.max { abs(grads[$0]) < abs(grads[$1]) })
            let h: Float = 1e-2, old = p.value[i]
            p.value[i] = old + h
            let up = try loss()
            p.value[i] = old - h
            let down = try loss()
            p.value[i] = old
            let fd = (up - down) / (2 * Double(h)), mine = Double(grads[i])
            XCTAssertEqual(mine, fd, accuracy: 5e-3 * abs(fd) + 1e-6, "\(name)[\(i)]")
            checked.append("\(name)[\(i)] ours \(mine) vs central difference \(fd)")
        }
        // One step along the negative gradient, scaled to norm 0.05.
        let norm = params.reduce(0.0) { sum, p in sum + (0..<p.count).reduce(0.0) { $0 + Double(p.grad[$1]) * Double(p.grad[$1]) } }.squareRoot()
        XCTAssertGreaterThan(norm, 0)
        let lr = Float(0.05 / norm)
        for p in params { for i in 0..<p.count { p.value[i] -= lr * p.grad[i] } }
        let after = try loss()
        XCTAssertLessThan(after, before, "one step lowers the head's loss")
        print("tiny.en fine-tuning on 2 RAVDESS clips: loss \(before) → \(after) after one step (gradient norm \(norm)); " + checked.joined(separator: "; "))
    }

    /// The host fine-tunes the encoder through the C ABI as the runner does (`fine_tune` and `seed` added to its
    /// config): parameters and gradients across the boundary, training forward over a padded batch, backward, state.
    func testFineTuningThroughTheABI() throws {
        let build = PluginSources.executableDirectory()
        let library = build + "/libEmoPluginTextEncoders.so"
        guard FileManager.default.fileExists(atPath: library), FileManager.default.isExecutableFile(atPath: build + "/emo-probe") else {
            throw XCTSkip("libEmoPluginTextEncoders.so or emo-probe is not built beside the tests (\(build)); run `swift build` first")
        }
        let dir = NSTemporaryDirectory() + "emokit-whisper-abi-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let registry = dir + "/registry.json"
        try JSONValue.object(["format": 1, "plugins": [["library": .string(library)]]]).serialized()
            .write(toFile: registry, atomically: true, encoding: .utf8)
        let host = PluginHost(sources: PluginSources(registries: [registry], hostDirectory: build),
                              prober: Prober(executable: build + "/emo-probe", timeout: 60),
                              cache: ProbeCache(path: dir + "/plugin-cache.json"))
        let manifest = try host.component("whisper-encoder").component.manifest
        XCTAssertNotNil(manifest["config"]?["fine_tune"], "the runner fine-tunes only components whose manifest has fine_tune")
        XCTAssertNotNil(manifest["config"]?["seed"])
        let whisper = try host.instantiate(id: "whisper-encoder", config: ["model": .string(Self.tinyWhisper), "window": "clip",
                                                                           "fine_tune": "top-1", "seed": 42])
        let params = whisper.parameters
        XCTAssertEqual(params.count, 17)
        XCTAssertEqual(params.first?.name, "model.encoder.layers.1.self_attn.q_proj.weight")
        whisper.setTraining(true)
        let inputs = try batch([clip(0.5, pitch: 200), clip(0.8, pitch: 300)])
        let out = try XCTUnwrap(try whisper.forward(inputs).first?.array)
        XCTAssertEqual(out.shape, [2, 64])
        for p in params { p.grad.update(repeating: 0, count: p.count) }
        _ = try whisper.backward([NDArray(shape: [2, 64], data: (0..<128).map { Float($0 % 7) - 3 })])
        for p in params {
            let norm = (0..<p.count).reduce(Float(0)) { $0 + p.grad[$1] * p.grad[$1] }
            XCTAssertGreaterThan(norm, 0, "\(p.name) got a gradient across the boundary")
        }
        let state = try whisper.saveState()
        let frozen = try host.instantiate(id: "whisper-encoder", config: ["model": .string(Self.tinyWhisper)])
        try frozen.loadState(state)
    }
}
