import EmoCore
import EmoPipeline
import XCTest

/// Per-class summaries of many explanations: means, modality totals and token rankings, computed by hand here.
final class BatchExplanationTests: XCTestCase {
    private func batch() -> BatchExplanation {
        BatchExplanation(name: "toy", method: "integrated-gradients", provenance: "3 toy items.",
                         groups: [FeatureNames.Group(name: "audio", width: 2, dimensionNames: ["a0", "a1"]),
                                  FeatureNames.Group(name: "text", width: 1, dimensionNames: ["t0"])],
                         classNames: ["angry", "sad"])
    }

    func testMeansPerClassAndTokenRanking() throws {
        var b = batch()
        b.addItem(correct: true)
        b.addFeatures([1, 2, 3], target: 0)
        b.addItem(correct: false)
        b.addFeatures([3, 2, -1], target: 0)
        b.addItem(correct: true)
        b.addFeatures([0, 0, 4], target: 1)
        b.addTokens(ExplanationReport.Tokens(tokens: ["<s>", "Ġno", "Ġno"], values: [0.5, 1, 3]), target: 0)
        b.addTokens(ExplanationReport.Tokens(tokens: ["Ġwhy"], values: [-5]), target: 0)
        XCTAssertEqual(b.meanFeatures(class: 0), [2, 2, 1])
        XCTAssertEqual(b.meanFeatures(class: 1), [0, 0, 4])
        let top = b.topTokens(class: 0)
        XCTAssertEqual(top.map(\.token), ["Ġwhy", "Ġno", "<s>"], "ranked by |mean|")
        XCTAssertEqual(top.map(\.mean), [-5, 2, 0.5])
        XCTAssertEqual(top.map(\.n), [1, 2, 1])
        XCTAssertTrue(b.topTokens(class: 1).isEmpty)

        let json = b.json()
        XCTAssertEqual(json["items"], 3)
        XCTAssertEqual(json["correct"], 2)
        XCTAssertEqual(json["per_class"]?["angry"]?["n"], 2)
        XCTAssertEqual(json["per_class"]?["angry"]?["mean_attribution"]?["t0"], 1)
        // Modality totals per class: audio = Σ of its columns, text = its column; class means.
        XCTAssertEqual(json["modality_per_class"]?["angry"]?["totals"]?["audio"], 4)
        XCTAssertEqual(json["modality_per_class"]?["sad"]?["totals"]?["text"], 4)
        let html = b.html()
        XCTAssertTrue(html.contains("<svg") && html.contains("Ġwhy"), "figures and tokens are on the page")
    }

    func testWritesBothFiles() throws {
        let dir = NSTemporaryDirectory() + "emokit-batch-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var b = batch()
        b.addItem(correct: true)
        b.addFeatures([1, 1, 1], target: 1)
        let paths = try b.write(to: dir)
        let json = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: paths.json)))
        XCTAssertEqual(json["per_class"]?["sad"]?["n"], 1)
        XCTAssertNil(json["per_class"]?["angry"], "classes with nothing explained are left out")
        XCTAssertTrue(try String(contentsOfFile: paths.html, encoding: .utf8).hasPrefix("<!doctype html>"))
    }
}
