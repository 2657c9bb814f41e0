import EmoPluginSDK
import EmoCore

/// Modality masking: drop one feature group (set it to the baseline), re-predict, and credit the group with the
/// drop `F_t(x) − F_t(x with the group dropped)`. As an explainer, every position of a group carries the group's
/// drop, exactly as Captum's `FeatureAblation` with a group `feature_mask`; `drops` gives the `[B][G]` table.
public final class ModalityMasking: Explainer {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .explainer, id: "modality-masking", version: "1.0.0", displayName: "Modality masking",
        manifest: [
            "inputs": [["name": "input", "modality": "any", "dims": "[B, ..., C]"]],
            "outputs": [["name": "attributions", "dims": "[B, ..., C]"]],
            "config": Config.schema,
            "trainable": false, "differentiable": false,
            "description": "drop one feature group at a time and re-predict (Captum FeatureAblation with a group mask)",
        ])

    /// The settings (`groups` as given; `FeatureGroupRange.parse` reads it).
    struct Config: ComponentConfig {
        var groups: JSONValue = [], baseline = 0.0, maxBatchElements = 480_000
        static var fields: [ConfigField<Config>] {
            [.json("groups", \.groups, type: "array", "[{\"name\", \"start\", \"end\"}] ranges of the last dimension, disjoint"),
             .number("baseline", \.baseline, "value a dropped group is set to"),
             ExplainerConfig.maxBatchElements(\.maxBatchElements)]
        }
    }

    /// The groups, in config order.
    public let groups: [FeatureGroupRange]
    /// Value a dropped group is set to.
    public let baselineValue: Float
    /// Most input elements per model call.
    public let maxBatchElements: Int

    /// Creates the explainer from its merged config.
    public init(config: JSONValue) throws {
        let c = try Config.read(config, component: Self.componentInfo.id)
        groups = try FeatureGroupRange.parse(c.groups, component: Self.componentInfo.id)
        baselineValue = Float(c.baseline)
        maxBatchElements = c.maxBatchElements
    }

    /// Creates the explainer for known groups.
    public init(groups: [FeatureGroupRange], baseline: Float = 0, maxBatchElements: Int = 480_000) {
        self.groups = groups
        self.baselineValue = baseline
        self.maxBatchElements = max(1, maxBatchElements)
    }

    /// The resolved config.
    public var resolvedDescription: JSONValue {
        ["config": ["groups": .array(groups.map { ["name": .string($0.name), "start": .number(Double($0.range.lowerBound)),
                                                   "end": .number(Double($0.range.upperBound))] }),
                    "baseline": .number(Double(baselineValue)), "max_batch_elements": .number(Double(maxBatchElements))],
         "outputs": [["name": "attributions", "dims": "[B, ..., C]"]]]
    }

    /// Attributions `[B, ..., C]`: each position of group g carries row b's drop for g; positions outside every
    /// group carry 0.
    public func explain(model: ExplainableModel, input: NDArray, baseline: NDArray?, targets: [Int]) throws -> Attribution {
        let table = try drops(model: model, input: input, baseline: baseline, targets: targets)   // [B][G]
        var values = NDArray(zeros: input.shape)
        let width = input.shape.last ?? 0, perRow = input.count / max(1, table.count)
        for (b, row) in table.enumerated() {
            for (g, group) in groups.enumerated() {
                var line = b * perRow
                while line < (b + 1) * perRow {
                    for c in group.range { values.data[line + c] = Float(row[g]) }
                    line += width
                }
            }
        }
        return Attribution(values: values, delta: nil)
    }

    /// `F_t(x) − F_t(x with group g set to the baseline)` per row and group: `[B][G]`. The B·G masked copies go to
    /// the model group-major in calls of at most `maxBatchElements` elements (at least one row).
    public func drops(model: ExplainableModel, input: NDArray, baseline: NDArray?, targets: [Int]) throws -> [[Double]] {
        let id = Self.componentInfo.id
        let shape = try ExplainInputs(component: id, model: model, input: input, targets: targets)
        let width = input.shape.last ?? 0
        try FeatureGroupRange.validate(groups, width: width, component: id)
        let fill = try baseline.map { try shape.expandBaseline($0, input: input, component: id) }   // [B, ...] or nil
        let rows = shape.rows, perRow = shape.perRow, k = model.numClasses
        let f0 = try shape.targetScores(model: model, input.data, inputShape: input.shape,
                                        maxElements: maxBatchElements, component: id)       // F_t(x), [B]
        var table = [[Double]](repeating: [Double](repeating: 0, count: groups.count), count: rows)
        let items = groups.count * rows
        let chunk = ExplainInputs.rowsPerBatch(perRow: perRow, maxElements: maxBatchElements)
        var batchShape = input.shape
        var start = 0
        while start < items {
            let m = min(chunk, items - start)
            var masked = [Float](repeating: 0, count: m * perRow)                     // [m, ..., C]
            for j in 0..<m {
                let g = (start + j) / rows, b = (start + j) % rows
                let dst = j * perRow, src = b * perRow
                for e in 0..<perRow { masked[dst + e] = input.data[src + e] }
                var line = 0
                while line < perRow {                                                 // every leading position
                    for c in groups[g].range { masked[dst + line + c] = fill?[src + line + c] ?? baselineValue }
                    line += width
                }
            }
            batchShape[0] = m
            let s = try ExplainInputs.scores(model, try NDArray(shape: batchShape, data: masked), component: id)
            for j in 0..<m {
                let g = (start + j) / rows, b = (start + j) % rows, t = shape.targets[b]
                table[b][g] = Double(f0[b] - s.data[j * k + t])
            }
            start += m
        }
        return table
    }
}
