// What optimisers work on: plain pointers, so a host can train parameters it only sees through the C ABI.

/// `count` values and their gradients at fixed addresses (owned elsewhere; must outlive the optimiser).
public struct ParameterView: @unchecked Sendable {
    /// The values the optimiser updates in place.
    public var value: UnsafeMutablePointer<Float>
    /// The gradients the optimiser reads (and clipping scales).
    public var grad: UnsafeMutablePointer<Float>
    /// Number of elements.
    public var count: Int

    /// Wraps a (value, grad, count) triple.
    public init(value: UnsafeMutablePointer<Float>, grad: UnsafeMutablePointer<Float>, count: Int) {
        self.value = value
        self.grad = grad
        self.count = count
    }
}
