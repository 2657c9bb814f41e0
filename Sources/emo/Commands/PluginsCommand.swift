import ArgumentParser
import EmoCore
import EmoRuntime
import Foundation

/// `emo plugins ...`: list, show, scan and verify plugin libraries.
struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List, inspect, scan and verify plugin libraries.",
        discussion: """
        Plugins are found through registry.json (the nearest one above the emo executable, or EMO_REGISTRY), \
        then EMO_PLUGIN_PATH (registry files or folders of .so files, ':'-separated), then \
        ~/.local/share/emokit/plugins. What each library declares is cached in ~/.cache/emokit/plugin-cache.json \
        (EMO_CACHE_DIR); a library is probed again, in a child process, only when it changes.
        """,
        subcommands: [PluginsList.self, PluginsShow.self, PluginsScan.self, PluginsVerify.self],
        defaultSubcommand: PluginsList.self)
}

/// Prints registry and library problems to stderr, one per line.
func reportProblems(_ host: PluginHost) {
    for p in host.problems { FileHandle.standardError.write(Data("warning: \(p.description)\n".utf8)) }
}

/// `emo plugins list`.
struct PluginsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List every usable component (id, kind, version, library).")

    @Option(help: "Only this kind: extractor, encoder, fusion, classifier or explainer.")
    var kind: String?

    @Flag(help: "Print a JSON array of {id, kind, version, library, plugin, display_name}.")
    var json = false

    func run() async throws {
        if let kind, ComponentKind(name: kind) == nil {
            throw ValidationError("unknown kind '\(kind)'; use one of: \(ComponentKind.allCases.map(\.name).joined(separator: ", "))")
        }
        let host = PluginHost.standard()
        reportProblems(host)
        let rows = host.sortedComponents.filter { kind == nil || $0.component.kind == kind }
        if json {
            let array: [JSONValue] = rows.map {
                ["id": .string($0.component.id), "kind": .string($0.component.kind), "version": .string($0.component.version),
                 "library": .string($0.library), "plugin": .string($0.plugin), "display_name": .string($0.component.displayName)]
            }
            print(JSONValue.array(array).serialized(pretty: true))
            return
        }
        if rows.isEmpty {
            print("No plugins found. Build them with `swift build`, or see `emo plugins scan --help`.")
            return
        }
        let idWidth = max(2, rows.map(\.component.id.count).max() ?? 0)
        print("ID".padding(toLength: idWidth, withPad: " ", startingAt: 0) + "  KIND        VERSION   LIBRARY")
        for r in rows {
            print(r.component.id.padding(toLength: idWidth, withPad: " ", startingAt: 0) + "  "
                  + r.component.kind.padding(toLength: 10, withPad: " ", startingAt: 0) + "  "
                  + r.component.version.padding(toLength: 8, withPad: " ", startingAt: 0) + "  "
                  + (r.library as NSString).lastPathComponent)
        }
    }
}

/// `emo plugins show ID`.
struct PluginsShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one component's manifest: inputs, outputs, config with defaults, calls.")

    @Argument(help: "Component id, as `emo plugins list` prints it.")
    var id: String

    func run() async throws {
        let host = PluginHost.standard()
        let r = try host.component(id)
        let out: JSONValue = [
            "id": .string(r.component.id), "kind": .string(r.component.kind), "version": .string(r.component.version),
            "display_name": .string(r.component.displayName), "library": .string(r.library), "plugin": .string(r.plugin),
            "plugin_version": .string(r.pluginVersion), "calls": .array(r.component.calls.map { .string($0) }),
            "manifest": r.component.manifest,
        ]
        print(out.serialized(pretty: true))
    }
}

/// `emo plugins scan`.
struct PluginsScan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Re-read registries and probe new or changed libraries (each in a child process).",
        discussion: "With --force every library is probed again, ignoring the cache. Exits with status 1 when a library or registry has a problem (after reporting everything).")

    @Flag(help: "Probe every library, ignoring the cache.")
    var force = false

    @Flag(help: "Print a JSON report.")
    var json = false

    func run() async throws {
        let sources = PluginSources.standard()
        let host = PluginHost(sources: sources, prober: .standard(hostDirectory: sources.hostDirectory),
                              cache: ProbeCache(path: ProbeCache.standardPath()), forceProbe: force)
        if json {
            let libs: [JSONValue] = host.libraries.map { l in
                ["path": .string(l.path), "source": .string(l.source), "cached": .bool(l.fromCache),
                 "components": .array((l.description?.components ?? []).map { .string($0.id) }),
                 "error": l.error.map { .string($0.description) } ?? .null]
            }
            let out: JSONValue = ["libraries": .array(libs), "probed": .number(Double(host.probedCount)),
                                  "registry_errors": .array(host.registryErrors.map { .string($0.description) })]
            print(out.serialized(pretty: true))
            if !host.problems.isEmpty { throw ExitCode(1) }
            return
        }
        for e in host.registryErrors { print("error: \(e.description)") }
        for l in host.libraries {
            if let e = l.error {
                print("FAIL  \(l.path)\n      \(e.description)")
            } else {
                let ids = l.description?.components.map(\.id).joined(separator: ", ") ?? ""
                print("ok    \(l.path) [\(l.fromCache ? "cached" : "probed")]: \(ids)")
            }
        }
        print("\(host.libraries.count) libraries, \(host.probedCount) probed, \(host.components.count) components, \(host.problems.count) problems")
        if !host.problems.isEmpty { throw ExitCode(1) }
    }
}

/// `emo plugins verify`.
struct PluginsVerify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-probe every library, create each component with its defaults in a child process, then load it in this process and create it again.",
        discussion: "Exits with status 1 when anything fails, so it fits in CI and install scripts.")

    func run() async throws {
        let sources = PluginSources.standard()
        let prober = Prober.standard(hostDirectory: sources.hostDirectory)
        let host = PluginHost(sources: sources, prober: prober, cache: ProbeCache(path: ProbeCache.standardPath()), forceProbe: true)
        var failures = host.problems.count
        for e in host.problems { print("FAIL  \(e.description)") }
        // Each component is first created in a child process (emo-probe --self-check): a create() that crashes or
        // hangs fails that library here instead of taking this command down. Only what passed is loaded in-process.
        var childFailed: [String: String] = [:]  // component id → why
        for library in host.libraries where library.error == nil {
            do {
                for r in try prober.selfCheck(library.path) { if let problem = r.problem { childFailed[r.id] = problem } }
            } catch {
                for c in library.description?.components ?? [] { childFailed[c.id] = "in a child process: \(error.description)" }
            }
        }
        for r in host.sortedComponents {
            if let problem = childFailed[r.component.id] {
                failures += 1
                print("FAIL  \(r.component.id): \(problem)")
                continue
            }
            // Components whose manifest marks a config key "required" (a model folder, say) have no default
            // instance: check that their library loads and stop there.
            let required = r.component.requiredConfigKeys
            if !required.isEmpty {
                do {
                    _ = try host.open(r.library)
                    print("ok    \(r.component.id) (\(r.component.kind) \(r.component.version)) loads; not created: needs config \(required.joined(separator: ", "))")
                } catch {
                    failures += 1
                    print("FAIL  \(r.component.id): \(error)")
                }
                continue
            }
            do {
                let c = try host.instantiate(id: r.component.id)
                _ = c.resolvedDescription
                print("ok    \(r.component.id) (\(r.component.kind) \(r.component.version)) from \((r.library as NSString).lastPathComponent)")
            } catch {
                failures += 1
                print("FAIL  \(r.component.id): \(error)")
            }
        }
        print(failures == 0 ? "all plugins verified" : "\(failures) problem(s)")
        if failures > 0 { throw ExitCode(1) }
    }
}
