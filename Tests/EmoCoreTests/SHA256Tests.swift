import XCTest
import EmoCore

/// SHA-256 against the FIPS 180-4 / NIST CAVP example vectors.
final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        let cases: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
            ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
             "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
            ("The quick brown fox jumps over the lazy dog",
             "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"),
        ]
        for (message, expected) in cases {
            XCTAssertEqual(SHA256.hex(of: message), expected, "message \"\(message)\"")
        }
    }

    func testOneMillionA() {
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        XCTAssertEqual(SHA256.hash(bytes).hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Every split of a message into two updates gives the one-shot digest (covers all padding boundaries).
    func testStreamingMatchesOneShot() {
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 200] {
            let whole = SHA256.hash(message.prefix(length))
            for split in stride(from: 0, through: length, by: max(1, length / 7)) {
                var h = SHA256()
                h.update(message.prefix(split))
                h.update(message[split..<length])
                XCTAssertEqual(h.finalize(), whole, "length \(length) split at \(split)")
            }
        }
    }

    func testSampleHashIsLittleEndianFloatBytes() {
        // 1.0f = 0x3f800000 → bytes 00 00 80 3f.
        XCTAssertEqual(SHA256.hex(ofSamples: [1.0]), SHA256.hash([0x00, 0x00, 0x80, 0x3f] as [UInt8]).hex)
    }
}
