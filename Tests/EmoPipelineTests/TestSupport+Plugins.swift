import EmoCore
import EmoRuntime
import EmoTestSupport
import Foundation
import XCTest

/// The in-tree plugins as the tests load them: registry.json at the repository root, libraries and `emo-probe`
/// beside the test binary, a probe cache in the test's own folder.
enum TestPlugins {
    /// The folder containing Package.swift.
    static var repoRoot: URL { TestRepository.root }

    /// A host over the built plugins, or a skip saying they are not built.
    static func host(cacheFolder dir: String) throws -> PluginHost {
        let build = PluginSources.executableDirectory()
        guard FileManager.default.fileExists(atPath: build + "/libEmoPluginTemplate.so"),
              FileManager.default.isExecutableFile(atPath: build + "/emo-probe") else {
            throw XCTSkip("plugins are not built beside the tests (\(build)); run `swift build` first")
        }
        let sources = PluginSources(registries: [repoRoot.appendingPathComponent("registry.json").path],
                                    hostDirectory: build)
        return PluginHost(sources: sources, prober: Prober(executable: build + "/emo-probe", timeout: 30),
                          cache: ProbeCache(path: dir + "/plugin-cache.json"))
    }

    nonisolated(unsafe) private static var shared: PluginHost?
    private static let lock = NSLock()

    /// One host for the whole test process (probing every plugin takes seconds; its cache lives in a temporary
    /// folder of its own).
    static func sharedHost() throws -> PluginHost {
        lock.lock()
        defer { lock.unlock() }
        if let shared { return shared }
        let dir = NSTemporaryDirectory() + "emokit-test-plugins-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let host = try host(cacheFolder: dir)
        shared = host
        return host
    }

    /// A fresh temporary folder removed at the test's teardown.
    static func temporaryFolder(_ test: XCTestCase, prefix: String) throws -> String {
        let dir = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }
}

/// A tensor as the reference scripts write it: `{"shape": [...], "data": [...]}` (row-major float32 values).
struct FixtureTensor: Decodable {
    var shape: [Int]
    var data: [Float]
    /// As an `NDArray` (throws when the shape and the data disagree).
    func array() throws -> NDArray { try NDArray(shape: shape, data: data) }
}
