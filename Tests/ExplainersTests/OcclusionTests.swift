import EmoCore
@testable import EmoExplainers
import XCTest

/// Occlusion against Captum 0.9: overlapping windows, a window cut at the end, 2-D windows, batching.
final class OcclusionTests: XCTestCase {
    func occlusion(_ c: CaptumFixture.OcclusionCase, maxBatchElements: Int = 4_194_304) throws -> Occlusion {
        try Occlusion(config: Occlusion.componentInfo.configDefaults.merging([
            "window": .array(c.window.map { .number(Double($0)) }), "stride": .array(c.stride.map { .number(Double($0)) }),
            "baseline": .number(Double(c.baseline)), "max_batch_elements": .number(Double(maxBatchElements)),
        ]))
    }

    func checkParity(_ m: CaptumFixture.Model, model: ExplainableModel, maxBatchElements: Int) throws {
        let x = try m.input.array()
        let scores = try model.scores(x)
        for c in m.occlusion {
            let input = try NDArray(shape: c.input_shape, data: x.data)
            let result = try occlusion(c, maxBatchElements: maxBatchElements)
                .explain(model: model, input: input, baseline: try c.baseline_values?.array(), targets: m.targets)
            XCTAssertEqual(result.values.shape, c.attributions.shape)
            XCTAssertNil(result.delta)
            // Occlusion attributions are differences of float32 scores, so their resolution is a few float32 ulps
            // of the scores: 1e-4 relative plus 4 · 2⁻²³ · max|F(x)| absolute.
            let resolution = 4 * Double(Float.ulpOfOne) * maxAbs(scores.data)
            let check = closeness(result.values.data, c.attributions.data, relative: 1e-4, absolute: resolution)
            XCTAssertLessThanOrEqual(check.ratio, 1, "window \(c.window) stride \(c.stride): \(check.message)")
            print("Occlusion parity, window \(c.window) stride \(c.stride): \(check.message)")
        }
    }

    func testMLPParityWithCaptum() throws {
        let f = try CaptumFixture.shared()
        XCTAssertEqual(f.mlp.occlusion.count, 3)
        try checkParity(f.mlp, model: try ToyMLP(f.mlp), maxBatchElements: 4_194_304)
        try checkParity(f.mlp, model: try ToyMLP(f.mlp), maxBatchElements: 130)      // 2 rows per call
    }

    /// Black boxes are fine: occlusion needs only scores. Includes a tensor baseline.
    func testConvParityWithCaptumOnABlackBox() throws {
        let f = try CaptumFixture.shared()
        XCTAssertEqual(f.conv.occlusion.filter { $0.baseline_values != nil }.count, 1)
        try checkParity(f.conv, model: BlackBox(inner: try ToyConv(f.conv)), maxBatchElements: 4_194_304)
    }

    /// Captum's window geometry: ceil((n − w)/s) + 1 positions, the last one cut at the end.
    func testWindowGeometry() throws {
        let w = try OcclusionWindows(dims: [400], window: [60], stride: [45], component: "t")
        XCTAssertEqual(w.shiftCounts, [9])
        var runs: [[Int]] = []
        w.forEachRun(8) { runs.append([$0, $1]) }
        XCTAssertEqual(runs, [[360, 40]])
        let w2 = try OcclusionWindows(dims: [6, 10], window: [2, 3], stride: [1, 2], component: "t")
        XCTAssertEqual(w2.shiftCounts, [5, 5])
        runs = []
        w2.forEachRun(1 + 5 * 4) { runs.append([$0, $1]) }    // dim 0 index 1, dim 1 index 4 (first dim fastest)
        XCTAssertEqual(runs, [[18, 2], [28, 2]])
        let whole = try OcclusionWindows(dims: [3, 8], window: [4], stride: [4], component: "t")
        XCTAssertEqual(whole.window, [3, 4])
        XCTAssertThrowsError(try OcclusionWindows(dims: [10], window: [3], stride: [4], component: "t"))
        XCTAssertThrowsError(try OcclusionWindows(dims: [10], window: [11], stride: [1], component: "t"))
    }
}
