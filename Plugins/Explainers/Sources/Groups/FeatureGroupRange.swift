import EmoCore

/// A named, contiguous range of the last input dimension that belongs to one modality or feature group
/// ("audio" 0..<768, "handcrafted" 768..<828, "text" 828..<1596).
public struct FeatureGroupRange: Sendable, Equatable {
    /// Name for people and reports.
    public var name: String
    /// Positions along the last dimension.
    public var range: Range<Int>

    /// Creates a group.
    public init(name: String, range: Range<Int>) {
        self.name = name
        self.range = range
    }

    /// Reads `[{"name": "audio", "start": 0, "end": 768}, ...]`.
    public static func parse(_ json: JSONValue?, component: String) throws -> [FeatureGroupRange] {
        guard let items = json?.arrayValue else {
            throw ComponentError.invalidConfig(component: component,
                                               message: "'groups' must be an array of {\"name\", \"start\", \"end\"} objects")
        }
        return try items.enumerated().map { i, item in
            guard let name = item["name"]?.stringValue, let a = item["start"]?.intValue, let b = item["end"]?.intValue,
                  a >= 0, b > a else {
                throw ComponentError.invalidConfig(component: component,
                                                   message: "group \(i) is \(item.serialized()); expected {\"name\": String, \"start\": Int ≥ 0, \"end\": Int > start}")
            }
            return FeatureGroupRange(name: name, range: a..<b)
        }
    }

    /// Checks that `groups` are non-empty, disjoint and inside a last dimension of extent `width`.
    public static func validate(_ groups: [FeatureGroupRange], width: Int, component: String) throws {
        guard !groups.isEmpty else {
            throw ComponentError.invalidConfig(component: component, message: "no feature groups given")
        }
        for g in groups where g.range.isEmpty || g.range.lowerBound < 0 || g.range.upperBound > width {
            throw ComponentError.invalidInput(component: component,
                                              message: "group '\(g.name)' covers \(g.range) but the last input dimension has \(width) positions")
        }
        let sorted = groups.sorted { $0.range.lowerBound < $1.range.lowerBound }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.range.overlaps(b.range) {
            throw ComponentError.invalidConfig(component: component,
                                               message: "groups '\(a.name)' \(a.range) and '\(b.name)' \(b.range) overlap; each position belongs to at most one group")
        }
    }
}
