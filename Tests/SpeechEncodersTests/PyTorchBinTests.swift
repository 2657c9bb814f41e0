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
}
