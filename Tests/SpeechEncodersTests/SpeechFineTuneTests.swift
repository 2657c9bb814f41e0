import EmoTestSupport
import EmoCore
import EmoModels
import EmoPluginSDK
@testable import EmoSpeechEncoders
import EmoTensor
import Foundation
import XCTest

/// Fine-tuning the speech encoders: d loss / d every weight against torch autograd, scopes, saved state.
///
/// Reference: Tests/Reference/make_speech_finetune_fixtures.py (torch 2.13.0, transformers 5.23.0) on the six tiny
/// checkpoints of make_encoder_fixtures.py, their padded two-clip batch (1200 and 830 samples), evaluation mode,
/// float32, loss = Σ_{b,c} pooled[b, c] · R[b, c] with pooled the mean of last_hidden_state over real frames and
/// R[b, c] = sin(0.37 (b C + c) + 0.1). Every parameter is compared at its 48 fixture samples (its largest |grad|
/// among them) and by its L2 norm.
/// Tolerance per tensor: |ours − torch| ≤ 1e-4 × max |torch grad| of that tensor at every sample, and the norms
/// within 1e-4 relative. One exception: `k_proj.bias`, whose gradient is exactly zero in exact arithmetic (adding the
/// same q·b_k to every key's score of a query leaves its softmax unchanged), so both sides hold rounding noise
/// (torch ≤ 7.5e-8): there every value must be ≤ 1e-6 × the model's largest gradient. (Float32 on both sides; what differs is summation order, the vectorised erf/exp, and the
/// FFT positional conv's roundings. Measured worst: see `testWeightGradientsMatchAutograd`'s printout and
/// docs/history.md (session 10, speech fine-tuning).)
final class SpeechFineTuneTests: XCTestCase {
    static let tolerance: Float = 1e-4

    /// The fixture file's cases by name.
    static func reference() throws -> [String: JSONValue] {
        let url = Fixtures.encoder("speech_finetune_gradients.json")
        let json = try JSONValue.parse(try Data(contentsOf: url))
        var out: [String: JSONValue] = [:]
        for c in json["cases"]?.arrayValue ?? [] { if let n = c["name"]?.stringValue { out[n] = c } }
        return out
    }

    /// The fixture batch of case `name` (normalised input [2, N], real lengths) and R [B, C].
    static func batch(_ name: String, encoder: SpeechEncoder) throws -> (input: [Float], samples: Int, lengths: [Int], r: [Float]) {
        let expected = try SafeTensorsFile(path: Fixtures.encoder(name).appendingPathComponent("expected.safetensors").path)
        let shape = try expected.info("batch.input").shape
        let (b, n) = (shape[0], shape[1])
        let mask = try expected.floats("batch.mask")
        let lengths = (0..<b).map { bi in Int(mask[(bi * n)..<((bi + 1) * n)].reduce(0, +)) }
        let c = encoder.config.hiddenSize
        let r = (0..<(b * c)).map { Float(sin(0.37 * Double($0) + 0.1)) }
        return (try expected.floats("batch.input"), n, lengths, r)
    }

    /// Runs a training forward and the weight backward for `scope`; returns the gradients by name and the pooled
    /// output.
    static func gradients(_ name: String, scope: (SpeechEncoder) -> SpeechEncoder.TrainableScope,
                          inputGradient: Bool = false) throws -> (grads: [String: [Float]], pooled: [Float], encoder: SpeechEncoder, dx: [Float]) {
        let encoder = try SpeechEncoder(directory: Fixtures.encoder(name).path)
        let (x, n, lengths, r) = try batch(name, encoder: encoder)
        let s = scope(encoder)
        let grads = encoder.makeGradients(for: s)
        let out = try encoder.trainingForward(x, batch: lengths.count, samples: n, lengths: lengths, scope: s)
        let dx = try encoder.weightGradientsOfLastForward(pooledGrad: r, into: grads, inputGradient: inputGradient)
        var byName: [String: [Float]] = [:]
        for p in grads.parameters { byName[p.name] = Array(UnsafeBufferPointer(start: p.value, count: p.count)) }
        return (byName, out.meanPooled(), encoder, dx)
    }

    /// True for the tensors whose gradient is zero in exact arithmetic (see the type's notes).
    static func isZeroInExactArithmetic(_ tensor: String) -> Bool { tensor.hasSuffix("k_proj.bias") }

    /// The largest |gradient| torch gives any tensor of a case.
    static func largestGradient(_ grads: [String: JSONValue]) -> Double {
        grads.values.compactMap { $0["max_abs"]?.doubleValue }.max() ?? 0
    }

    /// Largest error of `ours` at the fixture's samples, relative to the tensor's largest |torch gradient|; for a
    /// gradient that is zero in exact arithmetic, its largest |value| relative to `largest` / 1e-2 (so the
    /// tolerance 1e-4 reads 1e-6 × the model's largest gradient).
    static func relativeError(_ ours: [Float], _ ref: JSONValue, tensor: String, largest: Double) -> (sample: Double, norm: Double) {
        if isZeroInExactArithmetic(tensor) {
            let worst = Double(ours.reduce(0) { max($0, abs($1)) }) / (1e-2 * largest)
            return (worst, worst)
        }
        return relativeError(ours, ref)
    }

    /// Largest error of `ours` at the fixture's samples, relative to the tensor's largest |torch gradient|.
    static func relativeError(_ ours: [Float], _ ref: JSONValue) -> (sample: Double, norm: Double) {
        let maxAbs = ref["max_abs"]?.doubleValue ?? 0
        var worst = 0.0
        for s in ref["samples"]?.arrayValue ?? [] {
            let pair = s.arrayValue ?? []
            guard pair.count == 2, let i = pair[0].intValue, let v = pair[1].doubleValue, i < ours.count else { return (.infinity, .infinity) }
            worst = max(worst, abs(Double(ours[i]) - v) / max(maxAbs, 1e-30))
        }
        let norm = ours.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let refNorm = ref["norm"]?.doubleValue ?? 0
        return (worst, abs(norm - refNorm) / max(refNorm, 1e-30))
    }

    /// Every parameter of every layout (post-LN and pre-LN, group- and layer-norm feature encoders, conv bias,
    /// HuBERT without the projection norm, WavLM's gated relative position bias), the conv feature encoder included.
    func testWeightGradientsMatchAutograd() throws {
        let reference = try Self.reference()
        for name in SpeechEncoderParityTests.cases {
            guard let ref = reference[name], let expected = ref["gradients"]?.objectValue else { return XCTFail("\(name): no reference") }
            let (grads, pooled, _, _) = try Self.gradients(name) { .init(layers: $0.config.numLayers, frontEnd: true, featureEncoder: true) }
            let refPooled = (ref["pooled"]?.arrayValue ?? []).compactMap { $0.doubleValue.map { Float($0) } }
            XCTAssertLessThanOrEqual(maxAbsDiff(pooled, refPooled), 1e-4 * max(1, maxAbs(refPooled)), "\(name): pooled output")
            XCTAssertEqual(Set(grads.keys), Set(expected.keys), "\(name): the trained tensors are exactly torch's parameters")
            var worst = (sample: 0.0, norm: 0.0, name: "")
            let largest = Self.largestGradient(expected)
            for (tensor, refGrad) in expected.sorted(by: { $0.key < $1.key }) {
                guard let ours = grads[tensor] else { continue }
                let e = Self.relativeError(ours, refGrad, tensor: tensor, largest: largest)
                XCTAssertLessThanOrEqual(e.sample, Double(Self.tolerance), "\(name) \(tensor): sample error \(e.sample) of max |grad|")
                XCTAssertLessThanOrEqual(e.norm, Double(Self.tolerance), "\(name) \(tensor): norm error \(e.norm)")
                if Self.isZeroInExactArithmetic(tensor) { continue }
                if e.sample > worst.sample { worst = (e.sample, max(worst.norm, e.norm), tensor) }
                worst.norm = max(worst.norm, e.norm)
            }
            print("\(name): \(grads.count) tensors, worst sample error \(worst.sample) of max |grad| (\(worst.name)), worst norm error \(worst.norm)")
        }
    }

    /// Float64 central differences of the same loss (torch, model.double(), h = 1e-4) at the largest-gradient entry
    /// of a few tensors (conv weight and group-norm weight, positional conv g and v, feed-forward, final norm,
    /// projection; WavLM's gate weight and constant, relative position table, a key projection). Tolerance
    /// 1e-4 × max(|fd|, 1e-2).
    func testWeightGradientsMatchFloat64FiniteDifferences() throws {
        let reference = try Self.reference()
        for name in ["wav2vec2-base", "wavlm-base"] {
            let fds = reference[name]?["finite_differences"]?.arrayValue ?? []
            XCTAssertFalse(fds.isEmpty, "\(name): no finite differences in the fixture")
            let (grads, _, _, _) = try Self.gradients(name) { .init(layers: $0.config.numLayers, frontEnd: true, featureEncoder: true) }
            for fd in fds {
                let entry = fd.arrayValue ?? []
                guard entry.count == 3, let tensor = entry[0].stringValue, let i = entry[1].intValue,
                      let value = entry[2].doubleValue, let ours = grads[tensor] else { XCTFail("\(name): bad entry \(fd.serialized())"); continue }
                let err = abs(Double(ours[i]) - value)
                print("\(name) \(tensor)[\(i)]: ours \(ours[i]), float64 FD \(value), |diff| \(err)")
                XCTAssertLessThanOrEqual(err, 1e-4 * max(abs(value), 1e-2), "\(name) \(tensor)[\(i)]")
            }
        }
    }

    /// With dropout on every site (hidden 0.1, attention 0.1, activation 0.1, feature projection 0.1; the fixtures'
    /// checkpoints have none) and the masks fixed by reseeding the stream, the loss is a smooth function of the
    /// weights: central differences (ε = 1e-2, Float32 forward, Double sums) at each tensor's largest-gradient entry
    /// check every path the masks touch. Tolerance 2e-2 · max(1, |fd|) (as the text encoders' test).
    /// Our gradient at entry `i` of the weight at `value` against a central difference of `loss` (ε = 1e-2, Float32
    /// forward, Double sums; tolerance 2e-2 · max(1, |fd|), the text encoders' check); the weight is restored.
    func assertCentralDifference(_ value: UnsafeMutablePointer<Float>, _ i: Int, gradient: Float, loss: () throws -> Double,
                                 _ label: String) throws {
        let saved = value[i], eps: Float = 1e-2
        value[i] = saved + eps
        let up = try loss()
        value[i] = saved - eps
        let down = try loss()
        value[i] = saved
        let numeric = (up - down) / Double(2 * eps)
        XCTAssertEqual(Double(gradient), numeric, accuracy: 2e-2 * max(1, abs(numeric)), label)
    }

    func testWeightGradientsWithDropoutMatchFiniteDifferences() throws {
        for name in ["wav2vec2-base", "wavlm-large"] {
            let encoder = try SpeechEncoder(directory: Fixtures.encoder(name).path)
            let (x, n, lengths, r) = try Self.batch(name, encoder: encoder)
            let rates = SpeechEncoder.DropoutRates(hidden: 0.1, attention: 0.1, activation: 0.1, featureProjection: 0.1)
            let scope = SpeechEncoder.TrainableScope(layers: encoder.config.numLayers, frontEnd: true, featureEncoder: true)
            func loss() throws -> Double {
                encoder.dropoutGenerator = SeededGenerator(seed: 77)
                let pooled = try encoder.trainingForward(x, batch: 2, samples: n, lengths: lengths, scope: scope).meanPooled()
                return zip(pooled, r).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
            let eval = try loss()
            encoder.dropoutRates = rates
            let base = try loss()
            XCTAssertNotEqual(base, eval, "\(name): a training forward must drop something")
            XCTAssertEqual(try loss(), base, "\(name): same seed, same masks")
            let grads = encoder.makeGradients(for: scope)
            _ = try loss()
            try encoder.weightGradientsOfLastForward(pooledGrad: r, into: grads)
            var checked = 0
            for (w, g) in zip(encoder.parameters(in: scope), grads.parameters) {
                let grad = Array(UnsafeBufferPointer(start: g.value, count: g.count))
                guard let i = grad.indices.max(by: { abs(grad[$0]) < abs(grad[$1]) }), abs(grad[i]) > 1e-3 else { continue }
                try assertCentralDifference(w.value, i, gradient: grad[i], loss: loss, "\(name) \(w.name)[\(i)]")
                checked += 1
            }
            XCTAssertGreaterThanOrEqual(checked, 30, "\(name): most tensors have a gradient entry worth checking")
        }
    }

    /// Activation checkpointing in training (`gradient_checkpointing`): with every dropout, LayerDrop and SpecAugment
    /// on, a checkpointed training step gives the full tape's embedding and weight gradients (the re-run repeats the
    /// forward's arithmetic and masks: equal within 1e-6 of each tensor's largest gradient; in practice bit for bit),
    /// draws the same stream (the next step's masks agree too), and holds one layer's tape instead of all of them.
    func testCheckpointedTrainingGivesTheFullTapesGradients() throws {
        for name in ["wav2vec2-base", "wavlm-large"] {
            func step(checkpointed: Bool) throws -> (pooled: [Float], grads: [[Float]], next: [Float], held: Int) {
                let encoder = try SpeechEncoder(directory: Fixtures.encoder(name).path)
                let (x, n, lengths, r) = try Self.batch(name, encoder: encoder)
                encoder.dropoutRates = .init(hidden: 0.1, attention: 0.1, activation: 0.1, featureProjection: 0.1, layerdrop: 0.3)
                encoder.specAugment = true
                encoder.dropoutGenerator = SeededGenerator(seed: 11)
                let scope = SpeechEncoder.TrainableScope.all(encoder.config, freezeFeatureEncoder: false)
                let grads = encoder.makeGradients(for: scope)
                let out = try encoder.trainingForward(x, batch: 2, samples: n, lengths: lengths, scope: scope, checkpointed: checkpointed)
                try encoder.weightGradientsOfLastForward(pooledGrad: r, into: grads)
                let held = encoder.tapeSpace.capacity.values.reduce(0, +)
                let next = try encoder.trainingForward(x, batch: 2, samples: n, lengths: lengths, scope: scope, checkpointed: checkpointed)
                return (out.meanPooled(), grads.parameters.map { Array(UnsafeBufferPointer(start: $0.value, count: $0.count)) },
                        next.meanPooled(), held)
            }
            let full = try step(checkpointed: false), ckpt = try step(checkpointed: true)
            XCTAssertEqual(ckpt.pooled, full.pooled, "\(name): the checkpointed forward is the full one")
            XCTAssertEqual(ckpt.next, full.next, "\(name): the stream advanced as far (the next step's masks agree)")
            XCTAssertEqual(ckpt.grads.count, full.grads.count)
            var nonzero = 0
            for (a, b) in zip(ckpt.grads, full.grads) {
                XCTAssertLessThanOrEqual(maxAbsDiff(a, b), 1e-6 * max(1e-12, maxAbs(b)), "\(name): a weight gradient differs")
                if maxAbs(b) > 0 { nonzero += 1 }
            }
            XCTAssertGreaterThan(nonzero, full.grads.count / 2, "\(name): most tensors got a gradient")
            XCTAssertLessThan(ckpt.held, full.held, "\(name): checkpointing keeps less")
        }
    }

    /// LayerDrop at probability 1: wav2vec2 skips every layer (last_hidden_state is then hidden_states[0]), WavLM
    /// every layer but layer 0 (which holds the relative position table). Skipped layers get zero gradients; the
    /// others match central differences (ε = 1e-2, tolerance 2e-2 · max(1, |fd|)).
    func testLayerDropSkipsLayersInForwardAndBackward() throws {
        for name in ["wav2vec2-base", "wavlm-base"] {
            let encoder = try SpeechEncoder(directory: Fixtures.encoder(name).path)
            let (x, n, lengths, r) = try Self.batch(name, encoder: encoder)
            let scope = SpeechEncoder.TrainableScope.all(encoder.config)
            encoder.dropoutRates = .init(hidden: 0, attention: 0, activation: 0, featureProjection: 0, layerdrop: 1)
            func loss() throws -> Double {
                let pooled = try encoder.trainingForward(x, batch: 2, samples: n, lengths: lengths, scope: scope).meanPooled()
                return zip(pooled, r).reduce(0) { $0 + Double($1.0) * Double($1.1) }
            }
            let eval = try encoder.forward(x, batch: 2, samples: n, lengths: lengths)
            let out = try encoder.trainingForward(x, batch: 2, samples: n, lengths: lengths, scope: scope)
            let per = 2 * eval.frames * eval.channels
            let kept = name == "wavlm-base" ? 1 : 0  // hidden state the skipped layers pass through
            XCTAssertLessThanOrEqual(maxAbsDiff(out.lastHiddenState, Array(eval.hiddenStates[(kept * per)..<((kept + 1) * per)])), 1e-5,
                                     "\(name): the skipped layers are the identity")
            let grads = encoder.makeGradients(for: scope)
            try encoder.weightGradientsOfLastForward(pooledGrad: r, into: grads)
            for (w, g) in zip(encoder.parameters(in: scope), grads.parameters) {
                let grad = Array(UnsafeBufferPointer(start: g.value, count: g.count))
                let skippedLayer = w.name.hasPrefix("encoder.layers.") && !(kept == 1 && w.name.hasPrefix("encoder.layers.0."))
                if skippedLayer {
                    XCTAssertEqual(maxAbs(grad), 0, "\(name) \(w.name): a skipped layer trains nothing")
                    continue
                }
                guard let i = grad.indices.max(by: { abs(grad[$0]) < abs(grad[$1]) }), abs(grad[i]) > 1e-3,
                      w.name.hasSuffix("weight") else { continue }
                try assertCentralDifference(w.value, i, gradient: grad[i], loss: loss, "\(name) \(w.name)[\(i)]")
            }
        }
    }

    /// SpecAugment time masking (wav2vec2-base's fixture with `mask_time_prob` 0.3, `mask_time_length` 4, one span
    /// at least, and a `masked_spec_embed` added): the masks are fixed by reseeding, the loss changes, and central
    /// differences (as above) check `masked_spec_embed`'s gradient and the paths around the masked frames.
    func testSpecAugmentTrainsMaskedSpecEmbedAndMatchesFiniteDifferences() throws {
        let source = Fixtures.encoder("wav2vec2-base")
        let dir = try Fixtures.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        var json = try JSONValue.parse(try Data(contentsOf: source.appendingPathComponent("config.json"))).objectValue ?? [:]
        json["mask_time_prob"] = 0.3
        json["mask_time_length"] = 4
        json["mask_time_min_masks"] = 1
        try Data(JSONValue.object(json).serialized().utf8).write(to: dir.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("preprocessor_config.json"),
                                         to: dir.appendingPathComponent("preprocessor_config.json"))
        let file = try SafeTensorsFile(path: source.appendingPathComponent("model.safetensors").path)
        var writer = SafeTensorsWriter()
        for name in file.names { writer.add(name, shape: try file.info(name).shape, values: try file.floats(name)) }
        writer.add("masked_spec_embed", shape: [32], values: (0..<32).map { Float(sin(Double($0) * 1.3)) })
        try writer.write(to: dir.appendingPathComponent("model.safetensors").path)

        let encoder = try SpeechEncoder(directory: dir.path)
        let (x, n, lengths, r) = try Self.batch("wav2vec2-base", encoder: encoder)
        let scope = SpeechEncoder.TrainableScope.all(encoder.config)
        func loss() throws -> Double {
            encoder.dropoutGenerator = SeededGenerator(seed: 5)
            let pooled = try encoder.trainingForward(x, batch: 2, samples: n, lengths: lengths, scope: scope).meanPooled()
            return zip(pooled, r).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        let plain = try loss()
        encoder.specAugment = true
        let base = try loss()
        XCTAssertNotEqual(base, plain, "SpecAugment must mask something")
        XCTAssertEqual(try loss(), base, "same seed, same spans")
        let grads = encoder.makeGradients(for: scope)
        _ = try loss()
        try encoder.weightGradientsOfLastForward(pooledGrad: r, into: grads)
        XCTAssertTrue(encoder.parameters(in: scope).contains { $0.name == "masked_spec_embed" })
        let checked = ["masked_spec_embed", "feature_projection.projection.weight", "encoder.pos_conv_embed.conv.bias",
                       "encoder.layers.0.attention.q_proj.weight"]
        for (w, g) in zip(encoder.parameters(in: scope), grads.parameters) where checked.contains(w.name) {
            let grad = Array(UnsafeBufferPointer(start: g.value, count: g.count))
            guard let i = grad.indices.max(by: { abs(grad[$0]) < abs(grad[$1]) }) else { continue }
            if w.name == "masked_spec_embed" { XCTAssertGreaterThan(abs(grad[i]), 1e-3, "masked_spec_embed gets a gradient") }
            try assertCentralDifference(w.value, i, gradient: grad[i], loss: loss, "\(w.name)[\(i)]")
        }
        XCTAssertTrue(SafeTensorsFileNames(encoder.safetensors()).contains("masked_spec_embed"), "the trained embedding is saved")
    }

    /// `top-1` trains the top layer only (and a pre-LN model's final norm): no other tensor has a gradient buffer,
    /// and those it has equal the full run's. The input gradient of a training pass equals the inference path's.
    func testTopKScopeTrainsOnlyTheTopLayers() throws {
        let reference = try Self.reference()
        for name in ["wav2vec2-base", "wavlm-large"] {
            let (grads, _, encoder, _) = try Self.gradients(name) { _ in .top(1) }
            let top = "encoder.layers.\(encoder.config.numLayers - 1)."
            for tensor in grads.keys {
                XCTAssertTrue(tensor.hasPrefix(top) || (encoder.config.stableLayerNorm && tensor.hasPrefix("encoder.layer_norm.")),
                              "\(name): top-1 trains \(tensor)")
            }
            let expectedTop = encoder.parameters.filter { $0.name.hasPrefix(top) }.map(\.name)
            XCTAssertEqual(Set(expectedTop).subtracting(grads.keys), [], "\(name): a top-layer tensor is not trained")
            let largest = Self.largestGradient(reference[name]?["gradients"]?.objectValue ?? [:])
            for (tensor, ours) in grads {
                guard let ref = reference[name]?["gradients"]?[tensor] else { XCTFail("\(name) \(tensor): no reference"); continue }
                XCTAssertLessThanOrEqual(Self.relativeError(ours, ref, tensor: tensor, largest: largest).sample, Double(Self.tolerance),
                                         "\(name) \(tensor)")
            }
        }
    }

    /// `freeze_feature_encoder` (the default of `all`): no conv weight, bias or conv norm is trained; every other
    /// tensor is, with torch's gradients. The conv layers are then not taped (a quarter of a base model's tape at
    /// 3 s): the training tape is smaller by exactly their part, and asking that tape for an input gradient is a
    /// clear error instead of a read of stale memory.
    func testFreezeFeatureEncoderTrainsNoConvWeight() throws {
        let reference = try Self.reference()
        for name in ["wav2vec2-large", "wavlm-base"] {
            let (grads, _, encoder, _) = try Self.gradients(name) { .all($0.config) }
            XCTAssertFalse(grads.keys.contains { $0.hasPrefix("feature_extractor.") })
            let others = encoder.parameters.map(\.name).filter { !$0.hasPrefix("feature_extractor.") }
            XCTAssertEqual(Set(grads.keys), Set(others))
            let largest = Self.largestGradient(reference[name]?["gradients"]?.objectValue ?? [:])
            for (tensor, ours) in grads {
                guard let ref = reference[name]?["gradients"]?[tensor] else { XCTFail("\(name) \(tensor): no reference"); continue }
                XCTAssertLessThanOrEqual(Self.relativeError(ours, ref, tensor: tensor, largest: largest).sample, Double(Self.tolerance),
                                         "\(name) \(tensor)")
            }
            let (_, _, taped, _) = try Self.gradients(name) { .all($0.config, freezeFeatureEncoder: false) }
            let held = encoder.tapeSpace.capacity.values.reduce(0, +), heldTaped = taped.tapeSpace.capacity.values.reduce(0, +)
            let samples = encoder.tapeShape?.samples ?? 0
            let convPart = encoder.trainingTapeFloats(batch: 2, samples: samples) - encoder.trainingTapeFloats(batch: 2, samples: samples, convLayers: false)
            XCTAssertGreaterThan(convPart, 0)
            XCTAssertLessThanOrEqual(held, heldTaped - convPart, "\(name): the frozen conv layers' tape was allocated")
            XCTAssertThrowsError(try Self.gradients(name, scope: { .all($0.config) }, inputGradient: true)) { error in
                XCTAssertTrue("\(error)".contains("did not tape it"), "\(name): \(error)")
            }
        }
    }

    /// A training pass that also asks for the input gradient gives the inference path's (same tape, same kernels).
    func testTrainingPassInputGradientEqualsInferencePath() throws {
        let name = "wavlm-base"
        let (_, _, encoder, dx) = try Self.gradients(name, scope: { .all($0.config, freezeFeatureEncoder: false) }, inputGradient: true)
        let (x, n, lengths, r) = try Self.batch(name, encoder: encoder)
        let (_, reference) = try encoder.inputGradient(x, batch: lengths.count, samples: n, lengths: lengths, pooledGrad: r)
        XCTAssertLessThanOrEqual(maxAbsDiff(dx, reference), 1e-5 * max(1, maxAbs(reference)))
    }

    /// Weights changed through the parameter pointers reach the next training forward (derived copies are
    /// refreshed), and the exported safetensors has exactly the checkpoint's names and shapes; loaded as a
    /// checkpoint folder with the original config.json it gives the same outputs.
    func testSavedWeightsRoundTripAsACheckpoint() throws {
        for name in ["wav2vec2-base", "wavlm-large"] {
            let dir = Fixtures.encoder(name)
            let encoder = try SpeechEncoder(directory: dir.path)
            let (x, n, lengths, _) = try Self.batch(name, encoder: encoder)
            // Perturb every weight a little through its stable address (as an optimiser would).
            for (k, p) in encoder.parameters.enumerated() {
                for i in 0..<p.count { p.value[i] *= 1 + 0.01 * Float(sin(Double(i + k))) }
            }
            let trained = try encoder.trainingForward(x, batch: 2, samples: n, lengths: lengths, scope: .all(encoder.config, freezeFeatureEncoder: false))
            encoder.refreshDerivedWeights()
            let changed = try encoder.forward(x, batch: 2, samples: n, lengths: lengths)
            XCTAssertLessThanOrEqual(maxAbsDiff(changed.lastHiddenState, trained.lastHiddenState), 1e-5 * max(1, maxAbs(trained.lastHiddenState)))
            let original = try SpeechEncoder(directory: dir.path).forward(x, batch: 2, samples: n, lengths: lengths)
            XCTAssertGreaterThan(maxAbsDiff(changed.lastHiddenState, original.lastHiddenState), 1e-3, "\(name): the perturbation changed nothing")

            let folder = try Fixtures.tempDir()
            defer { try? FileManager.default.removeItem(at: folder) }
            for file in ["config.json", "preprocessor_config.json"] {
                try FileManager.default.copyItem(at: dir.appendingPathComponent(file), to: folder.appendingPathComponent(file))
            }
            try Data(encoder.safetensors()).write(to: folder.appendingPathComponent("model.safetensors"))
            let saved = try SafeTensorsFile(path: folder.appendingPathComponent("model.safetensors").path)
            let checkpoint = try SafeTensorsFile(path: dir.appendingPathComponent("model.safetensors").path)
            XCTAssertEqual(Set(saved.names), Set(checkpoint.names), "\(name): tensor names")
            for t in checkpoint.names { XCTAssertEqual(saved.shape(of: t), checkpoint.shape(of: t), "\(name) \(t): shape") }
            let reloaded = try SpeechEncoder(directory: folder.path).forward(x, batch: 2, samples: n, lengths: lengths)
            XCTAssertLessThanOrEqual(maxAbsDiff(reloaded.lastHiddenState, changed.lastHiddenState), 1e-6 * max(1, maxAbs(changed.lastHiddenState)))
            // load(weights:) into a fresh encoder does the same.
            let fresh = try SpeechEncoder(directory: dir.path)
            try fresh.load(weights: saved)
            let loaded = try fresh.forward(x, batch: 2, samples: n, lengths: lengths)
            XCTAssertLessThanOrEqual(maxAbsDiff(loaded.lastHiddenState, changed.lastHiddenState), 1e-6 * max(1, maxAbs(changed.lastHiddenState)))
        }
    }
}

/// The components' fine-tuning contract (what the host's trainer calls): config, parameters, training mode,
/// backward into the weights, saved state, and a frozen encoder's resolved config unchanged.
final class SpeechFineTuneComponentTests: XCTestCase {
    /// The fixture's padded batch as component inputs (raw audio [2, N], lengths [2]) and R as d embedding.
    func inputs(_ name: String) throws -> (inputs: [Value], r: NDArray) {
        let expected = try SafeTensorsFile(path: Fixtures.encoder(name).appendingPathComponent("expected.safetensors").path)
        let shape = try expected.info("batch.raw").shape
        let mask = try expected.floats("batch.mask")
        let lengths = (0..<shape[0]).map { b in mask[(b * shape[1])..<((b + 1) * shape[1])].reduce(0, +) }
        let r = (0..<(shape[0] * 32)).map { Float(sin(0.37 * Double($0) + 0.1)) }
        return ([.array(try NDArray(shape: shape, data: try expected.floats("batch.raw"))), .array(NDArray(vector: lengths))],
                try NDArray(shape: [shape[0], 32], data: r))
    }

    /// `gradient_checkpointing: true` through the component: the same weight gradients as without, a smaller
    /// per-frame training memory in the description, and the frozen encoder's cache key untouched by the option.
    func testGradientCheckpointingOptionThroughTheComponent() throws {
        let name = "wavlm-base"
        let (inputs, r) = try inputs(name)
        func run(_ checkpointing: Bool) throws -> (grads: [[Float]], perFrame: Double) {
            let enc = try WavLMEncoder(config: ["model": .string(Fixtures.encoder(name).path), "fine_tune": "all", "seed": 3,
                                                "gradient_checkpointing": .bool(checkpointing)])
            enc.setTraining(true)
            _ = try enc.forward(inputs)
            XCTAssertEqual(try enc.backward([r]).count, 0)
            return (enc.parameters.map { Array(UnsafeBufferPointer(start: $0.grad, count: $0.shape.reduce(1, *))) },
                    enc.resolvedDescription["training_memory"]?["bytes_per_token"]?.doubleValue ?? 0)
        }
        let plain = try run(false), checkpointed = try run(true)
        XCTAssertEqual(checkpointed.grads.count, plain.grads.count)
        for (a, b) in zip(checkpointed.grads, plain.grads) { XCTAssertLessThanOrEqual(maxAbsDiff(a, b), 1e-6 * max(1e-12, maxAbs(b))) }
        XCTAssertLessThan(checkpointed.perFrame, plain.perFrame, "the estimate counts one layer's tape")
        let frozen = try WavLMEncoder(config: ["model": .string(Fixtures.encoder(name).path), "gradient_checkpointing": true])
        XCTAssertNil(frozen.resolvedDescription["config"]?["gradient_checkpointing"], "a frozen encoder's cache key has no fine-tuning keys")
    }

    func testTrainingModeFillsWeightGradientsThroughTheComponent() throws {
        let name = "wav2vec2-large"
        let enc = try Wav2Vec2Encoder(config: ["model": .string(Fixtures.encoder(name).path), "fine_tune": "all", "seed": 3,
                                               "hidden_states": true])
        XCTAssertNotNil(Wav2Vec2Encoder.componentInfo.manifest["config"]?["fine_tune"], "the host looks for fine_tune in the manifest")
        XCTAssertNotNil(Wav2Vec2Encoder.componentInfo.manifest["config"]?["freeze_feature_encoder"])
        XCTAssertEqual(Wav2Vec2Encoder.componentInfo.manifest["trainable"], true)
        let params = enc.parameters
        XCTAssertFalse(params.isEmpty)
        XCTAssertFalse(params.contains { $0.name.hasPrefix("feature_extractor.") }, "freeze_feature_encoder defaults to true")
        let description = enc.resolvedDescription
        XCTAssertEqual(description["config"]?["fine_tune"], "all")
        XCTAssertGreaterThan(description["training_memory"]?["fixed_bytes"]?.doubleValue ?? 0, 0)
        XCTAssertGreaterThan(description["training_memory"]?["bytes_per_token"]?.doubleValue ?? 0, 0)

        let (inputs, r) = try inputs(name)
        let inference = try enc.forward(inputs)
        enc.setTraining(true)
        let trainingOut = try enc.forward(inputs)
        XCTAssertLessThanOrEqual(maxAbsDiff(inference[0].array?.data ?? [], trainingOut[0].array?.data ?? [1]), 1e-5,
                                 "a training forward computes the same embedding (no dropout)")
        XCTAssertEqual(trainingOut.count, 2, "hidden states in training mode too")
        XCTAssertLessThanOrEqual(maxAbsDiff(inference[1].array?.data ?? [], trainingOut[1].array?.data ?? [1]), 1e-5)
        XCTAssertEqual(try enc.backward([r]).count, 0, "training backward returns no input gradient")
        let reference = try SpeechFineTuneTests.reference()[name]?["gradients"]
        let largest = SpeechFineTuneTests.largestGradient(reference?.objectValue ?? [:])
        for p in params {
            guard let ref = reference?[p.name] else { XCTFail("\(p.name): no reference"); continue }
            let ours = Array(UnsafeBufferPointer(start: p.grad, count: p.shape.reduce(1, *)))
            XCTAssertLessThanOrEqual(SpeechFineTuneTests.relativeError(ours, ref, tensor: p.name, largest: largest).sample,
                                     Double(SpeechFineTuneTests.tolerance), p.name)
        }
        // A second backward accumulates.
        let before = params[0].grad[0]
        _ = try enc.forward(inputs)
        _ = try enc.backward([r])
        XCTAssertEqual(params[0].grad[0], 2 * before, accuracy: 1e-5 * max(1, abs(before)))

        // An optimiser step through the pointers, then evaluation mode sees the new weights; the state round-trips.
        for p in params { for i in 0..<p.shape.reduce(1, *) { p.value[i] -= 0.01 * p.grad[i] } }
        enc.setTraining(false)
        let stepped = try enc.forward(inputs)[0].array?.data ?? []
        XCTAssertGreaterThan(maxAbsDiff(stepped, inference[0].array?.data ?? []), 1e-5, "the step changed nothing")
        let state = try enc.saveState()
        let other = try Wav2Vec2Encoder(config: ["model": .string(Fixtures.encoder(name).path)])
        try other.loadState(state)
        XCTAssertLessThanOrEqual(maxAbsDiff(try other.forward(inputs)[0].array?.data ?? [], stepped), 1e-6)
        XCTAssertThrowsError(try other.loadState([1, 2, 3]))
    }

    /// A frozen encoder's resolved config (the feature cache key) holds exactly the keys it held before
    /// fine-tuning existed; fine_tune errors name the key.
    func testFrozenResolvedConfigIsUnchanged() throws {
        let path = Fixtures.encoder("wavlm-base").path
        let frozen = try WavLMEncoder(config: ["model": .string(path)])
        let keys = Set(frozen.resolvedDescription["config"]?.objectValue?.keys.map { $0 } ?? [])
        XCTAssertEqual(keys, ["model", "pooling", "layer", "layer_weights", "hidden_states", "keep_activations", "checkpoint_sha256"])
        XCTAssertNil(frozen.resolvedDescription["training_memory"])
        XCTAssertTrue(frozen.parameters.isEmpty)
        let explicit = try WavLMEncoder(config: ["model": .string(path), "fine_tune": "frozen", "seed": 5])
        XCTAssertEqual(explicit.resolvedDescription["config"], frozen.resolvedDescription["config"])
        XCTAssertThrowsError(try WavLMEncoder(config: ["model": .string(path), "fine_tune": "top-9"])) {
            XCTAssertTrue("\($0)".contains("top-K with K in 1...2"), "\($0)")
        }
        XCTAssertThrowsError(try WavLMEncoder(config: ["model": .string(path), "fine_tune": "all", "pooling": "layer"])) {
            XCTAssertTrue("\($0)".contains("pooling mean"), "\($0)")
        }
        let top = try WavLMEncoder(config: ["model": .string(path), "fine_tune": "top-1"])
        XCTAssertTrue(top.parameters.allSatisfy { $0.name.hasPrefix("encoder.layers.1.") }, "\(top.parameters.map(\.name))")
    }
}

/// The tensor names of a safetensors file held in memory (its JSON header).
func SafeTensorsFileNames(_ bytes: [UInt8]) -> Set<String> {
    guard bytes.count >= 8 else { return [] }
    var n = 0
    for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
    guard bytes.count >= 8 + n, let header = try? JSONValue.parse(Data(bytes[8..<(8 + n)])) else { return [] }
    return Set((header.objectValue ?? [:]).keys.filter { $0 != "__metadata__" })
}
