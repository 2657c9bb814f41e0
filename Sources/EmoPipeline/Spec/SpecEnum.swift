/// A string enum read from a pipeline spec: a bad value's error lists the values allowed.
public protocol SpecEnum: RawRepresentable, CaseIterable, Codable where RawValue == String {}

extension SpecEnum {
    /// Decodes the raw string, or fails with the allowed values in the message.
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let raw = try c.decode(String.self)
        guard let value = Self(rawValue: raw) else {
            let allowed = Self.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\"\(raw)\" is not one of \(allowed)")
        }
        self = value
    }

    /// Encodes the raw string.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

extension ScalingMethod: SpecEnum {}
extension ScalingStatistics: SpecEnum {}
extension UnseenSpeakerPolicy: SpecEnum {}
extension ValidationGrouping: SpecEnum {}
