import EmoCore
import Foundation

/// The SQLite feature cache: clips, features keyed by (PCM hash, component id, component version, config hash),
/// transcripts, runs and metrics.
///
/// ```swift
/// let store = try FeatureStore(path: "emo.sqlite")
/// if !(try store.isExtracted(pcmHash: clip.pcmHash, key: key)) {
///     try store.commit([ExtractionRecord(clip: ClipRecord(clip: clip, decodeKey: opts.cacheKey), key: key, outputs: out)])
/// }
/// ```
/// The file is in WAL mode with `synchronous=NORMAL`: a committed batch survives a killed process (kill -9);
/// an uncommitted one leaves no trace. Every insert is idempotent (`INSERT OR IGNORE` on the primary keys), so
/// replaying a batch never duplicates rows. One `FeatureStore` per thread; several processes may share a file.
///
/// `alsoReading` adds stores that are only read (for example the shards of `emo extract --shard`): a clip or output
/// missing from `path` is looked up in them, in order, and new work is still written to `path` alone. Counting
/// methods (`extractionCount`, `clipCount`, ...) and `contentRows` describe `path` only.
public final class FeatureStore {
    /// The database file that is written.
    public let path: String
    /// Further stores that are only read, in lookup order.
    public let readPaths: [String]
    let db: SQLiteConnection
    private let readers: [FeatureStore]

    /// Opens or creates the store at `path` and brings its schema up to date; opens each of `alsoReading`
    /// read-only (they must exist and be EmoKit stores this build can read).
    public init(path: String, alsoReading: [String] = []) throws(StoreError) {
        self.path = path
        db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON")
        try Schema.migrate(db)
        var readers: [FeatureStore] = []
        for other in alsoReading {
            guard FileManager.default.fileExists(atPath: other) else {
                throw .cannotOpen(path: other, message: "no such store file to read (give the .sqlite files `emo extract --store` wrote)")
            }
            readers.append(try FeatureStore(readOnly: other))
        }
        self.readers = readers
        readPaths = alsoReading
    }

    /// Opens an existing store only to read it (`emo runs list`, `runs show`, `runs compare`): nothing is written,
    /// so a store on a read-only disk or in a read-only folder can be inspected; nothing is migrated either.
    public static func reading(_ path: String) throws(StoreError) -> FeatureStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .cannotOpen(path: path, message: "no such store file (give the .sqlite file `emo extract --store` or `emo run --store` wrote)")
        }
        return try FeatureStore(readOnly: path)
    }

    /// Opens an existing store read-only, checking that it is an EmoKit store this build can read.
    private init(readOnly path: String) throws(StoreError) {
        self.path = path
        db = try Self.openReadOnly(path)
        readers = []
        readPaths = []
    }

    /// The schema version of the open file.
    public func schemaVersion() throws(StoreError) -> Int { try db.scalarInt("PRAGMA user_version") }

    // MARK: Clips

    /// The PCM hash a file (by content hash) decoded with `decodeKey` gave before, if it was stored (here or in a
    /// store read beside it).
    public func cachedClip(fileHash: String, decodeKey: String) throws(StoreError) -> String? {
        let s = try db.prepare("SELECT pcm_hash FROM clip_sources WHERE file_hash = ? AND decode_key = ?")
        s.bind(1, fileHash)
        s.bind(2, decodeKey)
        if try s.step() { return s.text(0) }
        for r in readers { if let pcm = try r.cachedClip(fileHash: fileHash, decodeKey: decodeKey) { return pcm } }
        return nil
    }

    /// Number of distinct clips stored.
    public func clipCount() throws(StoreError) -> Int { try db.scalarInt("SELECT count(*) FROM clips") }

    // MARK: Features

    /// Records what `key.configHash` stands for (idempotent).
    public func registerConfig(_ key: FeatureKey, config: JSONValue) throws(StoreError) {
        let s = try db.prepare("INSERT OR IGNORE INTO component_configs VALUES (?, ?, ?, ?)")
        s.bind(1, key.configHash)
        s.bind(2, key.componentID)
        s.bind(3, key.componentVersion)
        s.bind(4, config.serialized())
        try s.step()
    }

    /// True when every output of `key` for this clip is stored (here or in a store read beside it).
    public func isExtracted(pcmHash: String, key: FeatureKey) throws(StoreError) -> Bool {
        let s = try db.prepare("""
            SELECT 1 FROM extractions WHERE pcm_hash = ? AND component_id = ? AND component_version = ? AND config_hash = ?
            """)
        bindKey(s, pcmHash: pcmHash, key: key)
        if try s.step() { return true }
        for r in readers { if try r.isExtracted(pcmHash: pcmHash, key: key) { return true } }
        return false
    }

    /// PCM hashes of every clip whose outputs of `key` are stored (here or in a store read beside it).
    public func extractedHashes(key: FeatureKey) throws(StoreError) -> Set<String> {
        let s = try db.prepare("""
            SELECT pcm_hash FROM extractions WHERE component_id = ? AND component_version = ? AND config_hash = ?
            """)
        s.bind(1, key.componentID)
        s.bind(2, key.componentVersion)
        s.bind(3, key.configHash)
        var out = Set<String>()
        while try s.step() { out.insert(s.text(0)) }
        for r in readers { out.formUnion(try r.extractedHashes(key: key)) }
        return out
    }

    /// Number of clips with all outputs of `key` stored.
    public func extractionCount(key: FeatureKey) throws(StoreError) -> Int {
        let s = try db.prepare("""
            SELECT count(*) FROM extractions WHERE component_id = ? AND component_version = ? AND config_hash = ?
            """)
        s.bind(1, key.componentID)
        s.bind(2, key.componentVersion)
        s.bind(3, key.configHash)
        return try s.step() ? s.int(0) : 0
    }

    /// Rows in the features and transcripts tables for `key` (for no-duplicate checks).
    public func outputRowCount(key: FeatureKey) throws(StoreError) -> Int {
        var total = 0
        for table in ["features", "transcripts"] {
            let s = try db.prepare("""
                SELECT count(*) FROM \(table) WHERE component_id = ? AND component_version = ? AND config_hash = ?
                """)
            s.bind(1, key.componentID)
            s.bind(2, key.componentVersion)
            s.bind(3, key.configHash)
            if try s.step() { total += s.int(0) }
        }
        return total
    }

    /// Stores a batch of clips, their sources and their outputs in one transaction (all or nothing).
    /// `sources` adds file → clip mappings for clips whose outputs were already cached.
    public func commit(_ records: [ExtractionRecord], sources: [ClipRecord] = []) throws(StoreError) {
        guard !records.isEmpty || !sources.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        try db.transaction { () throws(StoreError) in
            let clip = try db.prepare("INSERT OR IGNORE INTO clips VALUES (?, ?, ?, ?, ?, ?, ?)")
            let source = try db.prepare("INSERT OR IGNORE INTO clip_sources VALUES (?, ?, ?, ?)")
            let feature = try db.prepare("INSERT OR IGNORE INTO features VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            let transcript = try db.prepare("INSERT OR IGNORE INTO transcripts VALUES (?, ?, ?, ?, ?, ?)")
            let marker = try db.prepare("INSERT OR IGNORE INTO extractions VALUES (?, ?, ?, ?, ?, ?)")
            func addClip(_ c: ClipRecord) throws(StoreError) {
                clip.reset()
                clip.bind(1, c.pcmHash); clip.bind(2, c.sampleRate); clip.bind(3, c.sampleCount); clip.bind(4, c.format)
                clip.bind(5, c.originalSampleRate); clip.bind(6, c.originalChannels); clip.bind(7, now)
                try clip.step()
                source.reset()
                source.bind(1, c.fileHash); source.bind(2, c.decodeKey); source.bind(3, c.pcmHash); source.bind(4, c.path)
                try source.step()
            }
            for c in sources { try addClip(c) }
            for r in records {
                try addClip(r.clip)
                for (index, value) in r.outputs.enumerated() {
                    switch value {
                    case .text(let text):
                        transcript.reset()
                        bindKey(transcript, pcmHash: r.clip.pcmHash, key: r.key)
                        transcript.bind(5, index); transcript.bind(6, text)
                        try transcript.step()
                    case .array, .ids:
                        let (dtype, shape, bytes) = ValueCoding.encode(value)
                        feature.reset()
                        bindKey(feature, pcmHash: r.clip.pcmHash, key: r.key)
                        feature.bind(5, index); feature.bind(6, dtype); feature.bind(7, shape); feature.bind(8, blob: bytes)
                        try feature.step()
                    }
                }
                marker.reset()
                bindKey(marker, pcmHash: r.clip.pcmHash, key: r.key)
                marker.bind(5, r.outputs.count); marker.bind(6, now)
                try marker.step()
            }
        }
    }

    /// The stored outputs of `key` for a clip, in order, or nil when they are not (all) stored; looked up here first,
    /// then in the stores read beside it.
    public func outputs(pcmHash: String, key: FeatureKey) throws(StoreError) -> [Value]? {
        let m = try db.prepare("""
            SELECT output_count FROM extractions WHERE pcm_hash = ? AND component_id = ? AND component_version = ? AND config_hash = ?
            """)
        bindKey(m, pcmHash: pcmHash, key: key)
        guard try m.step() else {
            for r in readers { if let found = try r.outputs(pcmHash: pcmHash, key: key) { return found } }
            return nil
        }
        let count = m.int(0)
        var values = [Value?](repeating: nil, count: count)
        let f = try db.prepare("""
            SELECT output_index, dtype, shape, data FROM features
            WHERE pcm_hash = ? AND component_id = ? AND component_version = ? AND config_hash = ?
            """)
        bindKey(f, pcmHash: pcmHash, key: key)
        while try f.step() {
            let i = f.int(0)
            guard i >= 0, i < count else { throw .corruptRow(path: path, detail: "output index \(i) of \(count)") }
            values[i] = try ValueCoding.decode(dtype: f.text(1), shape: f.text(2), bytes: f.blob(3), store: path)
        }
        let t = try db.prepare("""
            SELECT output_index, text FROM transcripts
            WHERE pcm_hash = ? AND component_id = ? AND component_version = ? AND config_hash = ?
            """)
        bindKey(t, pcmHash: pcmHash, key: key)
        while try t.step() {
            let i = t.int(0)
            guard i >= 0, i < count else { throw .corruptRow(path: path, detail: "transcript index \(i) of \(count)") }
            values[i] = .text(t.text(1))
        }
        let present = values.compactMap { $0 }
        guard present.count == count else {
            throw .corruptRow(path: path, detail: "\(key) for clip \(pcmHash.prefix(12)) has \(present.count) of \(count) outputs")
        }
        return present
    }

    private func bindKey(_ s: SQLiteConnection.Statement, pcmHash: String, key: FeatureKey) {
        s.bind(1, pcmHash)
        s.bind(2, key.componentID)
        s.bind(3, key.componentVersion)
        s.bind(4, key.configHash)
    }
}
