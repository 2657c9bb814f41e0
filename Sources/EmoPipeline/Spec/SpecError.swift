/// One problem in a pipeline spec, located by its JSON path ("training.learningRate", "featureGroups[1].component").
public struct SpecIssue: Sendable, Equatable, CustomStringConvertible {
    /// JSON path of the bad field ("" for the whole document).
    public var path: String
    /// What is wrong and what to write instead.
    public var message: String

    /// Creates an issue.
    public init(path: String, message: String) { self.path = path; self.message = message }

    /// "path: message".
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Why a pipeline spec could not be used.
public enum SpecError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read.
    case unreadable(file: String, why: String)
    /// The file is not JSON.
    case malformed(file: String, why: String)
    /// The JSON does not describe a valid pipeline: every problem found, each with its JSON path.
    case invalid(file: String, issues: [SpecIssue])

    /// The issues, for `.invalid`; empty otherwise.
    public var issues: [SpecIssue] {
        if case .invalid(_, let issues) = self { return issues }
        return []
    }

    /// The message, naming the file and every problem.
    public var description: String {
        switch self {
        case let .unreadable(file, why): return "cannot read pipeline spec \(file): \(why)"
        case let .malformed(file, why): return "pipeline spec \(file) is not valid JSON: \(why)"
        case let .invalid(file, issues):
            let lines = issues.map { "  - \($0)" }.joined(separator: "\n")
            return "pipeline spec \(file) has \(issues.count) problem\(issues.count == 1 ? "" : "s"):\n\(lines)"
        }
    }
}
