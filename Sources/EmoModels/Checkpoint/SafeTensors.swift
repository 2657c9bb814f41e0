import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only, memory-mapped `.safetensors` file (Hugging Face's format): an 8-byte little-endian header length,
/// a JSON header `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`, then the data.
///
/// Every offset and shape in the header is checked against the file size before anything is read, so a truncated
/// or malicious file is a `CheckpointError`, never a crash or a huge allocation.
///
/// ```swift
/// let file = try SafeTensorsFile(path: "model.safetensors")
/// let w = try file.floats("encoder.layers.0.attention.q_proj.weight")   // [C, C] as Float32
/// ```
public final class SafeTensorsFile: @unchecked Sendable {
    /// Element type of a stored tensor.
    public enum DType: String, Sendable, CaseIterable {
        case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"
        case u16 = "U16", u32 = "U32", u64 = "U64", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

        /// Bytes per element.
        public var size: Int {
            switch self {
            case .f64, .i64, .u64: return 8
            case .f32, .i32, .u32: return 4
            case .f16, .bf16, .i16, .u16: return 2
            case .i8, .u8, .bool, .f8e4m3, .f8e5m2: return 1
            }
        }
    }

    /// Where one tensor lives in the file.
    public struct TensorInfo: Sendable, Equatable {
        /// The checkpoint's name for the tensor.
        public var name: String
        /// Element type as stored.
        public var dtype: DType
        /// Extent of each dimension.
        public var shape: [Int]
        /// Byte offset of the first element, relative to the start of the data section.
        public var begin: Int
        /// Number of bytes.
        public var byteCount: Int
        /// Number of elements.
        public var count: Int { shape.reduce(1, *) }
    }

    /// Largest header the reader accepts (the safetensors specification's limit).
    public static let maxHeaderBytes = 100_000_000

    /// The file's path (used in every error).
    public let path: String
    /// Tensors by name.
    public let tensors: [String: TensorInfo]
    /// The header's `__metadata__` strings.
    public let metadata: [String: String]
    /// Tensor names in file order (sorted by offset).
    public let names: [String]

    private let base: UnsafeRawPointer?
    private let mappedBytes: Int
    private let dataStart: Int

    /// Maps `path` and validates its header.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw CheckpointError.io(path: path, message: "cannot open (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw CheckpointError.io(path: path, message: "cannot stat (\(String(cString: strerror(errno))))")
        }
        let size = Int(st.st_size)
        guard size >= 8 else {
            throw CheckpointError.malformed(path: path, message: "file is \(size) bytes, shorter than the 8-byte header length")
        }
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw CheckpointError.io(path: path, message: "cannot memory-map (\(String(cString: strerror(errno))))")
        }
        let raw = UnsafeRawPointer(map)
        base = raw
        mappedBytes = size
        do {
            let headerLength = raw.loadUnaligned(as: UInt64.self).littleEndian
            guard headerLength <= UInt64(min(size - 8, Self.maxHeaderBytes)) else {
                throw CheckpointError.malformed(path: path, message: "header length \(headerLength) exceeds the file (\(size) bytes) or the 100 MB limit")
            }
            let n = Int(headerLength)
            dataStart = 8 + n
            let header = Data(bytes: raw + 8, count: n)
            let parsed = try Self.parseHeader(header, dataBytes: size - dataStart, path: path)
            tensors = parsed.tensors
            metadata = parsed.metadata
            names = parsed.tensors.values.sorted { ($0.begin, $0.name) < ($1.begin, $1.name) }.map(\.name)
        } catch {
            munmap(map, size)
            throw error
        }
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), mappedBytes) }
    }

    /// Parses and validates the JSON header against the size of the data section.
    static func parseHeader(_ header: Data, dataBytes: Int, path: String) throws -> (tensors: [String: TensorInfo], metadata: [String: String]) {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: header) } catch {
            throw CheckpointError.malformed(path: path, message: "header is not JSON (\(error.localizedDescription))")
        }
        guard let dict = object as? [String: Any] else {
            throw CheckpointError.malformed(path: path, message: "header is not a JSON object")
        }
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in dict {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw CheckpointError.malformed(path: path, message: "__metadata__ is not an object")
                }
                for (k, v) in m { metadata[k] = (v as? String) ?? "\(v)" }
                continue
            }
            guard let entry = value as? [String: Any] else {
                throw CheckpointError.malformed(path: path, message: "entry '\(name)' is not an object")
            }
            guard let dtypeName = entry["dtype"] as? String, let dtype = DType(rawValue: dtypeName) else {
                throw CheckpointError.malformed(path: path, message: "tensor '\(name)' has unknown dtype \(entry["dtype"] ?? "nil")")
            }
            guard let shapeAny = entry["shape"] as? [Any], shapeAny.count <= 16 else {
                throw CheckpointError.malformed(path: path, message: "tensor '\(name)' has no valid shape (a list of at most 16 sizes)")
            }
            var shape: [Int] = []
            var count = 1
            for s in shapeAny {
                guard let d = Self.integer(s), d >= 0 else {
                    throw CheckpointError.malformed(path: path, message: "tensor '\(name)' has a negative or non-integer dimension in \(shapeAny)")
                }
                let (c, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, c <= dataBytes else {
                    throw CheckpointError.malformed(path: path, message: "tensor '\(name)' shape \(shapeAny) has more elements than the file has bytes")
                }
                count = c
                shape.append(d)
            }
            guard let offs = entry["data_offsets"] as? [Any], offs.count == 2,
                  let begin = Self.integer(offs[0]), let end = Self.integer(offs[1]) else {
                throw CheckpointError.malformed(path: path, message: "tensor '\(name)' has no valid data_offsets [begin, end]")
            }
            guard begin >= 0, begin <= end, end <= dataBytes else {
                throw CheckpointError.malformed(path: path, message: "tensor '\(name)' data_offsets [\(begin), \(end)] lie outside the \(dataBytes)-byte data section (file truncated?)")
            }
            guard end - begin == count * dtype.size else {
                throw CheckpointError.malformed(path: path, message: "tensor '\(name)' occupies \(end - begin) bytes but \(dtype.rawValue) \(shape) needs \(count * dtype.size)")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, begin: begin, byteCount: end - begin)
        }
        return (tensors, metadata)
    }

    /// An exact non-negative or negative integer from a JSON number (rejects fractions and huge values).
    private static func integer(_ v: Any) -> Int? {
        if let n = v as? NSNumber {
            let d = n.doubleValue
            guard d.rounded() == d, abs(d) < 9.0e15 else { return nil }
            return n.intValue
        }
        return nil
    }

    /// The tensor's info, or `missingTensor`.
    public func info(_ name: String) throws -> TensorInfo {
        guard let t = tensors[name] else { throw CheckpointError.missingTensor(path: path, name: name) }
        return t
    }

    /// Calls `body` with the tensor's raw stored bytes (valid only inside `body`; no copy).
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let t = try info(name)
        guard let base else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: base + dataStart + t.begin, count: t.byteCount))
    }

    /// The tensor converted to Float32 (F32, F16 and BF16 convert exactly).
    public func floats(_ name: String) throws -> [Float] {
        let t = try info(name)
        var out = [Float](repeating: 0, count: t.count)
        try out.withUnsafeMutableBufferPointer { try convert(t, into: $0.baseAddress) }
        return out
    }

    /// Converts the tensor to Float32 into `destination` (`count` elements), then tells the kernel the mapped
    /// pages are no longer needed so loading a large checkpoint does not hold it twice in memory.
    public func convert(_ t: TensorInfo, into destination: UnsafeMutablePointer<Float>?) throws {
        guard let base, let destination, t.count > 0 else { return }
        let src = base + dataStart + t.begin
        switch t.dtype {
        case .f32:
            memcpy(destination, src, t.byteCount)
        case .f16:
            for i in 0..<t.count { destination[i] = HalfFloat.f16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
        case .bf16:
            for i in 0..<t.count { destination[i] = HalfFloat.bf16ToFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) }
        default:
            throw CheckpointError.unsupportedDType(path: path, name: t.name, dtype: t.dtype.rawValue)
        }
        release(offset: dataStart + t.begin, count: t.byteCount)
    }

    /// Drops the mapped pages of a byte range from this process's resident set (the file stays mapped).
    private func release(offset: Int, count: Int) {
        guard let base else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset + page - 1) / page * page
        let end = (offset + count) / page * page
        if end > start { madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED) }
    }
}

/// IEEE half and bfloat16 to Float32, bit-exact (subnormals, infinities and NaN included).
public enum HalfFloat {
    /// Converts IEEE 754 binary16 bits to Float.
    @inline(__always)
    public static func f16ToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1F
        let mant = UInt32(h & 0x3FF)
        if exp == 0 {
            if mant == 0 { return Float(bitPattern: sign) }
            // subnormal: mant * 2^-24
            let v = Float(mant) * Float(bitPattern: 0x3380_0000)
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
    }

    /// Converts bfloat16 bits to Float.
    @inline(__always)
    public static func bf16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// Rounds a Float to binary16 bits (round to nearest even), for writing test checkpoints.
    public static func floatToF16(_ f: Float) -> UInt16 { Float16(f).bitPattern }

    /// Rounds a Float to bfloat16 bits (round to nearest even; NaN stays NaN).
    public static func floatToBF16(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }
}
