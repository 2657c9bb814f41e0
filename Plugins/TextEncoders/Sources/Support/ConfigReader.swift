import EmoCore

/// Typed reads of a component's JSON config: an absent (or null) key takes its default, a key of the wrong type
/// is an `invalidConfig` error naming the key, never a silent default.
struct ConfigReader {
    /// The merged config.
    let config: JSONValue
    /// The component id (for errors).
    let component: String

    /// The value of `key`, or nil when absent or null.
    private func value(_ key: String) -> JSONValue? {
        guard let v = config[key], v != .null else { return nil }
        return v
    }

    /// An integer key.
    func int(_ key: String, default def: Int) throws -> Int {
        guard let v = value(key) else { return def }
        guard let i = v.intValue else { throw bad(key, "an integer", v) }
        return i
    }

    /// A string key.
    func string(_ key: String, default def: String) throws -> String {
        guard let v = value(key) else { return def }
        guard let s = v.stringValue else { throw bad(key, "a string", v) }
        return s
    }

    /// A boolean key.
    func bool(_ key: String, default def: Bool) throws -> Bool {
        guard let v = value(key) else { return def }
        guard let b = v.boolValue else { throw bad(key, "true or false", v) }
        return b
    }

    private func bad(_ key: String, _ expected: String, _ found: JSONValue) -> ComponentError {
        .invalidConfig(component: component, message: "\"\(key)\" must be \(expected), found \(found.serialized())")
    }
}
