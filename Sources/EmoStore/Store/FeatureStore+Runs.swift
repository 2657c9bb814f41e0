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
}

extension FeatureStore {
    /// Starts a run and returns its id.
    public func beginRun(kind: String, config: JSONValue) throws(StoreError) -> Int {
        let s = try db.prepare("INSERT INTO runs (kind, config, status, started_at) VALUES (?, ?, 'running', ?)")
        s.bind(1, kind)
        s.bind(2, config.serialized())
        s.bind(3, Date().timeIntervalSince1970)
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
        let s = try db.prepare("SELECT id, kind, config, status, started_at, finished_at FROM runs ORDER BY id")
        var out: [RunRecord] = []
        while try s.step() {
            let config = (try? JSONValue.parse(s.text(2))) ?? .null
            out.append(RunRecord(id: s.int(0), kind: s.text(1), config: config, status: s.text(3),
                                 startedAt: s.double(4), finishedAt: s.isNull(5) ? nil : s.double(5)))
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
