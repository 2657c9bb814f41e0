import EmoModels
import EmoTestSupport
import Foundation
import XCTest

/// Checkpoint inputs found while fuzzing the loaders (Fuzz/, docs/hardening.md): each is an error that names the
/// problem, where it used to trap.
final class CheckpointHostileInputTests: XCTestCase {
    /// A torch.save-shaped stored ZIP holding `archive/data.pkl` = `pickle` and one 16-byte storage `archive/data/0`.
    static func archive(pickle: [UInt8]) -> Data {
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int) -> [UInt8] { u16(v & 0xFFFF) + u16(v >> 16 & 0xFFFF) }
        let entries = [("archive/data.pkl", pickle), ("archive/data/0", [UInt8](repeating: 0, count: 16))]
        for (name, body) in entries {
            let offset = out.count, n = Array(name.utf8)
            out += u32(0x0403_4B50) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(body.count) + u32(body.count)
            out += u16(n.count) + u16(0) + n + body
            central += u32(0x0201_4B50) + u16(20) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(body.count)
            central += u32(body.count) + u16(n.count) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(offset) + n
        }
        let cd = out.count
        out += central + u32(0x0605_4B50) + u16(0) + u16(0) + u16(entries.count) + u16(entries.count)
        out += u32(central.count) + u32(cd) + u16(0)
        return Data(out)
    }

    /// `{"w": _rebuild_tensor_v2(storage "0", 0, size, stride)}` as a protocol-2 pickle; `size`/`stride` are the
    /// opcodes that push each tuple.
    static func tensorPickle(size: [UInt8], stride: [UInt8]) -> [UInt8] {
        func str(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }
        func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array((module + "\n" + name + "\n").utf8) }
        let pid: [UInt8] = [0x28] + str("storage") + global("torch", "FloatStorage") + str("0") + str("cpu") + [0x4B, 4, 0x74, 0x51]
        return [0x80, 0x02, 0x7D] + str("w") + global("torch._utils", "_rebuild_tensor_v2") + [0x28] + pid + [0x4B, 0]
            + size + stride + [0x89, 0x74, 0x52, 0x73, 0x2E]
    }

    private func write(_ data: Data) throws -> String {
        let path = try TestRepository.temporaryFolder(self, prefix: "emomodels").appendingPathComponent("pytorch_model.bin").path
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Size (2^62, 2^62, 0) with strides (0, 0, 1) is contiguous and empty, but its element count, multiplied left to
    /// right as `floats` does, overflows before the 0: it used to pass the check and trap in `floats`.
    func testAnEmptyTensorWhoseSizesOverflowIsRefused() throws {
        let big: [UInt8] = [0x8A, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x40]  // LONG1 2^62
        let pickle = Self.tensorPickle(size: big + big + [0x4B, 0, 0x87], stride: [0x4B, 0, 0x4B, 0, 0x4B, 1, 0x87])
        let path = try write(Self.archive(pickle: pickle))
        XCTAssertThrowsError(try { let file = try PyTorchBinFile(path: path); _ = try file.floats("w") }()) {
            XCTAssertTrue("\($0)".contains("tensor too large"), "\($0)")
        }
        // A real empty tensor still loads.
        let empty = Self.tensorPickle(size: [0x4B, 0, 0x85], stride: [0x4B, 1, 0x85])
        let file = try PyTorchBinFile(path: try write(Self.archive(pickle: empty)))
        XCTAssertEqual(file.shape(of: "w"), [0])
        XCTAssertEqual(try file.floats("w"), [])
    }
}
