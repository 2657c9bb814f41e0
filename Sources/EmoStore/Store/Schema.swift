/// The store's schema as an append-only list of migrations; `PRAGMA user_version` records how many ran.
///
/// Never edit a shipped migration: add a new one at the end.
enum Schema {
    /// Migration i brings the schema from version i to i + 1.
    static let migrations: [String] = [
        // 1: clips, their sources, features, transcripts, extraction markers, configs, runs, metrics.
        """
        CREATE TABLE clips (
            pcm_hash TEXT PRIMARY KEY,          -- SHA-256 of the decoded Float32 samples (little-endian)
            sample_rate INTEGER NOT NULL,
            sample_count INTEGER NOT NULL,
            format TEXT NOT NULL,
            original_sample_rate INTEGER NOT NULL,
            original_channels INTEGER NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE TABLE clip_sources (             -- which file, decoded how, gave which clip
            file_hash TEXT NOT NULL,            -- SHA-256 of the file bytes
            decode_key TEXT NOT NULL,           -- DecodeOptions.cacheKey
            pcm_hash TEXT NOT NULL REFERENCES clips(pcm_hash),
            path TEXT NOT NULL,
            PRIMARY KEY (file_hash, decode_key)
        );
        CREATE INDEX clip_sources_pcm ON clip_sources(pcm_hash);
        CREATE TABLE component_configs (        -- what a config hash stands for
            config_hash TEXT PRIMARY KEY,
            component_id TEXT NOT NULL,
            component_version TEXT NOT NULL,
            config TEXT NOT NULL
        );
        CREATE TABLE extractions (              -- one row per (clip, component) whose outputs are all stored
            pcm_hash TEXT NOT NULL,
            component_id TEXT NOT NULL,
            component_version TEXT NOT NULL,
            config_hash TEXT NOT NULL,
            output_count INTEGER NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (pcm_hash, component_id, component_version, config_hash)
        ) WITHOUT ROWID;
        CREATE TABLE features (                 -- numeric outputs: Float32 ('f32') or Int64 ('i64'), little-endian
            pcm_hash TEXT NOT NULL,
            component_id TEXT NOT NULL,
            component_version TEXT NOT NULL,
            config_hash TEXT NOT NULL,
            output_index INTEGER NOT NULL,
            dtype TEXT NOT NULL,
            shape TEXT NOT NULL,                -- JSON array of extents
            data BLOB NOT NULL,
            PRIMARY KEY (pcm_hash, component_id, component_version, config_hash, output_index)
        ) WITHOUT ROWID;
        CREATE TABLE transcripts (              -- text outputs (e.g. Whisper)
            pcm_hash TEXT NOT NULL,
            component_id TEXT NOT NULL,
            component_version TEXT NOT NULL,
            config_hash TEXT NOT NULL,
            output_index INTEGER NOT NULL,
            text TEXT NOT NULL,
            PRIMARY KEY (pcm_hash, component_id, component_version, config_hash, output_index)
        ) WITHOUT ROWID;
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,                 -- "extract", "train", "evaluate", ...
            config TEXT NOT NULL,               -- JSON
            status TEXT NOT NULL,               -- "running", "finished", "failed"
            started_at REAL NOT NULL,
            finished_at REAL
        );
        CREATE TABLE metrics (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            name TEXT NOT NULL,
            split TEXT NOT NULL DEFAULT '',
            value REAL NOT NULL,
            PRIMARY KEY (run_id, name, split)
        );
        """,
        // 2: the process that started a run, so a run killed by a signal is told apart from one still running.
        """
        ALTER TABLE runs ADD COLUMN pid INTEGER;           -- the process that began the run
        ALTER TABLE runs ADD COLUMN host TEXT;             -- its host name
        ALTER TABLE runs ADD COLUMN process_start TEXT;    -- its start time (/proc/PID/stat field 22), against pid reuse
        """,
    ]

    /// The schema version this build writes.
    static var currentVersion: Int { migrations.count }

    /// Applies the migrations `connection` has not seen yet, each in its own transaction. The version is re-read
    /// inside each transaction, so two processes opening a new file at once do not both migrate it.
    static func migrate(_ connection: SQLiteConnection) throws(StoreError) {
        while true {
            let applied = try connection.transaction { () throws(StoreError) -> Bool in
                let found = try connection.scalarInt("PRAGMA user_version")
                guard found <= currentVersion else {
                    throw .newerSchema(path: connection.path, found: found, known: currentVersion)
                }
                guard found < currentVersion else { return false }
                try connection.execute(migrations[found])
                try connection.execute("PRAGMA user_version = \(found + 1)")
                return true
            }
            if !applied { return }
        }
    }
}
