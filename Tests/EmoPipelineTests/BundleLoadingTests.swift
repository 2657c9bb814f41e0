import EmoCore
import EmoTestSupport
import Foundation
import XCTest
@testable import EmoPipeline

/// Bundle and spec inputs the fuzzer (Fuzz/, docs/hardening.md) turned up: each is refused with an error that
/// says what is wrong, where it used to trap.
final class BundleLoadingTests: XCTestCase {
    /// The demo bundle's scaler JSON, edited.
    private func demoScaler(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        let url = TestRepository.root.appendingPathComponent("Sources/emo/Demo/bundle/scaler.json")
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    /// Group widths whose sum overflows Int used to trap in `FeatureLayout.width` while the scaler was checked.
    func testScalerWidthsThatOverflowAreRefused() throws {
        let data = try demoScaler { $0["layout"] = ["groups": [["name": "a", "width": Int.max], ["name": "b", "width": 2]]] }
        XCTAssertThrowsError(try FittedScaler.load(data: data, path: "/b/scaler.json")) {
            XCTAssertTrue("\($0)".contains("the layout's group widths add up to more columns than an Int holds"), "\($0)")
        }
        // Through a bundle folder too (what `emo predict` and `emo serve` load).
        let dir = try TestRepository.temporaryFolder(self, prefix: "emokit-bundle").appendingPathComponent("bundle").path
        try FileManager.default.copyItem(atPath: TestRepository.path("Sources/emo/Demo/bundle"), toPath: dir)
        try data.write(to: URL(fileURLWithPath: dir + "/scaler.json"))
        XCTAssertThrowsError(try PipelineBundle.load(dir)) { XCTAssertTrue("\($0)".contains("group widths"), "\($0)") }
    }

    /// A corpus source's `meldClasses` beyond Int (1e300) used to trap converting to Int; a fraction was truncated.
    func testMeldClassesThatIsNoIntegerIsRefused() {
        for value in [1e300, -1e300, 5.5] {
            let source = CorpusSource(kind: "meld", path: "/nonexistent/meld", options: ["meldClasses": .number(value)])
            XCTAssertThrowsError(try CorpusLoader.load(source: source, environment: [:])) {
                XCTAssertEqual($0 as? CorpusError, .invalidOption("meldClasses must be 7 or 5, got \(value)"))
            }
        }
    }
}
