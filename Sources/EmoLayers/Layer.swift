// Feed-forward layers with hand-written backward passes on layer-owned buffers: the building blocks of the
// classifier and fusion plugins.
//
// Dimension legend: docs/numerics.md. Used here: B batch rows, C features, Cin/Cout a layer's input/output
// features (`inFeatures`/`outFeatures`).
//
// Conventions:
// - Row-major Float32 matrices `[B, C]` passed as raw pointers.
// - `forward` returns a pointer into memory the layer owns, valid until the layer's next `forward`; the input
//   pointer must stay valid until the matching `backward` (a `Sequential` guarantees both).
// - `backward` accumulates into parameter gradients (the host zeroes them) and returns d loss / d input in
//   layer-owned memory, valid until the layer's next `backward`.
// - Buffers grow to the largest batch seen and are reused, so a training step allocates nothing.
import EmoCore

/// One layer of a feed-forward network: `[B, inFeatures]` → `[B, outFeatures]`, with its vector-Jacobian product.
public protocol Layer: AnyObject {
    /// Width of each input row.
    var inFeatures: Int { get }
    /// Width of each output row.
    var outFeatures: Int { get }
    /// Runs the layer on `x` `[B, inFeatures]`; returns `[B, outFeatures]` (layer-owned).
    func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) throws -> UnsafePointer<Float>
    /// Given dy `[B, outFeatures]` for the last forward, accumulates parameter gradients and returns dx `[B, inFeatures]`.
    func backward(_ dy: UnsafePointer<Float>, batch: Int) throws -> UnsafePointer<Float>
    /// Trainable tensors and saved statistics, in a fixed order.
    var parameters: [ParameterStorage] { get }
    /// Gives every parameter its name inside the enclosing network ("net.3" → "net.3.weight").
    func setNamePrefix(_ prefix: String)
    /// Where the layer's random stream stands (dropout masks), empty for a deterministic layer: part of a saved
    /// state, so training resumed from it draws the masks the uninterrupted run would have.
    var randomState: [UInt64] { get set }
}

extension Layer {
    /// A deterministic layer has no random stream.
    public var randomState: [UInt64] {
        get { [] }
        set {}
    }
}

/// A growable Float32 buffer a layer owns: reused across calls, reallocated (without copying) only when a
/// larger batch arrives.
public final class FloatBuffer {
    /// Start of the storage (`capacity` elements, uninitialised contents are never read).
    public private(set) var pointer: UnsafeMutablePointer<Float>
    /// Elements available.
    public private(set) var capacity: Int

    /// Creates a buffer holding `count` zeros.
    public init(count: Int = 0) {
        capacity = max(count, 1)
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }

    deinit { pointer.deallocate() }

    /// Makes room for `count` elements (contents are not preserved when it grows) and returns the storage.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            capacity = count
            pointer = .allocate(capacity: capacity)
            pointer.initialize(repeating: 0, count: capacity)
        }
        return pointer
    }
}

/// A parameter's value and gradient, allocated once so their addresses stay fixed for the owner's lifetime.
public final class ParameterStorage {
    /// Name inside the network ("net.0.weight").
    public private(set) var name: String
    /// Local name within its layer ("weight").
    public let localName: String
    /// Extent of each dimension.
    public let shape: [Int]
    /// Number of elements.
    public let count: Int
    /// `count` values.
    public let value: UnsafeMutablePointer<Float>
    /// `count` gradients (zeros for buffers, which are not learned).
    public let grad: UnsafeMutablePointer<Float>
    /// L2 coefficient the host adds to the gradient (`grad += weightDecay · value`, PyTorch's convention).
    public var weightDecay: Float
    /// True for saved statistics (batch-norm running mean/variance).
    public let isBuffer: Bool

    /// Allocates zeroed value and gradient storage.
    public init(_ localName: String, shape: [Int], weightDecay: Float = 0, isBuffer: Bool = false) {
        self.name = localName
        self.localName = localName
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.weightDecay = weightDecay
        self.isBuffer = isBuffer
        value = .allocate(capacity: max(count, 1))
        value.initialize(repeating: 0, count: max(count, 1))
        grad = .allocate(capacity: max(count, 1))
        grad.initialize(repeating: 0, count: max(count, 1))
    }

    deinit {
        value.deallocate()
        grad.deallocate()
    }

    /// Sets the full name to `prefix.localName`.
    public func setPrefix(_ prefix: String) { name = prefix.isEmpty ? localName : prefix + "." + localName }

    /// The EmoCore description the host sees through the ABI.
    public var buffer: ParameterBuffer {
        ParameterBuffer(name: name, shape: shape, value: value, grad: grad, weightDecay: weightDecay, isBuffer: isBuffer)
    }

    /// Fills the value with `f(i)` for each element.
    public func fill(_ f: (Int) -> Float) { for i in 0..<count { value[i] = f(i) } }
}

extension Layer {
    /// Default naming: every parameter becomes `prefix.localName`.
    public func setNamePrefix(_ prefix: String) { for p in parameters { p.setPrefix(prefix) } }
}
