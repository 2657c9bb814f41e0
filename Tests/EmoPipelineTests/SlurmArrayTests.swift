import EmoCore
import EmoPipeline
import EmoStore
import EmoTestSupport
import Foundation
import XCTest

/// The shipped Slurm scripts (docs/slurm/) on a real single-node Slurm: a 4-task job array of
/// `emo extract --shard slurm` over 12 RAVDESS clips with the handcrafted extractor, the merge job that waits on it,
/// and a task killed mid-run and requeued. The merged store must hold exactly the rows of one process extracting the
/// same clips.
///
/// Needs `sbatch`, `squeue`, `scontrol` and `sinfo` and a node that answers (`.ci/start-slurm` installs the Debian
/// packages when missing and starts munged, slurmctld and slurmd; `.ci/setup` installs the packages too). Without
/// them the tests skip, except under CI (`CI=true` or `EMOKIT_REQUIRE_SLURM=1`, as `.ci/run` sets), where they fail.
final class SlurmArrayTests: XCTestCase {
    /// Clips in the subset (the first of RAVDESS in corpus order).
    static let clips = 12
    static let shards = 4
    static let component = "handcrafted"
    /// How long a job may take before the test gives up.
    static let timeout: TimeInterval = 600

    struct SlurmUnavailable: Error, CustomStringConvertible { var description: String }

    /// Absolute paths of the Slurm commands, after checking that a node answers.
    struct Slurm {
        var sbatch: String, squeue: String, scontrol: String, sinfo: String
    }

    static var required: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["CI"] == "true" || env["EMOKIT_REQUIRE_SLURM"] == "1"
    }

    func slurm() throws -> Slurm {
        func unavailable(_ why: String) -> Error {
            let message = "\(why); .ci/start-slurm installs and starts it (as root: the Debian packages slurmctld slurmd munge slurm-client, munged, slurmctld, slurmd)"
            return Self.required ? SlurmUnavailable(description: "Slurm is required here (CI=true or EMOKIT_REQUIRE_SLURM=1): " + message)
                                 : XCTSkip(message)
        }
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin", "/usr/local/bin"]
        func find(_ name: String) -> String? {
            dirs.map { $0 + "/" + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
        }
        var found: [String: String] = [:]
        for name in ["sbatch", "squeue", "scontrol", "sinfo"] {
            guard let p = find(name) else { throw unavailable("Slurm is not installed (no \(name) on PATH)") }
            found[name] = p
        }
        let s = Slurm(sbatch: found["sbatch"] ?? "", squeue: found["squeue"] ?? "", scontrol: found["scontrol"] ?? "", sinfo: found["sinfo"] ?? "")
        let states = try TestRepository.run(s.sinfo, ["-h", "-N", "-o", "%T"])
        guard states.status == 0, states.output.split(separator: "\n").contains(where: { ["idle", "mixed", "allocated"].contains($0.trimmingCharacters(in: .whitespaces)) }) else {
            throw unavailable("no Slurm node is up (sinfo said: \(states.output.trimmingCharacters(in: .whitespacesAndNewlines)))")
        }
        return s
    }

    // MARK: The reference: one process over the same clips

    nonisolated(unsafe) private static var referenceRows: [String]?
    private static let lock = NSLock()

    var extractArguments: [String] { ["--limit", String(Self.clips), "--batch-size", "1"] }

    /// The rows `emo extract` writes for the subset in one process (computed once per test process).
    func reference(emo: String, corpus: String) throws -> [String] {
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if let rows = Self.referenceRows { return rows }
        let dir = try TestRepository.temporaryFolder(self, prefix: "emokit-slurm-single")
        let store = dir.appendingPathComponent("single.sqlite").path
        let r = try TestRepository.run(emo, ["extract", corpus, "--kind", "ravdess", "--component", Self.component, "--store", store, "--quiet"] + extractArguments)
        guard r.status == 0 else { throw SlurmUnavailable(description: "single-process extraction failed: \(r.output)") }
        let rows = try FeatureStore(path: store).contentRows()
        XCTAssertEqual(rows.filter { $0.hasPrefix("extractions|") }.count, Self.clips)
        Self.referenceRows = rows
        return rows
    }

    // MARK: Jobs

    /// Submits through docs/slurm/submit.sh; returns (array job, merge job, output folder).
    func submit(_ slurm: Slurm, emo: String, corpus: String) throws -> (array: String, merge: String, out: URL) {
        let out = try TestRepository.temporaryFolder(self, prefix: "emokit-slurm")
        var env = ProcessInfo.processInfo.environment
        env["EMO"] = emo
        env["EMO_EXTRACT_ARGS"] = extractArguments.joined(separator: " ")
        env["PATH"] = URL(fileURLWithPath: slurm.sbatch).deletingLastPathComponent().path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        let r = try TestRepository.run(TestRepository.path("docs/slurm/submit.sh"),
                                       [corpus, "ravdess", Self.component, String(Self.shards), out.path], environment: env)
        XCTAssertEqual(r.status, 0, r.output)
        var ids: [String: String] = [:]
        for line in r.output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { ids[parts[0]] = parts[1] }
        }
        guard let array = ids["ARRAY_JOB"], let merge = ids["MERGE_JOB"], !array.isEmpty, !merge.isEmpty else {
            throw SlurmUnavailable(description: "submit.sh printed no job ids: \(r.output)")
        }
        // Whatever happens, leave no job of this test queued (scancel of a finished job is a no-op).
        let scancel = URL(fileURLWithPath: slurm.sbatch).deletingLastPathComponent().appendingPathComponent("scancel").path
        addTeardownBlock { _ = try? TestRepository.run(scancel, [array, merge]) }
        return (array, merge, out)
    }

    /// Job state by id (`12_3` for array task 3 of job 12, `13` for a plain job), from `scontrol show job -o`.
    func states(_ slurm: Slurm, _ job: String) throws -> [String: String] {
        let r = try TestRepository.run(slurm.scontrol, ["show", "job", "-o", job], includeStandardError: false)
        var out: [String: String] = [:]
        for line in r.output.split(separator: "\n") {
            var fields: [String: String] = [:]
            for f in line.split(separator: " ") {
                let kv = f.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2 { fields[kv[0]] = kv[1] }
            }
            guard let state = fields["JobState"] else { continue }
            if let task = fields["ArrayTaskId"], let parent = fields["ArrayJobId"] {
                out["\(parent)_\(task)"] = state
            } else if let id = fields["JobId"] {
                out[id] = state
            }
        }
        return out
    }

    /// Polls until `done` holds for the states of `jobs`, or fails with what is still pending and the logs.
    func wait(_ slurm: Slurm, _ jobs: [String], out: URL, what: String, until done: ([String: String]) -> Bool) throws -> [String: String] {
        let deadline = Date().addingTimeInterval(Self.timeout)
        var last: [String: String] = [:]
        while Date() < deadline {
            last = [:]
            for j in jobs { last.merge(try states(slurm, j)) { $1 } }
            if done(last) { return last }
            Thread.sleep(forTimeInterval: 1)
        }
        let queue = try TestRepository.run(slurm.squeue, ["-a"]).output
        let logs = (try? FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("logs").path)) ?? []
        let tails = logs.sorted().map { name -> String in
            let text = (try? String(contentsOf: out.appendingPathComponent("logs/" + name), encoding: .utf8)) ?? ""
            return "--- \(name)\n" + text.split(separator: "\n").suffix(5).joined(separator: "\n")
        }
        for j in jobs { _ = try? TestRepository.run(slurm.scontrol, ["show", "job", j]) }
        throw SlurmUnavailable(description: "timed out after \(Int(Self.timeout)) s waiting for \(what); states \(last.sorted { $0.key < $1.key })\nsqueue:\n\(queue)\n\(tails.joined(separator: "\n"))")
    }

    func tasks(_ array: String) -> [String] { (1...Self.shards).map { "\(array)_\($0)" } }

    // MARK: Tests

    func testJobArrayAndMergeJobGiveTheSingleProcessRows() throws {
        let slurm = try slurm()
        let emo = try TestRepository.emoExecutable().standardizedFileURL.path
        let corpus = try TestRepository.sharedData().appendingPathComponent("ravdess").path
        let expected = try reference(emo: emo, corpus: corpus)

        let (array, merge, out) = try submit(slurm, emo: emo, corpus: corpus)
        let finished = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"]
        let states = try wait(slurm, [array, merge], out: out, what: "the array and the merge job") { s in
            finished.contains(s[merge] ?? "") && tasks(array).allSatisfy { finished.contains(s[$0] ?? "") }
        }
        for t in tasks(array) { XCTAssertEqual(states[t], "COMPLETED", "array task \(t)") }
        XCTAssertEqual(states[merge], "COMPLETED", "merge job \(merge)")

        var perShard: [Int] = []
        for k in 1...Self.shards {
            let s = try FeatureStore(path: out.appendingPathComponent("shards/shard-\(k)-of-\(Self.shards).sqlite").path)
            perShard.append(try s.extractionCountAll())
        }
        XCTAssertEqual(perShard.reduce(0, +), Self.clips, "the shards split the clips without overlap: \(perShard)")
        let merged = try FeatureStore(path: out.appendingPathComponent("features.sqlite").path)
        XCTAssertEqual(try merged.contentRows(), expected, "the merged store holds exactly the single-process rows")
    }

    func testKilledTaskRequeuedLeavesNoDuplicateOrMissingRows() throws {
        let slurm = try slurm()
        let emo = try TestRepository.emoExecutable().standardizedFileURL.path
        let corpus = try TestRepository.sharedData().appendingPathComponent("ravdess").path
        let expected = try reference(emo: emo, corpus: corpus)

        // Kill the largest shard's task: it has the most clips, so the kill lands mid-run.
        let items = Array(try CorpusLoader.load(kind: .ravdess, path: corpus).items.prefix(Self.clips))
        let sizes = try (1...Self.shards).map { CorpusShard.select(items, shard: try CorpusShard(index: $0, count: Self.shards)).count }
        let victim = try XCTUnwrap(sizes.indices.max { sizes[$0] < sizes[$1] }) + 1
        XCTAssertGreaterThanOrEqual(sizes[victim - 1], 3, "sizes \(sizes)")

        // A wrapper in place of emo: on task `victim`'s first run, emo extract is killed with SIGKILL once it has
        // committed its first clip (batch size 1), and the task fails; any rerun is plain emo.
        let tools = try TestRepository.temporaryFolder(self, prefix: "emokit-slurm-wrapper")
        let wrapper = tools.appendingPathComponent("emo-killed-once").path
        try """
        #!/usr/bin/env bash
        k=$(( SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN + 1 ))
        if [ "$k" = \(victim) ] && [ "${SLURM_RESTART_COUNT:-0}" = 0 ] && [ "$1" = extract ]; then
          "\(emo)" "$@" & pid=$!
          store=""; prev=""; for a in "$@"; do [ "$prev" = --store ] && store=$a; prev=$a; done
          # Wait for the first committed clip: the store's WAL grows past what opening it wrote (schema, run record).
          for _ in $(seq 600); do [ -f "$store-wal" ] && break; sleep 0.1; done
          sleep 0.5; opened=$(stat -c %s "$store-wal" 2>/dev/null || echo 0)
          for _ in $(seq 600); do
            [ "$(stat -c %s "$store-wal" 2>/dev/null || echo 0)" -gt "$opened" ] && break
            sleep 0.1
          done
          kill -9 "$pid"; wait "$pid" || true
          echo "test wrapper: killed emo extract (pid $pid) mid-run" >&2
          exit 137
        fi
        exec "\(emo)" "$@"
        """.write(toFile: wrapper, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper)

        let (array, merge, out) = try submit(slurm, emo: wrapper, corpus: corpus)
        let victimTask = "\(array)_\(victim)"
        let finished = ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"]
        let first = try wait(slurm, [array], out: out, what: "the first round of the array") { s in
            tasks(array).allSatisfy { finished.contains(s[$0] ?? "") }
        }
        XCTAssertEqual(first[victimTask], "FAILED", "the killed task fails")
        for t in tasks(array) where t != victimTask { XCTAssertEqual(first[t], "COMPLETED", t) }
        XCTAssertEqual(try states(slurm, merge)[merge], "PENDING", "the merge job waits (afterok is not satisfied)")

        let victimStore = out.appendingPathComponent("shards/shard-\(victim)-of-\(Self.shards).sqlite").path
        let committed = try FeatureStore(path: victimStore).extractionCountAll()
        XCTAssertLessThan(committed, sizes[victim - 1], "the kill landed mid-run")
        XCTAssertGreaterThanOrEqual(committed, 1, "the wrapper kills after the first committed clip, so the rerun resumes")

        // Requeue it with the shipped helper; the merge job then runs after it.
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = URL(fileURLWithPath: slurm.scontrol).deletingLastPathComponent().path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        let retry = try TestRepository.run(TestRepository.path("docs/slurm/retry-task.sh"), [out.path, String(victim)], environment: env)
        XCTAssertEqual(retry.status, 0, retry.output)
        // Done when the merge job finished, or when the requeued task failed again (the merge would wait forever).
        let second = try wait(slurm, [array, merge], out: out, what: "the requeued task and the merge job") { s in
            finished.contains(s[merge] ?? "") || s[victimTask] == "FAILED"
        }
        XCTAssertEqual(second[victimTask], "COMPLETED", "the requeued task")
        XCTAssertEqual(second[merge], "COMPLETED", "the merge job")

        let shard = try FeatureStore(path: victimStore)
        XCTAssertEqual(try shard.extractionCountAll(), sizes[victim - 1], "no missing clips in the requeued shard")
        XCTAssertEqual(try shard.featureRowCountAll(), sizes[victim - 1], "no duplicated rows in the requeued shard")
        let merged = try FeatureStore(path: out.appendingPathComponent("features.sqlite").path)
        XCTAssertEqual(try merged.contentRows(), expected, "the merged store holds exactly the single-process rows")
    }
}
