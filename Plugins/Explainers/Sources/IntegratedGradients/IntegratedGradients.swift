import EmoPluginSDK
import EmoCore

/// Integrated Gradients (Sundararajan et al. 2017) as Captum 0.9 computes it:
/// `attr = (x − x′) · Σ_s step_s · ∂F_t/∂x (x′ + α_s (x − x′))`, with the convergence delta
/// `Σ attr − (F_t(x) − F_t(x′))` per row (Captum's `compute_convergence_delta`).
///
/// Works on any `ExplainableModel` whose `isDifferentiable` is true; the n_steps·B interpolated rows are sent to the
/// model in batches of at most `max_batch_elements` elements (at least one row per batch).
public final class IntegratedGradients: Explainer {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .explainer, id: "integrated-gradients", version: "1.0.0", displayName: "Integrated Gradients",
        manifest: [
            "inputs": [["name": "input", "modality": "any", "dims": "[B, ...]"]],
            "outputs": [["name": "attributions", "dims": "[B, ...]"], ["name": "delta", "dims": "[B]"]],
            "config": Config.schema,
            "trainable": false, "differentiable": false,
            "description": "Integrated Gradients over any differentiable chain, exactly as Captum computes it",
        ])

    /// Where the path starts when `explain` is given no baseline.
    public enum BaselineKind: String, Sendable, CaseIterable {
        /// All zeros.
        case zero
        /// Every element of a row set to that row's mean (a constant signal at the row's mean level).
        case mean
        /// Only the baseline passed to `explain`; none is an error.
        case given
    }

    /// The settings.
    struct Config: ComponentConfig {
        var method = IntegrationMethod.gaussLegendre, nSteps = 50, baseline = BaselineKind.zero
        var maxBatchElements = 480_000, returnDelta = true
        static var fields: [ConfigField<Config>] {
            [.choice("method", \.method, "path-integral rule (Captum's names)"),
             .int("n_steps", \.nSteps, in: 1...100_000, "points on the path (at least 2 for the Riemann rules)"),
             .choice("baseline", \.baseline, "zero; mean = each row's mean over all its elements; given = the baseline passed to explain"),
             ExplainerConfig.maxBatchElements(\.maxBatchElements),
             .bool("return_delta", \.returnDelta, "report the convergence delta")]
        }
        func problem() -> String? {
            nSteps < method.minimumSteps ? "'n_steps' must be ≥ \(method.minimumSteps) for method \(method.rawValue), got \(nSteps)" : nil
        }
    }

    /// Path-integral rule.
    public let method: IntegrationMethod
    /// Points on the path (`n_steps`).
    public let steps: Int
    /// Baseline used when `explain` receives none.
    public let baselineKind: BaselineKind
    /// Most input elements per model call.
    public let maxBatchElements: Int
    /// Whether `explain` computes the convergence delta (two extra forward passes).
    public let returnsDelta: Bool

    /// Creates the explainer from its merged config.
    public init(config: JSONValue) throws {
        let c = try Config.read(config, component: Self.componentInfo.id)
        method = c.method
        steps = c.nSteps
        baselineKind = c.baseline
        maxBatchElements = c.maxBatchElements
        returnsDelta = c.returnDelta
    }

    /// The resolved config.
    public var resolvedDescription: JSONValue {
        ["config": ["method": .string(method.rawValue), "n_steps": .number(Double(steps)),
                    "baseline": .string(baselineKind.rawValue), "max_batch_elements": .number(Double(maxBatchElements)),
                    "return_delta": .bool(returnsDelta)],
         "outputs": [["name": "attributions", "dims": "[B, ...]"], ["name": "delta", "dims": "[B]"]]]
    }

    /// Attributions `[B, ...]` of `model`'s score `targets[b]` for `input` `[B, ...]`, and the per-row delta.
    public func explain(model: ExplainableModel, input: NDArray, baseline: NDArray?, targets: [Int]) throws -> Attribution {
        let id = Self.componentInfo.id
        let shape = try ExplainInputs(component: id, model: model, input: input, targets: targets)
        guard model.isDifferentiable else {
            throw ComponentError.invalidInput(
                component: id,
                message: "the model is not differentiable (a component in the chain has no backward), so Integrated Gradients cannot take gradients; use the model-agnostic 'occlusion' explainer, or a chain whose components all implement backward")
        }
        let base = try resolveBaseline(baseline, input: input, shape: shape)           // [B, ...]
        let totalGrads = try integratedGradients(model: model, input: input, baseline: base, shape: shape)
        var values = input
        for i in 0..<input.count {                                                    // (x − x′) · Σ step·grad
            values.data[i] = Float(totalGrads[i]) * (input.data[i] - base[i])
        }
        let delta = returnsDelta
            ? try convergenceDelta(model: model, attributions: values, input: input, baseline: base, shape: shape)
            : nil
        return Attribution(values: values, delta: delta)
    }

    /// The baseline `[B, ...]` as one buffer.
    func resolveBaseline(_ given: NDArray?, input: NDArray, shape: ExplainInputs) throws -> [Float] {
        if let given { return try shape.expandBaseline(given, input: input, component: Self.componentInfo.id) }
        switch baselineKind {
        case .zero:
            return [Float](repeating: 0, count: input.count)
        case .mean:
            var out = [Float](repeating: 0, count: input.count)
            for b in 0..<shape.rows {
                let row = b * shape.perRow
                var sum = 0.0
                for j in 0..<shape.perRow { sum += Double(input.data[row + j]) }
                let mean = Float(sum / Double(shape.perRow))
                for j in 0..<shape.perRow { out[row + j] = mean }
            }
            return out
        case .given:
            throw ComponentError.invalidInput(component: Self.componentInfo.id,
                                              message: "config says baseline 'given' but explain received no baseline; pass one, or set baseline to zero or mean")
        }
    }

    /// Σ_s step_s · ∂F_t/∂x at x′ + α_s (x − x′), per element `[B·E]`, accumulated in double precision.
    /// Interpolated rows are ordered step-major (all rows of step 0, then step 1, ...) as in Captum.
    func integratedGradients(model: ExplainableModel, input: NDArray, baseline: [Float],
                             shape: ExplainInputs) throws -> [Double] {
        let (stepSizes, alphas) = try method.rule(steps: steps)
        let rows = shape.rows, perRow = shape.perRow
        let items = steps * rows                                                      // n_steps·B interpolated rows
        let chunk = ExplainInputs.rowsPerBatch(perRow: perRow, maxElements: maxBatchElements)
        var total = [Double](repeating: 0, count: input.count)
        var batchShape = input.shape
        var start = 0
        while start < items {
            let m = min(chunk, items - start)
            batchShape[0] = m
            var scaled = [Float](repeating: 0, count: m * perRow)                     // [m, ...]
            var batchTargets = [Int](repeating: 0, count: m)
            for k in 0..<m {
                let item = start + k, s = item / rows, b = item % rows
                let alpha = alphas[s], src = b * perRow, dst = k * perRow
                batchTargets[k] = shape.targets[b]
                for j in 0..<perRow {
                    let x0 = baseline[src + j]
                    scaled[dst + j] = x0 + alpha * (input.data[src + j] - x0)
                }
            }
            let grad = try model.gradient(NDArray(shape: batchShape, data: scaled), targets: batchTargets)
            guard grad.shape == batchShape else {
                throw ComponentError.failed(component: Self.componentInfo.id,
                                            message: "the model returned a gradient of shape \(grad.shape) for inputs \(batchShape)")
            }
            for k in 0..<m {
                let item = start + k, s = item / rows, b = item % rows
                let step = stepSizes[s], src = k * perRow, dst = b * perRow
                for j in 0..<perRow { total[dst + j] += Double(grad.data[src + j] * step) }
            }
            start += m
        }
        return total
    }

    /// Σ attr_b − (F_t(x_b) − F_t(x′_b)) per row, as Captum's `compute_convergence_delta`.
    func convergenceDelta(model: ExplainableModel, attributions: NDArray, input: NDArray, baseline: [Float],
                          shape: ExplainInputs) throws -> [Float] {
        let id = Self.componentInfo.id
        let atInput = try shape.targetScores(model: model, input.data, inputShape: input.shape,
                                             maxElements: maxBatchElements, component: id)
        let atBaseline = try shape.targetScores(model: model, baseline, inputShape: input.shape,
                                                maxElements: maxBatchElements, component: id)
        return (0..<shape.rows).map { b in
            var sum = 0.0
            for j in 0..<shape.perRow { sum += Double(attributions.data[b * shape.perRow + j]) }
            return Float(sum - (Double(atInput[b]) - Double(atBaseline[b])))
        }
    }
}
