import EmoCore

/// Reads a component's merged JSON config with errors that name the component and the key: EmoKit's one config
/// reader. The SDK has already refused unknown keys and out-of-range values (`ComponentInfo.configIssues`) and merged
/// the manifest's defaults, so every read is of a present key and states no default of its own (the manifest is
/// where defaults live); `init(_:info:)` merges them too for direct Swift construction.
public struct ConfigReader {
    /// The config object (manifest defaults merged with the user's values).
    public let config: JSONValue
    /// Component id used in error messages.
    public let component: String

    /// Wraps `config` for `component`.
    public init(_ config: JSONValue, component: String) {
        self.config = config
        self.component = component
    }

    /// Wraps `config` with the manifest defaults of `info` filled in (so direct Swift construction behaves like
    /// creation through the plugin ABI, which merges them too).
    public init(_ config: JSONValue, info: ComponentInfo) {
        self.init(info.configDefaults.merging(config), component: info.id)
    }

    private func bad(_ key: String, _ why: String) -> ComponentError {
        .invalidConfig(component: component, message: "'\(key)' \(why)")
    }

    /// An integer ≥ `minimum`.
    public func int(_ key: String, minimum: Int = Int.min) throws -> Int {
        guard let v = config[key]?.intValue else { throw bad(key, "must be an integer") }
        guard v >= minimum else { throw bad(key, "must be ≥ \(minimum), got \(v)") }
        return v
    }

    /// The non-negative integer `seed`, mixed with the component id (FNV-1a), so that components created with
    /// the same seed (a pipeline passes one seed to its fusion and its classifier) draw different streams.
    public func seed(_ key: String = "seed") throws -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in component.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return UInt64(try int(key, minimum: 0)) ^ hash
    }

    /// A list of integers, each ≥ `minimum`; with `acceptsSingle`, one integer is read as a one-element list; with
    /// `nonEmpty`, an empty list is refused.
    public func ints(_ key: String, minimum: Int = 1, acceptsSingle: Bool = false, nonEmpty: Bool = false) throws -> [Int] {
        if acceptsSingle, let n = config[key]?.intValue {
            guard n >= minimum else { throw bad(key, "must hold integers ≥ \(minimum), got \(n)") }
            return [n]
        }
        guard let list = config[key]?.arrayValue else {
            throw bad(key, acceptsSingle ? "must be an integer or a list of integers" : "must be a list of integers")
        }
        if nonEmpty && list.isEmpty { throw bad(key, "must list at least one integer") }
        return try list.map { v in
            guard let i = v.intValue, i >= minimum else { throw bad(key, "must hold integers ≥ \(minimum), got \(v.serialized())") }
            return i
        }
    }

    /// A string.
    public func string(_ key: String) throws -> String {
        guard let v = config[key]?.stringValue else { throw bad(key, "must be a string") }
        return v
    }

    /// A finite number in `range`, as Float.
    public func float(_ key: String, in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude) throws -> Float {
        Float(try double(key, in: range))
    }

    /// A finite number in `range`, as Double.
    public func double(_ key: String, in range: ClosedRange<Double> = -Double.greatestFiniteMagnitude...Double.greatestFiniteMagnitude) throws -> Double {
        guard let v = config[key]?.doubleValue, v.isFinite else { throw bad(key, "must be a finite number") }
        guard range.contains(v) else { throw bad(key, "must be in \(range.lowerBound)...\(range.upperBound), got \(v)") }
        return v
    }

    /// A list of strings, each one of `allowed` (nil when the key is absent or null).
    public func choices(_ key: String, _ allowed: [String]) throws -> [String]? {
        guard has(key) else { return nil }
        guard let list = config[key]?.arrayValue else { throw bad(key, "must be a list of strings or null") }
        return try list.map { v in
            guard let s = v.stringValue, allowed.contains(s) else {
                throw bad(key, "holds \(v.serialized()); known: \(allowed.joined(separator: ", "))")
            }
            return s
        }
    }

    /// A number (used for all `count` slots) or a list of exactly `count` numbers, each in `range`.
    public func floats(_ key: String, count: Int, in range: ClosedRange<Double>) throws -> [Float] {
        if let v = config[key]?.doubleValue {
            guard range.contains(v) else { throw bad(key, "must be in \(range.lowerBound)...\(range.upperBound), got \(v)") }
            return [Float](repeating: Float(v), count: count)
        }
        guard let list = config[key]?.arrayValue else { throw bad(key, "must be a number or a list of \(count) numbers") }
        guard list.count == count else { throw bad(key, "must list \(count) numbers (one per layer), got \(list.count)") }
        return try list.map { v in
            guard let d = v.doubleValue, range.contains(d) else {
                throw bad(key, "must hold numbers in \(range.lowerBound)...\(range.upperBound), got \(v.serialized())")
            }
            return Float(d)
        }
    }

    /// A boolean.
    public func bool(_ key: String) throws -> Bool {
        guard let v = config[key]?.boolValue else { throw bad(key, "must be true or false") }
        return v
    }

    /// One of `allowed`.
    public func choice(_ key: String, _ allowed: [String]) throws -> String {
        guard let v = config[key]?.stringValue, allowed.contains(v) else {
            throw bad(key, "must be one of \(allowed.joined(separator: ", "))")
        }
        return v
    }

    /// One of `E`'s cases, by raw value (the allowed values listed in the error are `E`'s).
    public func choice<E: RawRepresentable & CaseIterable>(_ key: String, as _: E.Type) throws -> E where E.RawValue == String {
        let allowed = E.allCases.map(\.rawValue)
        guard let value = E(rawValue: try choice(key, allowed)) else {
            throw bad(key, "must be one of \(allowed.joined(separator: ", "))")
        }
        return value
    }

    /// True when the key is present and not null.
    public func has(_ key: String) -> Bool {
        if let v = config[key], v != .null { return true }
        return false
    }
}
