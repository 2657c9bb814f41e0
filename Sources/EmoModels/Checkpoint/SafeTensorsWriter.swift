import Foundation

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
        var header: [String: Any] = [:]
        var offset = 0
        for e in entries {
            header[e.name] = ["dtype": e.dtype.rawValue, "shape": e.shape, "data_offsets": [offset, offset + e.bytes.count]]
            offset += e.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])).map { [UInt8]($0) } ?? Array("{}".utf8)
        while (8 + json.count) % 8 != 0 { json.append(0x20) }  // pad with spaces so the data is 8-byte aligned
        var out: [UInt8] = []
        out.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: json)
        for e in entries { out.append(contentsOf: e.bytes) }
        return out
    }

    /// Writes the file atomically.
    public func write(to path: String) throws {
        do { try Data(serialized()).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw CheckpointError.io(path: path, message: "cannot write (\(error.localizedDescription))")
        }
    }
}
