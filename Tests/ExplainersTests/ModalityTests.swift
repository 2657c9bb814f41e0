import EmoCore
@testable import EmoExplainers
import XCTest

/// Modality masking against Captum's FeatureAblation with a group mask; per-group totals by arithmetic.
final class ModalityTests: XCTestCase {
    func testMaskingMatchesCaptumFeatureAblation() throws {
        let f = try CaptumFixture.shared()
        let ablation = try XCTUnwrap(f.mlp.feature_ablation)
        let groups = ablation.groups.enumerated().map { FeatureGroupRange(name: "g\($0)", range: $1[0]..<$1[1]) }
        let masking = try ModalityMasking(config: ModalityMasking.componentInfo.configDefaults.merging([
            "groups": .array(groups.map { ["name": .string($0.name), "start": .number(Double($0.range.lowerBound)),
                                           "end": .number(Double($0.range.upperBound))] }),
            "baseline": .number(Double(ablation.baseline)),
        ]))
        XCTAssertEqual(masking.groups, groups)
        let result = try masking.explain(model: try ToyMLP(f.mlp), input: try f.mlp.input.array(), baseline: nil,
                                         targets: f.mlp.targets)
        let scores = try ToyMLP(f.mlp).scores(try f.mlp.input.array())
        let resolution = 4 * Double(Float.ulpOfOne) * maxAbs(scores.data)
        let check = closeness(result.values.data, ablation.attributions.data, relative: 1e-4, absolute: resolution)
        XCTAssertLessThanOrEqual(check.ratio, 1, check.message)
        // One row per model call gives the same table.
        let small = ModalityMasking(groups: groups, baseline: ablation.baseline, maxBatchElements: 60)
        let recorder = CallRecorder(try ToyMLP(f.mlp))
        let a = try small.drops(model: recorder, input: try f.mlp.input.array(), baseline: nil, targets: f.mlp.targets)
        let b = try masking.drops(model: try ToyMLP(f.mlp), input: try f.mlp.input.array(), baseline: nil, targets: f.mlp.targets)
        XCTAssertEqual(a, b)
        XCTAssertEqual(recorder.batchElements, [Int](repeating: 60, count: 4 + 3 * 4))
    }

    func testTotalsSharesAndClassMeans() throws {
        // Two rows, last dimension 5, groups a = 0..<2, b = 2..<5 (and nothing else).
        let attr = try NDArray(shape: [2, 5], data: [1, 2, -3, 0.5, 0.5,
                                                    0, 0, 0, 0, 0])
        let groups = [FeatureGroupRange(name: "a", range: 0..<2), FeatureGroupRange(name: "b", range: 2..<5)]
        let totals = try ModalityTotals.totals(attr, groups: groups)
        XCTAssertEqual(totals, [[3, -2], [0, 0]])
        XCTAssertEqual(ModalityTotals.shares(totals), [[0.6, 0.4], [0, 0]])
        let means = ModalityTotals.classMeans([[3, -2], [1, 0], [5, 5]], labels: [0, 0, 1])
        XCTAssertEqual(means, [0: [2, -1], 1: [5, 5]])
        // Leading non-batch positions are summed too: [1, 2, 2] rows.
        let frames = try NDArray(shape: [1, 2, 2], data: [1, 2, 3, 4])
        XCTAssertEqual(try ModalityTotals.totals(frames, groups: [FeatureGroupRange(name: "x", range: 1..<2)]), [[6]])
        XCTAssertThrowsError(try ModalityTotals.totals(attr, groups: [FeatureGroupRange(name: "a", range: 0..<3),
                                                                     FeatureGroupRange(name: "b", range: 2..<5)]))
        XCTAssertThrowsError(try ModalityTotals.totals(attr, groups: [FeatureGroupRange(name: "a", range: 0..<6)]))
    }
}
