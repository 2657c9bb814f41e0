import EmoCore

/// Everything a trained bundle does after one encoder group, as one differentiable component over that group's
/// embedding `[B, C_g]` → logits `[B, K]`: the group's scaling (the scaler's global affine map), the other groups
/// held at one clip's scaled values, then the trained fusion + classifier.
///
/// With it, `WaveformModel(encoder:, head: .component(BundleHead(...)))` attributes a bundle's prediction to the
/// waveform samples through the encoder group, answering "which parts of the audio, via this encoder, moved the
/// score" while handcrafted or text groups stay as the clip has them (they are not differentiable in the samples).
public final class BundleHead: DifferentiableComponent {
    private let chain: TrainingChain
    private let layout: FeatureLayout
    private let group: Int
    private let fixedRow: [Float]     // [ΣC] the clip's scaled feature row
    private let shift: [Float]        // [C_g] subtracted from the embedding
    private let inverseScale: [Float] // [C_g] multiplied after

    /// Wraps `chain` for group index `group` of `scaler.layout`; `scaledRow` `[1, ΣC]` is the clip's scaled row.
    public init(chain: TrainingChain, scaler: FittedScaler, group: Int, scaledRow: NDArray) throws {
        let ranges = scaler.layout.ranges
        guard ranges.indices.contains(group) else {
            throw ComponentError.invalidInput(component: "bundle-head", message: "group \(group) is not in the scaler's layout (\(ranges.count) groups)")
        }
        guard scaledRow.count == scaler.layout.width else {
            throw ComponentError.invalidInput(component: "bundle-head", message: "the scaled row has \(scaledRow.count) values, the layout \(scaler.layout.width)")
        }
        guard !scaler.spec.perSpeaker else {
            throw ComponentError.unsupported(component: "bundle-head", call: "waveform attribution of a bundle scaled per speaker (the clip's speaker statistics are unknown); retrain with global scaling")
        }
        let cols = ranges[group].columns
        self.chain = chain
        self.layout = scaler.layout
        self.group = group
        self.fixedRow = scaledRow.data
        self.shift = cols.map { Float(scaler.global.shift[$0]) }
        self.inverseScale = cols.map { Float(1 / scaler.global.scale[$0]) }
        chain.setTraining(false)
    }

    /// Identity (not a plugin).
    public var info: ComponentInfo {
        ComponentInfo(kind: .classifier, id: "bundle-head", version: "1", displayName: "bundle head (scaler + fusion + classifier)",
                      manifest: .object([:]))
    }

    /// The wrapped group.
    public var resolvedDescription: JSONValue {
        .object(["group": .string(layout.groups[group].name), "width": .number(Double(shift.count))])
    }

    /// Embedding `[B, C_g]` → logits `[B, K]`.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        let cg = shift.count
        guard let e = inputs.first?.array, e.rank == 2, e.shape[1] == cg else {
            throw ComponentError.invalidInput(component: "bundle-head", message: "expected the group's embedding [B, \(cg)]")
        }
        let b = e.shape[0]
        var groups: [NDArray] = []
        for (g, r) in layout.ranges.enumerated() {
            var x = NDArray(zeros: [b, r.columns.count])  // [B, C_g']
            for row in 0..<b {
                for (j, col) in r.columns.enumerated() {
                    x.data[row * r.columns.count + j] = g == group
                        ? (e.data[row * cg + j] - shift[j]) * inverseScale[j]
                        : fixedRow[col]
                }
            }
            groups.append(x)
        }
        return [.array(try chain.forward(groups))]
    }

    /// d logits `[B, K]` → d embedding `[B, C_g]` (through the chain, then the scaling).
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        guard let d = gradOutputs.first else {
            throw ComponentError.invalidInput(component: "bundle-head", message: "expected d logits [B, K]")
        }
        let grads = try chain.backward(d)
        guard grads.indices.contains(group) else {
            throw ComponentError.failed(component: "bundle-head", message: "the chain returned \(grads.count) group gradients, expected \(layout.groups.count)")
        }
        var g = grads[group]  // [B, C_g]
        let cg = shift.count
        for i in 0..<g.count { g.data[i] *= inverseScale[i % cg] }
        return [g]
    }
}
