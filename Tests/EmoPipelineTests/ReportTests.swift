import EmoTensor
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import EmoPipeline

final class ReportTests: XCTestCase {
    let items = SyntheticCorpus.items()
    let classes = SyntheticCorpus.emotions

    /// Predictions that are right with probability `skill` (seeded), with one-hot-ish scores.
    private func fold(_ split: Split, seed: UInt64, skill: Double) throws -> FoldResult {
        var rng = SplitMix64(seed: seed &+ UInt64(split.test.count))
        let truth = split.test.compactMap { classes.firstIndex(of: items[$0].label) }
        let predicted = truth.map { t in Double(rng.next() % 1000) / 1000 < skill ? t : rng.below(classes.count) }
        let scores = predicted.map { p in (0..<classes.count).map { $0 == p ? 0.7 : 0.05 } }
        let m = try ClassificationMetrics.compute(truth: truth, predicted: predicted, classes: classes, scores: scores)
        let curves = TrainingCurves(epochs: (1...12).map { e in
            let x = Double(e)
            return .init(epoch: e, trainLoss: 2 / x, validationLoss: 2 / x + 0.02 * x, trainAccuracy: 1 - 0.6 / x,
                         validationAccuracy: 0.9 - 0.6 / x, learningRate: 1e-3)
        }, bestEpoch: 9)
        return FoldResult(seed: seed, split: split.name, overlap: split.overlap, metrics: m, curves: curves, imputedValues: 3)
    }

    private func runs() throws -> [RunResult] {
        var out: [RunResult] = []
        for (model, skill) in [("late-fusion 512→256→128", 0.8), ("early MLP 1024→512→256", 0.7)] {
            for scaling in ["scaled (standard)", "unscaled"] {
                for proto in [SplitProtocol.stratified(testFraction: 0.2), .speakerKFold(folds: 5)] {
                    var folds: [FoldResult] = []
                    for seed: UInt64 in [42, 123, 2025] {
                        for s in try proto.splits(of: items, seed: seed) {
                            folds.append(try fold(s, seed: seed, skill: scaling == "unscaled" ? skill - 0.1 : skill))
                        }
                    }
                    out.append(RunResult(model: model, runProtocol: RunProtocol(corpus: "synthetic RAVDESS+TESS shape",
                                         split: proto.displayName, scaling: scaling, seeds: [42, 123, 2025]), folds: folds))
                }
            }
        }
        return out
    }

    func testMetricsJSONRoundTripsAndStatesTheProtocol() throws {
        let runs = try runs()
        let report = MetricsReport(title: "Synthetic", runs: runs,
                                   comparisons: [RunComparison.make(runs[0], runs[4], metric: .accuracy)])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("evalkit-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try report.write(into: folder)
        XCTAssertEqual(url.lastPathComponent, "metrics.json")
        XCTAssertEqual(try MetricsReport.read(from: url), report)
        let text = try String(contentsOf: url, encoding: .utf8)
        for needle in ["\"runProtocol\"", "\"sharedSpeakers\"", "ddof=1", "\"seeds\""] {
            XCTAssertTrue(text.contains(needle), needle)
        }
        // The summary is the mean ± std of the folds' own values.
        let acc = runs[0].folds.map(\.metrics.accuracy)
        XCTAssertEqual(report.summaries[0].metrics["accuracy"], MeanStd(acc))
        XCTAssertEqual(report.summaries[0].metrics["accuracy"]?.count, 3)
        XCTAssertEqual(report.summaries[1].metrics["accuracy"]?.count, 15, "5 folds × 3 seeds")
    }

    func testComparisonPairsFoldsBySeedAndSplit() throws {
        let runs = try runs()
        let c = RunComparison.make(runs[1], runs[5], metric: .macroF1)  // same protocol, different model
        XCTAssertEqual(c.pairs, 15)
        let diffs = zip(runs[1].folds, runs[5].folds).map { $0.metrics.macroF1 - $1.metrics.macroF1 }
        XCTAssertEqual(c.meanDifference, diffs.reduce(0, +) / 15, accuracy: 1e-12)
        XCTAssertEqual(c.wilcoxon, try PairedTests.wilcoxon(runs[1].folds.map(\.metrics.macroF1), runs[5].folds.map(\.metrics.macroF1)))
        XCTAssertEqual(RunComparison.make(runs[0], runs[1], metric: .accuracy).pairs, 0, "different splits never pair")
    }

    func testReferenceTableLayout() throws {
        let table = ReferenceTable(runs: try runs(), metric: .accuracy)
        XCTAssertEqual(table.columns, ["random 80/20", "speaker-independent 5-fold"])
        XCTAssertEqual(table.rows.map(\.model), ["late-fusion 512→256→128", "late-fusion 512→256→128",
                                                 "early MLP 1024→512→256", "early MLP 1024→512→256"])
        XCTAssertEqual(table.rows.map(\.scaling), ["scaled (standard)", "unscaled", "scaled (standard)", "unscaled"])
        XCTAssertTrue(table.rows.allSatisfy { $0.cells.allSatisfy { $0 != nil } })
        let text = table.text()
        XCTAssertEqual(text.split(separator: "\n").count, 6)
        XCTAssertTrue(text.contains(" ± "))
    }

    func testHTMLIsSelfContainedWithWellFormedSVG() throws {
        let runs = try runs()
        let report = MetricsReport(title: "Study A <synthetic> & co", runs: runs,
                                   comparisons: [RunComparison.make(runs[0], runs[4], metric: .accuracy)])
        let html = HTMLReport.render(report)
        XCTAssertFalse(html.lowercased().contains("<script"))
        XCTAssertFalse(html.contains("http://") && html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "").contains("http://"),
                       "no external resources")
        XCTAssertTrue(html.contains("Study A &lt;synthetic&gt; &amp; co"))
        // Per run: confusion matrix, F1 bars, loss and accuracy curves.
        let svgs = html.components(separatedBy: "<svg ").dropFirst().map { "<svg " + ($0.components(separatedBy: "</svg>").first ?? "") + "</svg>" }
        XCTAssertEqual(svgs.count, runs.count * 4)
        for svg in svgs {
            let parser = XMLParser(data: Data(svg.utf8))
            XCTAssertTrue(parser.parse(), "SVG is well-formed XML: \(parser.parserError.map { "\($0)" } ?? "")")
        }
        // The reference table's first cell is the first run's accuracy, in percent.
        let first = try XCTUnwrap(runs[0].summary(.accuracy)).formatted(digits: 2, scale: 100)
        XCTAssertTrue(html.contains(">\(first)</td>"))
        // Every split's overlap is listed: one row per (seed, fold) in the details tables.
        XCTAssertEqual(html.components(separatedBy: "<details>").count - 1, runs.count)
        XCTAssertTrue(html.contains("speaker-independent 5-fold fold 3/5 seed 2025"))
        // Confusion-matrix counts sum to the tested items.
        XCTAssertEqual(runs[0].pooledConfusion.flatMap { $0 }.reduce(0, +), runs[0].folds.reduce(0) { $0 + $1.metrics.count })
        if let out = ProcessInfo.processInfo.environment["EVALKIT_REPORT_OUT"] {
            try HTMLReport.write(report, into: URL(fileURLWithPath: out))
        }
    }
}
