import EmoCore

/// A component's config as one typed struct: each key is declared once — name, type, default, allowed range or
/// values, description — and the manifest's `config` schema, the defaults, the reading of a user's JSON (unknown keys
/// and bad values refused with the key's name and what is allowed) and the config a component reports all come from
/// that one declaration.
///
/// The defaults are the struct's own initial values; `fields` ties each stored property to its JSON key:
///
///     struct Config: ComponentConfig {
///         enum Method: String, CaseIterable { case riemann, gausslegendre }
///         var nSteps = 50
///         var method = Method.gausslegendre
///         static var fields: [ConfigField<Config>] {
///             [.int("n_steps", \.nSteps, in: 1...100_000, "points on the path"),
///              .choice("method", \.method, "path-integral rule")]
///         }
///     }
///
/// and the component's manifest says `"config": Config.schema`, its initialiser `let c = try Config.read(config,
/// component: id)`. (Not Swift's `Decodable`: a decoder cannot list a type's keys, defaults and ranges for a schema
/// without building one, and the schema is what the host, `emo plugins show` and the pipeline checker read.)
public protocol ComponentConfig {
    /// Every field at its default.
    init()
    /// The keys, each tied to one stored property, in the order the manifest shows them.
    static var fields: [ConfigField<Self>] { get }
    /// What is wrong across fields once each is read (say `n_mfcc > n_mels`), naming the keys; nil when nothing is.
    func problem() -> String?
}

extension ComponentConfig {
    /// No cross-field rule.
    public func problem() -> String? { nil }

    /// The manifest's `config` object: per key its type, default, range or allowed values, and description.
    public static var schema: JSONValue {
        let defaults = Self()
        var out: [String: JSONValue] = [:]
        for field in fields {
            var entry = field.entry
            entry["default"] = field.value(defaults)
            out[field.key] = .object(entry)
        }
        return .object(out)
    }

    /// The defaults as a JSON object (what the manifest's `default`s say).
    public static var defaults: JSONValue { Self().json }

    /// Reads `config` (a JSON object; absent or null keys keep their defaults) for the component `component`: an
    /// unknown key, a value of the wrong type or out of range, or a cross-field problem is an `invalidConfig` error
    /// naming the key.
    public static func read(_ config: JSONValue, component: String) throws(ComponentError) -> Self {
        func bad(_ message: String) -> ComponentError { .invalidConfig(component: component, message: message) }
        guard let given = config.objectValue else {
            if config == .null { return Self() }
            throw bad("the config must be a JSON object, got \(config.serialized())")
        }
        let known = fields.map(\.key)
        if let unknown = given.keys.sorted().first(where: { !known.contains($0) }) {
            throw bad("unknown key '\(unknown)' (\(component) takes: \(known.sorted().joined(separator: ", ")))")
        }
        var value = Self()
        for field in fields {
            guard let json = given[field.key] else {
                if field.entry["required"] == .bool(true), let doc = field.entry["description"]?.stringValue {
                    throw bad("'\(field.key)' is required: \(doc)")
                }
                continue
            }
            if let why = field.read(json, &value) { throw bad("'\(field.key)' \(why)") }
        }
        if let why = value.problem() { throw bad(why) }
        return value
    }

    /// This config as a JSON object, every key.
    public var json: JSONValue {
        var out: [String: JSONValue] = [:]
        for field in Self.fields { out[field.key] = field.value(self) }
        return .object(out)
    }
}

/// One number for every item or one number per item (a dropout for every hidden layer, or one each).
public enum OneOrEach: Equatable, Sendable {
    /// The same value for all.
    case one(Double)
    /// One value per item.
    case each([Double])

    /// The values for `count` items, or nil when a list holds another number of values.
    public func values(count: Int) -> [Double]? {
        switch self {
        case .one(let v): return [Double](repeating: v, count: count)
        case .each(let list): return list.count == count ? list : nil
        }
    }

    var json: JSONValue {
        switch self {
        case .one(let v): return .number(v)
        case .each(let list): return .array(list.map { .number($0) })
        }
    }
}

/// One key of a `ComponentConfig`: its JSON name, its schema entry, and how it reads into and writes from the
/// stored property it is tied to. Made by the static constructors (`int`, `number`, `bool`, `string`, `choice`,
/// `ints`, `oneOrEach`, `numbers`, `choices`, `json`).
public struct ConfigField<Config> {
    /// The JSON key.
    public let key: String
    /// The schema entry without its default (type, minimum/maximum, enum, description, required).
    public let entry: [String: JSONValue]
    /// Reads a present JSON value into the config; returns why it is refused ("must be …"), or nil.
    let read: (JSONValue, inout Config) -> String?
    /// The property's value as JSON.
    let value: (Config) -> JSONValue

    init(_ key: String, _ entry: [String: JSONValue], read: @escaping (JSONValue, inout Config) -> String?,
         value: @escaping (Config) -> JSONValue) {
        self.key = key
        self.entry = entry
        self.read = read
        self.value = value
    }

    private static func describe(_ type: String, _ doc: String, _ extra: [String: JSONValue] = [:]) -> [String: JSONValue] {
        extra.merging(["type": .string(type), "description": .string(doc)]) { a, _ in a }
    }

    private static func text(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }

    private static func bounds(_ range: ClosedRange<Double>?) -> [String: JSONValue] {
        guard let range else { return [:] }
        var out: [String: JSONValue] = [:]
        if range.lowerBound > -Double.greatestFiniteMagnitude { out["minimum"] = .number(range.lowerBound) }
        if range.upperBound < Double.greatestFiniteMagnitude { out["maximum"] = .number(range.upperBound) }
        return out
    }

    private static func outside(_ v: Double, _ range: ClosedRange<Double>?) -> String? {
        guard let range, !range.contains(v) else { return nil }
        let parts = bounds(range).sorted { $0.key > $1.key }.map { ($0.key == "minimum" ? "≥ " : "≤ ") + text($0.value.doubleValue ?? 0) }
        return "must be \(parts.joined(separator: " and ")), got \(text(v))"
    }

    /// `range` as Doubles, `Int.min`/`Int.max` meaning unbounded on that side.
    private static func doubles(_ range: ClosedRange<Int>?) -> ClosedRange<Double>? {
        range.map { ($0.lowerBound == Int.min ? -Double.greatestFiniteMagnitude : Double($0.lowerBound))...($0.upperBound == Int.max ? Double.greatestFiniteMagnitude : Double($0.upperBound)) }
    }

    /// An integer, optionally in `range` (`0...Int.max` means ≥ 0).
    public static func int(_ key: String, _ path: WritableKeyPath<Config, Int>, in range: ClosedRange<Int>? = nil,
                           _ doc: String) -> Self {
        let r = doubles(range)
        return Self(key, describe("integer", doc, bounds(r)), read: { json, c in
            guard let v = json.intValue else { return "must be an integer, got \(json.serialized())" }
            if let why = outside(Double(v), r) { return why }
            c[keyPath: path] = v
            return nil
        }, value: { .number(Double($0[keyPath: path])) })
    }

    /// A finite number, optionally in `range` (kept as Double, so the reported config is the user's number).
    public static func number(_ key: String, _ path: WritableKeyPath<Config, Double>, in range: ClosedRange<Double>? = nil,
                              _ doc: String) -> Self {
        Self(key, describe("number", doc, bounds(range)), read: { json, c in
            guard let v = json.doubleValue, v.isFinite else { return "must be a finite number, got \(json.serialized())" }
            if let why = outside(v, range) { return why }
            c[keyPath: path] = v
            return nil
        }, value: { .number($0[keyPath: path]) })
    }

    /// True or false.
    public static func bool(_ key: String, _ path: WritableKeyPath<Config, Bool>, _ doc: String) -> Self {
        Self(key, describe("boolean", doc), read: { json, c in
            guard let v = json.boolValue else { return "must be true or false, got \(json.serialized())" }
            c[keyPath: path] = v
            return nil
        }, value: { .bool($0[keyPath: path]) })
    }

    /// A string; `required` marks it in the schema and refuses an empty one.
    public static func string(_ key: String, _ path: WritableKeyPath<Config, String>, required: Bool = false,
                              _ doc: String) -> Self {
        Self(key, describe("string", doc, required ? ["required": true] : [:]), read: { json, c in
            guard let v = json.stringValue else { return "must be a string, got \(json.serialized())" }
            if required && v.isEmpty { return "is required: \(doc)" }
            c[keyPath: path] = v
            return nil
        }, value: { .string($0[keyPath: path]) })
    }

    /// One of `E`'s cases by raw value; the schema lists them as `enum`.
    public static func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ path: WritableKeyPath<Config, E>,
                                                                  _ doc: String) -> Self where E.RawValue == String {
        let allowed = E.allCases.map(\.rawValue)
        return Self(key, describe("string", doc, ["enum": .array(allowed.map { .string($0) })]), read: { json, c in
            guard let s = json.stringValue, let v = E(rawValue: s) else {
                return "must be one of \(allowed.joined(separator: ", ")), got \(json.serialized())"
            }
            c[keyPath: path] = v
            return nil
        }, value: { .string($0[keyPath: path].rawValue) })
    }

    /// A list of integers, each in `range`; with `acceptsSingle` one integer is read as a one-element list; with
    /// `nonEmpty` an empty list is refused.
    public static func ints(_ key: String, _ path: WritableKeyPath<Config, [Int]>, in range: ClosedRange<Int>? = nil,
                            acceptsSingle: Bool = false, nonEmpty: Bool = false, _ doc: String) -> Self {
        let r = doubles(range)
        return Self(key, describe(acceptsSingle ? "integer|array" : "array", doc, bounds(r)), read: { json, c in
            let list: [JSONValue]
            if acceptsSingle, json.intValue != nil { list = [json] } else if let l = json.arrayValue { list = l } else {
                return acceptsSingle ? "must be an integer or a list of integers" : "must be a list of integers, got \(json.serialized())"
            }
            if nonEmpty && list.isEmpty { return "must list at least one integer" }
            var out: [Int] = []
            for item in list {
                guard let v = item.intValue else { return "must hold integers, got \(item.serialized())" }
                if let why = outside(Double(v), r) { return "must hold integers \(why.dropFirst("must be ".count))" }
                out.append(v)
            }
            c[keyPath: path] = out
            return nil
        }, value: { .array($0[keyPath: path].map { .number(Double($0)) }) })
    }

    /// One number for all items or a list of numbers, each in `range` (the count is checked where it is known).
    public static func oneOrEach(_ key: String, _ path: WritableKeyPath<Config, OneOrEach>,
                                 in range: ClosedRange<Double>? = nil, _ doc: String) -> Self {
        Self(key, describe("number|array", doc, bounds(range)), read: { json, c in
            if let v = json.doubleValue {
                if let why = outside(v, range) { return why }
                c[keyPath: path] = .one(v)
                return nil
            }
            guard let list = json.arrayValue else { return "must be a number or a list of numbers, got \(json.serialized())" }
            var out: [Double] = []
            for item in list {
                guard let v = item.doubleValue, v.isFinite else { return "must hold finite numbers, got \(item.serialized())" }
                if let why = outside(v, range) { return "must hold numbers \(why.dropFirst("must be ".count))" }
                out.append(v)
            }
            c[keyPath: path] = .each(out)
            return nil
        }, value: { $0[keyPath: path].json })
    }

    /// A list of finite numbers, or null (nil).
    public static func numbers(_ key: String, _ path: WritableKeyPath<Config, [Double]?>, _ doc: String) -> Self {
        Self(key, describe("array|null", doc), read: { json, c in
            if json == .null { c[keyPath: path] = nil; return nil }
            guard let list = json.arrayValue else { return "must be a list of numbers or null, got \(json.serialized())" }
            var out: [Double] = []
            for item in list {
                guard let v = item.doubleValue, v.isFinite else { return "must hold finite numbers, got \(item.serialized())" }
                out.append(v)
            }
            c[keyPath: path] = out
            return nil
        }, value: { c in c[keyPath: path].map { .array($0.map { .number($0) }) } ?? .null })
    }

    /// A list of `E`'s cases by raw value, or null (nil).
    public static func choices<E: RawRepresentable & CaseIterable>(_ key: String, _ path: WritableKeyPath<Config, [E]?>,
                                                                   _ doc: String) -> Self where E.RawValue == String {
        let allowed = E.allCases.map(\.rawValue)
        return Self(key, describe("array|null", doc, ["items": .object(["enum": .array(allowed.map { .string($0) })])]), read: { json, c in
            if json == .null { c[keyPath: path] = nil; return nil }
            guard let list = json.arrayValue else { return "must be a list of strings or null, got \(json.serialized())" }
            var out: [E] = []
            for item in list {
                guard let s = item.stringValue, let v = E(rawValue: s) else {
                    return "holds \(item.serialized()); known: \(allowed.joined(separator: ", "))"
                }
                out.append(v)
            }
            c[keyPath: path] = out
            return nil
        }, value: { c in c[keyPath: path].map { .array($0.map { .string($0.rawValue) }) } ?? .null })
    }

    /// Any JSON of the schema type `type` (a structure the component parses itself, like a list of objects).
    public static func json(_ key: String, _ path: WritableKeyPath<Config, JSONValue>, type: String, _ doc: String) -> Self {
        Self(key, describe(type, doc), read: { json, c in
            c[keyPath: path] = json
            return nil
        }, value: { $0[keyPath: path] })
    }
}

/// Per-component random seeds.
public enum ComponentSeed {
    /// The non-negative `seed` mixed with the component id (FNV-1a), so that components created with the same seed
    /// (a pipeline passes one seed to its fusion and its classifier) draw different streams.
    public static func mix(_ seed: Int, component: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in component.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return UInt64(max(0, seed)) ^ hash
    }
}
