import EmoCore
import EmoModels
import EmoTestSupport
import EmoTextEncoders
import Foundation
import XCTest

/// Cached features follow a model's content, not its name: the resolved config (the feature-cache key) carries the
/// folder's content hash, which changes when the weights are overwritten in place.
final class CheckpointFingerprintTests: XCTestCase {
    func checkpointHash(_ folder: String) throws -> String? {
        try RobertaEncoder(config: ["model": .string(folder)]).resolvedDescription["config"]?["checkpoint_sha256"]?.stringValue
    }

    func testOverwrittenWeightsChangeTheKeyAndUnchangedOnesDoNot() throws {
        let dir = try TestRepository.temporaryFolder(self)
        setenv("EMOKIT_FINGERPRINT_CACHE", dir.appendingPathComponent("fingerprints.json").path, 1)
        defer { unsetenv("EMOKIT_FINGERPRINT_CACHE") }
        let folder = dir.appendingPathComponent("model").path
        try FileManager.default.copyItem(atPath: Fixtures.folder.appendingPathComponent("tiny-roberta").path, toPath: folder)
        let first = try XCTUnwrap(try checkpointHash(folder))
        XCTAssertEqual(first.count, 64)
        XCTAssertEqual(try checkpointHash(folder), first, "same files, same key (served from the fingerprint cache)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("fingerprints.json").path))

        // Overwrite one weight value in place (the file stays a valid checkpoint of the same shape).
        let weights = folder + "/model.safetensors"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: weights)))
        bytes[bytes.count - 2] ^= 0x10
        try Data(bytes).write(to: URL(fileURLWithPath: weights))
        let second = try XCTUnwrap(try checkpointHash(folder))
        XCTAssertNotEqual(second, first, "different weights under the same name must not share cached features")
        // Another folder with identical content has the same fingerprint (content, not path).
        let copy = dir.appendingPathComponent("copy").path
        try FileManager.default.copyItem(atPath: folder, toPath: copy)
        XCTAssertEqual(try CheckpointFingerprint.of(folder: copy), second)
    }
}
