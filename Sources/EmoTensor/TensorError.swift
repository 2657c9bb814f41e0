// Errors thrown by EmoTensor for bad user input (shapes, arguments). Kernels themselves only assert.

/// A tensor operation was given inputs it cannot work with.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// Shapes that do not fit together; the message names the op and both shapes.
    case shapeMismatch(String)
    /// An argument outside its domain (negative size, groups that do not divide channels, ...).
    case invalidArgument(String)

    /// Human-readable message: what is wrong and what to do.
    public var description: String {
        switch self {
        case .shapeMismatch(let why): return "EmoTensor shape mismatch: \(why)"
        case .invalidArgument(let why): return "EmoTensor invalid argument: \(why)"
        }
    }
}
