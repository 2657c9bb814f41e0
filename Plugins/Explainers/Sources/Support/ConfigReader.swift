import EmoCore

/// Reads typed values out of a component's merged JSON config, with errors that name the component and key.
struct ConfigReader {
    /// The component id used in error messages.
    let component: String
    /// The merged config object (manifest defaults + user values).
    let config: JSONValue

    /// A string member.
    func string(_ key: String) throws -> String {
        guard let s = config[key]?.stringValue else {
            throw ComponentError.invalidConfig(component: component, message: "'\(key)' must be a string")
        }
        return s
    }

    /// An integer member no smaller than `minimum`.
    func int(_ key: String, minimum: Int) throws -> Int {
        guard let n = config[key]?.intValue, n >= minimum else {
            throw ComponentError.invalidConfig(component: component,
                                               message: "'\(key)' must be an integer ≥ \(minimum)")
        }
        return n
    }

    /// A finite number member.
    func float(_ key: String) throws -> Float {
        guard let d = config[key]?.doubleValue, d.isFinite else {
            throw ComponentError.invalidConfig(component: component, message: "'\(key)' must be a finite number")
        }
        return Float(d)
    }

    /// A boolean member.
    func bool(_ key: String) throws -> Bool {
        guard let b = config[key]?.boolValue else {
            throw ComponentError.invalidConfig(component: component, message: "'\(key)' must be true or false")
        }
        return b
    }

    /// A non-empty array of integers ≥ `minimum`; a single integer is read as a one-element array.
    func ints(_ key: String, minimum: Int) throws -> [Int] {
        let value = config[key]
        if let n = value?.intValue, n >= minimum { return [n] }
        guard let items = value?.arrayValue, !items.isEmpty else {
            throw ComponentError.invalidConfig(component: component,
                                               message: "'\(key)' must be an integer or a non-empty array of integers ≥ \(minimum)")
        }
        return try items.map { item in
            guard let n = item.intValue, n >= minimum else {
                throw ComponentError.invalidConfig(component: component,
                                                   message: "'\(key)' holds \(item.serialized()), expected integers ≥ \(minimum)")
            }
            return n
        }
    }
}
