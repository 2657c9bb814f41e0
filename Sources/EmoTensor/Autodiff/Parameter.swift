// Parameters: trainable values and their gradients in manually allocated memory with stable addresses.

/// A trainable tensor: `value` and `grad` are `count` floats each, allocated once, never moved, freed in deinit.
///
/// The plugin C ABI hands these two pointers to the host's optimiser, so they stay valid (and at the same
/// address) for the parameter's whole lifetime. `isBuffer` marks statistics that are saved but not learned
/// (batch-norm running mean and variance): optimisers skip them.
public final class Parameter: @unchecked Sendable {
    /// Stable machine name ("branch0.linear1.weight").
    public let name: String
    /// Extent of each dimension.
    public let shape: [Int]
    /// Number of elements.
    public let count: Int
    /// The values (owned by this object).
    public let value: UnsafeMutablePointer<Float>
    /// The gradients (owned by this object); backward accumulates, `zeroGrad` clears.
    public let grad: UnsafeMutablePointer<Float>
    /// True for non-learned state (running statistics).
    public let isBuffer: Bool
    /// L2 coefficient a trainer should apply to this parameter (0 = none).
    public var weightDecay: Float

    /// Allocates a parameter holding `values` (row-major; count must match `shape`).
    public convenience init(name: String, shape: [Int], values: [Float], isBuffer: Bool = false,
                            weightDecay: Float = 0) throws {
        let count = shape.reduce(1, *)
        guard values.count == count else {
            throw TensorError.shapeMismatch("Parameter \(name): shape \(shape) needs \(count) values, got \(values.count)")
        }
        self.init(name: name, shape: shape, isBuffer: isBuffer, weightDecay: weightDecay)
        value.update(from: values, count: count)
    }

    /// Allocates a parameter filled with `fill`.
    public init(name: String, shape: [Int], repeating fill: Float = 0, isBuffer: Bool = false, weightDecay: Float = 0) {
        self.name = name
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.isBuffer = isBuffer
        self.weightDecay = weightDecay
        value = .allocate(capacity: max(count, 1))
        value.initialize(repeating: fill, count: count)
        grad = .allocate(capacity: max(count, 1))
        grad.initialize(repeating: 0, count: count)
    }

    deinit {
        value.deallocate()
        grad.deallocate()
    }

    /// The current values as a tensor that views `value` (no copy, not recorded). Keeps the parameter alive.
    public var tensor: Tensor {
        Tensor(shape: shape, storage: TensorStorage(viewing: value, count: count, owner: self))
    }

    /// The gradient as a tensor (a copy).
    public var gradient: Tensor {
        let s = TensorStorage(uninitializedCount: count)
        s.pointer.initialize(from: grad, count: count)
        return Tensor(shape: shape, storage: s)
    }

    /// Sets every gradient to 0.
    public func zeroGrad() { grad.update(repeating: 0, count: count) }

    /// Copies `values` into `value` (count must match).
    public func assign(_ values: [Float]) throws {
        guard values.count == count else {
            throw TensorError.shapeMismatch("Parameter \(name).assign: expected \(count) values, got \(values.count)")
        }
        value.update(from: values, count: count)
    }

    /// The values as an array (a copy).
    public var values: [Float] { Array(UnsafeBufferPointer(start: value, count: count)) }

    /// (value, grad, count) for optimisers.
    public var view: ParameterView { ParameterView(value: value, grad: grad, count: count) }
}
