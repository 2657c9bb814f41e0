// The `handcrafted` Extractor component: 16 kHz mono samples in, one named feature vector out.

import EmoCore
import EmoPluginSDK
import Foundation

/// Handcrafted acoustic features (MFCC, chroma, spectral shape, ZCR, RMS, pYIN pitch, formants, HNR, jitter,
/// shimmer, speech rate) with librosa 0.11 numerics, as one vector per clip.
///
/// Input `[.array([S])]` 16 kHz mono samples; output `[.array([C])]` whose names are in `resolvedDescription`
/// (`outputs[0].feature_names`) and in `featureNames`.
public final class HandcraftedExtractor: Extractor {
    /// Identity and manifest.
    public static let componentInfo = ComponentInfo(
        kind: .extractor, id: "handcrafted", version: "1.1.0", displayName: "Handcrafted acoustic features",
        manifest: manifest)

    /// The resolved settings.
    public let settings: ExtractorSettings
    /// The preset.
    public let preset: Preset
    /// Entries with their effective functionals.
    let entries: [(PresetEntry, [Functional])]
    /// Names of the output features, in order.
    public let featureNames: [String]
    /// The resolved config (what `resolvedDescription` reports).
    let resolvedConfig: JSONValue
    private let analyzer: DescriptorAnalyzer
    /// openSMILE's eGeMAPSv02 (preset `egemaps-v02` only).
    private let egemaps: EGeMAPSv02?
    private let lock = NSLock()

    /// Creates the extractor from a config (manifest defaults merged with the user's values).
    public init(config: JSONValue) throws {
        let c = try Config.read(config, component: Self.componentInfo.id)
        func bad(_ m: String) -> ComponentError { .invalidConfig(component: "handcrafted", message: m) }
        let p = c.preset
        var s = c.settings
        s.pitch.hopLength = s.hop
        let custom = c.descriptors ?? []
        let override = c.functionals
        do { analyzer = try DescriptorAnalyzer(settings: s) } catch { throw bad(error.description) }
        do { egemaps = p == .egemapsV02 ? try EGeMAPSv02() : nil } catch { throw bad(error.description) }
        settings = s
        preset = p
        entries = p.entries(custom: custom).map { ($0, $0.descriptor.isScalar ? [] : (override ?? $0.functionals)) }
        var names: [String] = []
        for (entry, fns) in entries {
            var channels = entry.descriptor.channelNames(s)
            if let m = entry.maxChannels { channels = Array(channels.prefix(m)) }
            if entry.descriptor.isScalar { names += channels } else {
                for c in channels { for f in fns { names.append("\(c)_\(f.rawValue)") } }
            }
        }
        featureNames = p == .egemapsV02 ? EGeMAPSv02.functionalNames : names
        resolvedConfig = c.json
    }

    /// `{"config":{...},"outputs":[{"name":"features","dims":[C],"feature_names":[...]}]}`.
    public var resolvedDescription: JSONValue {
        .object(["config": resolvedConfig,
                 "outputs": .array([.object(["name": "features", "dims": .array([.number(Double(featureNames.count))]),
                                             "feature_names": .array(featureNames.map { .string($0) })])])])
    }

    /// `[.array([S])]` samples → `[.array([C])]` features.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        guard inputs.count == 1, let a = inputs[0].array, a.rank == 1 else {
            throw ComponentError.invalidInput(component: "handcrafted", message: "expected one rank-1 array of 16 kHz mono samples [T]")
        }
        return [.array(NDArray(vector: try features(a.data).map { Float($0) }))]
    }

    /// The feature vector of one clip, in `featureNames` order (Double precision).
    public func features(_ samples: [Float]) throws -> [Double] {
        guard samples.count >= 2 else {
            throw ComponentError.invalidInput(component: "handcrafted", message: "clip has \(samples.count) samples; need at least 2")
        }
        guard samples.allSatisfy({ $0.isFinite }) else {
            throw ComponentError.invalidInput(component: "handcrafted", message: "clip contains NaN or infinite samples")
        }
        if let egemaps {
            lock.lock()
            defer { lock.unlock() }
            return egemaps.functionals(samples)
        }
        let y = samples.map { Double($0) }
        let wanted = Set(entries.map { $0.0.descriptor })
        lock.lock()
        let tracks = analyzer.analyze(y, wanted: wanted)
        lock.unlock()
        var out: [Double] = []
        for (entry, fns) in entries {
            guard let (values, dt) = tracks.tracks[entry.descriptor] else { continue }
            var chans = values
            if let m = entry.maxChannels { chans = Array(chans.prefix(m)) }
            if entry.descriptor.isScalar { out += chans.map { $0.first ?? .nan } } else {
                for c in chans { for f in fns { out.append(f.apply(c, dt: dt)) } }
            }
        }
        return out
    }
}
