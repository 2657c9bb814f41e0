import EmoModels
import Foundation

/// A CTranslate2 `model.bin` (binary version 6, as `ctranslate2.converters` write it), read into memory.
///
/// Layout (little-endian): `u32 version`, `string spec name`, `u32 revision`, `u32 count`, then per variable
/// `string name`, `u8 rank`, `u32 dims[rank]`, `u8 dtype` (0 f32, 1 i8, 2 i16, 3 i32, 4 f16, 5 bf16), `u32 bytes`,
/// the data; then `u32 aliasCount` and pairs `string alias`, `string target`. A string is `u16 length` (NUL
/// included), the UTF-8 bytes and a NUL. Every length is checked against the file before it is read.
///
/// ```swift
/// let file = try CTranslate2File(path: "whisper-tiny.en/model.bin")
/// let w = try file.floats("encoder/conv1/weight", shape: [384, 80, 3])
/// ```
public final class CTranslate2File: @unchecked Sendable {
    /// One stored variable.
    public struct Variable: Sendable {
        /// Extent of each dimension (`[]` for a scalar).
        public var shape: [Int]
        /// CTranslate2's dtype id.
        public var dtype: UInt8
        /// Byte range of the data inside the file.
        public var range: Range<Int>
    }

    /// The file's path (used in errors).
    public let path: String
    /// The model spec's name (e.g. `WhisperSpec`).
    public let specName: String
    /// The spec revision.
    public let revision: Int
    /// Variables by name (aliases resolved to their target's variable).
    public let variables: [String: Variable]
    private let bytes: Data

    /// Reads and indexes `path`.
    public init(path: String) throws {
        self.path = path
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw CheckpointError.io(path: path, message: "cannot read the CTranslate2 model (\(error.localizedDescription))")
        }
        var cursor = Cursor(data: bytes, path: path)
        let version = try cursor.u32()
        guard version == 6 || version == 5 else {
            throw CheckpointError.malformed(path: path, message: "CTranslate2 binary version \(version); this reader knows 5 and 6 (re-convert with ctranslate2 ≥ 3)")
        }
        specName = try cursor.string()
        revision = try cursor.u32()
        let count = try cursor.u32()
        var variables: [String: Variable] = [:]
        for _ in 0..<count {
            let name = try cursor.string()
            let rank = Int(try cursor.u8())
            var shape: [Int] = []
            for _ in 0..<rank { shape.append(try cursor.u32()) }
            let dtype = try cursor.u8()
            let size = try cursor.u32()
            let start = cursor.offset
            try cursor.skip(size, what: "data of '\(name)'")
            variables[name] = Variable(shape: shape, dtype: dtype, range: start..<(start + size))
        }
        if cursor.offset < bytes.count {
            let aliases = try cursor.u32()
            for _ in 0..<aliases {
                let alias = try cursor.string(), target = try cursor.string()
                if let v = variables[target] { variables[alias] = v }
            }
        }
        self.variables = variables
    }

    /// The variable `name` as Float32 (f32, f16 and bf16 convert exactly), after checking its shape.
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        guard let v = variables[name] else { throw CheckpointError.missingTensor(path: path, name: name) }
        guard v.shape == shape else {
            throw CheckpointError.wrongShape(path: path, name: name, expected: shape, found: v.shape)
        }
        let n = shape.reduce(1, *)
        let elementSize: Int
        switch v.dtype {
        case 0: elementSize = 4
        case 4, 5: elementSize = 2
        default:
            throw CheckpointError.unsupportedDType(path: path, name: name, dtype: Self.dtypeName(v.dtype))
        }
        guard v.range.count == n * elementSize else {
            throw CheckpointError.malformed(path: path, message: "variable '\(name)' holds \(v.range.count) bytes, \(shape) needs \(n * elementSize)")
        }
        var out = [Float](repeating: 0, count: n)
        bytes.withUnsafeBytes { raw in
            let src = raw.baseAddress.map { $0 + v.range.lowerBound }
            guard let src else { return }
            for i in 0..<n {
                switch v.dtype {
                case 0: out[i] = Float(bitPattern: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
                case 4: out[i] = HalfFloat.f16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)
                default: out[i] = HalfFloat.bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)
                }
            }
        }
        return out
    }

    /// A scalar integer or boolean variable (int8/int16/int32), or nil when absent.
    public func integer(_ name: String) throws -> Int? {
        guard let v = variables[name] else { return nil }
        guard v.shape.reduce(1, *) == 1 else {
            throw CheckpointError.wrongShape(path: path, name: name, expected: [], found: v.shape)
        }
        return bytes.withUnsafeBytes { raw -> Int? in
            guard let src = raw.baseAddress.map({ $0 + v.range.lowerBound }) else { return nil }
            switch (v.dtype, v.range.count) {
            case (1, 1): return Int(src.load(as: Int8.self))
            case (2, 2): return Int(Int16(littleEndian: src.loadUnaligned(as: Int16.self)))
            case (3, 4): return Int(Int32(littleEndian: src.loadUnaligned(as: Int32.self)))
            default: return nil
            }
        }
    }

    /// CTranslate2's name of a dtype id.
    static func dtypeName(_ id: UInt8) -> String {
        ["float32", "int8", "int16", "int32", "float16", "bfloat16"].indices.contains(Int(id))
            ? ["float32", "int8", "int16", "int32", "float16", "bfloat16"][Int(id)] : "dtype \(id)"
    }

    /// Bounds-checked little-endian reads.
    private struct Cursor {
        let data: Data
        let path: String
        var offset = 0

        mutating func take(_ n: Int, what: String) throws -> Range<Int> {
            guard n >= 0, offset + n <= data.count else {
                throw CheckpointError.malformed(path: path, message: "\(what) runs past the end of the file at byte \(offset) (file truncated?)")
            }
            defer { offset += n }
            return offset..<(offset + n)
        }

        mutating func skip(_ n: Int, what: String) throws { _ = try take(n, what: what) }

        mutating func u8() throws -> UInt8 { data[data.startIndex + (try take(1, what: "a byte")).lowerBound] }

        mutating func u16() throws -> Int {
            let r = try take(2, what: "a 16-bit length")
            return Int(data[data.startIndex + r.lowerBound]) | Int(data[data.startIndex + r.lowerBound + 1]) << 8
        }

        mutating func u32() throws -> Int {
            let r = try take(4, what: "a 32-bit integer")
            var v = 0
            for k in 0..<4 { v |= Int(data[data.startIndex + r.lowerBound + k]) << (8 * k) }
            return v
        }

        mutating func string() throws -> String {
            let n = try u16()
            let r = try take(n, what: "a string of \(n) bytes")
            let body = data[(data.startIndex + r.lowerBound)..<(data.startIndex + r.upperBound - (n > 0 ? 1 : 0))]
            return String(decoding: body, as: UTF8.self)
        }
    }
}
