import EmoCore
import EmoRuntime
import Foundation
import XCTest

/// The text-encoders plugin library loaded by a host through the C ABI only (probe in a child process, dlopen,
/// descriptor → Swift protocol): texts in, embeddings out, and backward across the boundary.
final class PluginABITests: XCTestCase {
    func host() throws -> PluginHost {
        let build = PluginSources.executableDirectory()
        let library = build + "/libEmoPluginTextEncoders.so"
        guard FileManager.default.fileExists(atPath: library), FileManager.default.isExecutableFile(atPath: build + "/emo-probe") else {
            throw XCTSkip("libEmoPluginTextEncoders.so or emo-probe is not built beside the tests (\(build)); run `swift build` first")
        }
        let dir = NSTemporaryDirectory() + "emokit-text-abi-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        let registry = dir + "/registry.json"
        try JSONValue.object(["format": 1, "plugins": [["library": .string(library)]]]).serialized()
            .write(toFile: registry, atomically: true, encoding: .utf8)
        return PluginHost(sources: PluginSources(registries: [registry], hostDirectory: build),
                          prober: Prober(executable: build + "/emo-probe", timeout: 60),
                          cache: ProbeCache(path: dir + "/plugin-cache.json"))
    }

    func testRobertaThroughTheABIMatchesTransformers() throws {
        let fx = try Fixtures.json("tiny_roberta_activations.json")
        let texts = try XCTUnwrap(fx["texts"] as? [String])
        let host = try self.host()
        let roberta = try host.instantiate(id: "roberta", config: ["model": .string(RobertaTests.modelFolder), "max_tokens": 24,
                                                                   "token_embeddings": true])
        XCTAssertTrue(roberta.isDifferentiable)
        let out = try roberta.forward(texts.map { Value.text($0) })
        XCTAssertEqual(out.count, 3)
        let cls = try XCTUnwrap(out[0].array)
        let ref = floats(fx["cls"])
        XCTAssertEqual(cls.shape, [texts.count, 32])
        XCTAssertLessThanOrEqual(zip(cls.data, ref).map { abs($0 - $1) }.max() ?? 1, 1e-4)
        // IG-style call across the boundary: forward from word embeddings, backward to them.
        let grads = try XCTUnwrap(fx["gradients"] as? [[String: Any]]).first { ($0["pooling"] as? String) == "cls" && ($0["alpha"] as? Double) == 1 }
        let gradCase = try XCTUnwrap(grads)
        _ = try roberta.forward([out[2], out[1]])
        let dx = try roberta.backward([try NDArray(shape: cls.shape, data: floats(gradCase["grad_output"]))])
        let refGrad = floats(gradCase["grad_input"])
        let scale = refGrad.map(abs).max() ?? 1
        XCTAssertLessThanOrEqual((zip(dx[0].data, refGrad).map { abs($0 - $1) }.max() ?? 1) / scale, 1e-4)
        // A plugin-side error comes back typed, with the plugin's message.
        XCTAssertThrowsError(try roberta.forward([.ids(shape: [1, 2], values: [0, 99999])])) {
            XCTAssertTrue("\($0)".contains("99999"), "\($0)")
        }
    }

    func testBothComponentsAreListedWithTheirKinds() throws {
        let host = try self.host()
        let roberta = try host.component("roberta").component
        XCTAssertEqual(roberta.kind, "encoder")
        XCTAssertEqual(roberta.calls.sorted(), ["backward", "forward", "params", "state", "training"])
        let whisper = try host.component("whisper-transcript").component
        XCTAssertEqual(whisper.kind, "extractor")
        XCTAssertEqual(whisper.calls, ["forward"])
    }

    func testFineTuningThroughTheABI() throws {
        // The host sees a fine-tuned encoder's weights and gradients through param_count/param_at, as it sees a
        // fusion's or a classifier's, and trains it with set_training/forward/backward.
        let host = try self.host()
        let frozen = try host.instantiate(id: "roberta", config: ["model": .string(RobertaTests.modelFolder)])
        XCTAssertTrue(frozen.parameters.isEmpty, "frozen (the default) exposes no parameters")
        let roberta = try host.instantiate(id: "roberta", config: ["model": .string(RobertaTests.modelFolder), "fine_tune": "top-1"])
        let params = roberta.parameters
        XCTAssertEqual(params.count, 12)
        XCTAssertEqual(params.first?.name, "encoder.layer.1.attention.self.qkv.weight")
        XCTAssertEqual(params.first?.shape, [96, 32])
        roberta.setTraining(true)
        let out = try XCTUnwrap(try roberta.forward([.text("Kids are talking by the door"), .text("Hi")]).first?.array)
        XCTAssertEqual(out.shape, [2, 32])
        for p in params { p.grad.update(repeating: 0, count: p.count) }
        _ = try roberta.backward([NDArray(shape: [2, 32], data: (0..<64).map { Float($0 % 7) - 3 })])
        for p in params where !p.name.hasSuffix("key.bias") && !p.name.hasSuffix("qkv.bias") {
            let norm = (0..<p.count).reduce(Float(0)) { $0 + p.grad[$1] * p.grad[$1] }
            XCTAssertGreaterThan(norm, 0, "\(p.name) got a gradient across the boundary")
        }
        let state = try roberta.saveState()
        XCTAssertEqual(Array(state.prefix(8)).count, 8)
        try frozen.loadState(state)
    }
}
