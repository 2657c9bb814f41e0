import EmoTestSupport
import Foundation
import XCTest

/// What the command line says to people: `--help` texts read as prose (no hard line breaks inside sentences; the
/// argument parser wraps them to the terminal), and bad arguments or files are named with what is wrong, never as
/// a raw NSError dump or a misleading "Missing value".
final class CommandLineMessagesTests: XCTestCase {
    func testHelpTextsHaveNoHardBreaksInsideSentences() throws {
        let emo = try TestRepository.emoExecutable().path
        let commands: [[String]] = [[], ["run"], ["bench"], ["models", "import"], ["plugins", "scan"], ["plugins", "verify"],
                                    ["features"], ["extract"], ["explain"], ["corpus", "describe"], ["demo"],
                                    ["store", "merge"]]
        var env = ProcessInfo.processInfo.environment
        env["COLUMNS"] = "100"
        for command in commands {
            let (status, output) = try TestRepository.run(emo, command + ["--help"], environment: env)
            XCTAssertEqual(status, 0, output)
            // The overview and discussion: everything before USAGE.
            let prose = output.components(separatedBy: "USAGE:")[0].split(separator: "\n", omittingEmptySubsequences: false)
            for (a, b) in zip(prose, prose.dropFirst()) where !a.isEmpty && !b.isEmpty && !b.hasPrefix(" ") {
                let continuesSentence = b.first.map { $0.isLowercase } ?? false
                XCTAssertFalse(a.count < 60 && continuesSentence,
                               "emo \(command.joined(separator: " ")) --help breaks a sentence after \"\(a)\"")
            }
        }
    }

    /// A negative count is refused by name (it used to be read as a missing value: "Missing value for '--limit'").
    func testNegativeCountsAreRefusedByName() throws {
        let emo = try TestRepository.emoExecutable().path
        let extract = try TestRepository.run(emo, ["extract", "/nonexistent", "--kind", "ravdess", "--component", "handcrafted",
                                                   "--limit", "-5"])
        XCTAssertNotEqual(extract.status, 0)
        XCTAssertTrue(extract.output.contains("--limit must be a positive number of items, got -5"), extract.output)
        let spec = TestRepository.path("docs/pipelines/study-a-1-one-branch-mlp.json")
        let run = try TestRepository.run(emo, ["run", spec, "--max-per-class", "-3"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.output.contains("--max-per-class must be a positive number of items, got -3"), run.output)
        // --out naming a file is refused before any work, not after the training as an NSError dump.
        let file = try TestRepository.temporaryFolder(self).appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let out = try TestRepository.run(emo, ["run", spec, "--out", file.path])
        XCTAssertNotEqual(out.status, 0)
        XCTAssertTrue(out.output.contains("--out \(file.path) is a file; give a folder"), out.output)
    }

    /// A store in a folder the user cannot write (a shared read-only disk): `emo runs list` and `emo runs show` read
    /// it (they used to fail with "attempt to write a readonly database"). As root the command runs as `nobody`
    /// (setpriv), since root writes anywhere.
    func testRunsListAndShowReadAStoreInAReadOnlyFolder() throws {
        let emo = try TestRepository.emoExecutable().path
        let dir = try TestRepository.temporaryFolder(self).appendingPathComponent("readonly")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let store = dir.appendingPathComponent("store.sqlite").path
        let tess = try TestRepository.sharedData().appendingPathComponent("tess").path
        let made = try TestRepository.run(emo, ["extract", tess, "--kind", "tess", "--component", "template-stats", "--store", store,
                                                "--limit", "3", "--quiet"])
        XCTAssertEqual(made.status, 0, made.output)
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: store)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: dir.path)
        addTeardownBlock { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path) }
        var command = [emo]
        if getuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
                throw XCTSkip("running as root and no /usr/bin/setpriv (util-linux) to drop to an unprivileged user")
            }
            command = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", emo]
        }
        let list = try TestRepository.run(command[0], Array(command.dropFirst()) + ["runs", "list", "--store", store])
        XCTAssertEqual(list.status, 0, list.output)
        XCTAssertTrue(list.output.contains("extract\ttemplate-stats") && list.output.contains("finished"), list.output)
        let show = try TestRepository.run(command[0], Array(command.dropFirst()) + ["runs", "show", "1", "--store", store])
        XCTAssertEqual(show.status, 0, show.output)
        XCTAssertTrue(show.output.contains("\"component\" : \"template-stats\""), show.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store + "-wal"), "nothing written beside the store")
    }

    /// `emo run` on a store it cannot write (a shared read-only disk) whose features are all cached runs, reading the
    /// store and adding nothing to it (it used to fail with "attempt to write a readonly database"); it says so, and
    /// gives the same result as the run that filled the store. As root the command runs as `nobody` (setpriv).
    func testRunReadsAStoreItCannotWrite() throws {
        let emo = try TestRepository.emoExecutable().path
        let dir = try TestRepository.temporaryFolder(self)
        let tess = try TestRepository.sharedData().appendingPathComponent("tess")
        var csv = "path,label,speaker\n"
        for (label, folder) in [("angry", "OAF_angry"), ("sad", "OAF_sad")] {
            let files = try FileManager.default.contentsOfDirectory(atPath: tess.appendingPathComponent(folder).path).sorted().prefix(6)
            for f in files { csv += "\(tess.appendingPathComponent(folder).appendingPathComponent(f).path),\(label),OAF\n" }
        }
        try csv.write(to: dir.appendingPathComponent("m.csv"), atomically: true, encoding: .utf8)
        let spec = dir.appendingPathComponent("spec.json").path
        try #"{"version": 1, "name": "ro", "corpus": {"sources": [{"kind": "manifest", "path": "\#(dir.path)/m.csv"}], "classes": ["angry", "sad"]}, "featureGroups": [{"name": "stats", "component": "template-stats"}], "split": {"kind": "stratified", "testFraction": 0.34}, "scaling": {"method": "standard"}, "fusion": {"component": "early"}, "classifier": {"component": "logistic"}, "training": {"optimizer": "adam", "learningRate": 0.01, "batchSize": 4, "maxEpochs": 5}, "seeds": [1]}"#
            .write(toFile: spec, atomically: true, encoding: .utf8)
        let storeDir = dir.appendingPathComponent("store"), out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: storeDir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let store = storeDir.appendingPathComponent("s.sqlite").path
        let first = try TestRepository.run(emo, ["run", spec, "--store", store, "--out", out.path + "/a", "--quiet"])
        XCTAssertEqual(first.status, 0, first.output)
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: store)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: storeDir.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: out.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        addTeardownBlock { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: storeDir.path) }
        let before = try Data(contentsOf: URL(fileURLWithPath: store))
        var command = [emo]
        if getuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
                throw XCTSkip("running as root and no /usr/bin/setpriv (util-linux) to drop to an unprivileged user")
            }
            command = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env", "HOME=\(out.path)", emo]
        }
        let second = try TestRepository.run(command[0], Array(command.dropFirst()) + ["run", spec, "--store", store, "--out", out.path + "/b"])
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertTrue(second.output.contains("the store \(store) is read-only here; reading its features"), second.output)
        XCTAssertTrue(second.output.contains("0 extracted, 12 cached"), second.output)
        XCTAssertTrue(second.output.contains("run not recorded: the store \(store) is read-only"), second.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: store)), before, "nothing written to the store")
        XCTAssertFalse(FileManager.default.fileExists(atPath: store + "-wal"))
        func accuracy(_ run: String) throws -> Double? {
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent(run + "/metrics.json"))) as? [String: Any]
            return (((json?["runs"] as? [[String: Any]])?.first?["folds"] as? [[String: Any]])?.first?["metrics"] as? [String: Any])?["accuracy"] as? Double
        }
        XCTAssertEqual(try accuracy("a"), try accuracy("b"))
    }

    /// `emo runs compare` with a missing run or a file that is not a metrics.json says which file and what is wrong
    /// (it used to print a raw NSError dump).
    func testRunsCompareNamesTheBadInput() throws {
        let emo = try TestRepository.emoExecutable().path
        let dir = try TestRepository.temporaryFolder(self)
        let missing = try TestRepository.run(emo, ["runs", "compare", dir.path + "/none", dir.path + "/none"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("\(dir.path)/none/metrics.json: not found or not readable"), missing.output)
        XCTAssertFalse(missing.output.contains("NSCocoaErrorDomain"), missing.output)
        let bad = dir.appendingPathComponent("bad.json")
        try Data(#"{"x": 1}"#.utf8).write(to: bad)
        let wrong = try TestRepository.run(emo, ["runs", "compare", bad.path, bad.path])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.output.contains("not a metrics.json written by `emo run` (missing \"format\")"), wrong.output)
    }

    /// A bundle folder without its scaler.json names the file and what a bundle holds (it used to print an NSError).
    func testBundleWithoutScalerNamesTheFile() throws {
        let emo = try TestRepository.emoExecutable().path
        let dir = try TestRepository.temporaryFolder(self).appendingPathComponent("bundle")
        try FileManager.default.copyItem(at: TestRepository.root.appendingPathComponent("Sources/emo/Demo/bundle"), to: dir)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("scaler.json"))
        let out = try TestRepository.run(emo, ["explain", dir.path, TestRepository.path("Sources/emo/Demo/sample.wav")])
        XCTAssertNotEqual(out.status, 0)
        XCTAssertTrue(out.output.contains("\(dir.path)/scaler.json: missing or unreadable; a bundle needs bundle.json, scaler.json"), out.output)
        XCTAssertFalse(out.output.contains("NSCocoaErrorDomain"), out.output)
    }
}
