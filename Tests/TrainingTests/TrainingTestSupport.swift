import EmoTestSupport
import EmoCore
import EmoPipeline
import EmoRuntime
import EmoTensor
import Foundation
import XCTest

/// Data, paths and plugin hosts shared by the training tests.
enum TrainingFixtures {
    /// The repository root (the folder holding Package.swift).
    static var repoRoot: URL { TestRepository.root }

    /// Gaussian blobs: class c has mean 2·(c-th direction) in every group, unit noise. Separable but not trivially.
    static func blobs(rows: Int, widths: [Int], classes: Int, seed: UInt64) throws -> TrainingSet {
        var g = SeededGenerator(seed: seed)
        let labels = (0..<rows).map { $0 % classes }
        let groups = try widths.map { w -> NDArray in
            var data = [Float](repeating: 0, count: rows * w)
            for r in 0..<rows {
                for j in 0..<w { data[r * w + j] = g.nextNormal() + (j % classes == labels[r] ? 2 : 0) }
            }
            return try NDArray(shape: [rows, w], data: data)
        }
        return try TrainingSet(groups: groups, labels: labels, classes: classes)
    }

    /// The parity fixture written by Tests/Reference/training_fixtures.py.
    static func parityCases() throws -> [JSONValue] {
        guard let url = Bundle.module.url(forResource: "Fixtures/training_parity", withExtension: "json") else {
            throw XCTSkip("Fixtures/training_parity.json is missing; run Tests/Reference/training_fixtures.py")
        }
        return try JSONValue.parse(try Data(contentsOf: url))["cases"]?.arrayValue ?? []
    }

    /// A plugin host whose registry lists the built fusion and classifier libraries (skips when not built).
    static func pluginHost() throws -> PluginHost {
        let buildDirectory = PluginSources.executableDirectory()
        let libraries = ["libEmoPluginFusion.so", "libEmoPluginClassifiers.so"].map { buildDirectory + "/" + $0 }
        for lib in libraries where !FileManager.default.fileExists(atPath: lib) {
            throw XCTSkip("\(lib) is not built beside the tests; run `swift build` first")
        }
        guard FileManager.default.isExecutableFile(atPath: buildDirectory + "/emo-probe") else {
            throw XCTSkip("emo-probe is not built beside the tests; run `swift build` first")
        }
        let dir = NSTemporaryDirectory() + "emokit-training-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let registry = dir + "/registry.json"
        try JSONValue.object(["format": 1, "plugins": .array(libraries.map { ["library": .string($0)] })])
            .serialized(pretty: true).write(toFile: registry, atomically: true, encoding: .utf8)
        let sources = PluginSources(registries: [registry], hostDirectory: buildDirectory)
        return PluginHost(sources: sources, prober: Prober(executable: buildDirectory + "/emo-probe", timeout: 20),
                          cache: ProbeCache(path: dir + "/cache.json"))
    }

    /// Floats of a JSON array.
    static func floats(_ v: JSONValue?) -> [Float] { (v?.arrayValue ?? []).compactMap { $0.doubleValue.map(Float.init) } }
}
