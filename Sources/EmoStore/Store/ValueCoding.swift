import EmoCore
import Foundation

/// How `Value` arrays are laid out in the features table: dtype name, JSON shape, little-endian bytes.
enum ValueCoding {
    /// (dtype, shape JSON, bytes) of an array or ids value.
    static func encode(_ value: Value) -> (String, String, [UInt8]) {
        switch value {
        case .array(let a):
            let shape = "[" + a.shape.map(String.init).joined(separator: ",") + "]"
            var bytes = [UInt8]()
            bytes.reserveCapacity(a.count * 4)
            for x in a.data { withUnsafeBytes(of: x.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            return ("f32", shape, bytes)
        case .ids(let shape, let values):
            let s = "[" + shape.map(String.init).joined(separator: ",") + "]"
            var bytes = [UInt8]()
            bytes.reserveCapacity(values.count * 8)
            for x in values { withUnsafeBytes(of: x.littleEndian) { bytes.append(contentsOf: $0) } }
            return ("i64", s, bytes)
        case .text(let t):
            return ("text", "[]", Array(t.utf8))
        }
    }

    /// The value a features row holds.
    static func decode(dtype: String, shape: String, bytes: [UInt8], store: String) throws(StoreError) -> Value {
        let dims = shape.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
            .split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let count = dims.reduce(1, *)
        switch dtype {
        case "f32":
            guard bytes.count == count * 4 else {
                throw .corruptRow(path: store, detail: "f32 shape \(shape) needs \(count * 4) bytes, blob has \(bytes.count)")
            }
            var data = [Float](repeating: 0, count: count)
            for i in 0..<count {
                let b = i * 4
                let bits = UInt32(bytes[b]) | UInt32(bytes[b + 1]) << 8 | UInt32(bytes[b + 2]) << 16 | UInt32(bytes[b + 3]) << 24
                data[i] = Float(bitPattern: bits)
            }
            do { return .array(try NDArray(shape: dims, data: data)) } catch {
                throw .corruptRow(path: store, detail: error.description)
            }
        case "i64":
            guard bytes.count == count * 8 else {
                throw .corruptRow(path: store, detail: "i64 shape \(shape) needs \(count * 8) bytes, blob has \(bytes.count)")
            }
            var values = [Int64](repeating: 0, count: count)
            for i in 0..<count {
                var v: UInt64 = 0
                for k in 0..<8 { v |= UInt64(bytes[i * 8 + k]) << (8 * UInt64(k)) }
                values[i] = Int64(bitPattern: v)
            }
            return .ids(shape: dims, values: values)
        default:
            throw .corruptRow(path: store, detail: "unknown dtype '\(dtype)'")
        }
    }
}
