/// Why a feature-store operation failed. Messages name the database file and say what to do.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// The database could not be opened or created.
    case cannotOpen(path: String, message: String)
    /// SQLite reported an error running a statement.
    case sqlite(path: String, code: Int32, message: String, sql: String)
    /// The file was written by a newer EmoKit with a schema this build does not know.
    case newerSchema(path: String, found: Int, known: Int)
    /// A stored value could not be decoded (corrupt row).
    case corruptRow(path: String, detail: String)
    /// An export could not be written.
    case exportFailed(path: String, message: String)
    /// A caller passed something the store cannot hold.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let m):
            return "\(p): cannot open the feature store: \(m) (check the folder exists and is writable)"
        case .sqlite(let p, let code, let m, let sql):
            let head = sql.split(separator: "\n").first.map(String.init) ?? sql
            return "\(p): SQLite error \(code): \(m) (in: \(head.prefix(120)))"
        case .newerSchema(let p, let found, let known):
            return "\(p): the store has schema version \(found) but this EmoKit knows up to \(known); upgrade EmoKit or use a new store file"
        case .corruptRow(let p, let d):
            return "\(p): a stored row is corrupt: \(d); delete the store file to rebuild the cache"
        case .exportFailed(let p, let m):
            return "\(p): cannot write the export: \(m)"
        case .invalidArgument(let m):
            return "feature store: \(m)"
        }
    }
}
