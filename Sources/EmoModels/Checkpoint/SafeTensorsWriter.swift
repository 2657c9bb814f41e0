import Foundation

/// A tensor read in place by `SafeTensorsWriter.serializedF32`: a name, a shape and Float32 values at an address
/// that stays valid while the writer runs.
public struct TensorView {
    /// The tensor's name in the file.
    public let name: String
    /// Extent of each dimension.
    public let shape: [Int]
    /// The values, row-major.
    public let values: UnsafeBufferPointer<Float>

    /// A view of `values` under `name` with `shape`.
    public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// Writes `.safetensors` files (the format `SafeTensorsFile` reads): Float32 tensors stored as F32, F16 or BF16.
///
/// ```swift
/// var w = SafeTensorsWriter()
/// w.add("weight", shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
/// try w.write(to: "out.safetensors")
/// ```
public struct SafeTensorsWriter {
    private struct Entry {
        var name: String
        var dtype: SafeTensorsFile.DType
        var shape: [Int]
        var bytes: [UInt8]
    }

    private var entries: [Entry] = []
    /// Strings stored under `__metadata__`.
    public var metadata: [String: String] = [:]

    /// Creates an empty writer.
    public init() {}

    /// Adds a tensor; `dtype` is `.f32`, `.f16` or `.bf16` (values are rounded to nearest even).
    public mutating func add(_ name: String, shape: [Int], values: [Float], dtype: SafeTensorsFile.DType = .f32) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * dtype.size)
        switch dtype {
        case .f16:
            for v in values { let h = HalfFloat.floatToF16(v); bytes.append(UInt8(h & 0xFF)); bytes.append(UInt8(h >> 8)) }
        case .bf16:
            for v in values { let h = HalfFloat.floatToBF16(v); bytes.append(UInt8(h & 0xFF)); bytes.append(UInt8(h >> 8)) }
        default:
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        }
        let stored: SafeTensorsFile.DType = (dtype == .f16 || dtype == .bf16) ? dtype : .f32
        entries.append(Entry(name: name, dtype: stored, shape: shape, bytes: bytes))
    }

    /// The complete file contents.
    public func serialized() -> [UInt8] {
        let layout = entries.map { (name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: $0.bytes.count) }
        let header = Self.header(layout, metadata: metadata)
        let dataBytes = layout.reduce(0) { $0 + $1.bytes }
        var out: [UInt8] = []
        out.reserveCapacity(header.count + dataBytes)
        out.append(contentsOf: header)
        for e in entries { out.append(contentsOf: e.bytes) }
        return out
    }

    /// The file contents for F32 tensors read in place: one output buffer of the file's exact size, the values
    /// copied into it once (no per-tensor byte arrays), so a model's state costs its own size once while it is
    /// written, not three times. Same bytes as `add(…, dtype: .f32)` for each tensor and `serialized()`.
    public static func serializedF32(_ tensors: [TensorView], metadata: [String: String] = [:]) -> [UInt8] {
        let plan = F32Plan(tensors, metadata: metadata)
        return [UInt8](unsafeUninitializedCapacity: plan.byteCount) { buffer, initialized in
            initialized = plan.write(into: UnsafeMutableRawBufferPointer(buffer)) ? plan.byteCount : 0
        }
    }

    /// The file `serializedF32` makes of float32 views, laid out once: its size, and a writer into memory the caller
    /// owns (so a state of hundreds of megabytes is written once, where it will stay).
    public struct F32Plan {
        /// The views, in file order.
        public let tensors: [TensorView]
        /// The 8-byte length and the padded JSON header.
        public let header: [UInt8]
        /// The file's size in bytes.
        public let byteCount: Int

        /// Lays out `tensors` with `metadata`.
        public init(_ tensors: [TensorView], metadata: [String: String] = [:]) {
            self.tensors = tensors
            header = SafeTensorsWriter.header(
                tensors.map { (name: $0.name, dtype: SafeTensorsFile.DType.f32, shape: $0.shape, bytes: $0.values.count * 4) },
                metadata: metadata)
            byteCount = header.count + tensors.reduce(0) { $0 + $1.values.count * 4 }
        }

        /// Writes the file into `buffer`; false (nothing written) when the buffer is not exactly `byteCount` long.
        @discardableResult
        public func write(into buffer: UnsafeMutableRawBufferPointer) -> Bool {
            guard buffer.count == byteCount, let base = buffer.baseAddress else { return byteCount == 0 && buffer.count == 0 }
            header.withUnsafeBytes { base.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(base), byteCount: header.count) }
            var at = header.count
            for t in tensors {
                let raw = base + at
                if let src = t.values.baseAddress {
                    for i in 0..<t.values.count { raw.storeBytes(of: src[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
                }
                at += t.values.count * 4
            }
            return true
        }
    }

    /// The 8-byte header length, then the JSON header padded with spaces so the data starts 8-byte aligned.
    static func header(_ layout: [(name: String, dtype: SafeTensorsFile.DType, shape: [Int], bytes: Int)],
                       metadata: [String: String]) -> [UInt8] {
        var header: [String: Any] = [:]
        var offset = 0
        for e in layout {
            header[e.name] = ["dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [offset, offset + e.bytes]]
            offset += e.bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])).map { [UInt8]($0) } ?? Array("{}".utf8)
        while (8 + json.count) % 8 != 0 { json.append(0x20) }  // pad with spaces so the data is 8-byte aligned
        var out: [UInt8] = []
        out.reserveCapacity(8 + json.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        return out
    }

    /// Writes the file atomically.
    public func write(to path: String) throws {
        do { try Data(serialized()).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw CheckpointError.io(path: path, message: "cannot write (\(error.localizedDescription))")
        }
    }
}
