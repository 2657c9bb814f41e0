import Foundation

/// SHA-256 (FIPS 180-4), streaming: the content hashes of clips and files and the config hashes of the feature cache.
///
/// ```swift
/// var h = SHA256()
/// h.update(bytes)            // any number of times
/// let hex = h.finalize().hex // 64 lowercase hex digits
/// ```
/// Tested against the FIPS/NIST vectors in Tests/EmoCoreTests/SHA256Tests.swift.
public struct SHA256: Sendable {
    /// FIPS 180-4 §4.2.2: first 32 bits of the fractional parts of the cube roots of the first 64 primes.
    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// The chaining state H0..H7 (§5.3.3 initial values).
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    /// Bytes of an incomplete 64-byte block.
    private var pending: [UInt8] = []
    /// Total message length in bytes.
    private var length: UInt64 = 0

    /// A fresh hash state.
    public init() { pending.reserveCapacity(64) }

    /// Hashes `bytes` in one call and returns the digest.
    public static func hash<C: Collection>(_ bytes: C) -> Digest where C.Element == UInt8 {
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    /// Hashes `data` without copying it.
    public static func hash(data: Data) -> Digest { data.withUnsafeBytes { hash(raw: $0) } }

    /// Hashes the raw memory of `buffer` (e.g. Float32 samples as their little-endian bytes on this machine).
    public static func hash(raw buffer: UnsafeRawBufferPointer) -> Digest {
        var h = SHA256()
        h.update(raw: buffer)
        return h.finalize()
    }

    /// Appends bytes to the message.
    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let array = Array(bytes)
        array.withUnsafeBytes { update(raw: $0) }
    }

    /// Appends raw memory to the message.
    public mutating func update(raw buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0, let base = buffer.baseAddress else { return }
        length &+= UInt64(buffer.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, buffer.count)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: base, count: take))
            offset = take
            if pending.count == 64 {
                pending.withUnsafeBytes { SHA256.compress(&state, $0.baseAddress.unsafelyUnwrapped, blocks: 1) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        let blocks = (buffer.count - offset) / 64
        if blocks > 0 {
            SHA256.compress(&state, base + offset, blocks: blocks)
            offset += blocks * 64
        }
        if offset < buffer.count {
            pending.append(contentsOf: UnsafeRawBufferPointer(start: base + offset, count: buffer.count - offset))
        }
    }

    /// Pads the message (§5.1.1) and returns the 32-byte digest.
    public func finalize() -> Digest {
        var copy = self
        let bitLength = length &* 8
        var tail: [UInt8] = [0x80]
        let used = (Int(length % 64) + 1) % 64
        let zeros = used <= 56 ? 56 - used : 120 - used
        tail.append(contentsOf: [UInt8](repeating: 0, count: zeros))
        for i in (0..<8).reversed() { tail.append(UInt8(truncatingIfNeeded: bitLength >> (UInt64(i) * 8))) }
        let savedLength = copy.length
        copy.update(tail)
        copy.length = savedLength
        let s = copy.state
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in [s.0, s.1, s.2, s.3, s.4, s.5, s.6, s.7] {
            out.append(contentsOf: [UInt8(word >> 24), UInt8((word >> 16) & 0xff), UInt8((word >> 8) & 0xff), UInt8(word & 0xff)])
        }
        return Digest(bytes: out)
    }

    /// The compression function (§6.2.2) over `blocks` consecutive 64-byte blocks.
    private static func compress(_ state: inout (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32),
                                 _ data: UnsafeRawPointer, blocks: Int) {
        k.withUnsafeBufferPointer { kb in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                var (h0, h1, h2, h3, h4, h5, h6, h7) = state
                for block in 0..<blocks {
                    let p = data + block * 64
                    for t in 0..<16 { w[t] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: t * 4, as: UInt32.self)) }
                    for t in 16..<64 {
                        let x = w[t - 15], y = w[t - 2]
                        let s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3)
                        let s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10)
                        w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
                    }
                    var (a, b, c, d, e, f, g, h) = (h0, h1, h2, h3, h4, h5, h6, h7)
                    for t in 0..<64 {
                        let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                        let ch = (e & f) ^ (~e & g)
                        let t1 = h &+ s1 &+ ch &+ kb[t] &+ w[t]
                        let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                        let maj = (a & b) ^ (a & c) ^ (b & c)
                        h = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ s0 &+ maj
                    }
                    h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d; h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
                }
                state = (h0, h1, h2, h3, h4, h5, h6, h7)
            }
        }
    }

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    /// A 32-byte SHA-256 digest.
    public struct Digest: Sendable, Equatable, Hashable {
        /// The 32 digest bytes.
        public let bytes: [UInt8]
        /// Lowercase hex, 64 characters.
        public var hex: String {
            let digits = Array("0123456789abcdef".utf8)
            var out = [UInt8]()
            out.reserveCapacity(64)
            for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 15)]) }
            return String(decoding: out, as: UTF8.self)
        }
    }
}

extension SHA256 {
    /// Hex SHA-256 of a file's bytes, read in 1 MiB chunks; nil when it cannot be opened.
    public static func hex(ofFile path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hasher.update(raw: $0) }
        }
        return hasher.finalize().hex
    }

    /// Hex SHA-256 of a UTF-8 string (config hashes).
    public static func hex(of text: String) -> String { hash(Array(text.utf8)).hex }

    /// Hex SHA-256 of Float32 samples' little-endian bytes (the `Clip.pcmHash` definition).
    public static func hex(ofSamples samples: [Float]) -> String {
        #if _endian(little)
        return samples.withUnsafeBytes { hash(raw: $0) }.hex
        #else
        var h = SHA256()
        for s in samples { h.update(withUnsafeBytes(of: s.bitPattern.littleEndian) { Array($0) }) }
        return h.finalize().hex
        #endif
    }
}
