import EmoCore
import EmoPluginABI
import Foundation

/// Converts between `Value` and `emo_tensor`; used by the SDK (plugin side) and by EmoRuntime (host side).
public enum TensorBridge {
    /// Reads a borrowed C tensor into a Swift value (copies the data).
    public static func value(from t: emo_tensor) throws(ComponentError) -> Value {
        let rank = Int(t.rank)
        guard rank >= 0, rank <= Int(EMO_MAX_RANK) else {
            throw .invalidInput(component: "abi", message: "tensor rank \(rank) outside 0...\(EMO_MAX_RANK)")
        }
        let shape = withUnsafeBytes(of: t.shape) { raw in (0..<rank).map { Int(raw.load(fromByteOffset: $0 * 8, as: Int64.self)) } }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw .invalidInput(component: "abi", message: "negative extent in shape \(shape)")
        }
        let n = shape.reduce(1, *)
        if n > 0 && t.data == nil {
            throw .invalidInput(component: "abi", message: "tensor of shape \(shape) has a NULL data pointer")
        }
        switch t.dtype {
        case Int32(EMO_DTYPE_F32.rawValue):
            let p = t.data?.assumingMemoryBound(to: Float.self)
            let data = p.map { Array(UnsafeBufferPointer(start: $0, count: n)) } ?? []
            return .array(try wrap(shape, data))
        case Int32(EMO_DTYPE_I64.rawValue):
            let p = t.data?.assumingMemoryBound(to: Int64.self)
            return .ids(shape: shape, values: p.map { Array(UnsafeBufferPointer(start: $0, count: n)) } ?? [])
        case Int32(EMO_DTYPE_UTF8.rawValue):
            guard rank == 1 else { throw .invalidInput(component: "abi", message: "UTF-8 tensor must be rank 1, got \(rank)") }
            let p = t.data?.assumingMemoryBound(to: UInt8.self)
            let bytes = p.map { Array(UnsafeBufferPointer(start: $0, count: n)) } ?? []
            guard let s = String(validating: bytes, as: UTF8.self) else {
                throw .invalidInput(component: "abi", message: "text tensor is not valid UTF-8")
            }
            return .text(s)
        default:
            throw .invalidInput(component: "abi", message: "unknown dtype \(t.dtype)")
        }
    }

    /// Reads a borrowed F32 C tensor into an `NDArray`.
    public static func array(from t: emo_tensor) throws(ComponentError) -> NDArray {
        guard case .array(let a) = try value(from: t) else {
            throw .invalidInput(component: "abi", message: "expected a float32 tensor, got dtype \(t.dtype)")
        }
        return a
    }

    private static func wrap(_ shape: [Int], _ data: [Float]) throws(ComponentError) -> NDArray {
        do { return try NDArray(shape: shape, data: data) } catch { throw .invalidInput(component: "abi", message: error.message) }
    }
}

/// Owns the memory of C tensors handed across the boundary until the next call replaces it.
///
/// Plugin side: an instance's outputs live here until the next call on that instance. Host side: the borrowed
/// inputs of one call live here for that call.
public final class TensorArena {
    private var blocks: [UnsafeMutableRawPointer] = []
    private var tensors: UnsafeMutablePointer<emo_tensor>?
    private var capacity = 0

    /// Creates an empty arena.
    public init() {}

    deinit { reset() }

    /// Frees everything the arena holds.
    public func reset() {
        for b in blocks { b.deallocate() }
        blocks.removeAll(keepingCapacity: true)
    }

    /// Copies `values` into arena memory and returns C tensors pointing at it (valid until the next `store`).
    public func store(_ values: [Value]) throws(ComponentError) -> UnsafeMutablePointer<emo_tensor> {
        reset()
        if capacity < max(values.count, 1) {
            tensors?.deallocate()
            capacity = max(values.count, 1)
            tensors = UnsafeMutablePointer<emo_tensor>.allocate(capacity: capacity)
        }
        guard let out = tensors else { throw .failed(component: "abi", message: "tensor list allocation failed") }
        for (i, v) in values.enumerated() {
            out[i] = try tensor(for: v)
        }
        return out
    }

    private func tensor(for v: Value) throws(ComponentError) -> emo_tensor {
        var t = emo_tensor()
        let shape: [Int]
        switch v {
        case .array(let a):
            shape = a.shape
            t.dtype = Int32(EMO_DTYPE_F32.rawValue)
            t.data = copy(a.data)
        case .ids(let s, let values):
            shape = s
            t.dtype = Int32(EMO_DTYPE_I64.rawValue)
            t.data = copy(values)
        case .text(let s):
            let bytes = Array(s.utf8)
            shape = [bytes.count]
            t.dtype = Int32(EMO_DTYPE_UTF8.rawValue)
            t.data = copy(bytes)
        }
        guard shape.count <= Int(EMO_MAX_RANK) else {
            throw .invalidInput(component: "abi", message: "rank \(shape.count) exceeds EMO_MAX_RANK \(EMO_MAX_RANK)")
        }
        t.rank = Int32(shape.count)
        withUnsafeMutableBytes(of: &t.shape) { raw in
            for (i, e) in shape.enumerated() { raw.storeBytes(of: Int64(e), toByteOffset: i * 8, as: Int64.self) }
        }
        return t
    }

    private func copy<T>(_ array: [T]) -> UnsafeMutableRawPointer {
        let bytes = max(array.count * MemoryLayout<T>.stride, 1)
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        array.withUnsafeBytes { src in
            if let base = src.baseAddress { p.copyMemory(from: base, byteCount: src.count) }
        }
        blocks.append(p)
        return p
    }
}

/// Reads `rank` extents out of a C fixed-size shape tuple.
public func emoShape(_ shape: (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64), rank: Int32) -> [Int] {
    withUnsafeBytes(of: shape) { raw in
        (0..<Int(max(0, min(rank, EMO_MAX_RANK)))).map { Int(raw.load(fromByteOffset: $0 * 8, as: Int64.self)) }
    }
}

/// Writes extents into a C fixed-size shape tuple.
public func emoSetShape(_ shape: inout (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64), _ extents: [Int]) {
    withUnsafeMutableBytes(of: &shape) { raw in
        for (i, e) in extents.prefix(Int(EMO_MAX_RANK)).enumerated() {
            raw.storeBytes(of: Int64(e), toByteOffset: i * 8, as: Int64.self)
        }
    }
}

/// Duplicates a Swift string as a malloc'd C string (released with `free`, i.e. `free_string`).
public func emoStrdup(_ s: String) -> UnsafeMutablePointer<CChar>? { strdup(s) }
