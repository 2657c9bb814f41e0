import EmoCore
import EmoPluginSDK

/// A minimal Extractor: four summary statistics of a clip. Copy this file to start a new extractor.
///
/// Input `[.array([S])]` 16 kHz mono samples → output `[.array([4])]`: RMS, peak |x|, zero-crossing rate
/// (crossings per sample), duration in seconds.
public final class TemplateStats: Extractor {
    /// Identity and manifest: what `emo plugins show template-stats` prints.
    public static let componentInfo = ComponentInfo(
        kind: .extractor, id: "template-stats", version: "1.0.0", displayName: "Template: clip statistics",
        manifest: [
            "description": "RMS, peak, zero-crossing rate and duration of a clip (a copy-and-rename example).",
            "inputs": [["name": "samples", "modality": "audio", "dims": ["S"], "sample_rate": 16000]],
            "outputs": [["name": "features", "modality": "handcrafted", "dims": [4]]],
            "config": Config.schema,
        ])

    /// The settings.
    struct Config: ComponentConfig {
        var sampleRate = 16000
        static var fields: [ConfigField<Config>] {
            [.int("sample_rate", \.sampleRate, in: 1...Int.max, "samples per second of the input")]
        }
    }

    /// Feature names, in output order.
    public static let featureNames = ["rms", "peak", "zcr", "duration_s"]
    private let sampleRate: Int

    /// Creates the extractor; `sample_rate` must be positive.
    public init(config: JSONValue) throws {
        sampleRate = try Config.read(config, component: Self.componentInfo.id).sampleRate
    }

    /// The resolved config and the names of the four outputs.
    public var resolvedDescription: JSONValue {
        ["config": ["sample_rate": .number(Double(sampleRate))],
         "outputs": [["name": "features", "dims": [4], "feature_names": .array(Self.featureNames.map { .string($0) })]]]
    }

    /// Computes the four statistics of one clip.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        guard inputs.count == 1, let x = inputs[0].array, x.rank == 1 else {
            throw ComponentError.invalidInput(component: Self.componentInfo.id, message: "expected one [T] float array of samples")
        }
        guard x.count > 0 else {
            throw ComponentError.invalidInput(component: Self.componentInfo.id, message: "the clip has 0 samples")
        }
        var energy: Double = 0, peak: Float = 0, crossings = 0
        for (i, v) in x.data.enumerated() {
            guard v.isFinite else {
                throw ComponentError.invalidInput(component: Self.componentInfo.id, message: "sample \(i) is \(v)")
            }
            energy += Double(v) * Double(v)
            peak = max(peak, abs(v))
            if i > 0 && (x.data[i - 1] < 0) != (v < 0) { crossings += 1 }
        }
        let n = Double(x.count)
        let out: [Float] = [Float((energy / n).squareRoot()), peak, Float(Double(crossings) / n), Float(n / Double(sampleRate))]
        return [.array(NDArray(vector: out))]
    }
}
