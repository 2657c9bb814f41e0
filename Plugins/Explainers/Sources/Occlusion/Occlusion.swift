import EmoPluginSDK
import EmoCore

/// Occlusion (Zeiler & Fergus 2014) as Captum 0.9 computes it: slide a window over each row, replace what it
/// covers by the baseline, and give every covered element the drop `F_t(x) − F_t(x_occluded)`; an element covered
/// by several windows gets the mean of their drops.
///
/// Model-agnostic: it only calls `scores`, so it works on black-box chains. Occluded copies of the B rows are sent
/// to the model in batches of at most `max_batch_elements` elements (at least one row per batch).
public final class Occlusion: Explainer {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .explainer, id: "occlusion", version: "1.0.0", displayName: "Occlusion",
        manifest: [
            "inputs": [["name": "input", "modality": "any", "dims": "[B, ...]"]],
            "outputs": [["name": "attributions", "dims": "[B, ...]"]],
            "config": Config.schema,
            "trainable": false, "differentiable": false,
            "description": "sliding-window occlusion over any chain, exactly as Captum computes it",
        ])

    /// The settings.
    struct Config: ComponentConfig {
        var window = [1], stride = [1], baseline = 0.0, maxBatchElements = 480_000
        static var fields: [ConfigField<Config>] {
            [.ints("window", \.window, in: 1...Int.max, acceptsSingle: true, nonEmpty: true,
                   "window extent over the trailing dimensions (samples, frames or features); leading dimensions it leaves out are covered whole"),
             .ints("stride", \.stride, in: 1...Int.max, acceptsSingle: true, nonEmpty: true, "step of the window, one per window dimension"),
             .number("baseline", \.baseline, "value the window is filled with (a baseline passed to explain replaces it)"),
             ExplainerConfig.maxBatchElements(\.maxBatchElements)]
        }
    }

    /// Window extent over the trailing dimensions.
    public let window: [Int]
    /// Window step, one per window dimension.
    public let stride: [Int]
    /// Fill value of an occluded element.
    public let baselineValue: Float
    /// Most input elements per model call.
    public let maxBatchElements: Int

    /// Creates the explainer from its merged config.
    public init(config: JSONValue) throws {
        let c = try Config.read(config, component: Self.componentInfo.id)
        window = c.window
        stride = c.stride
        baselineValue = Float(c.baseline)
        maxBatchElements = c.maxBatchElements
    }

    /// The resolved config.
    public var resolvedDescription: JSONValue {
        ["config": ["window": .array(window.map { .number(Double($0)) }),
                    "stride": .array(stride.map { .number(Double($0)) }),
                    "baseline": .number(Double(baselineValue)), "max_batch_elements": .number(Double(maxBatchElements))],
         "outputs": [["name": "attributions", "dims": "[B, ...]"]]]
    }

    /// Attributions `[B, ...]` of `model`'s score `targets[b]` for `input` `[B, ...]` (no delta).
    public func explain(model: ExplainableModel, input: NDArray, baseline: NDArray?, targets: [Int]) throws -> Attribution {
        let id = Self.componentInfo.id
        let shape = try ExplainInputs(component: id, model: model, input: input, targets: targets)
        let windows = try OcclusionWindows(dims: Array(input.shape.dropFirst()), window: window, stride: stride,
                                           component: id)
        let fill = try baseline.map { try shape.expandBaseline($0, input: input, component: id) }   // [B, ...] or nil
        let rows = shape.rows, perRow = shape.perRow, k = model.numClasses
        // The B unoccluded rows go first in the first batch (Captum scores them in a call of their own): F_t(x) is
        // known before any drop is taken, and a batch-1 call (the least efficient) is saved.
        var f0 = [Float](repeating: 0, count: rows)                                  // F_t(x), [B]
        var total = [Double](repeating: 0, count: input.count)                        // Σ drops, [B·E]
        var cover = [Int](repeating: 0, count: perRow)                                // windows per element, [E]
        let items = rows + windows.count * rows                                        // originals, then window-major
        let chunk = ExplainInputs.rowsPerBatch(perRow: perRow, maxElements: maxBatchElements)
        var batch = [Float](repeating: 0, count: min(chunk, items) * perRow)
        var batchShape = input.shape
        var start = 0
        while start < items {
            let m = min(chunk, items - start)
            for j in 0..<m {                                                            // copy, then occlude
                let item = start + j, b = item % rows
                let dst = j * perRow, src = b * perRow
                for e in 0..<perRow { batch[dst + e] = input.data[src + e] }
                guard item >= rows else { continue }
                windows.forEachRun(item / rows - 1) { offset, length in
                    for e in offset..<(offset + length) { batch[dst + e] = fill?[src + e] ?? baselineValue }
                }
            }
            batchShape[0] = m
            let s = try ExplainInputs.scores(model, try NDArray(shape: batchShape, data: Array(batch[0..<(m * perRow)])),
                                             component: id)
            for j in 0..<m where start + j < rows { f0[start + j] = s.data[j * k + shape.targets[start + j]] }
            for j in 0..<m where start + j >= rows {
                let item = start + j, w = item / rows - 1, b = item % rows
                let drop = Double(f0[b] - s.data[j * k + shape.targets[b]])
                let dst = b * perRow
                windows.forEachRun(w) { offset, length in
                    for e in offset..<(offset + length) { total[dst + e] += drop }
                    if b == 0 { for e in offset..<(offset + length) { cover[e] += 1 } }
                }
            }
            start += m
        }
        var values = input
        for b in 0..<rows {
            for e in 0..<perRow { values.data[b * perRow + e] = Float(total[b * perRow + e] / Double(cover[e])) }
        }
        return Attribution(values: values, delta: nil)
    }
}
