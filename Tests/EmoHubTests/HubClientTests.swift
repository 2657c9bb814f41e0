import EmoCore
import EmoHub
import EmoModels
import EmoRuntime
import EmoTestSupport
import Foundation
import XCTest

/// `HubClient` (what `emo models pull` runs) against a local server in the hub's layout: the file selection, a
/// resumed truncated download, a wrong checksum, a 404, a gated repository, sharded safetensors; then the command
/// itself, which imports what it downloaded.
final class HubClientTests: XCTestCase {
    static let tinyBert = TestRepository.root.appendingPathComponent("Tests/TextEncodersTests/Fixtures/tiny-bert").path

    private func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.tinyBert + "/" + name)))
    }

    private func temporary() throws -> String {
        let dir = NSTemporaryDirectory() + "emokit-hub-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// The tiny BERT as a hub repository (weights as an LFS file, cut short on its first transfer), plus files a
    /// model folder does not need.
    private func server() throws -> LocalHubServer {
        let server = LocalHubServer()
        let weights = try bytes("model.safetensors")
        server.repositories["emokit/tiny-bert"] = [
            .init(path: "config.json", bytes: try bytes("config.json")),
            .init(path: "vocab.txt", bytes: try bytes("vocab.txt")),
            .init(path: "tokenizer_config.json", bytes: try bytes("tokenizer_config.json")),
            .init(path: "model.safetensors", bytes: weights, listedSHA256: SHA256.hash(weights).hex,
                  cutFirstResponseAt: weights.count / 3),
            .init(path: "README.md", bytes: Array("# tiny".utf8)),
            .init(path: "flax_model.msgpack", bytes: [1, 2, 3]),
        ]
        server.repositories["emokit/bad-sum"] = [
            .init(path: "config.json", bytes: try bytes("config.json")),
            .init(path: "model.safetensors", bytes: weights, listedSHA256: String(repeating: "0", count: 64)),
        ]
        server.repositories["emokit/no-weights"] = [.init(path: "config.json", bytes: try bytes("config.json"))]
        server.repositories["emokit/gated"] = server.repositories["emokit/tiny-bert"]?.map { var f = $0; f.cutFirstResponseAt = nil; return f }
        server.gated["emokit/gated"] = "s3cret"
        try server.start()
        addTeardownBlock { server.stop() }
        return server
    }

    func testDownloadsOnlyWhatAModelNeedsAndResumesATruncatedTransfer() throws {
        let server = try server(), cache = try temporary()
        let hub = HubClient(cache: cache, endpoint: server.endpoint, environment: [:])
        let folder = try hub.download(try HubReference("emokit/tiny-bert"))
        XCTAssertEqual(folder, cache + "/emokit--tiny-bert/main")
        let got = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        XCTAssertEqual(got, ["config.json", "model.safetensors", "tokenizer_config.json", "vocab.txt"], "no README, no flax weights, no .incomplete left")
        XCTAssertEqual([UInt8](try Data(contentsOf: URL(fileURLWithPath: folder + "/model.safetensors"))), try bytes("model.safetensors"))
        let weights = try bytes("model.safetensors")
        XCTAssertTrue(server.log.contains("GET /emokit/tiny-bert/resolve/main/model.safetensors Range: bytes=\(weights.count / 3)-"),
                      "the cut transfer resumed where it stopped: \(server.log)")
        XCTAssertNoThrow(try SafeTensorsFile(path: folder + "/model.safetensors"))
        // A second pull finds every file complete and transfers nothing but the listing.
        let before = server.log.count
        _ = try hub.download(try HubReference("emokit/tiny-bert@main"))
        XCTAssertEqual(server.log.count, before + 1, "\(server.log.suffix(3))")
    }

    func testWrongChecksumMissingRepositoryGatedAndNoWeightsAreNamed() throws {
        let server = try server(), cache = try temporary()
        let hub = HubClient(cache: cache, endpoint: server.endpoint, environment: [:])
        XCTAssertThrowsError(try hub.download(try HubReference("emokit/bad-sum"))) {
            XCTAssertTrue("\($0)".contains("model.safetensors: SHA-256") && "\($0)".contains("discarded"), "\($0)")
        }
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: cache + "/emokit--bad-sum/main")) ?? []
        XCTAssertFalse(leftovers.contains { $0.hasPrefix("model.safetensors") }, "nothing unverified is kept: \(leftovers)")
        XCTAssertThrowsError(try hub.download(try HubReference("emokit/missing"))) {
            XCTAssertEqual($0 as? HubError, .notFound(url: server.endpoint + "/api/models/emokit/missing/tree/main?recursive=true",
                                                      repository: "emokit/missing", revision: "main"))
        }
        XCTAssertThrowsError(try hub.download(try HubReference("emokit/gated"))) { XCTAssertTrue("\($0)".contains("needs HF_TOKEN"), "\($0)") }
        let withToken = HubClient(cache: cache, endpoint: server.endpoint, environment: ["HF_TOKEN": "s3cret"])
        XCTAssertNoThrow(try withToken.download(try HubReference("emokit/gated")))
        XCTAssertThrowsError(try hub.download(try HubReference("emokit/no-weights"))) { XCTAssertTrue("\($0)".contains("no weights EmoKit reads"), "\($0)") }
        for bad in ["tiny-bert", "a/b/c", "../x", "emokit/tiny bert", "emokit/x@../../etc"] {
            XCTAssertThrowsError(try HubReference(bad), bad) { XCTAssertTrue("\($0)".contains("ORG/NAME"), "\($0)") }
        }
        XCTAssertEqual(try HubReference("openai/whisper-tiny.en@refs/pr/1").revision, "refs/pr/1")
        // An unreachable endpoint is a network error naming HF_ENDPOINT.
        let nowhere = HubClient(cache: cache, endpoint: "http://127.0.0.1:1", environment: [:])
        XCTAssertThrowsError(try nowhere.download(try HubReference("emokit/tiny-bert"))) { XCTAssertTrue("\($0)".contains("HF_ENDPOINT"), "\($0)") }
    }

    func testShardedSafetensorsAreFetchedThroughTheirIndexAndPullImportsTheFolder() throws {
        // Split the tiny BERT into two shards with an index, as transformers' save_pretrained(max_shard_size=) does.
        let original = try SafeTensorsFile(path: Self.tinyBert + "/model.safetensors")
        var first = SafeTensorsWriter(), second = SafeTensorsWriter()
        var map: [String: String] = [:]
        for (i, name) in original.names.enumerated() {
            let shape = try original.info(name).shape, values = try original.floats(name)
            if i % 2 == 0 { first.add(name, shape: shape, values: values); map[name] = "model-00001-of-00002.safetensors" } else {
                second.add(name, shape: shape, values: values); map[name] = "model-00002-of-00002.safetensors"
            }
        }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": 0], "weight_map": map])
        let server = LocalHubServer()
        server.repositories["emokit/tiny-bert-sharded"] = [
            .init(path: "config.json", bytes: try bytes("config.json")),
            .init(path: "vocab.txt", bytes: try bytes("vocab.txt")),
            .init(path: "model.safetensors.index.json", bytes: [UInt8](index)),
            .init(path: "model-00001-of-00002.safetensors", bytes: first.serialized(), listedSHA256: SHA256.hash(first.serialized()).hex),
            .init(path: "model-00002-of-00002.safetensors", bytes: second.serialized(), listedSHA256: SHA256.hash(second.serialized()).hex),
        ]
        try server.start()
        addTeardownBlock { server.stop() }
        let cache = try temporary()
        // `emo models pull` downloads and imports (the bert plugin loads the sharded folder).
        let emo = PluginSourcesPath.emo
        guard FileManager.default.isExecutableFile(atPath: emo) else { throw XCTSkip("emo is not built beside the tests (\(emo)); run `swift build` first") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: emo)
        process.arguments = ["models", "pull", "emokit/tiny-bert-sharded", "--cache", cache]
        var env = ProcessInfo.processInfo.environment
        env["HF_ENDPOINT"] = server.endpoint
        env["EMO_MODELS"] = cache + "/models.json"
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 0, stdout + stderr)
        XCTAssertTrue(stdout.contains("registered tiny-bert-sharded"), stdout)
        XCTAssertTrue(stderr.contains("5 files"), stderr)
        let registry = try XCTUnwrap(try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: cache + "/models.json"))).serialized())
        XCTAssertTrue(registry.contains("emokit--tiny-bert-sharded"), registry)
    }
}

/// Where the built `emo` is (beside the test bundle).
enum PluginSourcesPath {
    static var emo: String { PluginSources.executableDirectory() + "/emo" }
}
