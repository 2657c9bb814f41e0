import EmoCore
@testable import EmoPipeline
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest

/// The attribution figures and report of EmoPipeline/Explain: well-formed SVG/XML, the numbers they draw.
final class ExplainPlotsTests: XCTestCase {
    /// Parses `svg` as XML and counts elements named `name`.
    func count(_ name: String, in svg: String) throws -> Int {
        let doc = try XMLDocument(xmlString: svg)
        return try doc.nodes(forXPath: "//*[local-name()='\(name)']").count
    }

    func testBinSumsAndTotalsAreArithmetic() {
        XCTAssertEqual(AttributionPlots.binSums([1, 2, 3, 4, 5, 6], bins: 3), [3, 7, 11])
        XCTAssertEqual(AttributionPlots.binSums([1, 2, 3], bins: 10), [1, 2, 3])
        XCTAssertEqual(AttributionPlots.modalityTotals([1, 2, -3, 0.5, 0.5],
                                                       groups: [("a", 0..<2), ("b", 2..<5)]), [3, -2])
    }

    func testFeatureNamesAndRanges() {
        let groups = [FeatureNames.Group(name: "wav2vec2", width: 2),
                      FeatureNames.Group(name: "handcrafted", width: 2, dimensionNames: ["MFCC 3 mean", "pitch mean"])]
        XCTAssertEqual(FeatureNames.names(for: groups), ["wav2vec2 dim 0", "wav2vec2 dim 1", "MFCC 3 mean", "pitch mean"])
        XCTAssertEqual(FeatureNames.ranges(for: groups).map(\.range), [0..<2, 2..<4])
    }

    func testWaveformPlotHasOnePanelPerMethodAndParses() throws {
        let samples = (0..<1000).map { Float(sin(Double($0) * 0.1)) }
        let both = AttributionPlots.waveform(samples: samples, sampleRate: 16000, ig: samples, occlusion: samples,
                                             title: "a < b & c", bins: 50)
        XCTAssertTrue(both.contains("a &lt; b &amp; c"))
        XCTAssertTrue(both.contains("IG − occlusion"))
        // IG and occlusion are the same signal, so the difference panel is all zeros: only 2 × 50 bars minus zero bins.
        let bars = try count("rect", in: both)
        XCTAssertGreaterThan(bars, 80)
        XCTAssertLessThanOrEqual(bars, 100)
        let igOnly = AttributionPlots.waveform(samples: samples, sampleRate: 16000, ig: samples, occlusion: nil,
                                               title: "t", bins: 50)
        XCTAssertFalse(igOnly.contains("Occlusion"))
        XCTAssertLessThanOrEqual(try count("rect", in: igOnly), 50)
    }

    func testFeatureBarsKeepTheTopByMagnitude() throws {
        let svg = AttributionPlots.featureBars(names: ["a", "b", "c", "d"], values: [0.1, -5, 2, 0], title: "t", top: 2)
        XCTAssertEqual(try count("rect", in: svg), 2)
        XCTAssertTrue(svg.contains(">b<") && svg.contains(">c<"))
        XCTAssertFalse(svg.contains(">a<"))
    }

    func testTokensDropSubwordMarkers() throws {
        let svg = AttributionPlots.tokens(["<s>", "ĠI", "Ġcan", "'t"], values: [0, 0.5, -1, 0.2], title: "t")
        XCTAssertEqual(try count("rect", in: svg), 4)
        XCTAssertTrue(svg.contains(">I<") && svg.contains(">can<") && svg.contains(">&lt;s&gt;<"))
        XCTAssertFalse(svg.contains("Ġ"))
    }

    func testReportJSONAndClassSummary() throws {
        let report = ExplanationReport(
            title: "clip", classNames: ["anger", "joy"], scores: [0.2, 1.5], target: 0, method: "ig", delta: 0.01,
            features: .init(groups: [.init(name: "audio", width: 2), .init(name: "text", width: 1)], values: [1, 2, -1]),
            tokens: .init(tokens: ["Ġhi", "Ġthere"], embeddingAttributions: [1, 2, 3, 4], dimension: 2))
        let json = report.json()
        XCTAssertEqual(json["predicted"], "joy")
        XCTAssertEqual(json["target"], "anger")
        XCTAssertEqual(json["modalities"]?.arrayValue?.compactMap { $0["total"]?.doubleValue }, [3, -1])
        XCTAssertEqual(json["modalities"]?.arrayValue?.compactMap { $0["share"]?.doubleValue }, [0.75, 0.25])
        XCTAssertEqual(json["top_features"]?.arrayValue?.first?["name"], "audio dim 1")
        XCTAssertEqual(json["tokens"]?.arrayValue?.compactMap { $0["attribution"]?.doubleValue }, [3, 7])
        let html = report.html()
        XCTAssertEqual(html.components(separatedBy: "<svg").count - 1, 3)   // shares, bars, tokens

        var summary = ClassModalitySummary(groups: ["audio", "text"], classNames: ["anger", "joy"])
        summary.add(label: 1, totals: [1, 3])
        summary.add(label: 1, totals: [3, 1])
        summary.add(label: 0, totals: [2, 0])
        XCTAssertEqual(summary.means.map(\.totals), [[2, 0], [2, 2]])
        XCTAssertEqual(summary.json()["joy"]?["n"], 2)
        XCTAssertEqual(try count("title", in: summary.svg()), 1 + 3)        // figure title + one per segment
    }
}
