import EmoCore
import Foundation

/// One recorded run (an extraction, a training, an evaluation).
public struct RunRecord: Sendable, Equatable {
    /// Row id.
    public var id: Int
    /// "extract", "train", "evaluate", ...
    public var kind: String
    /// The run's configuration.
    public var config: JSONValue
    /// "running", "finished" or "failed".
    public var status: String
    /// Seconds since 1970.
    public var startedAt: Double
    /// Seconds since 1970, when finished.
    public var finishedAt: Double?
    /// The process that began the run (nil for runs recorded before schema version 2).
    public var owner: RunOwner?

    /// `status`, except that a run still marked "running" whose process on this host has gone (killed by a signal,
    /// the machine restarted) is "interrupted"; one begun on another host is "running on HOST" (it cannot be
    /// checked from here).
    public var effectiveStatus: String {
        guard status == "running", let owner else { return status }
        guard owner.host == RunOwner.current.host else { return "running on \(owner.host) (pid \(owner.pid))" }
        return owner.isAlive ? status : "interrupted (its process \(owner.pid) is gone)"
    }
}

/// The process that began a run: pid, host and the process's start time, which tells a live run from a pid the
/// system has since given to another process.
public struct RunOwner: Sendable, Equatable {
    /// Process id.
    public var pid: Int
    /// Host name.
    public var host: String
    /// Start time of the process in clock ticks since boot (`/proc/PID/stat` field 22), "" where unknown.
    public var processStart: String

    /// Creates an owner record.
    public init(pid: Int, host: String, processStart: String) {
        self.pid = pid
        self.host = host
        self.processStart = processStart
    }

    /// This process.
    public static var current: RunOwner {
        let pid = Int(getpid())
        return RunOwner(pid: pid, host: ProcessInfo.processInfo.hostName, processStart: startTime(of: pid) ?? "")
    }

    /// Whether the process is still running on this host (the same process: its start time matches; a zombie is
    /// not running).
    public var isAlive: Bool {
        guard let stat = Self.stat(of: pid) else { return kill(pid_t(pid), 0) == 0 && processStart.isEmpty }
        if stat.state == "Z" { return false }
        return processStart.isEmpty || stat.start == processStart
    }

    static func startTime(of pid: Int) -> String? { stat(of: pid)?.start }

    /// State and start time from `/proc/PID/stat` (nil where there is no such file).
    static func stat(of pid: Int) -> (state: String, start: String)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces): state is field 3, start time field 22.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return (String(fields[0]), String(fields[19]))
    }
}

extension FeatureStore {
    /// Starts a run and returns its id; `owner` (this process by default) is recorded so `effectiveStatus` can tell
    /// a run killed by a signal from one still running.
    public func beginRun(kind: String, config: JSONValue, owner: RunOwner = .current) throws(StoreError) -> Int {
        let s = try db.prepare("""
            INSERT INTO runs (kind, config, status, started_at, pid, host, process_start) VALUES (?, ?, 'running', ?, ?, ?, ?)
            """)
        s.bind(1, kind)
        s.bind(2, config.serialized())
        s.bind(3, Date().timeIntervalSince1970)
        s.bind(4, owner.pid)
        s.bind(5, owner.host)
        s.bind(6, owner.processStart)
        try s.step()
        return try db.scalarInt("SELECT last_insert_rowid()")
    }

    /// Marks a run finished or failed.
    public func finishRun(_ id: Int, status: String) throws(StoreError) {
        let s = try db.prepare("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?")
        s.bind(1, status)
        s.bind(2, Date().timeIntervalSince1970)
        s.bind(3, id)
        try s.step()
    }

    /// Records (or replaces) a metric of a run, optionally per split ("train", "test", ...).
    public func recordMetric(run: Int, name: String, value: Double, split: String = "") throws(StoreError) {
        let s = try db.prepare("INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?)")
        s.bind(1, run)
        s.bind(2, name)
        s.bind(3, split)
        s.bind(4, value)
        try s.step()
    }

    /// Metrics of a run as `[split: [name: value]]`.
    public func metrics(run: Int) throws(StoreError) -> [String: [String: Double]] {
        let s = try db.prepare("SELECT name, split, value FROM metrics WHERE run_id = ?")
        s.bind(1, run)
        var out: [String: [String: Double]] = [:]
        while try s.step() { out[s.text(1), default: [:]][s.text(0)] = s.double(2) }
        return out
    }

    /// Every run, oldest first.
    public func runs() throws(StoreError) -> [RunRecord] {
        // A store opened read-only is not migrated: schema 1 has no owner columns.
        let owners = try schemaVersion() >= 2 ? "pid, host, process_start" : "NULL, NULL, NULL"
        let s = try db.prepare("SELECT id, kind, config, status, started_at, finished_at, \(owners) FROM runs ORDER BY id")
        var out: [RunRecord] = []
        while try s.step() {
            let config = (try? JSONValue.parse(s.text(2))) ?? .null
            let owner = s.isNull(6) ? nil : RunOwner(pid: s.int(6), host: s.text(7), processStart: s.text(8))
            out.append(RunRecord(id: s.int(0), kind: s.text(1), config: config, status: s.text(3),
                                 startedAt: s.double(4), finishedAt: s.isNull(5) ? nil : s.double(5), owner: owner))
        }
        return out
    }
}

extension FeatureStore {
    /// Completed (clip, component) extractions over all keys.
    public func extractionCountAll() throws(StoreError) -> Int { try db.scalarInt("SELECT count(*) FROM extractions") }

    /// Rows in the features and transcripts tables over all keys.
    public func featureRowCountAll() throws(StoreError) -> Int {
        try db.scalarInt("SELECT (SELECT count(*) FROM features) + (SELECT count(*) FROM transcripts)")
    }
}
