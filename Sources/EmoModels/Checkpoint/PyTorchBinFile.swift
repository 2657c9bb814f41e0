import Foundation

/// A `pytorch_model.bin` (what `torch.save(state_dict)` writes): a stored (uncompressed) ZIP holding
/// `<root>/data.pkl`, a pickled dict of tensors, and one `<root>/data/<key>` entry per storage.
///
/// The pickle is interpreted by a small virtual machine that knows only what a state dict needs
/// (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter`, the `torch.*Storage`
/// types); any other global is rejected, so no code from the file ever runs. Every offset is checked against the
/// file. F32, F16 and BF16 storages convert to Float32; tensors must be contiguous.
public final class PyTorchBinFile: TensorArchive {
    /// The file's path.
    public let path: String
    /// Tensor names in pickle order.
    public private(set) var names: [String] = []
    private var tensors: [String: Ref] = [:]
    private let bytes: Data

    /// One tensor: where its storage lives in the ZIP and which elements it covers.
    struct Ref {
        var dtype: SafeTensorsFile.DType
        var shape: [Int]
        var storageKey: String
        var offset: Int  // elements into the storage
    }

    /// Reads and validates the archive and its pickle.
    public init(path: String) throws {
        self.path = path
        do { bytes = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw CheckpointError.io(path: path, message: "cannot read (\(error.localizedDescription))")
        }
        entries = try Self.zipEntries(bytes, path: path)
        guard let pkl = entries.keys.first(where: { $0.hasSuffix("/data.pkl") || $0 == "data.pkl" }) else {
            throw CheckpointError.malformed(path: path, message: "no data.pkl in the archive (not a torch.save zip; legacy pre-1.6 files need the converter)")
        }
        root = String(pkl.dropLast("data.pkl".count))
        let dict = try PickleMachine(data: try entry(pkl), path: path).run()
        guard case .dict(let items) = dict else {
            throw CheckpointError.malformed(path: path, message: "data.pkl does not hold a dict of tensors")
        }
        for (k, v) in items {
            guard case .string(let name) = k, case .tensor(let ref) = v else { continue }
            names.append(name)
            tensors[name] = ref
        }
    }

    private var entries: [String: (offset: Int, size: Int)] = [:]
    private var root = ""

    /// The stored shape of `name`, or nil.
    public func shape(of name: String) -> [Int]? { tensors[name]?.shape }

    /// The tensor as Float32.
    public func floats(_ name: String) throws -> [Float] {
        guard let t = tensors[name] else { throw CheckpointError.missingTensor(path: path, name: name) }
        let storage = try entry(root + "data/" + t.storageKey)
        let count = t.shape.reduce(1, *)
        let size = t.dtype.size
        let (elements, o1) = t.offset.addingReportingOverflow(count)
        let (bytes, o2) = elements.multipliedReportingOverflow(by: size)
        guard t.offset >= 0, !o1, !o2, bytes <= storage.count else {
            throw CheckpointError.malformed(path: path, message: "tensor '\(name)' reads past the end of storage \(t.storageKey)")
        }
        var out = [Float](repeating: 0, count: count)
        storage.withUnsafeBytes { raw in
            let base = t.offset * size
            switch t.dtype {
            case .f32: for i in 0..<count { out[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: base + 4 * i, as: UInt32.self).littleEndian) }
            case .f16: for i in 0..<count { out[i] = HalfFloat.f16ToFloat(raw.loadUnaligned(fromByteOffset: base + 2 * i, as: UInt16.self).littleEndian) }
            case .bf16: for i in 0..<count { out[i] = HalfFloat.bf16ToFloat(raw.loadUnaligned(fromByteOffset: base + 2 * i, as: UInt16.self).littleEndian) }
            default: break
            }
        }
        guard [.f32, .f16, .bf16].contains(t.dtype) else {
            throw CheckpointError.unsupportedDType(path: path, name: name, dtype: t.dtype.rawValue)
        }
        return out
    }

    /// The bytes of a stored ZIP entry.
    private func entry(_ name: String) throws -> Data {
        guard let e = entries[name] else { throw CheckpointError.malformed(path: path, message: "archive entry \(name) is missing") }
        return bytes.subdata(in: e.offset..<(e.offset + e.size))
    }

    /// Parses the ZIP central directory: name → (data offset, size), stored entries only, all bounds checked.
    static func zipEntries(_ d: Data, path: String) throws -> [String: (offset: Int, size: Int)] {
        func bad(_ m: String) -> CheckpointError { .malformed(path: path, message: m) }
        func u16(_ o: Int) throws -> Int {
            guard o >= 0, o + 2 <= d.count else { throw bad("ZIP structure points past the end of the file") }
            return Int(d[d.startIndex + o]) | Int(d[d.startIndex + o + 1]) << 8
        }
        func u32(_ o: Int) throws -> Int { let lo = try u16(o), hi = try u16(o + 2); return lo | hi << 16 }
        // End of central directory: the last 0x06054b50 within 64 KiB + 22 bytes of the end.
        var eocd = -1
        var o = d.count - 22
        while o >= max(0, d.count - 65_557) {
            if try u32(o) == 0x0605_4B50 { eocd = o; break }
            o -= 1
        }
        guard eocd >= 0 else { throw bad("not a ZIP archive (no end-of-central-directory record)") }
        let count = try u16(eocd + 10)
        var p = try u32(eocd + 16)
        if count == 0xFFFF || p == 0xFFFF_FFFF { throw bad("ZIP64 archive: convert it with Plugins/SpeechEncoders/convert_to_safetensors.py") }
        var out: [String: (offset: Int, size: Int)] = [:]
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4B50 else { throw bad("corrupt central directory") }
            let method = try u16(p + 10)
            let size = try u32(p + 20)
            let nameLen = try u16(p + 28), extraLen = try u16(p + 30), commentLen = try u16(p + 32)
            let local = try u32(p + 42)
            guard p + 46 + nameLen <= d.count else { throw bad("entry name runs past the end of the file") }
            let name = String(decoding: d[(d.startIndex + p + 46)..<(d.startIndex + p + 46 + nameLen)], as: UTF8.self)
            guard method == 0 else { throw bad("entry \(name) is compressed (method \(method)); torch.save stores entries uncompressed") }
            guard size != 0xFFFF_FFFF, local != 0xFFFF_FFFF else { throw bad("ZIP64 entry \(name): convert with Plugins/SpeechEncoders/convert_to_safetensors.py") }
            guard try u32(local) == 0x0403_4B50 else { throw bad("entry \(name) has no local header") }
            let localName = try u16(local + 26), localExtra = try u16(local + 28)
            let start = local + 30 + localName + localExtra
            guard start + size <= d.count else { throw bad("entry \(name) runs past the end of the file (truncated?)") }
            out[name] = (start, size)
            p += 46 + nameLen + extraLen + commentLen
        }
        return out
    }
}

/// The subset of Python's pickle a `torch.save` state dict uses (protocols 2–4).
struct PickleMachine {
    indirect enum Value {
        case none, bool(Bool), int(Int), float(Double), string(String), bytes
        case tuple([Value]), list([Value]), dict([(Value, Value)])
        case global(String), storage(SafeTensorsFile.DType, String), tensor(PyTorchBinFile.Ref), mark
    }

    let data: Data
    let path: String

    init(data: Data, path: String) {
        self.data = data
        self.path = path
    }

    func bad(_ m: String) -> CheckpointError { .malformed(path: path, message: "data.pkl: \(m)") }

    /// Deepest container nesting accepted: a state dict nests 4–6 levels; a pickle nesting tens of thousands of
    /// levels would otherwise overflow the thread's stack when the value is freed.
    static let maxDepth = 1_000

    /// Runs the pickle to STOP and returns the top of the stack.
    func run() throws -> Value {
        var stack: [Value] = []
        var depths: [Int] = []                 // nesting depth of each stack value (0 for scalars)
        var memo: [Int: (Value, Int)] = [:]
        var pos = data.startIndex
        let end = data.endIndex
        func byte() throws -> UInt8 {
            guard pos < end else { throw bad("truncated") }
            defer { pos += 1 }
            return data[pos]
        }
        func le(_ n: Int) throws -> Int {
            guard pos + n <= end else { throw bad("truncated") }
            var v = 0
            for i in 0..<n { v |= Int(data[pos + i]) << (8 * i) }
            pos += n
            return v
        }
        func take(_ n: Int) throws -> Data {
            guard n >= 0, n <= end - pos else { throw bad("a length runs past the end") }
            defer { pos += n }
            return data[pos..<(pos + n)]
        }
        func line() throws -> String {
            var s = [UInt8]()
            while true { let b = try byte(); if b == 10 { break }; s.append(b); if s.count > 256 { throw bad("GLOBAL name too long") } }
            return String(decoding: s, as: UTF8.self)
        }
        func push(_ v: Value, depth: Int = 0) throws {
            guard depth <= Self.maxDepth else {
                throw bad("values nest more than \(Self.maxDepth) levels deep; a state dict nests a few (refusing a pickle built to exhaust the stack)")
            }
            stack.append(v)
            depths.append(depth)
        }
        func popDepth() throws -> (Value, Int) {
            guard let v = stack.popLast(), let d = depths.popLast() else { throw bad("stack underflow") }
            return (v, d)
        }
        func pop() throws -> Value { try popDepth().0 }
        func popMark() throws -> (items: [Value], depth: Int) {
            guard let m = stack.lastIndex(where: { if case .mark = $0 { return true }; return false }) else { throw bad("no MARK") }
            let items = Array(stack[(m + 1)...])
            let depth = depths[(m + 1)...].max() ?? 0
            stack.removeSubrange(m...)
            depths.removeSubrange(m...)
            return (items, depth)
        }
        func setItems(_ kv: [Value], depth: Int) throws {
            let (dict, d) = try popDepth()
            guard case .dict(var items) = dict else { throw bad("SETITEMS on a non-dict") }
            var i = 0
            while i + 1 < kv.count { items.append((kv[i], kv[i + 1])); i += 2 }
            try push(.dict(items), depth: max(d, depth + 1))
        }
        while true {
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                                  // PROTO
            case 0x95: _ = try le(8)                                   // FRAME
            case 0x7D: try push(.dict([]), depth: 1)                   // EMPTY_DICT
            case 0x5D: try push(.list([]), depth: 1)                   // EMPTY_LIST
            case 0x29: try push(.tuple([]), depth: 1)                  // EMPTY_TUPLE
            case 0x28: try push(.mark)                                 // MARK
            case 0x71, 0x72, 0x94:                                     // BINPUT, LONG_BINPUT, MEMOIZE
                guard let v = stack.last, let d = depths.last else { throw bad("memo store on an empty stack") }
                memo[op == 0x94 ? memo.count : try le(op == 0x71 ? 1 : 4)] = (v, d)
            case 0x68, 0x6A:                                           // BINGET, LONG_BINGET
                let k = try le(op == 0x68 ? 1 : 4)
                guard let (v, d) = memo[k] else { throw bad("memo \(k) missing") }
                try push(v, depth: d)
            case 0x58: try push(.string(String(decoding: try take(try le(4)), as: UTF8.self)))  // BINUNICODE
            case 0x8C: try push(.string(String(decoding: try take(try le(1)), as: UTF8.self)))  // SHORT_BINUNICODE
            case 0x55: try push(.string(String(decoding: try take(try le(1)), as: UTF8.self)))  // SHORT_BINSTRING
            case 0x54: try push(.string(String(decoding: try take(try le(4)), as: UTF8.self)))  // BINSTRING
            case 0x43: _ = try take(try le(1)); try push(.bytes)       // SHORT_BINBYTES
            case 0x42: _ = try take(try le(4)); try push(.bytes)       // BINBYTES
            case 0x4B: try push(.int(try le(1)))                       // BININT1
            case 0x4D: try push(.int(try le(2)))                       // BININT2
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try le(4)))))  // BININT
            case 0x8A:                                                 // LONG1
                let n = try le(1)
                guard n <= 8 else { throw bad("integer wider than 64 bits") }
                var v = n == 0 ? 0 : try le(n)
                if n > 0 && n < 8 && v & (1 << (8 * n - 1)) != 0 { v -= 1 << (8 * n) }
                try push(.int(v))
            case 0x47:                                                 // BINFLOAT (big-endian)
                let d = try take(8)
                try push(.float(Double(bitPattern: d.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case 0x88: try push(.bool(true))
            case 0x89: try push(.bool(false))
            case 0x4E: try push(.none)
            case 0x63: try push(.global(try line() + "." + (try line())))  // GLOBAL
            case 0x93:                                                 // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else { throw bad("STACK_GLOBAL needs two strings") }
                try push(.global(module + "." + name))
            case 0x74: let (items, d) = try popMark(); try push(.tuple(items), depth: d + 1)  // TUPLE
            case 0x85: let (a, d) = try popDepth(); try push(.tuple([a]), depth: d + 1)      // TUPLE1
            case 0x86:                                                 // TUPLE2
                let (b, db) = try popDepth(), (a, da) = try popDepth()
                try push(.tuple([a, b]), depth: max(da, db) + 1)
            case 0x87:                                                 // TUPLE3
                let (c, dc) = try popDepth(), (b, db) = try popDepth(), (a, da) = try popDepth()
                try push(.tuple([a, b, c]), depth: max(da, db, dc) + 1)
            case 0x73:                                                 // SETITEM
                let (v, dv) = try popDepth(), (k, dk) = try popDepth()
                try setItems([k, v], depth: max(dk, dv))
            case 0x75: let (kv, d) = try popMark(); try setItems(kv, depth: d)  // SETITEMS
            case 0x61, 0x65:                                           // APPEND, APPENDS
                let vs: [Value], d: Int
                if op == 0x61 { let (v, dv) = try popDepth(); (vs, d) = ([v], dv) } else { (vs, d) = try popMark() }
                let (list, dl) = try popDepth()
                guard case .list(var l) = list else { throw bad("APPEND on a non-list") }
                l += vs
                try push(.list(l), depth: max(dl, d + 1))
            case 0x62: _ = try pop()                                   // BUILD: state ignored (OrderedDict _metadata)
            case 0x51:                                                 // BINPERSID
                let (pid, d) = try popDepth()
                try push(try persistentLoad(pid), depth: d)
            case 0x52:                                                 // REDUCE
                let (args, da) = try popDepth(), (callable, dc) = try popDepth()
                try push(try reduce(callable, args), depth: max(da, dc))
            case 0x2E:                                                 // STOP
                return try pop()
            default:
                throw bad(String(format: "unsupported pickle opcode 0x%02x (not a plain state dict; use Plugins/SpeechEncoders/convert_to_safetensors.py)", op))
            }
        }
    }

    /// `('storage', torch.FloatStorage, key, location, numel)` → a storage reference.
    func persistentLoad(_ pid: Value) throws -> Value {
        guard case .tuple(let t) = pid, t.count >= 3, case .string("storage") = t[0], case .global(let type) = t[1],
              case .string(let key) = t[2] else { throw bad("unsupported persistent id") }
        guard !key.contains("/"), !key.contains("..") else { throw bad("storage key \(key) is not a plain name") }
        let dtypes: [String: SafeTensorsFile.DType] = [
            "torch.FloatStorage": .f32, "torch.HalfStorage": .f16, "torch.BFloat16Storage": .bf16,
            "torch.DoubleStorage": .f64, "torch.LongStorage": .i64, "torch.IntStorage": .i32, "torch.ByteStorage": .u8,
            "torch.BoolStorage": .bool,
        ]
        guard let dt = dtypes[type] else { throw bad("unsupported storage type \(type)") }
        return .storage(dt, key)
    }

    /// Applies one of the allowed callables.
    func reduce(_ callable: Value, _ args: Value) throws -> Value {
        guard case .global(let name) = callable, case .tuple(let a) = args else { throw bad("REDUCE without a global and a tuple") }
        switch name {
        case "collections.OrderedDict":
            return .dict([])
        case "torch._utils._rebuild_tensor_v2":
            guard a.count >= 4, case .storage(let dt, let key) = a[0], case .int(let offset) = a[1],
                  case .tuple(let sizeV) = a[2], case .tuple(let strideV) = a[3] else { throw bad("malformed _rebuild_tensor_v2 arguments") }
            guard offset >= 0, offset <= 1 << 40 else { throw bad("storage offset \(offset) is outside 0...2^40") }
            var shape: [Int] = [], stride: [Int] = []
            for v in sizeV { guard case .int(let i) = v, i >= 0 else { throw bad("bad tensor size") }; shape.append(i) }
            for v in strideV { guard case .int(let i) = v else { throw bad("bad tensor stride") }; stride.append(i) }
            guard shape.count == stride.count, shape.count <= 16 else { throw bad("size and stride disagree") }
            // The element count as `floats` computes it (left to right): a 0 among the sizes makes the stride check
            // below end at 0, so (2^62, 2^62, 0) passed it and the count overflowed later.
            var count = 1
            for d in shape {
                let (c, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, c <= 1 << 40 else { throw bad("tensor too large (size \(shape))") }
                count = c
            }
            var expected = 1
            for i in stride.indices.reversed() {
                if shape[i] != 1 && stride[i] != expected { throw bad("non-contiguous tensor (stride \(stride) for size \(shape))") }
                let (e, overflow) = expected.multipliedReportingOverflow(by: shape[i])
                guard !overflow, e <= 1 << 40 else { throw bad("tensor too large") }
                expected = e
            }
            return .tensor(PyTorchBinFile.Ref(dtype: dt, shape: shape, storageKey: key, offset: offset))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let first = a.first, case .tensor = first else { throw bad("malformed _rebuild_parameter arguments") }
            return first
        default:
            throw bad("refusing to call \(name) (only state-dict globals are allowed)")
        }
    }
}
