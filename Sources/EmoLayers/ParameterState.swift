import EmoCore

/// The byte format of a trainable component's state: every parameter and buffer by name, so a state saved by
/// one instance loads into another of the same config and a mismatch names the tensor at fault.
///
/// Layout (little-endian): magic `EMOS`, UInt32 version, UInt32 entry count, then per entry UInt32 name
/// length, the UTF-8 name, UInt64 element count, and the Float32 values. Version 2 (written only when the component
/// has random streams, so a deterministic component's bytes are those of version 1) then adds a UInt32 count and
/// that many UInt64 words: where its dropout streams stand, so that training resumed from the state draws the same
/// masks as the uninterrupted run.
public enum ParameterState {
    static let magic: [UInt8] = Array("EMOS".utf8)

    /// Serialises `parameters` (values only; gradients are not state) and the random streams' `randomState`.
    public static func encode(_ parameters: [ParameterStorage], randomState: [UInt64] = []) -> [UInt8] {
        var out = magic
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put(UInt32(randomState.isEmpty ? 1 : 2))
        put(UInt32(parameters.count))
        for p in parameters {
            let name = Array(p.name.utf8)
            put(UInt32(name.count))
            out.append(contentsOf: name)
            put(UInt64(p.count))
            for i in 0..<p.count { put(p.value[i].bitPattern) }
        }
        if !randomState.isEmpty {
            put(UInt32(randomState.count))
            for word in randomState { put(word) }
        }
        return out
    }

    /// Restores values written by `encode` into `parameters`; names, order and sizes must match. Returns the saved
    /// random streams (empty for a version-1 state).
    @discardableResult
    public static func decode(_ bytes: [UInt8], into parameters: [ParameterStorage], component: String) throws -> [UInt64] {
        var offset = 0
        func fail(_ why: String) -> ComponentError {
            .invalidInput(component: component, message: "state: \(why) (was it saved by a \(component) with another config?)")
        }
        func take(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n >= 0, offset + n <= bytes.count else { throw fail("truncated at byte \(offset) of \(bytes.count)") }
            defer { offset += n }
            return bytes[offset..<(offset + n)]
        }
        func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let slice = try take(MemoryLayout<T>.size)
            return slice.reversed().reduce(T(0)) { ($0 << 8) | T($1) }
        }
        guard Array(try take(4)) == magic else { throw fail("not an EmoKit parameter state (bad magic)") }
        let version = try read(UInt32.self)
        guard version == 1 || version == 2 else { throw fail("format version \(version), this build reads versions 1 and 2") }
        let count = Int(try read(UInt32.self))
        guard count == parameters.count else { throw fail("\(count) tensors, this instance has \(parameters.count)") }
        for p in parameters {
            let nameLength = Int(try read(UInt32.self))
            let name = String(decoding: try take(nameLength), as: UTF8.self)
            guard name == p.name else { throw fail("found tensor '\(name)' where '\(p.name)' was expected") }
            // Compared as UInt64: a count of 2^63 or more does not fit an Int (converting it first trapped).
            let stored = try read(UInt64.self)
            guard stored == UInt64(p.count) else { throw fail("'\(name)' has \(stored) values, this instance needs \(p.count)") }
            let n = p.count
            let raw = try take(4 * n)
            raw.withUnsafeBytes { src in
                for i in 0..<n {
                    p.value[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            }
        }
        var randomState: [UInt64] = []
        if version == 2 {
            let words = Int(try read(UInt32.self))
            for _ in 0..<words { randomState.append(try read(UInt64.self)) }
        }
        guard offset == bytes.count else { throw fail("\(bytes.count - offset) trailing bytes") }
        return randomState
    }
}
