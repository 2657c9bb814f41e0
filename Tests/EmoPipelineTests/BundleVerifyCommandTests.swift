import EmoCore
import EmoRuntime
import EmoTestSupport
import Foundation
import XCTest

/// `emo run` records a bundle's provenance and `emo bundle verify` checks it, run as a user would.
final class BundleVerifyCommandTests: XCTestCase {
    private func emo(_ arguments: [String], in dir: String) throws -> (status: Int32, output: String) {
        let emo = PluginSources.executableDirectory() + "/emo"
        guard FileManager.default.isExecutableFile(atPath: emo) else {
            throw XCTSkip("the emo executable is not built beside the tests; run `swift build` first")
        }
        var env = ProcessInfo.processInfo.environment
        env["EMO_STORE"] = dir + "/store.sqlite"
        return try TestRepository.run(emo, arguments, environment: env)
    }

    func testARunsBundleVerifiesAndATamperedOneDoesNot() throws {
        let tess = try TestRepository.sharedData().appendingPathComponent("tess").path
        let dir = try TestPlugins.temporaryFolder(self, prefix: "emokit-verify")
        var csv = "path,label,speaker\n"
        for (label, folder) in [("angry", "OAF_angry"), ("sad", "OAF_sad")] {
            for f in try FileManager.default.contentsOfDirectory(atPath: tess + "/" + folder).sorted().prefix(8) {
                csv += "\(tess)/\(folder)/\(f),\(label),OAF\n"
            }
        }
        try csv.write(toFile: dir + "/m.csv", atomically: true, encoding: .utf8)
        let spec = """
        {"version": 1, "name": "verify-test",
         "corpus": {"sources": [{"kind": "manifest", "path": "\(dir)/m.csv"}], "classes": ["angry", "sad"]},
         "featureGroups": [{"name": "stats", "component": "template-stats"}],
         "split": {"kind": "stratified", "testFraction": 0.25}, "scaling": {"method": "standard"},
         "fusion": {"component": "early"}, "classifier": {"component": "logistic"},
         "training": {"optimizer": "adam", "learningRate": 0.05, "batchSize": 4, "maxEpochs": 5}, "seeds": [3]}
        """
        try spec.write(toFile: dir + "/spec.json", atomically: true, encoding: .utf8)
        let run = try emo(["run", dir + "/spec.json", "--out", dir + "/out", "--quiet"], in: dir)
        XCTAssertEqual(run.status, 0, run.output)
        let bundle = dir + "/out/bundle"
        try FileManager.default.copyItem(atPath: bundle + "/bundle.json", toPath: dir + "/out/bundle.json.orig")

        // The bundle records its provenance.
        let manifestURL = URL(fileURLWithPath: bundle + "/bundle.json")
        var manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        var provenance = try XCTUnwrap(manifest["provenance"] as? [String: Any])
        let components = try XCTUnwrap(provenance["components"] as? [[String: Any]])
        XCTAssertEqual(components.map { $0["role"] as? String }, ["stats", "fusion", "classifier"])
        XCTAssertTrue(components.allSatisfy { ($0["librarySHA256"] as? String)?.count == 64 })
        XCTAssertEqual((provenance["referenceProbabilities"] as? [Double])?.count, 2)

        let ok = try emo(["bundle", "verify", bundle], in: dir)
        XCTAssertEqual(ok.status, 0, ok.output)
        XCTAssertTrue(ok.output.contains("predictions are reproduced"), ok.output)
        XCTAssertTrue(ok.output.contains("ok       stats: template-stats"), ok.output)

        // Recorded probabilities that this machine does not reproduce, and a component version it does not have.
        var reference = try XCTUnwrap(provenance["referenceProbabilities"] as? [Double])
        reference[0] = reference[0] > 0.5 ? reference[0] - 0.3 : reference[0] + 0.3
        provenance["referenceProbabilities"] = reference
        var edited = components
        edited[0]["version"] = "0.0.1"
        edited[1]["librarySHA256"] = String(repeating: "0", count: 64)   // as if trained with another fusion build
        edited[0]["checkpointSHA256"] = String(repeating: "1", count: 64)  // as if its model had other weights
        provenance["components"] = edited
        manifest["provenance"] = provenance
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        let bad = try emo(["bundle", "verify", bundle, "--json"], in: dir)
        XCTAssertEqual(bad.status, 1, bad.output)
        let report = try JSONValue.parse(Data(bad.output.utf8))
        XCTAssertEqual(report["predictions_reproduced"], .bool(false))
        let findings = try XCTUnwrap(report["findings"]?.arrayValue)
        XCTAssertTrue(findings.contains { $0["status"]?.stringValue == "differs" && ($0["detail"]?.stringValue ?? "").contains("version 0.0.1") },
                      bad.output)
        XCTAssertTrue(findings.contains { ($0["detail"]?.stringValue ?? "").contains("predictions would change") }, bad.output)
        XCTAssertTrue(findings.contains { ($0["detail"]?.stringValue ?? "").contains("is another build") }, bad.output)
        XCTAssertTrue(findings.contains { ($0["detail"]?.stringValue ?? "").contains("model checkpoint differs") }, bad.output)

        // pack → copy elsewhere → verify → predict from the archive gives the folder's probabilities.
        try FileManager.default.removeItem(at: manifestURL)
        try FileManager.default.copyItem(atPath: dir + "/out/bundle.json.orig", toPath: manifestURL.path)

        let archive = dir + "/moved/model.emobundle"
        try FileManager.default.createDirectory(atPath: dir + "/moved", withIntermediateDirectories: true)
        XCTAssertEqual(try emo(["bundle", "pack", bundle, "--out", archive], in: dir).status, 0)
        let packed = try emo(["bundle", "verify", archive], in: dir)
        XCTAssertEqual(packed.status, 0, packed.output)
        let clip = try XCTUnwrap(csv.split(separator: "\n").dropFirst().first?.split(separator: ",").first.map(String.init))
        let fromFolder = try emo(["predict", bundle, clip, "--format", "csv", "--quiet"], in: dir)
        let fromArchive = try emo(["predict", archive, clip, "--format", "csv", "--quiet"], in: dir)
        XCTAssertEqual(fromFolder.status, 0, fromFolder.output)
        XCTAssertEqual(fromArchive.output, fromFolder.output)

        // A bundle from before provenance loads, runs, and says what it cannot compare.
        let old = try emo(["bundle", "verify", TestPlugins.repoRoot.path + "/Sources/emo/Demo/bundle"], in: dir)
        XCTAssertEqual(old.status, 0, old.output)
        XCTAssertTrue(old.output.contains("recorded no provenance"), old.output)
    }
}
