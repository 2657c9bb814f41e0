import EmoCore
import EmoRuntime
import Foundation
import XCTest

/// `registry.json` as `RegistryFile.load` reads it: paths resolved, pins and flags checked, every malformed form a
/// `malformedRegistry` naming the file (Fuzz/'s `registry` target feeds it arbitrary bytes; these are its seeds' cases).
final class RegistryParsingTests: XCTestCase {
    private func load(_ text: String) throws -> (RegistryFile, String) {
        let dir = try RuntimeFixtures.temporaryDirectory()
        let path = dir + "/registry.json"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return (try RegistryFile.load(path, hostDirectory: "/opt/emokit/bin"), dir)
    }

    func testEntriesResolveAgainstTheHostAndTheRegistryFolder() throws {
        let pin = String(repeating: "ab", count: 32)
        let (file, dir) = try load(#"{"format": 1, "plugins": [{"library": "@host/libA.so"}, {"library": "../x/./libB.so", "enabled": false}, {"library": "/abs//libC.so", "sha256": "\#(pin)"}]}"#)
        XCTAssertEqual(file.entries.map(\.path), ["/opt/emokit/bin/libA.so",
                                                  ((dir as NSString).deletingLastPathComponent as NSString).appendingPathComponent("x/libB.so"),
                                                  "/abs/libC.so"])
        XCTAssertEqual(file.entries.map(\.enabled), [true, false, true])
        XCTAssertEqual(file.entries.map(\.pinnedSHA256), [nil, nil, pin])
    }

    func testMalformedRegistriesAreTypedErrors() throws {
        let cases: [(String, String)] = [
            ("", "malformed JSON"),
            ("[1]", "top level must be an object"),
            (#"{"format": 1.5, "plugins": []}"#, "missing integer \"format\""),
            (#"{"format": 2, "plugins": []}"#, "format 2 is not supported"),
            (#"{"format": 1}"#, "missing array \"plugins\""),
            (#"{"format": 1, "plugins": [{"library": ""}]}"#, "plugins[0] has no string \"library\""),
            (#"{"format": 1, "plugins": [{"library": "a.so", "sha256": "ABC"}]}"#, "64 lower-case hex digits"),
            (#"{"format": 1, "plugins": [{"library": "a.so", "enabled": "yes"}]}"#, "must be true or false"),
            (String(repeating: "[", count: 100_000), "malformed JSON"),
        ]
        for (text, needle) in cases {
            XCTAssertThrowsError(try load(text), text.prefix(60).description) { error in
                guard case .malformedRegistry(let path, let reason)? = error as? RuntimeError else {
                    return XCTFail("expected malformedRegistry, got \(error)")
                }
                XCTAssertTrue(path.hasSuffix("/registry.json"))
                XCTAssertTrue(reason.contains(needle), "'\(reason)' should contain '\(needle)'")
            }
        }
    }
}
