import EmoCore
import XCTest

final class JSONValueTests: XCTestCase {
    func testRoundTripKeepsTypes() throws {
        let v = try JSONValue.parse(#"{"a": true, "b": 1, "c": [1.5, "x", null], "d": {"e": false}}"#)
        XCTAssertEqual(v["a"], .bool(true))
        XCTAssertEqual(v["b"], .number(1))
        XCTAssertEqual(v["c"], .array([.number(1.5), .string("x"), .null]))
        XCTAssertEqual(try JSONValue.parse(v.serialized()), v)
    }

    func testMalformedIsATypedError() {
        XCTAssertThrowsError(try JSONValue.parse("{\"a\": ")) { error in
            guard case JSONValueError.malformed = error else { return XCTFail("wrong error \(error)") }
        }
    }

    func testMergeOverridesNestedMembers() {
        let base: JSONValue = ["a": 1, "n": ["x": 1, "y": 2]]
        let merged = base.merging(["n": ["y": 3]])
        XCTAssertEqual(merged, ["a": 1, "n": ["x": 1, "y": 3]])
    }

    func testComponentIDRules() {
        XCTAssertTrue(ComponentInfo.isValidID("wav2vec2-base"))
        XCTAssertFalse(ComponentInfo.isValidID("Wav2Vec2"))
        XCTAssertFalse(ComponentInfo.isValidID(""))
        XCTAssertFalse(ComponentInfo.isValidID("a_b"))
    }
}
