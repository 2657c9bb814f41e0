import EmoCore
import Foundation
import XCTest
@testable import EmoPipeline

/// Feature rows that record which rows were read.
final class SpyRows: FeatureRows {
    let table: FeatureTable
    private(set) var readRows: Set<Int> = []
    init(_ table: FeatureTable) { self.table = table }
    var rowCount: Int { table.rowCount }
    var columnCount: Int { table.columnCount }
    func row(_ i: Int) -> ArraySlice<Float> { readRows.insert(i); return table.row(i) }
}

final class ScalingTests: XCTestCase {
    /// The reference train and test matrices (NaN for JSON null) and the expected transforms.
    private func reference() throws -> (train: [[Double]], test: [[Double]], cases: [[String: Any]]) {
        let ref = try XCTUnwrap(try EvalkitFixtures.reference()["scalers"] as? [String: Any])
        func matrix(_ v: Any?) -> [[Double]] {
            (v as? [[Any]] ?? []).map { $0.map { EvalkitFixtures.double($0) ?? .nan } }
        }
        return (matrix(ref["train"]), matrix(ref["test"]), try XCTUnwrap(ref["cases"] as? [[String: Any]]))
    }

    private func table(_ rows: [[Double]]) throws -> FeatureTable {
        let c = rows.first?.count ?? 0
        return try FeatureTable(values: NDArray(shape: [rows.count, c], data: rows.flatMap { $0.map(Float.init) }),
                                layout: .single(width: c))
    }

    func testScalersMatchScikitLearnPipelines() throws {
        let (train, test, cases) = try reference()
        let all = try table(train + test)
        let split = Split(name: "ref", train: Array(0..<train.count), test: Array(train.count..<(train.count + test.count)),
                          items: [LabelledItem](repeating: LabelledItem(label: "x"), count: train.count + test.count))
        XCTAssertEqual(cases.count, 3)
        for c in cases {
            let name = try XCTUnwrap(c["method"] as? String)
            let method = try XCTUnwrap(ScalingMethod(rawValue: name))
            let scaler = try ScalingSpec(method: method).fit(all, layout: all.layout, split: split)
            XCTAssertEqual(scaler.fitImputation.perFeature, EvalkitFixtures.ints(c["imputedTrain"]), name)
            let scaledTest = try scaler.transform(all, rows: split.test)
            XCTAssertEqual(scaledTest.imputation.perFeature, EvalkitFixtures.ints(c["imputedTest"]), name)
            for (side, rows, key) in [("train", split.train, "trainTransformed"), ("test", split.test, "testTransformed")] {
                let got = try scaler.transform(all, rows: rows).values
                let expected = (c[key] as? [Any] ?? []).flatMap { EvalkitFixtures.doubles($0) }
                XCTAssertEqual(got.count, expected.count)
                for (g, e) in zip(got.data, expected) {
                    // Float32 output of Double statistics on identical Float32 inputs: relative 1e-6.
                    XCTAssertEqual(Double(g), e, accuracy: 1e-6 * max(1, abs(e)), "\(name) \(side)")
                }
            }
        }
    }

    func testNoScalerStatisticTouchesTestData() throws {
        let (train, test, _) = try reference()
        let items = [LabelledItem](repeating: LabelledItem(label: "x"), count: train.count + test.count)
        let split = Split(name: "ref", train: Array(0..<train.count), test: Array(train.count..<(train.count + test.count)),
                          items: items)
        // Garbage test rows: any statistic that reads them would change.
        let poisoned = test.map { $0.map { _ in 1e6 } }
        for method in ScalingMethod.allCases {
            for perSpeaker in [false, true] {
                let spec = ScalingSpec(method: method, perSpeaker: perSpeaker)
                let speakers = (0..<items.count).map { "s\($0 % 3)" }
                let spy = SpyRows(try table(train + test))
                let a = try spec.fit(spy, layout: spy.table.layout, split: split, speakers: speakers)
                XCTAssertEqual(spy.readRows, Set(split.train), "\(method) read only training rows")
                let b = try spec.fit(try table(train + poisoned), layout: spy.table.layout, split: split, speakers: speakers)
                XCTAssertEqual(a, b, "\(method) perSpeaker=\(perSpeaker): test values changed a fitted statistic")
                XCTAssertEqual(try a.jsonData(), try b.jsonData())
            }
        }
    }

    func testScalerRoundTripsThroughJSON() throws {
        let (train, _, _) = try reference()
        let t = try table(train)
        let spec = ScalingSpec(method: .robust, statistics: .perGroup, perSpeaker: true, unseenSpeakers: .ownFeatures)
        let scaler = try spec.fit(t, layout: t.layout, trainingRows: Array(0..<20), speakers: (0..<t.rowCount).map { "s\($0 % 2)" })
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("evalkit-scaler-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try scaler.jsonData().write(to: url)
        XCTAssertEqual(try FittedScaler.load(from: url), scaler)
    }

    func testPerGroupStatisticsAndGroupOverrides() throws {
        // Group "a": columns 0–1 with values {0, 2} and {4, 6}; group "b": column 2 left unscaled.
        let layout = FeatureLayout(groups: [.init(name: "a", width: 2), .init(name: "b", width: 1)])
        let t = try FeatureTable(values: NDArray(shape: [2, 3], data: [0, 4, 10, 2, 6, 20]), layout: layout)
        let spec = ScalingSpec(method: .standard, groups: ["b": .none], statistics: .perGroup)
        let s = try spec.fit(t, layout: layout, trainingRows: [0, 1])
        // Pooled values 0, 2, 4, 6: mean 3, population std √5.
        XCTAssertEqual(s.global.shift, [3, 3, 0])
        XCTAssertEqual(s.global.scale[0], 5.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(s.global.scale[2], 1)
        let y = try s.transform(t.values).values
        XCTAssertEqual(Double(y.data[0]), -3 / 5.0.squareRoot(), accuracy: 1e-6)
        XCTAssertEqual(y.data[2], 10)
        XCTAssertThrowsError(try ScalingSpec(method: .standard, groups: ["c": .none]).fit(t, layout: layout, trainingRows: [0])) {
            XCTAssertEqual($0 as? ScalingError, .unknownGroup("c", known: ["a", "b"]))
        }
    }

    func testPerSpeakerNormalisationAndUnseenSpeakers() throws {
        // Speaker A: 1, 3 (mean 2, std 1); speaker B: 10, 30 (mean 20, std 10); test speaker C: 100, 300.
        let t = try FeatureTable(values: NDArray(shape: [6, 1], data: [1, 3, 10, 30, 100, 300]), layout: .single(width: 1))
        let speakers = ["A", "A", "B", "B", "C", "C"]
        let strict = try ScalingSpec(method: .standard, perSpeaker: true).fit(t, layout: t.layout, trainingRows: [0, 1, 2, 3],
                                                                          speakers: speakers)
        XCTAssertEqual(try strict.transform(t, rows: [0, 1, 2, 3], speakers: speakers).values.data, [-1, 1, -1, 1])
        let unseen = try strict.transform(t, rows: [4, 5], speakers: speakers)
        XCTAssertEqual(unseen.unseenSpeakers, ["C"])
        // global-train: all training rows 1, 3, 10, 30 → mean 11, population std √(((10²+8²+1²+19²)/4)) = √131.5.
        XCTAssertEqual(Double(unseen.values.data[0]), (100 - 11) / 131.5.squareRoot(), accuracy: 1e-4)
        let own = try ScalingSpec(method: .standard, perSpeaker: true, unseenSpeakers: .ownFeatures)
            .fit(t, layout: t.layout, trainingRows: [0, 1, 2, 3], speakers: speakers)
        XCTAssertEqual(try own.transform(t, rows: [4, 5], speakers: speakers).values.data, [-1, 1])
        XCTAssertThrowsError(try strict.transform(t.values)) {
            XCTAssertEqual($0 as? ScalingError, .missingSpeakers(rows: 6, speakers: 0))
        }
    }

    func testNaNImputationIsReportedPerFeature() throws {
        let layout = FeatureLayout(groups: [.init(name: "mfcc", width: 2)])
        let t = try FeatureTable(values: NDArray(shape: [3, 2], data: [1, .nan, 3, 4, .infinity, 8]), layout: layout)
        let s = try ScalingSpec(method: .none).fit(t, layout: layout, trainingRows: [0, 1, 2])
        XCTAssertEqual(s.imputationMeans, [2, 6])
        XCTAssertEqual(s.fitImputation.perFeature, [1, 1])
        let y = try s.transform(t.values)
        XCTAssertEqual(y.values.data, [1, 6, 3, 4, 2, 8])
        XCTAssertEqual(y.imputation.nonZero(layout: layout).map(\.feature), ["mfcc[0]", "mfcc[1]"])
    }
}
