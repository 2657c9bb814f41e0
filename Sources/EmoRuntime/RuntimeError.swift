/// Why a plugin could not be found, probed, loaded or used. Every message names the file and the fix.
public enum RuntimeError: Error, CustomStringConvertible, Equatable {
    /// A registry file is not valid JSON or not of the expected form.
    case malformedRegistry(path: String, reason: String)
    /// A registry entry points at a library that is not there.
    case missingLibrary(path: String, registry: String)
    /// dlopen failed.
    case loadFailed(path: String, reason: String)
    /// The library does not export `emo_plugin_entry`.
    case missingEntrySymbol(path: String)
    /// The entry returned NULL (the plugin refused this host's ABI) or a malformed descriptor.
    case badDescriptor(path: String, reason: String)
    /// The plugin's ABI major differs from the host's.
    case abiMajorMismatch(path: String, plugin: String, host: String)
    /// The plugin was built against a newer ABI minor than the host speaks.
    case abiMinorTooNew(path: String, plugin: String, host: String)
    /// The library's SHA-256 differs from the one pinned in the registry.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// The probe child process crashed.
    case probeCrashed(path: String, detail: String)
    /// The probe child process did not answer in time.
    case probeTimedOut(path: String, seconds: Double)
    /// The probe helper executable could not be found or started.
    case probeUnavailable(reason: String)
    /// Two libraries export the same component id.
    case duplicateComponent(id: String, first: String, second: String)
    /// No registered plugin has this component id.
    case unknownComponent(id: String, known: [String])
    /// A component call failed inside the plugin.
    case componentFailed(id: String, call: String, message: String)

    public var description: String {
        switch self {
        case .malformedRegistry(let path, let reason):
            return "\(path): malformed plugin registry: \(reason). Fix the file (see docs/plugin-abi.md, \"registry.json\") or remove it from EMO_PLUGIN_PATH."
        case .missingLibrary(let path, let registry):
            return "\(path): plugin library not found (listed in \(registry)). Build it (`swift build`), fix the path, or remove the entry."
        case .loadFailed(let path, let reason):
            return "\(path): dlopen failed: \(reason). Check the file is a plugin library built for this platform and that its dependencies are installed."
        case .missingEntrySymbol(let path):
            return "\(path): does not export emo_plugin_entry, so it is not an EmoKit plugin. Export it with @_cdecl(\"emo_plugin_entry\") (see Plugins/_Template/Export/Export.swift)."
        case .badDescriptor(let path, let reason):
            return "\(path): invalid plugin descriptor: \(reason). Rebuild the plugin against this EmoKit's EmoPluginSDK."
        case .abiMajorMismatch(let path, let plugin, let host):
            return "\(path): plugin ABI \(plugin) is incompatible with this host's ABI \(host) (major versions differ). Rebuild the plugin against EmoKit's current EmoPluginSDK."
        case .abiMinorTooNew(let path, let plugin, let host):
            return "\(path): plugin was built for ABI \(plugin), newer than this host's \(host). Upgrade EmoKit, or rebuild the plugin against this host's EmoPluginSDK."
        case .checksumMismatch(let path, let expected, let actual):
            return "\(path): SHA-256 \(actual) does not match the pinned \(expected). The library changed since it was pinned: refusing to load it. Only if you trust the new build, re-pin it: set this entry's \"sha256\" in its registry.json to \(actual) (`sha256sum \(path)` prints it)."
        case .probeCrashed(let path, let detail):
            return "\(path): plugin crashed while being probed (\(detail)); skipped. Run `emo-probe \(path)` to reproduce."
        case .probeTimedOut(let path, let seconds):
            return "\(path): plugin did not answer the probe within \(seconds) s; skipped. Check its entry point for blocking work, or raise EMO_PROBE_TIMEOUT."
        case .probeUnavailable(let reason):
            return "cannot probe plugins: \(reason). Build the emo-probe executable (`swift build`) or set EMO_PROBE to its path."
        case .duplicateComponent(let id, let first, let second):
            return "component id '\(id)' is exported by both \(first) and \(second); ids must be unique. Remove one library from the registry or rename the component."
        case .unknownComponent(let id, let known):
            return "no registered plugin provides component '\(id)'. Known: \(known.joined(separator: ", ")). Run `emo plugins list` or `emo plugins scan`."
        case .componentFailed(let id, let call, let message):
            // The component's own error usually starts with its id: say it once.
            let own = message.hasPrefix("\(id): ") ? String(message.dropFirst(id.count + 2)) : message
            return "\(id).\(call): \(own)"
        }
    }
}
