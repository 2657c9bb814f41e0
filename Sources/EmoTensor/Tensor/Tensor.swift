// Tensor: a shape over contiguous Float32 storage, optionally recorded on a Tape for reverse-mode autodiff.
//
// Usage:
//   let tape = Tape()                        // recording happens only through a tape
//   let w = tape.watch(weightParameter)      // leaf: its gradient accumulates into weightParameter.grad
//   let x = Tensor(shape: [4, 3], values)    // not watched: a constant
//   let loss = try x.linear(w, bias: nil).relu().sum()
//   let grads = try tape.backward(loss)      // grads[x'] for watched inputs; parameters already updated
// Without a tape nothing is recorded and no backward closure is allocated (inference).

/// An n-dimensional Float32 array, row-major and contiguous.
public struct Tensor: @unchecked Sendable {
    /// Extent of each dimension, outermost first (`[]` for a scalar).
    public let shape: [Int]
    /// The elements (shared between tensors produced by `reshaped` and by `Parameter.tensor`).
    public let storage: TensorStorage
    /// The tape that recorded this tensor, if any.
    public let tape: Tape?
    /// Index of this tensor's node on `tape` (-1 when not recorded).
    public let nodeIndex: Int

    /// Wraps existing storage (no copy, no recording).
    public init(shape: [Int], storage: TensorStorage) {
        precondition(shape.reduce(1, *) == storage.count, "Tensor: shape \(shape) does not match \(storage.count) elements")
        self.shape = shape
        self.storage = storage
        self.tape = nil
        self.nodeIndex = -1
    }

    /// Internal: a tensor recorded on `tape` at `node`.
    init(shape: [Int], storage: TensorStorage, tape: Tape?, node: Int) {
        self.shape = shape
        self.storage = storage
        self.tape = tape
        self.nodeIndex = node
    }

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        self.init(shape: shape, storage: TensorStorage(count: shape.reduce(1, *), repeating: value))
    }

    /// A tensor of `shape` holding `values` (row-major); throws if the counts differ.
    public init(shape: [Int], values: [Float]) throws {
        let count = shape.reduce(1, *)
        guard count == values.count, shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.shapeMismatch("Tensor(shape: \(shape)) needs \(count) values, got \(values.count)")
        }
        let storage = TensorStorage(uninitializedCount: count)
        storage.pointer.initialize(from: values, count: count)
        self.init(shape: shape, storage: storage)
    }

    /// A 0-dimensional tensor.
    public init(scalar: Float) {
        self.init(shape: [], repeating: scalar)
    }

    /// Values drawn from N(0, std²) with a seeded generator (deterministic).
    public static func randomNormal(shape: [Int], std: Float = 1, generator: inout SeededGenerator) -> Tensor {
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t.storage.pointer[i] = generator.nextNormal() * std }
        return t
    }

    /// Values drawn uniformly from [low, high) with a seeded generator.
    public static func randomUniform(shape: [Int], low: Float, high: Float, generator: inout SeededGenerator) -> Tensor {
        let t = Tensor(shape: shape)
        for i in 0..<t.count { t.storage.pointer[i] = low + (high - low) * generator.nextUniform() }
        return t
    }

    /// Number of elements.
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// The elements, row-major (a copy).
    public var values: [Float] { Array(UnsafeBufferPointer(start: storage.pointer, count: count)) }
    /// Read-only pointer to the first element.
    public var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer) }
    /// The single element of a one-element tensor.
    public var item: Float { storage.pointer[0] }
    /// True when recorded on a tape (a gradient can flow to it).
    public var isRecorded: Bool { tape != nil }

    /// The same values and shape, not recorded (cuts the gradient; no copy).
    public var detached: Tensor { Tensor(shape: shape, storage: storage) }

    /// A new tensor with its own copy of the values (not recorded).
    public func copy() -> Tensor {
        let s = TensorStorage(uninitializedCount: count)
        s.pointer.initialize(from: storage.pointer, count: count)
        return Tensor(shape: shape, storage: s)
    }

    /// Extent of dimension `axis` (negative counts from the end).
    public func size(_ axis: Int) -> Int { shape[axis < 0 ? axis + rank : axis] }

    /// Normalises a possibly negative axis; throws when out of range.
    func resolveAxis(_ axis: Int, _ op: String) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else {
            throw TensorError.invalidArgument("\(op): axis \(axis) out of range for shape \(shape)")
        }
        return a
    }
}

extension Tensor: CustomStringConvertible {
    /// Shape and the first few values.
    public var description: String {
        let head = values.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor\(shape)[\(head)\(count > 8 ? ", …" : "")]"
    }
}
