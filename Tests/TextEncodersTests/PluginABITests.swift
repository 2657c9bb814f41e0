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
        XCTAssertEqual(roberta.calls.sorted(), ["backward", "forward"])
        let whisper = try host.component("whisper-transcript").component
        XCTAssertEqual(whisper.kind, "extractor")
        XCTAssertEqual(whisper.calls, ["forward"])
    }
}
