import EmoTestSupport
import EmoStore
import Foundation
import XCTest

/// `emo extract` killed with SIGKILL mid-run, twice, then rerun: every item ends up stored exactly once.
final class ExtractionKillTests: XCTestCase {
    func emoExecutable() throws -> URL { try TestRepository.emoExecutable() }

    func launch(_ exe: URL, _ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = exe
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func testKillNineThenResume() throws {
        let data = try TestRepository.sharedData()
        let exe = try emoExecutable()
        let dir = try TestRepository.temporaryFolder(self)
        let store = dir.appendingPathComponent("kill.sqlite").path
        let limit = 90, batch = 8
        let args = ["extract", data.appendingPathComponent("tess").path, "--kind", "tess",
                    "--component", "template-stats", "--store", store, "--batch-size", String(batch),
                    "--limit", String(limit), "--quiet"]

        // Make sure the plugin is there before timing anything.
        let check = Process()
        check.executableURL = exe
        check.arguments = ["plugins", "show", "template-stats"]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        try check.run()
        check.waitUntilExit()
        guard check.terminationStatus == 0 else { throw XCTSkip("template-stats plugin not available to \(exe.path)") }

        var killedAt: [Int] = []
        for threshold in [10, 40] {
            let p = try launch(exe, args)
            let deadline = Date().addingTimeInterval(120)
            var seen = 0
            while p.isRunning && Date() < deadline {
                if FileManager.default.fileExists(atPath: store), let s = try? FeatureStore(path: store) {
                    seen = (try? s.extractionCountAll()) ?? 0
                }
                if seen >= threshold { break }
                usleep(20_000)
            }
            guard p.isRunning else {
                throw XCTSkip("emo extract finished before it could be killed (\(seen) items); machine too fast for this test")
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationReason, .uncaughtSignal)
            XCTAssertEqual(p.terminationStatus, SIGKILL)
            let after = try FeatureStore(path: store).extractionCountAll()
            XCTAssertGreaterThanOrEqual(after, threshold)
            XCTAssertLessThan(after, limit, "the kill must land mid-run")
            killedAt.append(after)
        }
        XCTAssertGreaterThanOrEqual(killedAt[1], killedAt[0], "committed work survives a kill")
        // Both killed runs read "interrupted" (they stay "running" in the table: nothing could mark them), in the
        // store and in `emo runs list`.
        let killedRuns = try FeatureStore(path: store).runs()
        XCTAssertEqual(killedRuns.map(\.status), ["running", "running"])
        XCTAssertTrue(killedRuns.allSatisfy { $0.effectiveStatus.hasPrefix("interrupted") }, "\(killedRuns.map(\.effectiveStatus))")
        let listed = try TestRepository.run(exe.path, ["runs", "list", "--store", store])
        XCTAssertEqual(listed.output.components(separatedBy: "interrupted (its process").count - 1, 2, listed.output)

        // Resume: runs to completion, only the missing items get model work.
        let resume = try launch(exe, args + ["--json"])
        resume.waitUntilExit()
        XCTAssertEqual(resume.terminationStatus, 0)
        let s = try FeatureStore(path: store)
        XCTAssertEqual(try s.extractionCountAll(), limit, "no lost items")
        XCTAssertEqual(try s.featureRowCountAll(), limit, "no duplicated rows")
        XCTAssertEqual(try s.clipCount(), limit)

        // A further rerun is all cache.
        let out = Pipe()
        let again = Process()
        again.executableURL = exe
        again.arguments = args + ["--json"]
        again.standardOutput = out
        again.standardError = FileHandle.nullDevice
        try again.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        again.waitUntilExit()
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
        XCTAssertEqual(report["cached"] as? Int, limit)
        XCTAssertEqual(report["extracted"] as? Int, 0)
    }
}
