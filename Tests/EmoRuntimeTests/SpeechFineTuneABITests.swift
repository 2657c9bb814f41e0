import EmoCore
@testable import EmoRuntime
import Foundation
import XCTest

/// The speech encoders' fine-tuning contract as a host sees it: the in-tree `speech-encoders` library loaded through
/// the C ABI (no Swift type crosses), a `fine_tune` config, parameters under Hugging Face's names, training-mode
/// forward and backward into plugin-owned gradient memory, and state that round-trips.
final class SpeechFineTuneABITests: XCTestCase {
    override func setUpWithError() throws { try RuntimeFixtures.requireProbe() }

    func testSpeechEncoderFineTunesThroughTheABI() throws {
        let library = RuntimeFixtures.buildDirectory + "/libEmoPluginSpeechEncoders.so"
        guard FileManager.default.fileExists(atPath: library) else {
            throw XCTSkip("libEmoPluginSpeechEncoders.so is not built beside the tests; run `swift build` first")
        }
        let dir = try RuntimeFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(library, nil)])], cacheIn: dir)
        let model = RuntimeFixtures.repoRoot.appendingPathComponent("Tests/EmoModelsTests/Fixtures/encoders/wavlm-base").path
        XCTAssertNotNil(try host.component("wavlm").component.manifest["config"]?["fine_tune"], "the host's test for fine-tunable encoders")

        let frozen = try host.instantiate(id: "wavlm", config: ["model": .string(model)])
        XCTAssertTrue(frozen.isTrainable)
        XCTAssertTrue(frozen.parameters.isEmpty, "a frozen encoder exposes no parameters")
        XCTAssertNil(frozen.resolvedDescription["config"]?["fine_tune"])

        let encoder = try host.instantiate(id: "wavlm", config: ["model": .string(model), "fine_tune": "top-1", "seed": 42])
        let params = encoder.parameters
        XCTAssertFalse(params.isEmpty)
        XCTAssertTrue(params.allSatisfy { $0.name.hasPrefix("encoder.layers.1.") }, "\(params.map(\.name))")
        XCTAssertTrue(params.contains { $0.name == "encoder.layers.1.attention.q_proj.weight" && $0.shape == [32, 32] })
        XCTAssertNotNil(encoder.resolvedDescription["training_memory"]?["fixed_bytes"])

        let x: [Float] = (0..<2400).map { i in
            let t = Double(i)
            let v: Double = 0.3 * sin(t * 0.07) + 0.05 * sin(t * 1.9)
            return Float(v)
        }
        let inputs: [Value] = [.array(try NDArray(shape: [2, 1200], data: x)), .array(NDArray(vector: [1200, 900]))]
        let before = try XCTUnwrap(try encoder.forward(inputs).first?.array)
        encoder.setTraining(true)
        _ = try encoder.forward(inputs)
        let back = try encoder.backward([try NDArray(shape: [2, 32], data: (0..<64).map { Float(sin(Double($0))) })])
        XCTAssertTrue(back.isEmpty, "a training backward returns no input gradient")
        let grad = Array(UnsafeBufferPointer(start: params[0].grad, count: params[0].shape.reduce(1, *)))
        XCTAssertGreaterThan(grad.map(abs).max() ?? 0, 0, "gradients land in plugin memory the host reads")
        // An optimiser step through the host-visible pointers, evaluation mode, then the state into a fresh instance.
        for p in params { for i in 0..<p.shape.reduce(1, *) { p.value[i] -= 0.05 * p.grad[i] } }
        encoder.setTraining(false)
        let after = try XCTUnwrap(try encoder.forward(inputs).first?.array)
        XCTAssertNotEqual(after.data, before.data, "the step reaches the next forward")
        let copy = try host.instantiate(id: "wavlm", config: ["model": .string(model)])
        try copy.loadState(try encoder.saveState())
        let reloaded = try XCTUnwrap(try copy.forward(inputs).first?.array)
        XCTAssertEqual(reloaded.data.count, after.data.count)
        for (a, b) in zip(reloaded.data, after.data) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    /// ABI 1.1's `state_size` + `save_state_into`: an encoder writes its state into the host's array, byte for byte
    /// what ABI 1.0's `save_state` hands over (so bundles and checkpoints are unchanged); a trainable component that
    /// cannot write in place (the MLP classifier) goes through the SDK's held copy and gives its blob's bytes too.
    func testStateIsWrittenIntoTheHostsMemoryWithTheSameBytes() throws {
        let speech = RuntimeFixtures.buildDirectory + "/libEmoPluginSpeechEncoders.so"
        let classifiers = RuntimeFixtures.buildDirectory + "/libEmoPluginClassifiers.so"
        for library in [speech, classifiers] where !FileManager.default.fileExists(atPath: library) {
            throw XCTSkip("\(library) is not built beside the tests; run `swift build` first")
        }
        let dir = try RuntimeFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(speech, nil), (classifiers, nil)])], cacheIn: dir)
        let model = RuntimeFixtures.repoRoot.appendingPathComponent("Tests/EmoModelsTests/Fixtures/encoders/wavlm-base").path
        let encoder = try host.instantiate(id: "wavlm", config: ["model": .string(model), "fine_tune": "all", "seed": 7])
        let head = try host.instantiate(id: "mlp", config: ["inputs": 4, "classes": 3, "hidden": [5], "seed": 1])
        for component in [encoder, head] {
            let inPlace = try XCTUnwrap(try component.saveStateInPlace(), "\(component.info.id): the in-tree SDK serves ABI 1.1")
            let blob = try component.saveStateThroughBlob()
            XCTAssertGreaterThan(blob.count, 0)
            XCTAssertEqual(inPlace, blob, "\(component.info.id): the same bytes either way")
            XCTAssertEqual(try component.saveState(), blob)
        }
    }
}
