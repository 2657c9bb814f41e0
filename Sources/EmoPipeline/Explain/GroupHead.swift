import EmoCore

/// Feature groups `[B, C_g]` → logits `[B, K]`, and the gradient back to every group: what a trained fusion +
/// classifier chain is to an explainer.
public protocol GroupsToLogits {
    /// Logits `[B, K]` of the groups.
    func logits(_ groups: [NDArray]) throws -> NDArray
    /// d (Σ dLogits ⊙ logits) / d groups, one `[B, C_g]` per group, for the last `logits` call.
    func groupGradients(_ dLogits: NDArray) throws -> [NDArray]
}

extension TrainingChain: GroupsToLogits {
    /// The chain's forward.
    public func logits(_ groups: [NDArray]) throws -> NDArray { try forward(groups) }
    /// The chain's backward through the fusion to the groups.
    public func groupGradients(_ dLogits: NDArray) throws -> [NDArray] { try backward(dLogits) }
}

/// A trained head seen from one feature group: the other groups held at one sample's values, the group's scaling
/// applied in front (and differentiated), so an encoder's output `[B, C]` maps to logits `[B, K]`.
///
/// This is how one modality of a fused pipeline is explained while the others stay as they were for the clip
/// (audio held while tokens vary, or the reverse). As a `DifferentiableComponent` (embedding `[B, C]` → logits
/// `[B, K]`) it is the head of a `WaveformModel`; `TokenModel` calls `logits` / `embeddingGradient` directly.
public final class GroupHead: DifferentiableComponent {
    private let head: any GroupsToLogits
    /// Index of the varying group among the head's inputs.
    public let group: Int
    private let fixed: [NDArray?]  // per group: [1, C_h] held values, nil at `group`
    private let affine: ColumnAffine?
    /// C of the varying group.
    public let width: Int

    /// Wraps `head`; `groups` are one sample's (already scaled) values of every group, `[1, C_h]` each — the entry
    /// at `group` only gives its width; `scaling` is the varying group's own columns of the fitted scaler (nil when
    /// the pipeline does not scale).
    public init(head: any GroupsToLogits, groups: [NDArray], varying group: Int, scaling: ColumnAffine? = nil) throws {
        guard groups.indices.contains(group) else {
            throw ComponentError.invalidInput(component: "group-head", message: "group \(group) is outside the head's \(groups.count) groups")
        }
        for (h, g) in groups.enumerated() where g.rank != 2 || g.shape[0] != 1 {
            throw ComponentError.invalidInput(component: "group-head", message: "group \(h) must be one row [1, C], got \(g.shape)")
        }
        let width = groups[group].shape[1]
        if let scaling, scaling.shift.count != width || scaling.scale.count != width {
            throw ComponentError.invalidInput(component: "group-head",
                                              message: "scaling has \(scaling.shift.count)/\(scaling.scale.count) columns, group \(group) has \(width)")
        }
        self.head = head
        self.group = group
        self.width = width
        self.affine = scaling
        fixed = groups.enumerated().map { $0.offset == group ? nil : $0.element }
    }

    /// The head of a trained bundle seen from group `group`: `scaledRow` `[1, ΣC]` is one clip's scaled feature row
    /// (the other groups are held at it) and the scaler's global statistics for the group's columns are applied
    /// to the group's raw values. Refused for per-speaker scaling (the clip's speaker statistics are unknown).
    public convenience init(chain: TrainingChain, scaler: FittedScaler, group: Int, scaledRow: NDArray) throws {
        let ranges = scaler.layout.ranges
        guard ranges.indices.contains(group) else {
            throw ComponentError.invalidInput(component: "group-head", message: "group \(group) is not in the scaler's layout (\(ranges.count) groups)")
        }
        guard scaledRow.count == scaler.layout.width else {
            throw ComponentError.invalidInput(component: "group-head", message: "the scaled row has \(scaledRow.count) values, the layout \(scaler.layout.width)")
        }
        guard !scaler.spec.perSpeaker else {
            throw ComponentError.unsupported(component: "group-head", call: "attribution through one group of a bundle scaled per speaker (the clip's speaker statistics are unknown); retrain with global scaling")
        }
        chain.setTraining(false)
        let columns = ranges[group].columns
        try self.init(head: chain, groups: splitColumns(try NDArray(shape: [1, scaler.layout.width], data: scaledRow.data), layout: scaler.layout),
                      varying: group, scaling: ColumnAffine(shift: Array(scaler.global.shift[columns]), scale: Array(scaler.global.scale[columns])))
    }

    /// Identity (a host-side component, not a plugin).
    public var info: ComponentInfo {
        ComponentInfo(kind: .classifier, id: "group-head", version: "1", displayName: "trained head seen from one feature group",
                      manifest: .object([:]))
    }

    /// The varying group and its width.
    public var resolvedDescription: JSONValue { ["group": .number(Double(group)), "width": .number(Double(width))] }

    /// `[.array(embedding [B, C])]` → `[.array(logits [B, K])]`.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        guard let e = inputs.first?.array else {
            throw ComponentError.invalidInput(component: "group-head", message: "expected the group's values [B, \(width)]")
        }
        return [.array(try logits(e))]
    }

    /// `[d logits [B, K]]` → `[d embedding [B, C]]`.
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        guard let d = gradOutputs.first else {
            throw ComponentError.invalidInput(component: "group-head", message: "expected d logits [B, K]")
        }
        return [try embeddingGradient(d)]
    }

    /// Logits `[B, K]` for the varying group's raw (unscaled) values `[B, C]`.
    public func logits(_ embedding: NDArray) throws -> NDArray {
        guard embedding.rank == 2, embedding.shape[1] == width else {
            throw ComponentError.invalidInput(component: "group-head", message: "expected [B, \(width)], got \(embedding.shape)")
        }
        let b = embedding.shape[0]
        var scaled = embedding
        if let affine {
            for r in 0..<b {
                for j in 0..<width {
                    scaled.data[r * width + j] = Float((Double(embedding.data[r * width + j]) - affine.shift[j]) / affine.scale[j])
                }
            }
        }
        let groups = try fixed.map { g -> NDArray in
            guard let g else { return scaled }
            return try NDArray(shape: [b, g.shape[1]], data: Array((0..<b).map { _ in g.data }.joined()))
        }
        return try head.logits(groups)
    }

    /// d (Σ dLogits ⊙ logits) / d the varying group's raw values `[B, C]`, for the last `logits` call.
    public func embeddingGradient(_ dLogits: NDArray) throws -> NDArray {
        let grads = try head.groupGradients(dLogits)
        guard grads.indices.contains(group), grads[group].rank == 2, grads[group].shape[1] == width else {
            throw ComponentError.failed(component: "group-head", message: "the head returned no [B, \(width)] gradient for group \(group)")
        }
        var d = grads[group]
        if let affine {
            let b = d.shape[0]
            for r in 0..<b { for j in 0..<width { d.data[r * width + j] /= Float(affine.scale[j]) } }
        }
        return d
    }
}
