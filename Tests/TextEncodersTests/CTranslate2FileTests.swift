import EmoModels
import EmoTextEncoders
import Foundation
import XCTest

/// The CTranslate2 `model.bin` reader on small files written here by the format's rules (spec: ctranslate2's
/// `ModelSpec._serialize`), including truncated and mis-shaped ones.
final class CTranslate2FileTests: XCTestCase {
    /// Serialises variables `(name, shape, dtype id, raw bytes)` and aliases as ctranslate2 (binary version 6) does.
    func serialize(_ variables: [(String, [Int], UInt8, [UInt8])], aliases: [(String, String)] = []) -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: Int) { for k in 0..<4 { out.append(UInt8((v >> (8 * k)) & 0xFF)) } }
        func string(_ s: String) {
            let bytes = Array(s.utf8)
            out += [UInt8((bytes.count + 1) & 0xFF), UInt8((bytes.count + 1) >> 8)] + bytes + [0]
        }
        u32(6); string("WhisperSpec"); u32(3); u32(variables.count)
        for (name, shape, dtype, data) in variables {
            string(name)
            out.append(UInt8(shape.count))
            for d in shape { u32(d) }
            out.append(dtype)
            u32(data.count)
            out += data
        }
        u32(aliases.count)
        for (a, t) in aliases { string(a); string(t) }
        return out
    }

    func write(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ct2-\(UUID().uuidString).bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testReadsFloat32Float16ScalarsAndAliases() throws {
        let f32: [Float] = [1.5, -2, 0.25, 3]
        let f32Bytes = f32.flatMap { v in (0..<4).map { UInt8((v.bitPattern >> (8 * $0)) & 0xFF) } }
        let halves: [Float] = [1, -0.5, 65504]
        let f16Bytes = halves.flatMap { v in (0..<2).map { UInt8((Float16(v).bitPattern >> (8 * $0)) & 0xFF) } }
        let path = try write(serialize([("a/weight", [2, 2], 0, f32Bytes), ("b/weight", [3], 4, f16Bytes),
                                        ("num_heads", [], 2, [6, 0]), ("flag", [], 1, [1])],
                                       aliases: [("c/weight", "a/weight")]))
        let file = try CTranslate2File(path: path)
        XCTAssertEqual(file.specName, "WhisperSpec")
        XCTAssertEqual(file.revision, 3)
        XCTAssertEqual(try file.floats("a/weight", shape: [2, 2]), f32)
        XCTAssertEqual(try file.floats("c/weight", shape: [2, 2]), f32)
        XCTAssertEqual(try file.floats("b/weight", shape: [3]), halves)
        XCTAssertEqual(try file.integer("num_heads"), 6)
        XCTAssertEqual(try file.integer("flag"), 1)
        XCTAssertNil(try file.integer("absent"))
    }

    func testWrongShapeMissingVariableAndTruncationAreNamed() throws {
        let path = try write(serialize([("a/weight", [2, 2], 0, [UInt8](repeating: 0, count: 16))]))
        let file = try CTranslate2File(path: path)
        XCTAssertThrowsError(try file.floats("a/weight", shape: [4])) {
            XCTAssertEqual($0 as? CheckpointError, .wrongShape(path: path, name: "a/weight", expected: [4], found: [2, 2]))
        }
        XCTAssertThrowsError(try file.floats("z", shape: [1])) {
            XCTAssertEqual($0 as? CheckpointError, .missingTensor(path: path, name: "z"))
        }
        let full = serialize([("a/weight", [2, 2], 0, [UInt8](repeating: 0, count: 16))])
        let truncated = try write(Array(full.prefix(full.count - 10)))
        XCTAssertThrowsError(try CTranslate2File(path: truncated)) {
            XCTAssertTrue("\($0)".contains("past the end"), "\($0)")
        }
        XCTAssertThrowsError(try WhisperModel(file: file)) {  // a WhisperSpec without the encoder's tensors
            XCTAssertTrue("\($0)".contains("encoder/conv1/weight"), "\($0)")
        }
    }
}
