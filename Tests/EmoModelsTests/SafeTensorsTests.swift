import EmoModels
import EmoTestSupport
import Foundation
import XCTest

/// The safetensors reader: dtype conversion against torch, round trips, and malformed files rejected with errors.
final class SafeTensorsTests: XCTestCase {
    /// F16 and BF16 convert to exactly the Float32 values torch's `.float()` gives (fixture from the reference script).
    func testHalfAndBFloat16ConvertLikeTorch() throws {
        let f = try SafeTensorsFile(path: TestRepository.root.appendingPathComponent("Tests/EmoModelsTests/Fixtures/encoders/dtypes.safetensors").path)
        XCTAssertEqual(try f.info("f16").dtype, .f16)
        XCTAssertEqual(try f.info("bf16").dtype, .bf16)
        let h = try f.floats("f16"), hRef = try f.floats("f16_as_f32")
        let b = try f.floats("bf16"), bRef = try f.floats("bf16_as_f32")
        XCTAssertEqual(h.map(\.bitPattern), hRef.map(\.bitPattern), "F16 → F32 must be bit-exact (incl. -0, subnormals, 65504)")
        XCTAssertEqual(b.map(\.bitPattern), bRef.map(\.bitPattern), "BF16 → F32 must be bit-exact")
        XCTAssertEqual(f.metadata["about"], "dtype conversion fixture")
    }

    func testWriterRoundTripsEveryDType() throws {
        let dir = try TestRepository.temporaryFolder(self, prefix: "emomodels")
        let path = dir.appendingPathComponent("rt.safetensors").path
        var w = SafeTensorsWriter()
        let values: [Float] = [0, -0.0, 1, -2.5, 3.140625, 1e-3, 65504, -7.75]
        w.add("a.f32", shape: [2, 4], values: values)
        w.add("a.f16", shape: [8], values: values, dtype: .f16)
        w.add("a.bf16", shape: [4, 2], values: values, dtype: .bf16)
        w.add("empty", shape: [0, 3], values: [])
        w.metadata["format"] = "pt"
        try w.write(to: path)
        let f = try SafeTensorsFile(path: path)
        XCTAssertEqual(try f.floats("a.f32"), values)
        XCTAssertEqual(try f.info("a.bf16").shape, [4, 2])
        // Values exactly representable in each format survive; others round to nearest even.
        XCTAssertEqual(try f.floats("a.f16")[3], -2.5)
        XCTAssertEqual(try f.floats("a.f16")[6], 65504)
        XCTAssertEqual(try f.floats("a.bf16")[4], 3.140625)
        XCTAssertEqual(try f.floats("a.f16")[5], 1e-3, accuracy: 1e-6)
        XCTAssertEqual(try f.floats("empty"), [])
        XCTAssertEqual(f.metadata["format"], "pt")
        XCTAssertThrowsError(try f.floats("nope")) { e in
            XCTAssertEqual(e as? CheckpointError, .missingTensor(path: path, name: "nope"))
        }
    }

    /// Writes `header` (raw JSON text, length-prefixed) followed by `data` bytes.
    func file(header: String, data: [UInt8] = [], headerLength: UInt64? = nil) throws -> String {
        let dir = try TestRepository.temporaryFolder(self, prefix: "emomodels")
        let path = dir.appendingPathComponent("bad.safetensors").path
        var bytes: [UInt8] = []
        withUnsafeBytes(of: (headerLength ?? UInt64(header.utf8.count)).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += Array(header.utf8) + data
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func assertMalformed(_ path: String, _ needle: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(path: path), file: file, line: line) { e in
            guard case .malformed(let p, let m)? = e as? CheckpointError else {
                return XCTFail("expected .malformed, got \(e)", file: file, line: line)
            }
            XCTAssertEqual(p, path, file: file, line: line)
            XCTAssertTrue(m.contains(needle), "message '\(m)' should mention '\(needle)'", file: file, line: line)
        }
    }

    /// The in-place F32 writer (what a fine-tuned encoder's state goes through) writes the same bytes as the
    /// entry writer, and the file reads back.
    func testInPlaceF32WriterEqualsTheEntryWriter() throws {
        let a: [Float] = [0, -0.0, 1, -2.5, 3.140625, 1e-3, .greatestFiniteMagnitude, -7.75]
        let b: [Float] = (0..<37).map { Float($0) * 0.37 - 5 }
        var w = SafeTensorsWriter()
        w.metadata = ["format": "pt", "emokit.dropout_state": "1,2,3,4"]
        w.add("layer.b", shape: [37], values: b)
        w.add("layer.a", shape: [2, 4], values: a)
        w.add("empty", shape: [0, 3], values: [])
        let viaEntries = w.serialized()
        let viaViews = a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                [Float]().withUnsafeBufferPointer { ep in
                    SafeTensorsWriter.serializedF32([TensorView(name: "layer.b", shape: [37], values: bp),
                                                     TensorView(name: "layer.a", shape: [2, 4], values: ap),
                                                     TensorView(name: "empty", shape: [0, 3], values: ep)],
                                                    metadata: w.metadata)
                }
            }
        }
        XCTAssertEqual(viaViews.count, viaEntries.count)
        XCTAssertTrue(viaViews == viaEntries, "the in-place writer's bytes differ from the entry writer's")
        let (file, state) = try EncoderState.read(viaViews)
        XCTAssertEqual(try file.floats("layer.a"), a)
        XCTAssertEqual(try file.floats("layer.b"), b)
        XCTAssertEqual(state, [1, 2, 3, 4])
    }

    func testMalformedHeadersAreErrorsNotCrashes() throws {
        assertMalformed(try file(header: "", headerLength: 0), "not JSON")
        assertMalformed(try file(header: "{}", headerLength: 1 << 62), "exceeds the file")
        assertMalformed(try file(header: "{\"a\":", data: []), "not JSON")
        assertMalformed(try file(header: "[1,2]"), "not a JSON object")
        assertMalformed(try file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0]), "outside")
        assertMalformed(try file(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)), "needs 12")
        assertMalformed(try file(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)), "more elements")
        assertMalformed(try file(header: #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#), "negative")
        assertMalformed(try file(header: #"{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}}"#, data: [0]), "unknown dtype")
        assertMalformed(try file(header: #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, data: Array(repeating: 0, count: 8)), "outside")
        assertMalformed(try file(header: #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: Array(repeating: 0, count: 8)), "non-integer")
        assertMalformed(try file(header: #"{"w":{"dtype":"F32","shape":[1]}}"#, data: Array(repeating: 0, count: 4)), "data_offsets")
        // Shorter than the length prefix itself.
        let dir = try TestRepository.temporaryFolder(self, prefix: "emomodels")
        let tiny = dir.appendingPathComponent("tiny.safetensors").path
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: tiny))
        assertMalformed(tiny, "shorter than")
    }

    func testTruncatedCheckpointIsRejected() throws {
        let src = TestRepository.root.appendingPathComponent("Tests/EmoModelsTests/Fixtures/encoders/wav2vec2-base").appendingPathComponent("model.safetensors")
        let bytes = try Data(contentsOf: src)
        let dir = try TestRepository.temporaryFolder(self, prefix: "emomodels")
        for cut in [4, 40, bytes.count / 2, bytes.count - 1] {
            let path = dir.appendingPathComponent("cut\(cut).safetensors").path
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try SafeTensorsFile(path: path), "cut at \(cut)") { e in
                guard case .malformed? = e as? CheckpointError else { return XCTFail("expected .malformed, got \(e)") }
            }
        }
    }

    func testUnsupportedDTypeIsNamed() throws {
        let path = try file(header: #"{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8))
        let f = try SafeTensorsFile(path: path)
        XCTAssertThrowsError(try f.floats("ids")) { e in
            XCTAssertEqual(e as? CheckpointError, .unsupportedDType(path: path, name: "ids", dtype: "I64"))
        }
    }

    func testMissingFileIsAnIOError() {
        XCTAssertThrowsError(try SafeTensorsFile(path: "/nonexistent/model.safetensors")) { e in
            guard case .io? = e as? CheckpointError else { return XCTFail("expected .io, got \(e)") }
        }
    }
}
