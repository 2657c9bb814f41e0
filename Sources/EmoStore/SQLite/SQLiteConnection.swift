import CSQLite
import Foundation

/// One SQLite connection: statements, transactions and typed errors naming the database file.
/// Not thread-safe: use one connection per thread.
final class SQLiteConnection {
    /// The database file ("" for in-memory).
    let path: String
    private let handle: OpaquePointer

    /// Opens (creating if needed) the database at `path`; `readOnly` opens an existing file without writing to it.
    /// A read-only open in a folder this process cannot write is made `immutable` (SQLite cannot create the WAL's
    /// shared-memory file there, and nobody can be changing the file through that folder's lock files either).
    init(path: String, readOnly: Bool = false) throws(StoreError) {
        var db: OpaquePointer? = nil
        let folder = (path as NSString).deletingLastPathComponent
        let immutable = readOnly && !FileManager.default.isWritableFile(atPath: folder.isEmpty ? "." : folder)
        var flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        var name = path
        if immutable {
            flags |= SQLITE_OPEN_URI
            let escaped = path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path
            name = "file:\(escaped)?immutable=1"
        }
        let rc = sqlite3_open_v2(name, &db, flags, nil)
        guard rc == SQLITE_OK, let h = db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            if let d = db { sqlite3_close(d) }
            throw .cannotOpen(path: path, message: message)
        }
        self.path = path
        self.handle = h
        sqlite3_busy_timeout(h, 10_000)
    }

    deinit { sqlite3_close_v2(handle) }

    /// Runs one or more statements without results.
    func execute(_ sql: String) throws(StoreError) {
        var errorMessage: UnsafeMutablePointer<CChar>? = nil
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(errorMessage)
            throw .sqlite(path: path, code: rc, message: message, sql: sql)
        }
    }

    /// Compiles `sql`.
    func prepare(_ sql: String) throws(StoreError) -> Statement {
        var stmt: OpaquePointer? = nil
        let rc = sqlite3_prepare_v2(handle, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let s = stmt else { throw error(rc, sql) }
        return Statement(connection: self, handle: s, sql: sql)
    }

    /// Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back when it throws.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The first column of the first row of `sql`, as an integer (0 when there is no row).
    func scalarInt(_ sql: String) throws(StoreError) -> Int {
        let s = try prepare(sql)
        return try s.step() ? s.int(0) : 0
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE (0 when `INSERT OR IGNORE` ignored its row).
    func changes() -> Int { Int(sqlite3_changes(handle)) }

    /// A typed error for return code `rc`.
    func error(_ rc: Int32, _ sql: String) -> StoreError {
        .sqlite(path: path, code: rc, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// A compiled statement; parameters are 1-based, columns 0-based, as in SQLite.
    final class Statement {
        let connection: SQLiteConnection
        let handle: OpaquePointer
        let sql: String

        init(connection: SQLiteConnection, handle: OpaquePointer, sql: String) {
            self.connection = connection
            self.handle = handle
            self.sql = sql
        }

        deinit { sqlite3_finalize(handle) }

        /// Binds text.
        func bind(_ index: Int32, _ value: String) { sqlite3_bind_text(handle, index, value, -1, csqlite_transient()) }
        /// Binds an integer.
        func bind(_ index: Int32, _ value: Int) { sqlite3_bind_int64(handle, index, sqlite3_int64(value)) }
        /// Binds a real.
        func bind(_ index: Int32, _ value: Double) { sqlite3_bind_double(handle, index, value) }
        /// Binds a blob (copied).
        func bind(_ index: Int32, blob: [UInt8]) {
            blob.withUnsafeBytes { raw in
                _ = sqlite3_bind_blob(handle, index, raw.baseAddress, Int32(raw.count), csqlite_transient())
            }
        }
        /// Binds NULL.
        func bindNull(_ index: Int32) { sqlite3_bind_null(handle, index) }

        /// Advances; true when a row is available.
        @discardableResult
        func step() throws(StoreError) -> Bool {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_ROW { return true }
            if rc == SQLITE_DONE { return false }
            throw connection.error(rc, sql)
        }

        /// Resets for re-execution with new bindings.
        func reset() {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }

        /// Number of result columns.
        var columnCount: Int32 { sqlite3_column_count(handle) }
        /// Integer column.
        func int(_ column: Int32) -> Int { Int(sqlite3_column_int64(handle, column)) }
        /// Real column.
        func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }
        /// Text column ("" for NULL).
        func text(_ column: Int32) -> String {
            guard let p = sqlite3_column_text(handle, column) else { return "" }
            return String(cString: p)
        }
        /// True when the column is NULL.
        func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
        /// Blob column (copied).
        func blob(_ column: Int32) -> [UInt8] {
            let n = Int(sqlite3_column_bytes(handle, column))
            guard n > 0, let p = sqlite3_column_blob(handle, column) else { return [] }
            return [UInt8](UnsafeRawBufferPointer(start: p, count: n))
        }
    }
}
