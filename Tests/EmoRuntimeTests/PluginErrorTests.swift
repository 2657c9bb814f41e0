import EmoCore
import EmoRuntime
import EmoTestSupport
import Foundation
import XCTest

/// Every way a plugin or registry can be wrong gets a specific error naming the file and the fix,
/// and the host carries on with the plugins that are fine.
final class PluginErrorTests: XCTestCase {
    override func setUpWithError() throws { try RuntimeFixtures.requireProbe() }

    func testCPluginLoadsAndRunsThroughTheABI() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let lib = try RuntimeFixtures.buildCPlugin("GOOD", into: dir)
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(lib, nil)])], cacheIn: dir)
        XCTAssertEqual(host.problems, [])
        let c = try host.instantiate(id: "c-scale")
        let y = try c.forward([.array(try NDArray(shape: [3], data: [1, -2, 3.5]))])
        XCTAssertEqual(y, [.array(try NDArray(shape: [3], data: [2, -4, 7]))])
        XCTAssertEqual(try c.backward([NDArray(vector: [1, 1, 1])]), [NDArray(vector: [2, 2, 2])])
        XCTAssertThrowsError(try c.saveState()) { XCTAssertTrue("\($0)".contains("does not support save_state")) }
    }

    func testMissingLibraryNamesPathAndRegistry() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let reg = try RuntimeFixtures.writeRegistry(dir, [("libnothere.so", nil)])
        let host = RuntimeFixtures.host(registries: [reg], cacheIn: dir)
        guard case .missingLibrary(let path, let registry)? = host.libraries.first?.error else {
            return XCTFail("expected missingLibrary, got \(host.problems)")
        }
        XCTAssertEqual(path, dir + "/libnothere.so")
        XCTAssertEqual(registry, reg)
        XCTAssertTrue(host.problems[0].description.contains("Build it"))
    }

    func testMissingEntrySymbol() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let lib = try RuntimeFixtures.buildCPlugin("NOENTRY", into: dir)
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(lib, nil)])], cacheIn: dir)
        XCTAssertEqual(host.libraries.first?.error, .missingEntrySymbol(path: lib))
        XCTAssertTrue(host.problems[0].description.contains("emo_plugin_entry"))
    }

    func testEntryReturningNullIsABadDescriptor() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let lib = try RuntimeFixtures.buildCPlugin("NULLDESC", into: dir)
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(lib, nil)])], cacheIn: dir)
        guard case .badDescriptor(let path, _)? = host.libraries.first?.error else { return XCTFail("\(host.problems)") }
        XCTAssertEqual(path, lib)
    }

    func testABIMajorMismatchIsRefused() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let lib = try RuntimeFixtures.buildCPlugin("MAJOR", into: dir)
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(lib, nil)])], cacheIn: dir)
        let h = PluginLoader.hostABI
        XCTAssertEqual(host.libraries.first?.error,
                       .abiMajorMismatch(path: lib, plugin: "\(h.major + 1).\(h.minor)", host: "\(h.major).\(h.minor)"))
        XCTAssertTrue(host.problems[0].description.contains("Rebuild the plugin"))
        XCTAssertTrue(host.components.isEmpty)
    }

    func testNewerMinorThanHostIsRefused() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let lib = try RuntimeFixtures.buildCPlugin("MINOR", into: dir)
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(lib, nil)])], cacheIn: dir)
        let h = PluginLoader.hostABI
        XCTAssertEqual(host.libraries.first?.error,
                       .abiMinorTooNew(path: lib, plugin: "\(h.major).\(h.minor + 1)", host: "\(h.major).\(h.minor)"))
        XCTAssertTrue(host.problems[0].description.contains("Upgrade EmoKit"))
    }

    /// A FIFO, a device or a folder named like a library is refused as "not a regular file" at once (hashing a FIFO
    /// used to block forever, and a folder made every command trap).
    func testNonRegularFilesAreRefusedWithoutBlocking() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let fifo = dir + "/fifo.so", folder = dir + "/folder.so"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(fifo, nil), (folder, nil), ("/dev/null", nil)])],
                                        cacheIn: dir)
        XCTAssertEqual(host.libraries.count, 3)
        for library in host.libraries {
            XCTAssertTrue(library.error?.description.contains("not a regular file") == true, "\(library.path): \(String(describing: library.error))")
        }
    }

    /// `emo plugins scan` reports a broken library and exits 1 (it used to exit 0), in text and in JSON.
    func testScanExitsNonZeroWhenALibraryIsBroken() throws {
        let emo = try TestRepository.emoExecutable().path
        let dir = try RuntimeFixtures.temporaryDirectory()
        let lib = try RuntimeFixtures.buildCPlugin("GOOD", into: dir)
        let registry = try RuntimeFixtures.writeRegistry(dir, [(lib, String(repeating: "0", count: 64))])
        var env = ProcessInfo.processInfo.environment
        env["EMO_REGISTRY"] = registry
        env["EMO_CACHE_DIR"] = dir + "/cache"
        for args in [["plugins", "scan"], ["plugins", "scan", "--json"]] {
            let (status, output) = try RuntimeFixtures.run(emo, args, environment: env)
            XCTAssertEqual(status, 1, output)
            XCTAssertTrue(output.contains("does not match the pinned"), output)
        }
        let fine = try RuntimeFixtures.writeRegistry(dir, [(lib, nil)])
        env["EMO_REGISTRY"] = fine
        XCTAssertEqual(try RuntimeFixtures.run(emo, ["plugins", "scan"], environment: env).0, 0)
    }

    /// A library that probes fine but whose create() crashes or hangs: `emo plugins verify` creates each component in
    /// a child process first, so it reports the component and exits 1 instead of crashing or hanging itself.
    func testVerifyCatchesACreateThatCrashesOrHangsInAChildProcess() throws {
        let emo = try TestRepository.emoExecutable().path
        for (variant, expected) in [("CREATECRASH", "SIGSEGV"), ("CREATEHANG", "did not answer"), ("GOOD", "all plugins verified")] {
            let dir = try RuntimeFixtures.temporaryDirectory(variant)
            let lib = try RuntimeFixtures.buildCPlugin(variant, into: dir)
            var env = ProcessInfo.processInfo.environment
            env["EMO_REGISTRY"] = try RuntimeFixtures.writeRegistry(dir, [(lib, nil)])
            env["EMO_CACHE_DIR"] = dir + "/cache"
            env["EMO_PROBE_TIMEOUT"] = "3"
            let start = Date()
            let (status, output) = try RuntimeFixtures.run(emo, ["plugins", "verify"], environment: env)
            XCTAssertLessThan(Date().timeIntervalSince(start), 30, "\(variant): verify must not hang")
            XCTAssertTrue(output.contains(expected), "\(variant): \(output)")
            if variant == "GOOD" {
                XCTAssertEqual(status, 0, output)
            } else {
                XCTAssertEqual(status, 1, output)
                XCTAssertTrue(output.contains("FAIL  c-scale: in a child process"), output)
            }
        }
    }

    func testPinnedSHA256MismatchIsRefusedAndMatchingPinLoads() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let lib = try RuntimeFixtures.buildCPlugin("GOOD", into: dir)
        let wrong = String(repeating: "0", count: 64)
        let bad = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(lib, wrong)])], cacheIn: dir)
        guard case .checksumMismatch(let path, let expected, let actual)? = bad.libraries.first?.error else {
            return XCTFail("\(bad.problems)")
        }
        XCTAssertEqual(path, lib)
        XCTAssertEqual(expected, wrong)
        XCTAssertEqual(actual, sha256OfFile(lib))
        XCTAssertNil(bad.components["c-scale"])
        // The message says how to re-pin with what exists (there is no `emo plugins scan --pin`).
        let message = bad.problems[0].description
        XCTAssertTrue(message.contains("set this entry's \"sha256\" in its registry.json to \(actual)"), message)
        XCTAssertFalse(message.contains("--pin"), message)

        let good = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(lib, sha256OfFile(lib))])],
                                        cacheIn: dir)
        XCTAssertEqual(good.problems, [])
        XCTAssertNoThrow(try good.instantiate(id: "c-scale"))
    }

    func testMalformedRegistriesAreReportedAndOthersStillLoad() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let lib = try RuntimeFixtures.buildCPlugin("GOOD", into: dir)
        let good = try RuntimeFixtures.writeRegistry(dir, [(lib, nil)])
        let cases: [(String, String)] = [
            ("{\"format\": 1, \"plugins\": [", "malformed JSON"),
            ("[]", "top level must be an object"),
            ("{\"plugins\": []}", "missing integer \"format\""),
            ("{\"format\": 9, \"plugins\": []}", "format 9 is not supported"),
            ("{\"format\": 1}", "missing array \"plugins\""),
            ("{\"format\": 1, \"plugins\": [{\"path\": \"x.so\"}]}", "plugins[0] has no string \"library\""),
            ("{\"format\": 1, \"plugins\": [{\"library\": \"x.so\", \"sha256\": \"abc\"}]}", "plugins[0].sha256 must be 64"),
        ]
        for (i, (text, reason)) in cases.enumerated() {
            let path = "\(dir)/bad\(i).json"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let host = RuntimeFixtures.host(registries: [path, good], cacheIn: dir)
            XCTAssertEqual(host.registryErrors.count, 1, text)
            guard case .malformedRegistry(let p, let r)? = host.registryErrors.first else { return XCTFail(text) }
            XCTAssertEqual(p, path)
            XCTAssertTrue(r.contains(reason), "\(r) should mention \(reason)")
            XCTAssertNotNil(host.components["c-scale"], "the good registry must still load")
        }
    }

    func testPluginThatCrashesAtProbeIsSkippedAndHostSurvives() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let crash = try RuntimeFixtures.buildCPlugin("CRASH", into: dir)
        let good = try RuntimeFixtures.buildCPlugin("GOOD", into: dir)
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(crash, nil), (good, nil)])],
                                        cacheIn: dir)
        guard case .probeCrashed(let path, let detail)? = host.libraries.first?.error else { return XCTFail("\(host.problems)") }
        XCTAssertEqual(path, crash)
        XCTAssertTrue(detail.contains("SIGSEGV"), detail)
        XCTAssertNotNil(host.components["c-scale"])
        // The failure is cached: the crashing library is not re-run until it changes.
        let again = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(crash, nil), (good, nil)])],
                                         cacheIn: dir)
        XCTAssertEqual(again.probedCount, 0)
        XCTAssertEqual(again.libraries.first?.error, host.libraries.first?.error)
    }

    func testPluginThatHangsAtProbeTimesOut() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let hang = try RuntimeFixtures.buildCPlugin("HANG", into: dir)
        let start = Date()
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(hang, nil)])], cacheIn: dir,
                                        timeout: 1)
        XCTAssertEqual(host.libraries.first?.error, .probeTimedOut(path: hang, seconds: 1))
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "the hung probe must be killed, not waited for")
    }

    /// A library whose constructor forks a child that ignores SIGTERM: the probe still ends at its timeout (the
    /// hanging variant) or at once (the answering one), and the child dies with the probe's process group either
    /// way, instead of outliving `emo plugins scan`.
    func testAProbeLeavesNoForkedChildBehind() throws {
        for (variant, hangs) in [("FORK", true), ("FORKGOOD", false)] {
            let dir = try RuntimeFixtures.temporaryDirectory(variant)
            let lib = try RuntimeFixtures.buildCPlugin(variant, into: dir)
            let pidFile = dir + "/child.pid"
            setenv("EMO_TEST_PIDFILE", pidFile, 1)
            defer { unsetenv("EMO_TEST_PIDFILE") }
            let start = Date()
            let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(lib, nil)])], cacheIn: dir,
                                            timeout: 2)
            let seconds = Date().timeIntervalSince(start)
            if hangs {
                XCTAssertEqual(host.libraries.first?.error, .probeTimedOut(path: lib, seconds: 2))
                XCTAssertLessThan(seconds, 10, "timeout 2 s + 1 s grace, not a hang")
            } else {
                XCTAssertNil(host.libraries.first?.error, "\(host.problems)")
                XCTAssertNotNil(host.components["c-scale"])
                XCTAssertLessThan(seconds, 10, "the forked child holding stdout must not keep the probe waiting")
            }
            let text = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let child = try XCTUnwrap(pid_t(text), "the fixture wrote its child's pid")
            var alive = true
            for _ in 0..<100 where alive {
                // A zombie is dead too: kill(pid, 0) succeeds on it, so read its state.
                let state = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
                alive = state != nil && state != "Z"
                if alive { usleep(20_000) }
            }
            XCTAssertFalse(alive, "\(variant): the forked child \(child) outlived the probe")
            kill(child, SIGKILL)
        }
    }

    func testDuplicateComponentIDKeepsTheFirstAndReportsTheSecond() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let a = try RuntimeFixtures.buildCPlugin("GOOD", into: dir, name: "first")
        let b = try RuntimeFixtures.buildCPlugin("GOOD", into: dir, name: "second")
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(a, nil), (b, nil)])], cacheIn: dir)
        XCTAssertEqual(host.components["c-scale"]?.library, a)
        XCTAssertEqual(host.libraries[1].error, .duplicateComponent(id: "c-scale", first: a, second: b))
        XCTAssertTrue(host.problems[0].description.contains("ids must be unique"))
    }

    func testUnchangedLibraryIsNotReprobedAndChangedOneIs() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let lib = try RuntimeFixtures.buildCPlugin("GOOD", into: dir, name: "changing")
        let reg = try RuntimeFixtures.writeRegistry(dir, [(lib, nil)])
        XCTAssertEqual(RuntimeFixtures.host(registries: [reg], cacheIn: dir).probedCount, 1)
        let warm = RuntimeFixtures.host(registries: [reg], cacheIn: dir)
        XCTAssertEqual(warm.probedCount, 0)
        XCTAssertEqual(warm.libraries.first?.fromCache, true)
        XCTAssertNotNil(warm.components["c-scale"])
        // Rebuild with another component id: a changed file must be probed again and its new manifest used.
        Thread.sleep(forTimeInterval: 0.01)
        _ = try RuntimeFixtures.buildCPlugin("GOOD", into: dir, name: "changing", componentID: "c-scale-two")
        let changed = RuntimeFixtures.host(registries: [reg], cacheIn: dir)
        XCTAssertEqual(changed.probedCount, 1)
        XCTAssertNotNil(changed.components["c-scale-two"])
        XCTAssertNil(changed.components["c-scale"])
    }

    func testUnknownComponentListsWhatExists() throws {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let lib = try RuntimeFixtures.buildCPlugin("GOOD", into: dir)
        let host = RuntimeFixtures.host(registries: [try RuntimeFixtures.writeRegistry(dir, [(lib, nil)])], cacheIn: dir)
        XCTAssertThrowsError(try host.instantiate(id: "nope")) { error in
            XCTAssertEqual(error as? RuntimeError, .unknownComponent(id: "nope", known: ["c-scale"]))
        }
    }
}
