import EmoPluginSDK
import EmoLayers
import EmoCore

/// The G feature groups of one fusion call, checked against the configured widths.
struct GroupInputs {
    /// One `[B, C_g]` array per group.
    let arrays: [NDArray]
    /// B.
    let batch: Int

    /// Checks `inputs` against `widths` (one float `[B, C_g]` array per group, the same B for all).
    init(_ inputs: [Value], widths: [Int], component: String) throws {
        guard inputs.count == widths.count else {
            throw ComponentError.invalidInput(component: component,
                                              message: "expected \(widths.count) feature groups (config 'inputs' = \(widths)), got \(inputs.count)")
        }
        var arrays: [NDArray] = []
        for (g, v) in inputs.enumerated() {
            guard let a = v.array, a.rank == 2, a.shape[1] == widths[g] else {
                throw ComponentError.invalidInput(component: component,
                                                  message: "group \(g) must be a [B, \(widths[g])] float array, got \(v.array.map { "\($0.shape)" } ?? "a non-float value")")
            }
            arrays.append(a)
        }
        let batch = arrays.first?.shape[0] ?? 0
        guard arrays.allSatisfy({ $0.shape[0] == batch }) else {
            throw ComponentError.invalidInput(component: component, message: "groups have different row counts \(arrays.map { $0.shape[0] })")
        }
        self.arrays = arrays
        self.batch = batch
    }
}

/// Helpers shared by the fusion components.
enum FusionSupport {
    /// The `inputs` config key every fusion takes: one width per group, at least one group.
    static func inputs<C>(_ path: WritableKeyPath<C, [Int]>) -> ConfigField<C> {
        .ints("inputs", path, in: 1...1_048_576, nonEmpty: true, "C_g: width of each feature group, in input order")
    }

    /// The `seed` config key: initialisation (and dropout) seed; group g's layers use seed + g.
    static func seed<C>(_ path: WritableKeyPath<C, Int>, _ doc: String) -> ConfigField<C> {
        .int("seed", path, in: 0...Int.max, doc)
    }

    /// Copies the column block `[offset, offset + width)` of `[B, total]` rows out as `[B, width]`.
    static func columns(_ x: UnsafePointer<Float>, batch: Int, total: Int, offset: Int, width: Int) -> NDArray {
        var out = NDArray(zeros: [batch, width])
        out.data.withUnsafeMutableBufferPointer { dst in
            guard let d = dst.baseAddress else { return }
            for b in 0..<batch { (d + b * width).update(from: x + b * total + offset, count: width) }
        }
        return out
    }

    /// Writes `[B, width]` rows of `src` into columns `[offset, offset + width)` of `dst` `[B, total]`.
    static func place(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, batch: Int, total: Int,
                      offset: Int, width: Int) {
        for b in 0..<batch { (dst + b * total + offset).update(from: src + b * width, count: width) }
    }

    /// One gradient `[B, width]` for the first output, as every fusion's backward expects.
    static func gradient(_ grads: [NDArray], rows: Int, width: Int, component: String, allowSecond: Bool = false) throws -> NDArray {
        guard grads.count == 1 || (allowSecond && grads.count == 2), grads[0].shape == [rows, width] else {
            throw ComponentError.invalidInput(component: component,
                                              message: "backward expects a [\(rows), \(width)] gradient for the last forward, got \(grads.map(\.shape))")
        }
        return grads[0]
    }
}

/// One sub-network per feature group, outputs concatenated: the shared front of late and projection fusion.
///
/// `forward` runs group g through `branches[g]` and writes its `[B, O_g]` output into columns
/// `[Σ_{h<g} O_h, Σ_{h≤g} O_h)` of one `[B, ΣO_g]` buffer; `backward` splits a gradient of that buffer the same way
/// and runs each branch's backward, which accumulates the branch's parameter gradients.
final class BranchConcat {
    /// The per-group sub-networks, in group order.
    let branches: [Sequential]
    /// ΣO_g, the concatenation's width.
    let width: Int
    private let offsets: [Int]
    private let concat = FloatBuffer()  // [B, ΣO_g]

    /// Wraps the branches (one per group).
    init(_ branches: [Sequential]) {
        self.branches = branches
        offsets = branches.reduce(into: [0]) { $0.append($0[$0.count - 1] + $1.outFeatures) }
        width = offsets[offsets.count - 1]
    }

    /// Every branch's parameters, in branch order.
    var parameters: [ParameterStorage] { branches.flatMap(\.parameters) }

    /// G × `[B, C_g]` → `[B, ΣO_g]`; the pointer stays valid until the next call (B > 0).
    func forward(_ groups: GroupInputs, training: Bool, component: String) throws -> UnsafePointer<Float> {
        let b = groups.batch
        let cat = concat.reserve(b * width)
        for (g, branch) in branches.enumerated() {
            let y = try groups.arrays[g].data.withUnsafeBufferPointer { p in
                try branch.forward(try base(p, component), batch: b, training: training)
            }
            FusionSupport.place(y, into: cat, batch: b, total: width, offset: offsets[g], width: branch.outFeatures)
        }
        return UnsafePointer(cat)
    }

    /// d concatenation `[B, ΣO_g]` → G × d group `[B, C_g]`.
    func backward(_ dcat: UnsafePointer<Float>, batch b: Int, component: String) throws -> [NDArray] {
        try branches.enumerated().map { g, branch in
            let dBranch = FusionSupport.columns(dcat, batch: b, total: width, offset: offsets[g], width: branch.outFeatures)
            return try branch.backward(dBranch, component: component)
        }
    }
}
