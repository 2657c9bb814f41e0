import EmoCore
import Foundation

/// One `registry.json`: a list of plugin libraries, optionally pinned by SHA-256.
///
/// ```json
/// { "format": 1,
///   "plugins": [ { "library": "@host/libEmoPluginFusion.so" },
///                { "library": "/opt/site/libAcme.so", "sha256": "9f86d0…" } ] }
/// ```
/// `library` is absolute, relative to the registry file's folder, or starts with `@host/` (the folder of the
/// running host executable, where SwiftPM puts in-tree plugin libraries).
public struct RegistryFile: Equatable, Sendable {
    /// One listed library.
    public struct Entry: Equatable, Sendable {
        /// Absolute path after resolving `@host/` and relative paths.
        public var path: String
        /// The pinned SHA-256 (hex), if any: a library whose hash differs is refused.
        public var pinnedSHA256: String?
        /// False to keep an entry listed but not loaded.
        public var enabled: Bool
    }

    /// Where the file is.
    public var path: String
    /// Its entries.
    public var entries: [Entry]

    /// The only format this host reads.
    public static let format = 1

    /// Reads and validates a registry file.
    public static func load(_ path: String, hostDirectory: String) throws(RuntimeError) -> RegistryFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .malformedRegistry(path: path, reason: "cannot read the file")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch { throw .malformedRegistry(path: path, reason: error.description) }
        guard let object = json.objectValue else {
            throw .malformedRegistry(path: path, reason: "top level must be an object with \"format\" and \"plugins\"")
        }
        guard let format = object["format"]?.intValue else {
            throw .malformedRegistry(path: path, reason: "missing integer \"format\" (expected \(RegistryFile.format))")
        }
        guard format == RegistryFile.format else {
            throw .malformedRegistry(path: path, reason: "format \(format) is not supported (this host reads format \(RegistryFile.format))")
        }
        guard let list = object["plugins"]?.arrayValue else {
            throw .malformedRegistry(path: path, reason: "missing array \"plugins\"")
        }
        let base = (path as NSString).deletingLastPathComponent
        var entries: [Entry] = []
        for (i, item) in list.enumerated() {
            guard let library = item["library"]?.stringValue, !library.isEmpty else {
                throw .malformedRegistry(path: path, reason: "plugins[\(i)] has no string \"library\"")
            }
            let pin = item["sha256"]
            if let pin, pin.stringValue == nil || !(pin.stringValue.map(isHexDigest) ?? false) {
                throw .malformedRegistry(path: path, reason: "plugins[\(i)].sha256 must be 64 lower-case hex digits")
            }
            if let enabled = item["enabled"], enabled.boolValue == nil {
                throw .malformedRegistry(path: path, reason: "plugins[\(i)].enabled must be true or false")
            }
            entries.append(Entry(path: resolve(library, base: base, hostDirectory: hostDirectory),
                                 pinnedSHA256: pin?.stringValue, enabled: item["enabled"]?.boolValue ?? true))
        }
        return RegistryFile(path: path, entries: entries)
    }

    static func resolve(_ library: String, base: String, hostDirectory: String) -> String {
        if library.hasPrefix("@host/") { return (hostDirectory as NSString).appendingPathComponent(String(library.dropFirst(6))) }
        if library.hasPrefix("/") { return (library as NSString).standardizingPath }
        return ((base as NSString).appendingPathComponent(library) as NSString).standardizingPath
    }

    static func isHexDigest(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}

/// Where plugin libraries come from, in priority order (first wins on duplicate component ids).
public struct PluginSources: Sendable, Equatable {
    /// Registry files to read.
    public var registries: [String]
    /// Folders whose `*.so` files are plugins (and whose `registry.json`, if any, is read too).
    public var folders: [String]
    /// The folder `@host/` stands for.
    public var hostDirectory: String

    /// Creates explicit sources.
    public init(registries: [String], folders: [String] = [], hostDirectory: String) {
        self.registries = registries
        self.folders = folders
        self.hostDirectory = hostDirectory
    }

    /// The standard sources: `EMO_REGISTRY` (or the nearest `registry.json` above the host executable),
    /// then each entry of `EMO_PLUGIN_PATH` (registry files or folders, `:`-separated), then the per-user folder
    /// `$XDG_DATA_HOME/emokit/plugins` (default `~/.local/share/emokit/plugins`).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> PluginSources {
        let hostDir = environment["EMO_HOST_DIR"] ?? PluginSources.executableDirectory()
        var registries: [String] = []
        var folders: [String] = []
        if let explicit = environment["EMO_REGISTRY"], !explicit.isEmpty {
            registries.append(explicit)
        } else if let found = nearestRegistry(from: hostDir) {
            registries.append(found)
        }
        for item in (environment["EMO_PLUGIN_PATH"] ?? "").split(separator: ":").map(String.init) where !item.isEmpty {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: item, isDirectory: &isDir), isDir.boolValue {
                folders.append(item)
            } else {
                registries.append(item)
            }
        }
        let dataHome = environment["XDG_DATA_HOME"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.local/share")
        let userFolder = dataHome + "/emokit/plugins"
        if FileManager.default.fileExists(atPath: userFolder) { folders.append(userFolder) }
        return PluginSources(registries: registries, folders: folders, hostDirectory: hostDir)
    }

    /// The folder of the running executable.
    public static func executableDirectory() -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent
    }

    /// The first `registry.json` found walking up from `start` (at most 8 levels).
    static func nearestRegistry(from start: String) -> String? {
        var dir = start
        for _ in 0..<8 {
            let candidate = (dir as NSString).appendingPathComponent("registry.json")
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            let parent = (dir as NSString).deletingLastPathComponent
            if parent == dir { break }
            dir = parent
        }
        return nil
    }
}
