import EmoCore
import EmoPluginABI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plugin library opened in this process. Never closed: unmapping a Swift library crashes the runtime.
public final class LoadedLibrary: @unchecked Sendable {
    /// Absolute path of the library.
    public let path: String
    /// The plugin's static descriptor (owned by the library, valid for the life of the process).
    let descriptor: UnsafePointer<emo_plugin_descriptor>
    /// What it declares.
    public let description: PluginDescription

    init(path: String, descriptor: UnsafePointer<emo_plugin_descriptor>, description: PluginDescription) {
        self.path = path
        self.descriptor = descriptor
        self.description = description
    }

    /// Creates each component that needs no config (none of its manifest keys is `required`) with its defaults,
    /// reads its description and destroys it: per component id, nil when that worked, else the error. Components
    /// with required keys (a model folder) are listed with nil and `skipped`. Run it in a child process
    /// (`emo-probe --self-check`): a `create` that crashes or hangs must not take the host down.
    public func selfCheck() -> [SelfCheckResult] {
        description.components.map { c in
            let required = c.requiredConfigKeys
            guard required.isEmpty else { return SelfCheckResult(id: c.id, problem: nil, needsConfig: required) }
            guard let pointer = component(c.id), let info = c.info else {
                return SelfCheckResult(id: c.id, problem: "declared but not found in the descriptor (or of an unknown kind)", needsConfig: [])
            }
            do {
                let instance = try LoadedComponent(library: self, component: pointer, info: info, config: info.configDefaults)
                _ = instance.resolvedDescription
                return SelfCheckResult(id: c.id, problem: nil, needsConfig: [])
            } catch {
                return SelfCheckResult(id: c.id, problem: "\(error)", needsConfig: [])
            }
        }
    }

    /// The C component with this id.
    func component(_ id: String) -> UnsafePointer<emo_component>? {
        let d = descriptor.pointee
        guard let list = d.components else { return nil }
        for i in 0..<d.component_count {
            if let c = list[i], let cid = c.pointee.id, String(cString: cid) == id { return c }
        }
        return nil
    }
}

/// One component's outcome in `LoadedLibrary.selfCheck`.
public struct SelfCheckResult: Sendable, Equatable, Codable {
    /// Component id.
    public var id: String
    /// Why creating it with its defaults failed; nil when it worked or was not tried.
    public var problem: String?
    /// The `required` config keys that kept it from being created (empty when it was).
    public var needsConfig: [String]

    /// Creates a result.
    public init(id: String, problem: String?, needsConfig: [String]) {
        self.id = id
        self.problem = problem
        self.needsConfig = needsConfig
    }
}

/// Opens plugin libraries and validates their descriptors against this host's ABI.
public enum PluginLoader {
    /// This host's ABI version.
    public static let hostABI = (major: Int(EMO_ABI_VERSION_MAJOR), minor: Int(EMO_ABI_VERSION_MINOR))

    /// Smallest descriptor/component size the host accepts (the fields of ABI 1.0).
    static let minimumDescriptorSize = MemoryLayout<emo_plugin_descriptor>.size
    static let minimumComponentSize = MemoryLayout<emo_component>.size

    /// Opens `path` (absolute), calls its entry point and validates the descriptor.
    public static func open(_ path: String) throws(RuntimeError) -> LoadedLibrary {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .missingLibrary(path: path, registry: "(direct load)")
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE) else {
            throw .loadFailed(path: path, reason: dlerror().map { String(cString: $0) } ?? "unknown error")
        }
        guard let symbol = dlsym(handle, EMO_PLUGIN_ENTRY_SYMBOL) else { throw .missingEntrySymbol(path: path) }
        let entry = unsafeBitCast(symbol, to: emo_plugin_entry_fn.self)
        guard let raw = entry(UInt32(EMO_ABI_VERSION_MAJOR), UInt32(EMO_ABI_VERSION_MINOR)) else {
            throw .badDescriptor(path: path, reason: "emo_plugin_entry returned NULL for host ABI \(hostABI.major).\(hostABI.minor) (the plugin refused this host; its stderr says why)")
        }
        let description = try describe(raw, path: path)
        return LoadedLibrary(path: path, descriptor: raw, description: description)
    }

    /// Validates a descriptor and reads it into a `PluginDescription`.
    static func describe(_ d: UnsafePointer<emo_plugin_descriptor>, path: String) throws(RuntimeError) -> PluginDescription {
        let desc = d.pointee
        let plugin = "\(desc.abi_major).\(desc.abi_minor)"
        let host = "\(hostABI.major).\(hostABI.minor)"
        guard Int(desc.abi_major) == hostABI.major else { throw .abiMajorMismatch(path: path, plugin: plugin, host: host) }
        guard Int(desc.abi_minor) <= hostABI.minor else { throw .abiMinorTooNew(path: path, plugin: plugin, host: host) }
        guard Int(desc.struct_size) >= minimumDescriptorSize else {
            throw .badDescriptor(path: path, reason: "descriptor struct_size \(desc.struct_size) < \(minimumDescriptorSize)")
        }
        guard let pid = desc.plugin_id.map({ String(cString: $0) }), ComponentInfo.isValidID(pid) else {
            throw .badDescriptor(path: path, reason: "plugin_id missing or not [a-z0-9-]+")
        }
        var components: [ComponentDescription] = []
        for i in 0..<desc.component_count {
            guard let c = desc.components?[i]?.pointee else {
                throw .badDescriptor(path: path, reason: "component \(i) is NULL")
            }
            components.append(try describe(component: c, path: path))
        }
        return PluginDescription(pluginID: pid, pluginVersion: desc.plugin_version.map { String(cString: $0) } ?? "",
                                 abiMajor: Int(desc.abi_major), abiMinor: Int(desc.abi_minor), components: components)
    }

    static func describe(component c: emo_component, path: String) throws(RuntimeError) -> ComponentDescription {
        guard Int(c.struct_size) >= minimumComponentSize else {
            throw .badDescriptor(path: path, reason: "component struct_size \(c.struct_size) < \(minimumComponentSize)")
        }
        guard Int(c.abi_major) == hostABI.major else {
            throw .abiMajorMismatch(path: path, plugin: "\(c.abi_major).\(c.abi_minor)", host: "\(hostABI.major).\(hostABI.minor)")
        }
        guard let id = c.id.map({ String(cString: $0) }), ComponentInfo.isValidID(id) else {
            throw .badDescriptor(path: path, reason: "a component id is missing or not [a-z0-9-]+")
        }
        guard let kind = ComponentKind(rawValue: c.kind) else {
            throw .badDescriptor(path: path, reason: "component \(id) has unknown kind \(c.kind)")
        }
        guard c.create != nil, c.destroy != nil else {
            throw .badDescriptor(path: path, reason: "component \(id) lacks create/destroy")
        }
        let manifestText = c.manifest_json.map { String(cString: $0) } ?? "{}"
        let manifest: JSONValue
        do { manifest = try JSONValue.parse(manifestText) } catch {
            throw .badDescriptor(path: path, reason: "component \(id) manifest: \(error)")
        }
        var calls: [String] = []
        if c.forward != nil { calls.append("forward") }
        if c.backward != nil { calls.append("backward") }
        if c.param_count != nil && c.param_at != nil { calls.append("params") }
        if c.save_state != nil && c.load_state != nil { calls.append("state") }
        if c.set_training != nil { calls.append("training") }
        if c.explain != nil { calls.append("explain") }
        return ComponentDescription(kind: kind.name, id: id, version: c.version.map { String(cString: $0) } ?? "",
                                    displayName: c.display_name.map { String(cString: $0) } ?? id,
                                    manifest: manifest, calls: calls)
    }
}
