import EmoPluginSDK
import EmoLayers
import EmoCore

/// Early fusion: concatenates G feature groups `[B, C_g]` into `[B, ΣC_g]`. No parameters; its backward
/// splits the gradient back into the groups.
public final class EarlyFusion: Fusion {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .fusion, id: "early", version: "1.0.0", displayName: "Early fusion (concatenation)",
        manifest: [
            "description": "Concatenates the feature groups along the feature axis.",
            "inputs": [["name": "groups", "modality": "any", "dims": ["B", "C_g"], "repeated": true]],
            "outputs": [["name": "fused", "modality": "any", "dims": ["B", "C"]]],
            "config": Config.schema,
        ])

    /// The settings.
    struct Config: ComponentConfig {
        var inputs = [64, 64]
        static var fields: [ConfigField<Config>] { [FusionSupport.inputs(\.inputs)] }
    }

    private let widths: [Int]
    private let total: Int
    private var lastBatch = 0

    /// Reads the group widths.
    public init(config: JSONValue) throws {
        widths = try Config.read(config, component: Self.componentInfo.id).inputs
        total = widths.reduce(0, +)
    }

    /// Group widths and the fused width.
    public var resolvedDescription: JSONValue {
        ["config": ["inputs": .array(widths.map { .number(Double($0)) })],
         "outputs": [["name": "fused", "dims": ["B", .number(Double(total))]]]]
    }

    /// G × `[B, C_g]` → `[B, ΣC_g]`.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        let groups = try GroupInputs(inputs, widths: widths, component: Self.componentInfo.id)
        let b = groups.batch
        var out = NDArray(zeros: [b, total])
        out.data.withUnsafeMutableBufferPointer { dst in
            guard let d = dst.baseAddress else { return }
            var offset = 0
            for (g, a) in groups.arrays.enumerated() {
                a.data.withUnsafeBufferPointer { src in
                    if let s = src.baseAddress { FusionSupport.place(s, into: d, batch: b, total: total, offset: offset, width: widths[g]) }
                }
                offset += widths[g]
            }
        }
        lastBatch = b
        return [.array(out)]
    }

    /// `[B, ΣC_g]` → G × `[B, C_g]`.
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        let g = try FusionSupport.gradient(gradOutputs, rows: lastBatch, width: total, component: Self.componentInfo.id)
        return g.data.withUnsafeBufferPointer { src -> [NDArray] in
            guard let s = src.baseAddress else { return widths.map { NDArray(zeros: [0, $0]) } }
            var offset = 0
            return widths.map { w in
                defer { offset += w }
                return FusionSupport.columns(s, batch: lastBatch, total: total, offset: offset, width: w)
            }
        }
    }

    /// None.
    public var parameters: [ParameterBuffer] { [] }
    /// Nothing to switch.
    public func setTraining(_ training: Bool) {}
    /// An empty parameter state.
    public func saveState() throws -> [UInt8] { ParameterState.encode([]) }
    /// Accepts only an empty parameter state.
    public func loadState(_ bytes: [UInt8]) throws { try ParameterState.decode(bytes, into: [], component: Self.componentInfo.id) }
}
