import EmoCore
import Foundation
import Logging

/// The host side of the plugin system: discovers libraries, probes new or changed ones in a child process,
/// and creates component instances by id.
///
/// ```swift
/// let host = try PluginHost.standard()
/// let mlp = try host.instantiate(id: "mlp", config: ["hidden": [256, 128]])
/// let logits = try mlp.forward([.array(x)])
/// ```
public final class PluginHost: @unchecked Sendable {
    /// A component a registered library provides.
    public struct Registered: Sendable, Equatable {
        /// What the plugin declares.
        public var component: ComponentDescription
        /// Absolute path of the library.
        public var library: String
        /// The library's plugin id and version.
        public var plugin: String
        /// The library's version.
        public var pluginVersion: String
    }

    /// One library and what became of it.
    public struct LibraryStatus: Sendable, Equatable {
        /// Absolute path.
        public var path: String
        /// Where it was listed (a registry file or a folder).
        public var source: String
        /// The pinned SHA-256, if any.
        public var pinnedSHA256: String?
        /// What it declares, when usable.
        public var description: PluginDescription?
        /// Why it is not usable.
        public var error: RuntimeError?
        /// True when the description came from the cache (no probe ran).
        public var fromCache: Bool
    }

    /// Every library seen, in discovery order.
    public private(set) var libraries: [LibraryStatus] = []
    /// Problems with registry files themselves (malformed, unreadable).
    public private(set) var registryErrors: [RuntimeError] = []
    /// Usable components by id.
    public private(set) var components: [String: Registered] = [:]
    /// How many libraries were probed in a child process during this scan.
    public private(set) var probedCount = 0

    private let sources: PluginSources
    private let prober: Prober
    private let cache: ProbeCache
    private var opened: [String: LoadedLibrary] = [:]
    private let lock = NSLock()
    private let logger = Logger(label: "emokit.plugins")

    /// Discovers and scans with the standard sources, prober and cache (see `PluginSources.standard`).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> PluginHost {
        let sources = PluginSources.standard(environment: environment)
        return PluginHost(sources: sources,
                          prober: .standard(hostDirectory: sources.hostDirectory, environment: environment),
                          cache: ProbeCache(path: ProbeCache.standardPath(environment: environment)))
    }

    /// Discovers and scans: cached results for unchanged libraries, a child-process probe for the rest.
    public init(sources: PluginSources, prober: Prober, cache: ProbeCache, forceProbe: Bool = false) {
        self.sources = sources
        self.prober = prober
        self.cache = cache
        scan(forceProbe: forceProbe)
    }

    /// All usable components, sorted by kind then id.
    public var sortedComponents: [Registered] {
        components.values.sorted { ($0.component.kind, $0.component.id) < ($1.component.kind, $1.component.id) }
    }

    /// Every problem found: registry errors, then library errors.
    public var problems: [RuntimeError] { registryErrors + libraries.compactMap(\.error) }

    /// The component with `id`, or a typed error listing what exists.
    public func component(_ id: String) throws(RuntimeError) -> Registered {
        guard let r = components[id] else { throw .unknownComponent(id: id, known: components.keys.sorted()) }
        return r
    }

    /// Creates an instance of component `id` with `config` merged over the manifest defaults.
    public func instantiate(id: String, config: JSONValue = .object([:])) throws(RuntimeError) -> LoadedComponent {
        let registered = try component(id)
        let library = try open(registered.library)
        guard let c = library.component(id), let info = registered.component.info else {
            throw .badDescriptor(path: registered.library, reason: "component \(id) vanished from the library since it was probed; run `emo plugins scan`")
        }
        let defaults = info.configDefaults
        return try LoadedComponent(library: library, component: c, info: info, config: defaults.merging(config))
    }

    /// Opens (once) the library at `path` in this process, re-checking its pin.
    public func open(_ path: String) throws(RuntimeError) -> LoadedLibrary {
        lock.lock()
        defer { lock.unlock() }
        if let l = opened[path] { return l }
        if let pin = libraries.first(where: { $0.path == path })?.pinnedSHA256 {
            let actual = sha256OfFile(path) ?? "unreadable"
            guard actual == pin else { throw .checksumMismatch(path: path, expected: pin, actual: actual) }
        }
        let l = try PluginLoader.open(path)
        opened[path] = l
        return l
    }

    /// Re-reads the sources; `forceProbe` ignores the cache.
    public func scan(forceProbe: Bool = false) {
        libraries = []
        registryErrors = []
        components = [:]
        probedCount = 0
        var seen = Set<String>()
        var entries: [(path: String, source: String, pin: String?)] = []
        for registry in sources.registries {
            do {
                let file = try RegistryFile.load(registry, hostDirectory: sources.hostDirectory)
                for e in file.entries where e.enabled { entries.append((e.path, registry, e.pinnedSHA256)) }
            } catch {
                registryErrors.append(error)
            }
        }
        for folder in sources.folders {
            let reg = (folder as NSString).appendingPathComponent("registry.json")
            var pins: [String: String] = [:]
            if FileManager.default.fileExists(atPath: reg) {
                do {
                    let file = try RegistryFile.load(reg, hostDirectory: sources.hostDirectory)
                    for e in file.entries where e.enabled { entries.append((e.path, reg, e.pinnedSHA256)); pins[e.path] = e.pinnedSHA256 }
                } catch {
                    registryErrors.append(error)
                }
            }
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in names.sorted() where name.hasSuffix(".so") {
                let path = ((folder as NSString).appendingPathComponent(name) as NSString).standardizingPath
                if pins[path] == nil { entries.append((path, folder, nil)) }
            }
        }
        for e in entries where seen.insert(e.path).inserted {
            libraries.append(check(path: e.path, source: e.source, pin: e.pin, forceProbe: forceProbe))
        }
        cache.save()
        // Register components; the first library to claim an id keeps it.
        for i in libraries.indices {
            guard let d = libraries[i].description else { continue }
            for c in d.components {
                if let existing = components[c.id] {
                    libraries[i].error = .duplicateComponent(id: c.id, first: existing.library, second: libraries[i].path)
                    continue
                }
                components[c.id] = Registered(component: c, library: libraries[i].path, plugin: d.pluginID,
                                              pluginVersion: d.pluginVersion)
            }
        }
        for p in problems { logger.debug("\(p.description)") }
    }

    private func check(path: String, source: String, pin: String?, forceProbe: Bool) -> LibraryStatus {
        var status = LibraryStatus(path: path, source: source, pinnedSHA256: pin, description: nil, error: nil, fromCache: false)
        guard FileManager.default.fileExists(atPath: path) else {
            status.error = .missingLibrary(path: path, registry: source)
            return status
        }
        // Only a regular file can be a library: hashing a FIFO or a device would block forever, and a folder
        // named *.so is not one either.
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            status.error = .loadFailed(path: path, reason: "not a regular file (a folder, FIFO or device); a plugin is a shared library file")
            return status
        }
        if !forceProbe, let record = cache.fresh(path) {
            if let pin, record.sha256 != pin {
                status.error = .checksumMismatch(path: path, expected: pin, actual: record.sha256)
                return status
            }
            status.fromCache = true
            if let d = record.description { status.description = d } else if let code = record.errorCode {
                status.error = RuntimeError(code: code, arguments: record.errorArguments ?? [])
            }
            return status
        }
        let sha = sha256OfFile(path) ?? "unreadable"
        if let pin, sha != pin {
            status.error = .checksumMismatch(path: path, expected: pin, actual: sha)
            return status
        }
        probedCount += 1
        do {
            let d = try prober.probe(path)
            status.description = d
            cache.store(path, sha256: sha, outcome: .success(d))
        } catch {
            status.error = error
            // A missing probe executable says nothing about the library: don't remember it.
            if case .probeUnavailable = error {} else { cache.store(path, sha256: sha, outcome: .failure(error)) }
        }
        return status
    }
}
