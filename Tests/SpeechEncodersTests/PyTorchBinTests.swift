import EmoModels
import EmoSpeechEncoders
import Foundation
import XCTest

/// `pytorch_model.bin` (torch.save zip + pickle) read without Python, and hostile files rejected.
final class PyTorchBinTests: XCTestCase {
    func testBinMatchesSafetensorsExactly() throws {
        let bin = try PyTorchBinFile(path: Fixtures.encoder("wav2vec2-base-bin").appendingPathComponent("pytorch_model.bin").path)
        let st = try SafeTensorsFile(path: Fixtures.encoder("wav2vec2-base").appendingPathComponent("model.safetensors").path)
        XCTAssertEqual(Set(bin.names), Set(st.names))
        for name in st.names {
            XCTAssertEqual(bin.shape(of: name), st.shape(of: name), name)
            XCTAssertEqual(try bin.floats(name), try st.floats(name), name)
        }
    }

    func testEncoderLoadsABinFolderAndF16Bin() throws {
        let x = (0..<1200).map { sinf(Float($0) * 0.03) }
        let ref = try SpeechEncoder(directory: Fixtures.encoder("wav2vec2-base").path).forward(x, batch: 1, samples: 1200)
        let fromBin = try SpeechEncoder(directory: Fixtures.encoder("wav2vec2-base-bin").path).forward(x, batch: 1, samples: 1200)
        XCTAssertEqual(fromBin.hiddenStates, ref.hiddenStates)
        let half = try PyTorchBinFile(path: Fixtures.encoder("wav2vec2-base-bin-f16").appendingPathComponent("pytorch_model.bin").path)
        let st = try SafeTensorsFile(path: Fixtures.encoder("wav2vec2-base").appendingPathComponent("model.safetensors").path)
        let w = try half.floats("encoder.layers.0.attention.q_proj.weight"), w32 = try st.floats("encoder.layers.0.attention.q_proj.weight")
        XCTAssertEqual(w, w32.map { Float(Float16($0)) }, "f16 storage converts to the f16-rounded values")
    }

    func testHostileOrBrokenFilesAreErrors() throws {
        let dir = try Fixtures.tempDir()
        let good = try Data(contentsOf: Fixtures.encoder("wav2vec2-base-bin").appendingPathComponent("pytorch_model.bin"))
        // Truncated archive.
        let cut = dir.appendingPathComponent("cut.bin")
        try good.prefix(good.count / 2).write(to: cut)
        XCTAssertThrowsError(try PyTorchBinFile(path: cut.path))
        // Not a zip at all.
        let junk = dir.appendingPathComponent("junk.bin")
        try Data(repeating: 7, count: 100).write(to: junk)
        XCTAssertThrowsError(try PyTorchBinFile(path: junk.path)) { XCTAssertTrue("\($0)".contains("not a ZIP"), "\($0)") }
        // A pickle that asks for os.system is refused before anything runs: patch the stored data.pkl in place
        // (same length: "os<spaces>\nsystem\n" over "torch._utils\n_rebuild_tensor_v2\n").
        var bytes = [UInt8](good)
        let needle = Array("torch._utils\n_rebuild_tensor_v2\n".utf8)
        let at = try XCTUnwrap((0...(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle },
                               "fixture pickle should name torch._utils._rebuild_tensor_v2 through GLOBAL")
        let evil = Array("os".utf8) + Array(repeating: UInt8(ascii: " "), count: needle.count - 10) + Array("\nsystem\n".utf8)
        XCTAssertEqual(evil.count, needle.count)
        bytes.replaceSubrange(at..<(at + needle.count), with: evil)
        let bad = dir.appendingPathComponent("evil.bin")
        try Data(bytes).write(to: bad)
        XCTAssertThrowsError(try PyTorchBinFile(path: bad.path)) { XCTAssertTrue("\($0)".contains("refusing to call"), "\($0)") }
    }

    /// A torch.save-shaped archive (stored ZIP) holding `archive/data.pkl` = `pickle` and one storage `archive/data/0`.
    static func archive(pickle: [UInt8], storage: [UInt8] = [UInt8](repeating: 0, count: 16)) -> Data {
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int) -> [UInt8] { u16(v & 0xFFFF) + u16(v >> 16 & 0xFFFF) }
        let entries = [("archive/data.pkl", pickle), ("archive/data/0", storage)]
        for (name, body) in entries {
            let offset = out.count, n = Array(name.utf8)
            out += u32(0x0403_4B50) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(body.count) + u32(body.count)
                + u16(n.count) + u16(0) + n + body
            central += u32(0x0201_4B50) + u16(20) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(body.count)
                + u32(body.count) + u16(n.count) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(offset) + n
        }
        let cd = out.count
        out += central + u32(0x0605_4B50) + u16(0) + u16(0) + u16(entries.count) + u16(entries.count)
            + u32(central.count) + u32(cd) + u16(0)
        return Data(out)
    }

    /// Pickles that would crash a naive reader are refused with a message: 50 000 nested tuples (a stack overflow
    /// when freed) and a tensor whose storage offset is near 2^62 (an arithmetic overflow trap).
    func testDeepNestingAndHugeOffsetsAreRefused() throws {
        let dir = try Fixtures.tempDir()
        // PROTO 2, EMPTY_TUPLE, 50 000 × TUPLE1, STOP
        let deep: [UInt8] = [0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: 50_000) + [0x2E]
        let deepPath = dir.appendingPathComponent("deep.bin")
        try Self.archive(pickle: deep).write(to: deepPath)
        XCTAssertThrowsError(try PyTorchBinFile(path: deepPath.path)) {
            XCTAssertTrue("\($0)".contains("nest more than 1000 levels"), "\($0)")
        }
        // {"w": _rebuild_tensor_v2(persistent storage "0", offset 2^62, size (4,), stride (1,))}
        func str(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }
        func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array((module + "\n" + name + "\n").utf8) }
        let offset: [UInt8] = [0x8A, 0x08] + [0, 0, 0, 0, 0, 0, 0, 0x40]  // LONG1 2^62
        let pid: [UInt8] = [0x28] + str("storage") + global("torch", "FloatStorage") + str("0") + str("cpu") + [0x4B, 4, 0x74, 0x51]
        let tensor: [UInt8] = global("torch._utils", "_rebuild_tensor_v2") + [0x28] + pid + offset
            + [0x4B, 4, 0x85] + [0x4B, 1, 0x85] + [0x89] + [0x74, 0x52]
        let huge: [UInt8] = [0x80, 0x02, 0x7D] + str("w") + tensor + [0x73, 0x2E]
        let hugePath = dir.appendingPathComponent("huge.bin")
        try Self.archive(pickle: huge).write(to: hugePath)
        XCTAssertThrowsError(try PyTorchBinFile(path: hugePath.path)) {
            XCTAssertTrue("\($0)".contains("storage offset"), "\($0)")
        }
        // The same tensor at offset 0 reads (the archive writer and pickle are right; only the offset was hostile).
        let fine: [UInt8] = [0x80, 0x02, 0x7D] + str("w") + global("torch._utils", "_rebuild_tensor_v2") + [0x28] + pid
            + [0x4B, 0] + [0x4B, 4, 0x85] + [0x4B, 1, 0x85] + [0x89] + [0x74, 0x52] + [0x73, 0x2E]
        let finePath = dir.appendingPathComponent("fine.bin")
        try Self.archive(pickle: fine, storage: [UInt8](repeating: 0, count: 16)).write(to: finePath)
        let file = try PyTorchBinFile(path: finePath.path)
        XCTAssertEqual(file.shape(of: "w"), [4])
        XCTAssertEqual(try file.floats("w"), [0, 0, 0, 0])
    }
}
