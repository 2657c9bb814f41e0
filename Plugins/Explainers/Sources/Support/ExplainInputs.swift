import EmoPluginSDK
import EmoCore

/// The checked shape of one explain call: rows, elements per row, targets.
struct ExplainInputs {
    /// B.
    let rows: Int
    /// Elements of one row (product of the non-batch dimensions).
    let perRow: Int
    /// Per-row target class, each in 0..<Y.
    let targets: [Int]

    /// Checks `input` `[B, ...]` and `targets` `[B]` against `model`.
    init(component: String, model: ExplainableModel, input: NDArray, targets: [Int]) throws {
        guard input.rank >= 2, let b = input.shape.first, b > 0, input.count > 0 else {
            throw ComponentError.invalidInput(component: component,
                                              message: "input has shape \(input.shape); expected [B, ...] with B ≥ 1 and at least one element per row")
        }
        guard targets.count == b else {
            throw ComponentError.invalidInput(component: component,
                                              message: "got \(targets.count) targets for \(b) input rows; pass one target class per row")
        }
        let k = model.numClasses
        if let bad = targets.first(where: { $0 < 0 || $0 >= k }) {
            throw ComponentError.invalidInput(component: component,
                                              message: "target class \(bad) is outside 0..<\(k) (the model has \(k) classes)")
        }
        self.rows = b
        self.perRow = input.count / b
        self.targets = targets
    }

    /// The baseline as one full `[B, ...]` buffer: `given` may have the input's shape, its shape without the
    /// batch dimension, or `[1, ...]` (one row for all).
    func expandBaseline(_ given: NDArray, input: NDArray, component: String) throws -> [Float] {
        let rowShape = Array(input.shape.dropFirst())
        if given.shape == input.shape { return given.data }
        if given.shape == rowShape || given.shape == [1] + rowShape {
            var out = [Float]()
            out.reserveCapacity(input.count)
            for _ in 0..<rows { out.append(contentsOf: given.data) }
            return out
        }
        throw ComponentError.invalidInput(component: component,
                                          message: "baseline has shape \(given.shape); expected \(input.shape), \(rowShape) or \([1] + rowShape)")
    }

    /// Calls `model.scores` on `[m, ...]` rows and checks the result is `[m, Y]`.
    static func scores(_ model: ExplainableModel, _ batch: NDArray, component: String) throws -> NDArray {
        let s = try model.scores(batch)
        let m = batch.shape.first ?? 0
        guard s.shape == [m, model.numClasses] else {
            throw ComponentError.failed(component: component,
                                        message: "the model returned scores of shape \(s.shape) for \(m) rows; expected [\(m), \(model.numClasses)]")
        }
        return s
    }

    /// F_t(row b) for `[B, ...]` data of `inputShape` and this call's targets, sent to the model in calls of at
    /// most `maxElements` elements (at least one row).
    func targetScores(model: ExplainableModel, _ data: [Float], inputShape: [Int], maxElements: Int,
                      component: String) throws -> [Float] {
        let chunk = Self.rowsPerBatch(perRow: perRow, maxElements: maxElements)
        var out = [Float](repeating: 0, count: rows)
        var batchShape = inputShape
        var start = 0
        while start < rows {
            let m = min(chunk, rows - start)
            batchShape[0] = m
            let slice = Array(data[(start * perRow)..<((start + m) * perRow)])
            let s = try Self.scores(model, try NDArray(shape: batchShape, data: slice), component: component)
            for j in 0..<m { out[start + j] = s.data[j * model.numClasses + targets[start + j]] }
            start += m
        }
        return out
    }

    /// Rows that fit in `maxElements` elements, at least one.
    static func rowsPerBatch(perRow: Int, maxElements: Int) -> Int { max(1, maxElements / max(1, perRow)) }
}

/// The config key every explainer takes.
enum ExplainerConfig {
    /// `max_batch_elements`: most input elements per model call (memory bound).
    static func maxBatchElements<C>(_ path: WritableKeyPath<C, Int>) -> ConfigField<C> {
        .int("max_batch_elements", path, in: 1...Int.max, "most input elements per model call (memory bound)")
    }
}
