/// Why metrics could not be computed.
public enum MetricsError: Error, CustomStringConvertible, Equatable {
    /// Arrays that must be equally long are not.
    case lengthMismatch(what: String, expected: Int, got: Int)
    /// A class index outside `0..<K`.
    case classOutOfRange(index: Int, classes: Int)
    /// No samples.
    case empty(String)

    /// The message, naming what is wrong and what to do.
    public var description: String {
        switch self {
        case let .lengthMismatch(what, e, g): return "metrics: \(what) has \(g) entries, expected \(e)"
        case let .classOutOfRange(i, k): return "metrics: class index \(i) is outside 0..<\(k): check the label list"
        case .empty(let what): return "metrics: \(what) is empty: nothing to evaluate"
        }
    }
}
