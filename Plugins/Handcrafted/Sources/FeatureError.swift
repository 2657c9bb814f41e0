/// Why the handcrafted extractor could not be configured or could not run.
public enum FeatureError: Error, CustomStringConvertible, Equatable {
    /// A config value is out of range or of the wrong type: the message names the key and the allowed values.
    case invalidConfig(String)
    /// The input audio cannot be analysed (empty, wrong shape, non-finite samples).
    case invalidInput(String)

    /// The message, prefixed with the component id.
    public var description: String {
        switch self {
        case .invalidConfig(let m): return "handcrafted: invalid config: \(m)"
        case .invalidInput(let m): return "handcrafted: invalid input: \(m)"
        }
    }
}
