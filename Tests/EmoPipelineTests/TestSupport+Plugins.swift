import EmoCore
import EmoPipeline
import EmoRuntime
import EmoTestSupport
import Foundation
import XCTest

/// The in-tree plugins as the tests load them: registry.json at the repository root, libraries and `emo-probe`
/// beside the test binary, a probe cache in the test's own folder.
enum TestPlugins {

    /// The accuracy the bundle in `folder` gives, clip by clip through a `Predictor`, on the test items of the first
    /// split `spec` makes with `seed` (what the run scored when the bundle came from that split).
    static func bundleAccuracy(_ folder: String, host: PluginHost, run: PipelineRun, spec: PipelineSpec, seed: UInt64) throws -> Double {
        let predictor = try Predictor(bundle: try PipelineBundle.load(folder), host: host)
        let split = try XCTUnwrap(try spec.split.splits(of: run.corpus.items, seed: seed).first)
        var correct = 0
        for i in split.test {
            let item = run.corpus.items[i].item
            let p = try predictor.predict(path: item.path, text: item.text)
            let predicted = p.probabilities.indices.max { p.probabilities[$0] < p.probabilities[$1] } ?? -1
            if predicted == run.corpus.items[i].classIndex { correct += 1 }
        }
        return Double(correct) / Double(max(split.test.count, 1))
    }
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
