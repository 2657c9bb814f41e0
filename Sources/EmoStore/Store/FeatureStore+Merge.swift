import EmoCore
import Foundation

/// A row that two stores hold under the same key with different contents.
public struct StoreMergeConflict: Sendable, Equatable {
    /// The table (`extractions`, `clips`, `clip_sources`, `component_configs`).
    public var table: String
    /// The row's key, readable (`handcrafted@1.0#abc… clip 1f2e…`).
    public var key: String
    /// The input store whose row disagreed with what was already there (the target or an earlier input).
    public var source: String
    /// What differs.
    public var detail: String
}

/// One component that the input stores hold under different (version, config hash) keys.
public struct StoreKeyDisagreement: Sendable, Equatable {
    /// The component id.
    public var componentID: String
    /// For each input store holding the component: its keys and how many clips each covers.
    public var stores: [(path: String, keys: [(key: FeatureKey, clips: Int)])]

    public static func == (a: StoreKeyDisagreement, b: StoreKeyDisagreement) -> Bool {
        a.componentID == b.componentID && a.stores.count == b.stores.count
            && zip(a.stores, b.stores).allSatisfy { x, y in
                x.path == y.path && x.keys.map(\.key) == y.keys.map(\.key) && x.keys.map(\.clips) == y.keys.map(\.clips)
            }
    }
}

/// What `FeatureStore.merge` did, or would have done, per input store and in total.
public struct StoreMergeReport: Sendable, Equatable {
    /// Counts for one input store.
    public struct Input: Sendable, Equatable {
        /// The input file.
        public var path: String
        /// (clip, component key) extractions copied into the target.
        public var added = 0
        /// Extractions the target already held with identical outputs.
        public var alreadyPresent = 0
        /// Extractions (and clip, source or config rows) held elsewhere with different contents.
        public var conflicts = 0
        /// Clips copied into the target.
        public var clipsAdded = 0
    }

    /// The target store.
    public var target: String
    /// One entry per input, in the order given.
    public var inputs: [Input]
    /// Rows whose contents disagree for the same key (nothing is written when there is any).
    public var conflicts: [StoreMergeConflict]
    /// Components whose (version, config hash) keys differ between inputs (nothing is written unless allowed).
    public var keyDisagreements: [StoreKeyDisagreement]
    /// True when the merge was committed; false when it was refused and the target is unchanged.
    public var committed: Bool

    /// Extractions added over all inputs.
    public var added: Int { inputs.reduce(0) { $0 + $1.added } }
    /// Extractions already present over all inputs.
    public var alreadyPresent: Int { inputs.reduce(0) { $0 + $1.alreadyPresent } }
    /// Conflicting rows over all inputs.
    public var conflictCount: Int { inputs.reduce(0) { $0 + $1.conflicts } }

    /// The JSON form `emo store merge --json` prints.
    public var json: JSONValue {
        .object([
            "target": .string(target),
            "committed": .bool(committed),
            "added": .number(Double(added)),
            "already_present": .number(Double(alreadyPresent)),
            "conflicts": .number(Double(conflictCount)),
            "inputs": .array(inputs.map {
                .object(["path": .string($0.path), "added": .number(Double($0.added)),
                         "already_present": .number(Double($0.alreadyPresent)), "conflicts": .number(Double($0.conflicts)),
                         "clips_added": .number(Double($0.clipsAdded))])
            }),
            "conflicting_rows": .array(conflicts.map {
                .object(["table": .string($0.table), "key": .string($0.key), "source": .string($0.source), "detail": .string($0.detail)])
            }),
            "key_disagreements": .array(keyDisagreements.map { d in
                .object(["component": .string(d.componentID),
                         "stores": .array(d.stores.map { s in
                             .object(["path": .string(s.path),
                                      "keys": .array(s.keys.map { .object(["version": .string($0.key.componentVersion),
                                                                            "config_hash": .string($0.key.configHash),
                                                                            "clips": .number(Double($0.clips))]) })])
                         })])
            }),
        ])
    }
}

extension FeatureStore {
    /// Merges the input stores into the store at `target` (created when missing) in one transaction.
    ///
    /// ```swift
    /// let report = try FeatureStore.merge(["shard-1.sqlite", "shard-2.sqlite"], into: "all.sqlite")
    /// if !report.committed { for c in report.conflicts { print(c.table, c.key, c.detail) } }
    /// ```
    /// Copies clips, their sources, component configs, extraction markers, features and transcripts; rows the
    /// target already holds identically are counted as already present, so merging again changes nothing. Refused,
    /// with nothing written (and a target this call created removed again), when a row exists under the same key
    /// with other contents (other outputs for the same clip and component key, another clip for the same file and
    /// decoding, another config text for the same config hash), or, unless `allowMixedKeys`, when the inputs hold one
    /// component under different versions or config hashes (shards run with different builds or settings). The
    /// inputs are opened read-only; their run history (`runs`, `metrics`) is not copied, and the target records one
    /// `merge` run when rows were added.
    public static func merge(_ inputs: [String], into target: String, allowMixedKeys: Bool = false) throws(StoreError) -> StoreMergeReport {
        guard !inputs.isEmpty else { throw .invalidArgument("merge needs at least one input store") }
        let fm = FileManager.default
        let targetFull = URL(fileURLWithPath: target).standardizedFileURL.resolvingSymlinksInPath().path
        for p in inputs {
            guard fm.fileExists(atPath: p) else {
                throw .cannotOpen(path: p, message: "no such store file (give the .sqlite files `emo extract --store` wrote)")
            }
            if URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path == targetFull {
                throw .invalidArgument("\(p) is both an input and the target; merge into another file")
            }
        }
        let created = !fm.fileExists(atPath: target)
        let report: StoreMergeReport
        do {
            report = try FeatureStore(path: target).merge(from: inputs, allowMixedKeys: allowMixedKeys)
        } catch {
            if created { removeStoreFiles(target) }
            throw error
        }
        if created && !report.committed { removeStoreFiles(target) }
        return report
    }

    /// Removes a store file with its WAL and shared-memory files.
    private static func removeStoreFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// Merges the input stores into this one in one transaction; see `FeatureStore.merge(_:into:allowMixedKeys:)`.
    public func merge(from inputs: [String], allowMixedKeys: Bool = false) throws(StoreError) -> StoreMergeReport {
        var sources: [SQLiteConnection] = []
        for p in inputs { sources.append(try Self.openReadOnly(p)) }
        var report = StoreMergeReport(target: path, inputs: inputs.map { StoreMergeReport.Input(path: $0) },
                                      conflicts: [], keyDisagreements: [], committed: false)
        report.keyDisagreements = try Self.keyDisagreements(sources)
        if !report.keyDisagreements.isEmpty && !allowMixedKeys { return report }

        try db.execute("BEGIN IMMEDIATE")
        do {
            for (i, source) in sources.enumerated() {
                try copy(from: source, into: &report.inputs[i], conflicts: &report.conflicts)
            }
            guard report.conflicts.isEmpty else {
                try db.execute("ROLLBACK")
                return report
            }
            if report.added > 0 || report.inputs.contains(where: { $0.clipsAdded > 0 }) {
                let config: JSONValue = .object(["inputs": .array(inputs.map { .string($0) })])
                let run = try beginRun(kind: "merge", config: config)
                try recordMetric(run: run, name: "added", value: Double(report.added))
                try recordMetric(run: run, name: "already_present", value: Double(report.alreadyPresent))
                try finishRun(run, status: "finished")
            }
            try db.execute("COMMIT")
            report.committed = true
            return report
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
    }

    /// Opens an input store read-only, checking that it is an EmoKit store this build can read.
    static func openReadOnly(_ path: String) throws(StoreError) -> SQLiteConnection {
        let c = try SQLiteConnection(path: path, readOnly: true)
        let version: Int
        do { version = try c.scalarInt("PRAGMA user_version") } catch {
            throw .cannotOpen(path: path, message: "not a SQLite database (\(error)); give the .sqlite files `emo extract --store` wrote")
        }
        guard version >= 1 else {
            throw .cannotOpen(path: path, message: "not an EmoKit feature store (schema version 0); give the .sqlite files `emo extract --store` wrote")
        }
        guard version <= Schema.currentVersion else { throw .newerSchema(path: path, found: version, known: Schema.currentVersion) }
        return c
    }

    /// Components held under different keys by different inputs.
    private static func keyDisagreements(_ sources: [SQLiteConnection]) throws(StoreError) -> [StoreKeyDisagreement] {
        // component id → per input (index, [key: clips])
        var byComponent: [String: [(Int, [FeatureKey: Int])]] = [:]
        for (i, source) in sources.enumerated() {
            let s = try source.prepare("""
                SELECT component_id, component_version, config_hash, count(*) FROM extractions GROUP BY 1, 2, 3
                """)
            var keys: [String: [FeatureKey: Int]] = [:]
            while try s.step() {
                keys[s.text(0), default: [:]][FeatureKey(componentID: s.text(0), componentVersion: s.text(1), configHash: s.text(2))] = s.int(3)
            }
            for (component, k) in keys { byComponent[component, default: []].append((i, k)) }
        }
        var out: [StoreKeyDisagreement] = []
        for (component, perStore) in byComponent.sorted(by: { $0.key < $1.key }) where perStore.count > 1 {
            let first = Set(perStore[0].1.keys)
            guard perStore.contains(where: { Set($0.1.keys) != first }) else { continue }
            out.append(StoreKeyDisagreement(componentID: component, stores: perStore.map { (i, keys) in
                (path: sources[i].path,
                 keys: keys.sorted { ($0.key.componentVersion, $0.key.configHash) < ($1.key.componentVersion, $1.key.configHash) }
                    .map { (key: $0.key, clips: $0.value) })
            }))
        }
        return out
    }

    /// Copies one input's rows, counting and collecting conflicts (the caller rolls back when there are any).
    private func copy(from source: SQLiteConnection, into counts: inout StoreMergeReport.Input,
                      conflicts: inout [StoreMergeConflict]) throws(StoreError) {
        func conflict(_ table: String, _ key: String, _ detail: String) {
            counts.conflicts += 1
            conflicts.append(StoreMergeConflict(table: table, key: key, source: source.path, detail: detail))
        }

        // Clips: identical decoded audio has an identical hash; its metadata must agree.
        let clips = try source.prepare("""
            SELECT pcm_hash, sample_rate, sample_count, format, original_sample_rate, original_channels, created_at FROM clips
            """)
        let insertClip = try db.prepare("INSERT OR IGNORE INTO clips VALUES (?, ?, ?, ?, ?, ?, ?)")
        let findClip = try db.prepare("""
            SELECT sample_rate, sample_count, format, original_sample_rate, original_channels FROM clips WHERE pcm_hash = ?
            """)
        while try clips.step() {
            insertClip.reset()
            insertClip.bind(1, clips.text(0)); insertClip.bind(2, clips.int(1)); insertClip.bind(3, clips.int(2))
            insertClip.bind(4, clips.text(3)); insertClip.bind(5, clips.int(4)); insertClip.bind(6, clips.int(5))
            insertClip.bind(7, clips.double(6))
            try insertClip.step()
            if db.changes() > 0 { counts.clipsAdded += 1; continue }
            findClip.reset()
            findClip.bind(1, clips.text(0))
            guard try findClip.step() else { continue }
            let mine = "\(findClip.int(0)) Hz, \(findClip.int(1)) samples, \(findClip.text(2)), from \(findClip.int(3)) Hz × \(findClip.int(4))"
            let theirs = "\(clips.int(1)) Hz, \(clips.int(2)) samples, \(clips.text(3)), from \(clips.int(4)) Hz × \(clips.int(5))"
            if mine != theirs { conflict("clips", "clip \(clips.text(0).prefix(16))", "\(theirs) here, \(mine) already merged") }
        }

        // Sources: the same file decoded the same way must have given the same clip (the path may differ by machine).
        let sources = try source.prepare("SELECT file_hash, decode_key, pcm_hash, path FROM clip_sources")
        let insertSource = try db.prepare("INSERT OR IGNORE INTO clip_sources VALUES (?, ?, ?, ?)")
        let findSource = try db.prepare("SELECT pcm_hash FROM clip_sources WHERE file_hash = ? AND decode_key = ?")
        while try sources.step() {
            insertSource.reset()
            insertSource.bind(1, sources.text(0)); insertSource.bind(2, sources.text(1))
            insertSource.bind(3, sources.text(2)); insertSource.bind(4, sources.text(3))
            try insertSource.step()
            if db.changes() > 0 { continue }
            findSource.reset()
            findSource.bind(1, sources.text(0)); findSource.bind(2, sources.text(1))
            if try findSource.step(), findSource.text(0) != sources.text(2) {
                conflict("clip_sources", "file \(sources.text(0).prefix(16)) decoded with \(sources.text(1))",
                         "gave clip \(sources.text(2).prefix(16)) here, clip \(findSource.text(0).prefix(16)) already merged (another decoder build?)")
            }
        }

        // Configs: a config hash stands for one config text. (The table keeps one row per hash, so the same
        // config under another component or version is not a conflict: the first row stays, as in one store.)
        let configs = try source.prepare("SELECT config_hash, component_id, component_version, config FROM component_configs")
        let insertConfig = try db.prepare("INSERT OR IGNORE INTO component_configs VALUES (?, ?, ?, ?)")
        let findConfig = try db.prepare("SELECT component_id, component_version, config FROM component_configs WHERE config_hash = ?")
        while try configs.step() {
            insertConfig.reset()
            for c in 0..<4 { insertConfig.bind(Int32(c + 1), configs.text(Int32(c))) }
            try insertConfig.step()
            if db.changes() > 0 { continue }
            findConfig.reset()
            findConfig.bind(1, configs.text(0))
            if try findConfig.step(), findConfig.text(2) != configs.text(3) {
                conflict("component_configs", "config \(configs.text(0).prefix(16))",
                         "another config text for the same hash (\(configs.text(1))@\(configs.text(2)) here, \(findConfig.text(0))@\(findConfig.text(1)) already merged)")
            }
        }

        // Extractions with their outputs: all of a clip's outputs for a key, or none.
        let markers = try source.prepare("""
            SELECT pcm_hash, component_id, component_version, config_hash, output_count, created_at FROM extractions
            """)
        let findMarker = try db.prepare("""
            SELECT output_count FROM extractions WHERE pcm_hash = ? AND component_id = ? AND component_version = ? AND config_hash = ?
            """)
        let insertMarker = try db.prepare("INSERT INTO extractions VALUES (?, ?, ?, ?, ?, ?)")
        let insertFeature = try db.prepare("INSERT OR IGNORE INTO features VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        let insertTranscript = try db.prepare("INSERT OR IGNORE INTO transcripts VALUES (?, ?, ?, ?, ?, ?)")
        let sourceRows = try OutputRows(source)
        let targetRows = try OutputRows(db)
        while try markers.step() {
            let pcm = markers.text(0)
            let key = FeatureKey(componentID: markers.text(1), componentVersion: markers.text(2), configHash: markers.text(3))
            let count = markers.int(4)
            let label = "\(key) clip \(pcm.prefix(16))"
            let theirs = try sourceRows.rows(pcm, key)
            findMarker.reset()
            bind(findMarker, pcm, key)
            if try findMarker.step() {
                let mine = try targetRows.rows(pcm, key)
                if findMarker.int(0) != count {
                    conflict("extractions", label, "\(count) outputs here, \(findMarker.int(0)) already merged")
                } else if mine != theirs {
                    conflict("extractions", label, "outputs differ: \(OutputRows.difference(theirs, mine))")
                } else {
                    counts.alreadyPresent += 1
                }
                continue
            }
            insertMarker.reset()
            bind(insertMarker, pcm, key)
            insertMarker.bind(5, count); insertMarker.bind(6, markers.double(5))
            try insertMarker.step()
            var clash = false
            for row in theirs.features {
                insertFeature.reset()
                bind(insertFeature, pcm, key)
                insertFeature.bind(5, row.index); insertFeature.bind(6, row.dtype); insertFeature.bind(7, row.shape)
                insertFeature.bind(8, blob: row.data)
                try insertFeature.step()
                if db.changes() == 0 { clash = true }
            }
            for row in theirs.texts {
                insertTranscript.reset()
                bind(insertTranscript, pcm, key)
                insertTranscript.bind(5, row.index); insertTranscript.bind(6, row.text)
                try insertTranscript.step()
                if db.changes() == 0 { clash = true }
            }
            // Output rows without a marker (never written by EmoKit, but possible in a hand-edited file).
            if clash, try targetRows.rows(pcm, key) != theirs {
                conflict("extractions", label, "the target holds other output rows for this key without a completion marker")
            } else {
                counts.added += 1
            }
        }
    }

    private func bind(_ s: SQLiteConnection.Statement, _ pcm: String, _ key: FeatureKey) {
        s.bind(1, pcm); s.bind(2, key.componentID); s.bind(3, key.componentVersion); s.bind(4, key.configHash)
    }
}

/// The output rows of one (clip, key), read from one connection, for comparison.
private struct OutputRows {
    struct Feature: Equatable { var index: Int, dtype: String, shape: String, data: [UInt8] }
    struct Text: Equatable { var index: Int, text: String }
    struct Rows: Equatable { var features: [Feature], texts: [Text] }

    let features: SQLiteConnection.Statement
    let texts: SQLiteConnection.Statement

    init(_ c: SQLiteConnection) throws(StoreError) {
        features = try c.prepare("""
            SELECT output_index, dtype, shape, data FROM features
            WHERE pcm_hash = ? AND component_id = ? AND component_version = ? AND config_hash = ? ORDER BY output_index
            """)
        texts = try c.prepare("""
            SELECT output_index, text FROM transcripts
            WHERE pcm_hash = ? AND component_id = ? AND component_version = ? AND config_hash = ? ORDER BY output_index
            """)
    }

    func rows(_ pcm: String, _ key: FeatureKey) throws(StoreError) -> Rows {
        var out = Rows(features: [], texts: [])
        for s in [features, texts] {
            s.reset()
            s.bind(1, pcm); s.bind(2, key.componentID); s.bind(3, key.componentVersion); s.bind(4, key.configHash)
        }
        while try features.step() {
            out.features.append(Feature(index: features.int(0), dtype: features.text(1), shape: features.text(2), data: features.blob(3)))
        }
        while try texts.step() { out.texts.append(Text(index: texts.int(0), text: texts.text(1))) }
        return out
    }

    /// Which outputs differ, in words.
    static func difference(_ a: Rows, _ b: Rows) -> String {
        var notes: [String] = []
        for (x, y) in zip(a.features, b.features) where x != y {
            if x.dtype != y.dtype || x.shape != y.shape {
                notes.append("output \(x.index): \(x.dtype)\(x.shape) vs \(y.dtype)\(y.shape)")
            } else {
                let differing = zip(x.data, y.data).filter { $0 != $1 }.count
                notes.append("output \(x.index): \(differing) of \(x.data.count) bytes differ")
            }
        }
        for (x, y) in zip(a.texts, b.texts) where x != y { notes.append("text output \(x.index) differs") }
        if a.features.count != b.features.count || a.texts.count != b.texts.count { notes.append("different output rows") }
        return notes.isEmpty ? "rows differ" : notes.joined(separator: "; ")
    }
}

extension FeatureStore {
    /// Every stored row of the cache tables as text, sorted, for comparing two stores' contents: clips and
    /// extraction markers without their timestamps, sources, configs, features with their data in hex, transcripts.
    /// Two stores with the same features, whatever order or process wrote them, give equal lists.
    public func contentRows() throws(StoreError) -> [String] {
        let queries = [
            "SELECT 'clips', pcm_hash, sample_rate, sample_count, format, original_sample_rate, original_channels FROM clips",
            "SELECT 'clip_sources', file_hash, decode_key, pcm_hash, path FROM clip_sources",
            "SELECT 'component_configs', config_hash, component_id, component_version, config FROM component_configs",
            "SELECT 'extractions', pcm_hash, component_id, component_version, config_hash, output_count FROM extractions",
            "SELECT 'features', pcm_hash, component_id, component_version, config_hash, output_index, dtype, shape, hex(data) FROM features",
            "SELECT 'transcripts', pcm_hash, component_id, component_version, config_hash, output_index, text FROM transcripts",
        ]
        var out: [String] = []
        for q in queries {
            let s = try db.prepare(q)
            while try s.step() { out.append((0..<s.columnCount).map { s.text($0) }.joined(separator: "|")) }
        }
        return out.sorted()
    }
}
