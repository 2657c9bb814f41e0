import EmoCore
import Foundation

/// The content hash of a model folder: what a feature cache keys on instead of the model's name, so re-imported or
/// overwritten weights never serve the old features.
///
/// SHA-256 over the folder's regular files (top level, not hidden; name, size and each file's SHA-256, in name
/// order): weights, config and tokenizer files all count. Hashing a base model's weights takes a second or two, so
/// results are cached in `~/.cache/emokit/checkpoint-fingerprints.json` (`EMOKIT_FINGERPRINT_CACHE`) and reused
/// while every file keeps its size and modification time.
///
/// ```swift
/// let id = try CheckpointFingerprint.of(folder: "/models/wav2vec2-base")   // 64 hex digits
/// ```
public enum CheckpointFingerprint {
    /// One file's identity as the cache checks it.
    struct Stamp: Codable, Equatable {
        var size: Int
        var modified: Double
    }

    /// One cached folder.
    struct Entry: Codable {
        var files: [String: Stamp]
        var sha256: String
    }

    private static let lock = NSLock()

    /// The cache file.
    static var cachePath: String {
        let env = ProcessInfo.processInfo.environment
        if let p = env["EMOKIT_FINGERPRINT_CACHE"], !p.isEmpty { return p }
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ((env["HOME"] ?? NSTemporaryDirectory()) + "/.cache")
        return base + "/emokit/checkpoint-fingerprints.json"
    }

    /// The folder's fingerprint (a file path fingerprints that one file).
    public static func of(folder: String) throws -> String {
        let root = URL(fileURLWithPath: folder).standardizedFileURL.path
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDirectory) else {
            throw CheckpointError.io(path: root, message: "no such model folder")
        }
        let names: [String]
        if isDirectory.boolValue {
            do { names = try fm.contentsOfDirectory(atPath: root).filter { !$0.hasPrefix(".") }.sorted() } catch {
                throw CheckpointError.io(path: root, message: "cannot list the folder (\(error.localizedDescription))")
            }
        } else {
            names = [""]
        }
        var stamps: [String: Stamp] = [:]
        for name in names {
            let path = name.isEmpty ? root : root + "/" + name
            guard let a = try? fm.attributesOfItem(atPath: path), (a[.type] as? FileAttributeType) == .typeRegular else { continue }
            stamps[name] = Stamp(size: (a[.size] as? NSNumber)?.intValue ?? 0,
                                 modified: (a[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        }
        if let cached = lock.withLock({ load()[root] }), cached.files == stamps { return cached.sha256 }
        var hasher = SHA256()
        for name in stamps.keys.sorted() {
            let path = name.isEmpty ? root : root + "/" + name
            guard let digest = SHA256.hex(ofFile: path) else {
                throw CheckpointError.io(path: path, message: "cannot read it to fingerprint the model")
            }
            hasher.update(Array("\(name)\t\(stamps[name]?.size ?? 0)\t\(digest)\n".utf8))
        }
        let sha = hasher.finalize().hex
        lock.withLock {
            var all = load()
            all[root] = Entry(files: stamps, sha256: sha)
            save(all)
        }
        return sha
    }

    /// The cache's entries (empty when missing or unreadable: it is only a cache).
    private static func load() -> [String: Entry] {
        guard let data = FileManager.default.contents(atPath: cachePath),
              let all = try? JSONDecoder().decode([String: Entry].self, from: data) else { return [:] }
        return all
    }

    /// Writes the cache atomically (a failure only costs a re-hash next time).
    private static func save(_ all: [String: Entry]) {
        guard let data = try? JSONEncoder().encode(all) else { return }
        let url = URL(fileURLWithPath: cachePath)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? data.write(to: url, options: .atomic)
    }
}
