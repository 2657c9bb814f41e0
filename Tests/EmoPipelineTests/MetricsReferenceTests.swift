import EmoTestSupport
import Foundation
import XCTest
@testable import EmoPipeline

/// Finds the repository root and reads the evalkit fixtures (made by Tests/Reference/metrics_reference.py).
enum EvalkitFixtures {
    /// The folder holding Package.swift, found by walking up from this file.
    static func repoRoot() -> URL? { TestRepository.root }

    /// The parsed reference JSON (sklearn / SciPy values).
    static func reference() throws -> [String: Any] {
        guard let root = repoRoot() else { throw XCTSkip("cannot find the repository root from \(#filePath)") }
        let url = root.appendingPathComponent("Tests/EmoPipelineTests/Fixtures/evalkit/metrics_reference.json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        guard let dict = object as? [String: Any] else { throw XCTSkip("metrics_reference.json is not an object") }
        return dict
    }

    /// `value` as Double (JSON numbers come back as NSNumber).
    static func double(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }
    /// `value` as [Double].
    static func doubles(_ value: Any?) -> [Double] { (value as? [Any] ?? []).compactMap { double($0) } }
    /// `value` as [Int].
    static func ints(_ value: Any?) -> [Int] { (value as? [Any] ?? []).compactMap { ($0 as? NSNumber)?.intValue } }
}

final class MetricsReferenceTests: XCTestCase {
    func testClassificationMetricsMatchScikitLearn() throws {
        let ref = try EvalkitFixtures.reference()
        let tol = EvalkitFixtures.double((ref["tolerance"] as? [String: Any])?["metrics"]) ?? 1e-12
        let cases = try XCTUnwrap(ref["metrics"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 3)
        for c in cases {
            let name = c["name"] as? String ?? "?"
            let k = try XCTUnwrap((c["classes"] as? NSNumber)?.intValue)
            let scores = (c["scores"] as? [Any])?.map { EvalkitFixtures.doubles($0) }
            let m = try ClassificationMetrics.compute(truth: EvalkitFixtures.ints(c["truth"]),
                                                      predicted: EvalkitFixtures.ints(c["predicted"]),
                                                      classes: (0..<k).map { "c\($0)" }, scores: scores)
            for key in ["accuracy", "balancedAccuracy", "macroF1", "weightedF1"] {
                let mine: Double = switch key {
                case "accuracy": m.accuracy
                case "balancedAccuracy": m.balancedAccuracy
                case "macroF1": m.macroF1
                default: m.weightedF1
                }
                XCTAssertEqual(mine, try XCTUnwrap(EvalkitFixtures.double(c[key])), accuracy: tol, "\(name) \(key)")
            }
            for (mine, theirs) in zip(m.perClass.map(\.precision), EvalkitFixtures.doubles(c["precision"])) {
                XCTAssertEqual(mine, theirs, accuracy: tol, "\(name) precision")
            }
            XCTAssertEqual(m.perClass.map(\.support), EvalkitFixtures.ints(c["support"]), "\(name)")
            for (mine, theirs) in zip(m.perClass.map(\.recall), EvalkitFixtures.doubles(c["recall"])) {
                XCTAssertEqual(mine, theirs, accuracy: tol, "\(name) recall")
            }
            for (mine, theirs) in zip(m.perClass.map(\.f1), EvalkitFixtures.doubles(c["f1"])) {
                XCTAssertEqual(mine, theirs, accuracy: tol, "\(name) f1")
            }
            XCTAssertEqual(m.confusion, (c["confusion"] as? [Any] ?? []).map { EvalkitFixtures.ints($0) }, name)
            let aucs = c["auc"] as? [Any] ?? []
            XCTAssertEqual(aucs.count, k)
            for (cls, expected) in aucs.enumerated() {
                if let e = EvalkitFixtures.double(expected) {
                    XCTAssertEqual(try XCTUnwrap(m.perClass[cls].auc), e, accuracy: tol, "\(name) auc[\(cls)]")
                } else {
                    XCTAssertNil(m.perClass[cls].auc, "\(name) auc[\(cls)] should be undefined")
                }
            }
            if let e = EvalkitFixtures.double(c["macroAUC"]) {
                XCTAssertEqual(try XCTUnwrap(m.macroAUC), e, accuracy: tol, "\(name) macroAUC")
                XCTAssertEqual(try XCTUnwrap(m.weightedAUC), try XCTUnwrap(EvalkitFixtures.double(c["weightedAUC"])),
                               accuracy: tol, "\(name) weightedAUC")
            } else {
                XCTAssertNil(m.macroAUC, "\(name): a class without true samples leaves macro AUC undefined")
            }
        }
    }

    func testMeanStdMatchesNumPy() throws {
        let ref = try XCTUnwrap(try EvalkitFixtures.reference()["meanStd"] as? [String: Any])
        let values = EvalkitFixtures.doubles(ref["values"])
        let s1 = MeanStd(values), s0 = MeanStd(values, ddof: 0)
        XCTAssertEqual(s1.mean, try XCTUnwrap(EvalkitFixtures.double(ref["mean"])), accuracy: 1e-15)
        XCTAssertEqual(s1.std, try XCTUnwrap(EvalkitFixtures.double(ref["std_ddof1"])), accuracy: 1e-15)
        XCTAssertEqual(s0.std, try XCTUnwrap(EvalkitFixtures.double(ref["std_ddof0"])), accuracy: 1e-15)
        XCTAssertEqual(s1.ddof, 1)
        XCTAssertEqual(MeanStd([0.5]).std, 0, "one value has no spread")
    }

    func testMeanStdFormatting() {
        XCTAssertEqual(MeanStd([0.8, 0.82, 0.84]).description, "82.00 ± 2.00")
        XCTAssertEqual(MeanStd([1.0, 2.0]).formatted(digits: 3), "1.500 ± 0.707")
        XCTAssertEqual(MeanStd.fixed(-0.0004, 2), "0.00")
        XCTAssertEqual(MeanStd.fixed(-1.25, 1), "-1.3")
    }

    func testMetricErrorsNameTheProblem() {
        XCTAssertThrowsError(try ClassificationMetrics.compute(truth: [0, 1], predicted: [0], classes: ["a", "b"])) {
            XCTAssertTrue(String(describing: $0).contains("predicted has 1 entries, expected 2"))
        }
        XCTAssertThrowsError(try ClassificationMetrics.compute(truth: [0, 2], predicted: [0, 1], classes: ["a", "b"])) {
            XCTAssertEqual($0 as? MetricsError, .classOutOfRange(index: 2, classes: 2))
        }
    }

    func testAUCIsOneHalfForConstantScores() throws {
        // Every positive–negative pair is tied: each counts one half.
        XCTAssertEqual(try XCTUnwrap(ROCAUC.binary(positive: [true, false, true, false], scores: [1, 1, 1, 1])), 0.5)
        XCTAssertEqual(try XCTUnwrap(ROCAUC.binary(positive: [false, true], scores: [0.1, 0.9])), 1)
        XCTAssertNil(ROCAUC.binary(positive: [true, true], scores: [0.1, 0.9]))
    }
}

final class MetricsClassWeightTests: XCTestCase {
    func testBalancedClassWeightsMatchScikitLearn() throws {
        let ref = try XCTUnwrap(try EvalkitFixtures.reference()["classWeights"] as? [String: Any])
        let classes = (0..<7).map { "c\($0)" }
        let got = TrainingConfig.ClassWeights.balanced.resolved(classes: classes, trainingLabels: EvalkitFixtures.ints(ref["labels"]))
        let expected = EvalkitFixtures.doubles(ref["balanced"])
        XCTAssertEqual(got.count, 7)
        for (g, e) in zip(got, expected) { XCTAssertEqual(g, e, accuracy: 1e-12) }
        XCTAssertEqual(TrainingConfig.ClassWeights.named(["c1": 2]).resolved(classes: classes, trainingLabels: []),
                       [1, 2, 1, 1, 1, 1, 1])
        XCTAssertEqual(TrainingConfig.ClassWeights.balanced.resolved(classes: ["a", "b"], trainingLabels: [0, 0]), [0.5, 1],
                       "n / (K · n_c) = 2 / (2 · 2); a class without training items gets 1")
    }
}
