import EmoCore
import EmoRuntime
import Foundation
import XCTest

/// In-tree and out-of-tree plugins loaded by the already-built host, through the C ABI only.
final class PluginBoundaryTests: XCTestCase {
    override func setUpWithError() throws { try RuntimeFixtures.requireProbe() }

    private func inTreeHost(_ dir: String) throws -> PluginHost {
        let template = RuntimeFixtures.buildDirectory + "/libEmoPluginTemplate.so"
        guard FileManager.default.fileExists(atPath: template) else {
            throw XCTSkip("libEmoPluginTemplate.so is not built beside the tests; run `swift build` first")
        }
        return RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(template, nil)])], cacheIn: dir)
    }

    func testTemplateExtractorThroughTheABI() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let host = try inTreeHost(dir)
        let stats = try host.instantiate(id: "template-stats")
        // 1 s of a 100 Hz square wave with amplitude 0.5: RMS 0.5, peak 0.5, 200 crossings in 16000 samples.
        let x = (0..<16000).map { i -> Float in (i / 80) % 2 == 0 ? 0.5 : -0.5 }
        let out = try stats.forward([.array(NDArray(vector: x))])
        let v = try XCTUnwrap(out.first?.array).data
        XCTAssertEqual(v[0], 0.5, accuracy: 1e-6)
        XCTAssertEqual(v[1], 0.5)
        XCTAssertEqual(v[2], 199.0 / 16000, accuracy: 1e-7)
        XCTAssertEqual(v[3], 1.0, accuracy: 1e-7)
        XCTAssertEqual(stats.resolvedDescription["outputs"]?.arrayValue?.first?["feature_names"],
                       ["rms", "peak", "zcr", "duration_s"])
        // Bad input is a typed error carrying the plugin's message across the boundary.
        XCTAssertThrowsError(try stats.forward([.array(NDArray(vector: []))])) { error in
            XCTAssertTrue("\(error)".contains("0 samples"), "\(error)")
        }
        XCTAssertThrowsError(try stats.forward([.array(NDArray(vector: [0, .nan]))])) { error in
            XCTAssertTrue("\(error)".contains("sample 1 is nan"), "\(error)")
        }
    }

    func testTrainableClassifierParametersGradientsAndStateCrossTheABI() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let host = try inTreeHost(dir)
        let head = try host.instantiate(id: "template-linear", config: ["inputs": 3, "classes": 2, "seed": 7])
        XCTAssertTrue(head.isTrainable)
        XCTAssertTrue(head.isDifferentiable)
        let params = head.parameters
        XCTAssertEqual(params.map(\.name), ["weight", "bias"])
        XCTAssertEqual(params.map(\.shape), [[2, 3], [2]])
        // Set known weights through the host-visible pointers, as an optimiser would.
        let w: [Float] = [1, 2, 3, -1, 0, 1]
        for i in 0..<6 { params[0].value[i] = w[i] }
        params[1].value[0] = 0.5
        params[1].value[1] = -0.5
        let x = try NDArray(shape: [2, 3], data: [1, 0, 0, 0, 1, 2])
        let y = try XCTUnwrap(try head.forward([.array(x)]).first?.array)
        XCTAssertEqual(y.data, [1.5, -1.5, 8.5, 1.5])
        let dx = try head.backward([try NDArray(shape: [2, 2], data: [1, 0, 0, 1])])
        XCTAssertEqual(dx.first?.data, [1, 2, 3, -1, 0, 1])
        // dW = gᵀx, accumulated in plugin memory the host can read.
        XCTAssertEqual(Array(UnsafeBufferPointer(start: params[0].grad, count: 6)), [1, 0, 0, 0, 1, 2])
        // State round trip into a fresh instance gives the same outputs.
        let state = try head.saveState()
        let copy = try host.instantiate(id: "template-linear", config: ["inputs": 3, "classes": 2, "seed": 99])
        try copy.loadState(state)
        XCTAssertEqual(try copy.forward([.array(x)]).first?.array, y)
        XCTAssertThrowsError(try copy.loadState(Array(state.dropLast()))) { error in
            XCTAssertTrue("\(error)".contains("state has"), "\(error)")
        }
    }

    func testConfigErrorsComeBackAsTypedErrors() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let host = try inTreeHost(dir)
        XCTAssertThrowsError(try host.instantiate(id: "template-linear", config: ["classes": 1])) { error in
            guard case RuntimeError.componentFailed(let id, let call, let message)? = error as? RuntimeError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(id, "template-linear")
            XCTAssertEqual(call, "create")
            XCTAssertTrue(message.contains("'classes' must be ≥ 2 and ≤ 100000, got 1"), message)
        }
    }

    /// Builds a plugin package outside the tree from the template (as a third party would, depending only on
    /// EmoPluginSDK), registers it, and the already-built host (this test process) loads and runs it. Then a
    /// configuration alone swaps the classifier between the in-tree and the third-party plugin.
    func testOutOfTreePluginBuildsRegistersAndSwapsByConfiguration() throws {
        guard ProcessInfo.processInfo.environment["EMO_SKIP_OUT_OF_TREE"] == nil else {
            throw XCTSkip("EMO_SKIP_OUT_OF_TREE is set")
        }
        let swift = ["/opt/swift/usr/bin/swift", "/usr/bin/swift"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let swift else { throw XCTSkip("no swift toolchain found to build the out-of-tree package") }
        let dir = try RuntimeFixtures.temporaryDirectory()
        let pkg = dir + "/acme"
        try FileManager.default.copyItem(atPath: RuntimeFixtures.repoRoot.appendingPathComponent("Plugins/_Template").path,
                                         toPath: pkg)
        let (renameStatus, renameOut) = try RuntimeFixtures.run("/bin/bash", ["rename.sh", "Acme", "acme", RuntimeFixtures.repoRoot.path],
                                                                cwd: pkg)
        XCTAssertEqual(renameStatus, 0, renameOut)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "XCTestConfigurationFilePath")
        let (status, output) = try RuntimeFixtures.run(swift, ["build", "--package-path", pkg], environment: env)
        XCTAssertEqual(status, 0, "out-of-tree build failed:\n\(output.suffix(3000))")
        let lib = pkg + "/.build/debug/libEmoPluginAcme.so"
        XCTAssertTrue(FileManager.default.fileExists(atPath: lib))

        // Register through a folder on the plugin path, next to the in-tree registry.
        let folder = dir + "/site-plugins"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: lib, toPath: folder + "/libEmoPluginAcme.so")
        let template = RuntimeFixtures.buildDirectory + "/libEmoPluginTemplate.so"
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(template, nil)])],
                                        folders: [folder], cacheIn: dir)
        XCTAssertEqual(host.problems, [])
        XCTAssertEqual(host.components["acme-stats"]?.plugin, "acme")
        XCTAssertEqual(host.components["acme-linear"]?.component.kind, "classifier")

        // The same pipeline code, two configurations: only the classifier id differs.
        let x = try NDArray(shape: [1, 4], data: [0.1, 0.2, 0.3, 0.4])
        func predict(_ spec: JSONValue) throws -> NDArray {
            let id = try XCTUnwrap(spec["classifier"]?["id"]?.stringValue)
            let head = try host.instantiate(id: id, config: spec["classifier"]?["config"] ?? [:])
            return try XCTUnwrap(try head.forward([.array(x)]).first?.array)
        }
        let config: JSONValue = ["inputs": 4, "classes": 3, "seed": 5]
        let inTree = try predict(["classifier": ["id": "template-linear", "config": config]])
        let thirdParty = try predict(["classifier": ["id": "acme-linear", "config": config]])
        XCTAssertEqual(inTree.shape, [1, 3])
        // Same source, same seed: the third-party copy must compute exactly what the in-tree one does.
        XCTAssertEqual(inTree, thirdParty)
        let acmeStats = try host.instantiate(id: "acme-stats")
        let stats = try XCTUnwrap(try acmeStats.forward([.array(NDArray(vector: [0.5, -0.5]))]).first?.array)
        XCTAssertEqual(stats.data, [0.5, 0.5, 0.5, 2.0 / 16000])
    }
}
