// The memory behind a tensor: manually allocated Float32, or a view of memory someone else owns.

/// Contiguous Float32 memory with a stable address for its whole lifetime.
///
/// Either owns its allocation (freed in `deinit`) or views memory kept alive by `owner` (a `Parameter`, a
/// memory-mapped checkpoint, ...). Tensors never resize or move their storage.
public final class TensorStorage: @unchecked Sendable {
    /// First element.
    public let pointer: UnsafeMutablePointer<Float>
    /// Number of Float32 elements.
    public let count: Int
    /// The object that owns `pointer` when this storage is a view; nil when this storage owns it.
    private let owner: AnyObject?

    /// Allocates `count` floats set to `value`.
    public init(count: Int, repeating value: Float = 0) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: value, count: count)
        owner = nil
    }

    /// Allocates `count` floats without initialising them (callers must write every element before reading).
    public init(uninitializedCount count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        owner = nil
    }

    /// Views `count` floats at `pointer`, which `owner` keeps alive.
    public init(viewing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        self.owner = owner
    }

    deinit {
        if owner == nil { pointer.deallocate() }
    }

    /// The elements as a buffer.
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}
