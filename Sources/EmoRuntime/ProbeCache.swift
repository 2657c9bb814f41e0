import EmoCore
import Foundation

/// Remembers what each library declared, keyed by absolute path and checked against size, mtime and SHA-256,
/// so an unchanged library is never probed again and a changed one is (as GStreamer's registry cache does).
///
/// Lives at `$EMO_CACHE_DIR/plugin-cache.json` (default `$XDG_CACHE_HOME/emokit`, i.e. `~/.cache/emokit`).
/// Failed probes are cached too, so a crashing plugin is not re-run on every start until it changes.
public final class ProbeCache: @unchecked Sendable {
    /// One library's cached probe result.
    public struct Record: Codable, Equatable, Sendable {
        /// File size in bytes when probed.
        public var size: Int64
        /// Modification time (seconds since 1970) when probed.
        public var mtime: Double
        /// SHA-256 (hex) of the file when probed.
        public var sha256: String
        /// What the probe found, when it succeeded.
        public var description: PluginDescription?
        /// Why the probe failed (`RuntimeError` code and arguments), when it did.
        public var errorCode: String?
        /// Arguments of `errorCode`.
        public var errorArguments: [String]?
    }

    /// Path of the cache file.
    public let path: String
    private(set) var records: [String: Record] = [:]
    private var dirty = false

    /// Opens (or starts) the cache at `path`; an unreadable cache is discarded, never fatal.
    public init(path: String) {
        self.path = path
        if let data = FileManager.default.contents(atPath: path),
           let decoded = try? JSONDecoder().decode([String: Record].self, from: data) {
            records = decoded
        }
    }

    /// The standard location.
    public static func standardPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = environment["EMO_CACHE_DIR"], !dir.isEmpty { return dir + "/plugin-cache.json" }
        let cacheHome = environment["XDG_CACHE_HOME"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.cache")
        return cacheHome + "/emokit/plugin-cache.json"
    }

    /// File size and mtime, or nil when the file does not exist.
    static func stat(_ path: String) -> (size: Int64, mtime: Double)? {
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        let size = (attrs[.size] as? NSNumber)?.int64Value ?? -1
        let mtime = (attrs[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return (size, mtime)
    }

    /// The cached record if the file's size and mtime are unchanged.
    public func fresh(_ library: String) -> Record? {
        guard let r = records[library], let s = ProbeCache.stat(library), s.size == r.size, s.mtime == r.mtime else {
            return nil
        }
        return r
    }

    /// Stores a probe outcome for `library` as it is now.
    public func store(_ library: String, sha256: String, outcome: Result<PluginDescription, RuntimeError>) {
        guard let s = ProbeCache.stat(library) else { return }
        var r = Record(size: s.size, mtime: s.mtime, sha256: sha256, description: nil, errorCode: nil, errorArguments: nil)
        switch outcome {
        case .success(let d): r.description = d
        case .failure(let e):
            let (code, args) = e.codeAndArguments
            r.errorCode = code
            r.errorArguments = args
        }
        records[library] = r
        dirty = true
    }

    /// Forgets every record (next scan re-probes everything).
    public func clear() {
        records.removeAll()
        dirty = true
    }

    /// Writes the cache atomically if it changed; failures to write are ignored (the cache is an optimisation).
    public func save() {
        guard dirty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let data = try? encoder.encode(records) else { return }
        let dir = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = path + ".tmp.\(getpid())"
        if FileManager.default.createFile(atPath: tmp, contents: data), rename(tmp, path) == 0 {
            dirty = false
        } else {
            try? FileManager.default.removeItem(atPath: tmp)
        }
    }
}

/// SHA-256 (hex) of a file's bytes (`SHA256.hex(ofFile:)`).
public func sha256OfFile(_ path: String) -> String? { SHA256.hex(ofFile: path) }
