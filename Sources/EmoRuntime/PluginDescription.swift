import EmoCore

/// What a plugin library declares: identity, ABI version and components. Cached in the probe cache.
public struct PluginDescription: Codable, Equatable, Sendable {
    /// Stable machine name of the library.
    public var pluginID: String
    /// The library's version.
    public var pluginVersion: String
    /// ABI major the plugin was built against.
    public var abiMajor: Int
    /// ABI minor the plugin was built against.
    public var abiMinor: Int
    /// The components it exports.
    public var components: [ComponentDescription]
}

/// One component as declared by its plugin.
public struct ComponentDescription: Codable, Equatable, Sendable {
    /// "extractor", "encoder", "fusion", "classifier" or "explainer".
    public var kind: String
    /// Stable machine name.
    public var id: String
    /// Version of the component's numerics.
    public var version: String
    /// Name for people.
    public var displayName: String
    /// The JSON manifest (inputs, outputs, config schema, trainable, differentiable).
    public var manifest: JSONValue
    /// Calls the component implements ("forward", "backward", "params", "state", "explain", ...).
    public var calls: [String]

    /// The config keys its manifest marks `required` (a model folder, say), sorted: without them it has no default
    /// instance.
    public var requiredConfigKeys: [String] {
        (manifest["config"]?.objectValue ?? [:]).filter { $0.value["required"]?.boolValue == true }.keys.sorted()
    }

    /// As an EmoCore `ComponentInfo` (nil when the kind is unknown).
    public var info: ComponentInfo? {
        guard let k = ComponentKind(name: kind) else { return nil }
        return ComponentInfo(kind: k, id: id, version: version, displayName: displayName, manifest: manifest)
    }
}
