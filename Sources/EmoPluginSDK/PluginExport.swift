import EmoCore
import EmoPluginABI
import Foundation

/// Turns Swift component types into the C descriptor of `emo_plugin.h`.
///
/// A plugin library exports one symbol and calls `entry` from it:
/// ```swift
/// @_cdecl("emo_plugin_entry")
/// public func emo_plugin_entry(_ hostMajor: UInt32, _ hostMinor: UInt32) -> UnsafeRawPointer? {
///     PluginExport.entry(hostMajor: hostMajor, hostMinor: hostMinor,
///                        plugin: "my-plugin", version: "1.0.0", components: [MyFusion.self])
/// }
/// ```
/// Everything here is built once per library (each plugin links its own copy of this SDK) and lives for the
/// life of the process: the host never unloads a Swift library.
public enum PluginExport {
    /// Most components one library can export (one C trampoline per slot for `create`).
    public static let maxComponents = ComponentTable.slotCount

    /// Builds (once) and returns the plugin descriptor, or nil when the host's ABI major differs from ours
    /// or the component list is invalid (the reason goes to stderr, which the probe reports).
    public static func entry(hostMajor: UInt32, hostMinor: UInt32, plugin: String, version: String,
                             components: [any PluginComponent.Type]) -> UnsafeRawPointer? {
        guard hostMajor == UInt32(EMO_ABI_VERSION_MAJOR) else {
            FileHandle.standardError.write(Data(
                "\(plugin): built for EmoKit plugin ABI \(EMO_ABI_VERSION_MAJOR).x, host speaks \(hostMajor).\(hostMinor)\n".utf8))
            return nil
        }
        return DescriptorCache.shared.descriptor(plugin: plugin, version: version, components: components)
    }

    /// Checks a component list the way the host will (ids, kinds vs protocols, count); returns problems found.
    public static func validate(_ components: [any PluginComponent.Type]) -> [String] {
        var problems: [String] = []
        if components.count > maxComponents { problems.append("at most \(maxComponents) components per library") }
        var seen = Set<String>()
        for type in components {
            let info = type.componentInfo
            if !ComponentInfo.isValidID(info.id) { problems.append("component id '\(info.id)' is not [a-z0-9-]+") }
            if !seen.insert(info.id).inserted { problems.append("component id '\(info.id)' appears twice") }
            if let expected = expectedKind(type), expected != info.kind {
                problems.append("\(info.id): declares kind \(info.kind) but conforms to the \(expected) protocol")
            }
        }
        return problems
    }

    static func expectedKind(_ type: any PluginComponent.Type) -> ComponentKind? {
        if type is any Extractor.Type { return .extractor }
        if type is any EmbeddingEncoder.Type { return .encoder }
        if type is any Fusion.Type { return .fusion }
        if type is any Classifier.Type { return .classifier }
        if type is any Explainer.Type { return .explainer }
        return nil
    }
}

/// Builds the descriptor once; later calls return the same pointer.
final class DescriptorCache: @unchecked Sendable {
    static let shared = DescriptorCache()
    private let lock = NSLock()
    private var built: UnsafeMutablePointer<emo_plugin_descriptor>?

    func descriptor(plugin: String, version: String, components: [any PluginComponent.Type]) -> UnsafeRawPointer? {
        lock.lock()
        defer { lock.unlock() }
        if let built { return UnsafeRawPointer(built) }
        let problems = PluginExport.validate(components)
        guard problems.isEmpty else {
            FileHandle.standardError.write(Data("\(plugin): \(problems.joined(separator: "; "))\n".utf8))
            return nil
        }
        ComponentTable.types = components
        let list = UnsafeMutablePointer<UnsafePointer<emo_component>?>.allocate(capacity: max(components.count, 1))
        for (slot, type) in components.enumerated() {
            list[slot] = UnsafePointer(makeComponent(type, slot: slot))
        }
        let d = UnsafeMutablePointer<emo_plugin_descriptor>.allocate(capacity: 1)
        d.initialize(to: emo_plugin_descriptor())
        d.pointee.struct_size = UInt32(MemoryLayout<emo_plugin_descriptor>.size)
        d.pointee.abi_major = UInt16(EMO_ABI_VERSION_MAJOR)
        d.pointee.abi_minor = UInt16(EMO_ABI_VERSION_MINOR)
        d.pointee.plugin_id = UnsafePointer(strdup(plugin))
        d.pointee.plugin_version = UnsafePointer(strdup(version))
        d.pointee.component_count = components.count
        d.pointee.components = UnsafePointer(list)
        d.pointee.free_string = { s in free(s) }
        d.pointee.free_bytes = { b in free(b) }
        built = d
        return UnsafeRawPointer(d)
    }

    private func makeComponent(_ type: any PluginComponent.Type, slot: Int) -> UnsafeMutablePointer<emo_component> {
        let info = type.componentInfo
        var manifest = info.manifest.objectValue ?? [:]
        manifest["trainable"] = .bool(type is any TrainableComponent.Type)
        manifest["differentiable"] = .bool(type is any DifferentiableComponent.Type)
        let c = UnsafeMutablePointer<emo_component>.allocate(capacity: 1)
        c.initialize(to: emo_component())
        c.pointee.struct_size = UInt32(MemoryLayout<emo_component>.size)
        c.pointee.abi_major = UInt16(EMO_ABI_VERSION_MAJOR)
        c.pointee.abi_minor = UInt16(EMO_ABI_VERSION_MINOR)
        c.pointee.kind = info.kind.rawValue
        c.pointee.id = UnsafePointer(strdup(info.id))
        c.pointee.version = UnsafePointer(strdup(info.version))
        c.pointee.display_name = UnsafePointer(strdup(info.displayName))
        c.pointee.manifest_json = UnsafePointer(strdup(JSONValue.object(manifest).serialized()))
        c.pointee.create = ComponentTable.createTrampolines[slot]
        c.pointee.destroy = Calls.destroy
        c.pointee.describe = Calls.describe
        if type is any ExplainerComponent.Type {
            c.pointee.explain = Calls.explain
        } else {
            c.pointee.forward = Calls.forward
        }
        if type is any DifferentiableComponent.Type { c.pointee.backward = Calls.backward }
        if type is any TrainableComponent.Type {
            c.pointee.set_training = Calls.setTraining
            c.pointee.param_count = Calls.paramCount
            c.pointee.param_at = Calls.paramAt
            c.pointee.save_state = Calls.saveState
            c.pointee.load_state = Calls.loadState
            c.pointee.state_size = Calls.stateSize
            c.pointee.save_state_into = Calls.saveStateInto
        }
        return c
    }
}
