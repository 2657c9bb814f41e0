import EmoCore
import EmoRuntime
import EmoTensor
import Foundation

/// What a bundle records so that another machine can check it will run as it was evaluated: the EmoKit version,
/// every component's plugin, version and library SHA-256, each model checkpoint's content hash, and the
/// probabilities it gave for a fixed reference input when it was written.
public struct BundleProvenance: Sendable, Codable, Equatable {
    /// One component the bundle runs.
    public struct Component: Sendable, Codable, Equatable {
        /// What it does here: a feature group's name, "transcriber of <group>", "fusion" or "classifier".
        public var role: String
        /// Component id and version.
        public var id: String, version: String
        /// The plugin that provided it, its version, its library's file name and SHA-256.
        public var plugin: String, pluginVersion: String, library: String, librarySHA256: String
        /// The content hash of the model folder it loaded (`checkpoint_sha256` of its resolved config), if any.
        public var checkpointSHA256: String?
    }

    /// The EmoKit release that wrote the bundle.
    public var emokitVersion: String
    /// When (ISO 8601, UTC).
    public var created: String
    /// Every component, in pipeline order.
    public var components: [Component]
    /// The reference input's name (`ReferenceInput.name`), the text given with it, and the probabilities then.
    public var referenceInput: String
    public var referenceText: String?
    public var referenceProbabilities: [Double]

    /// The record for `bundle` on this machine: components from `host`, the reference prediction from `predictor`.
    public static func make(bundle: PipelineBundle, host: PluginHost, predictor: Predictor) throws -> BundleProvenance {
        let m = bundle.manifest
        var components: [Component] = []
        for (g, group) in m.groups.enumerated() {
            components.append(try record(role: group.name, id: group.component, host: host,
                                         loaded: predictor.extractors[g]))
            if let from = group.textFrom, let t = predictor.transcribers[g] {
                components.append(try record(role: "transcriber of \(group.name)", id: from.component, host: host, loaded: t))
            }
        }
        components.append(try record(role: "fusion", id: m.fusion.component, host: host, loaded: nil))
        components.append(try record(role: "classifier", id: m.classifier.component, host: host, loaded: nil))
        let text = m.groups.contains { $0.readsText } ? ReferenceInput.text : nil
        let p = try predictor.predict(clip: ReferenceInput.clip(), text: text).probabilities
        let formatter = ISO8601DateFormatter()
        return BundleProvenance(emokitVersion: EmoKitVersion.string, created: formatter.string(from: Date()),
                                components: components, referenceInput: ReferenceInput.name, referenceText: text,
                                referenceProbabilities: p.map(Double.init))
    }

    /// One component's record: registration from `host`, checkpoint hash from the loaded instance's resolved config.
    static func record(role: String, id: String, host: PluginHost, loaded: LoadedComponent?) throws -> Component {
        let r = try host.component(id)
        let checkpoint = loaded?.resolvedDescription["config"]?["checkpoint_sha256"]?.stringValue
        return Component(role: role, id: id, version: r.component.info?.version ?? "?", plugin: r.plugin,
                         pluginVersion: r.pluginVersion, library: (r.library as NSString).lastPathComponent,
                         librarySHA256: SHA256.hex(ofFile: r.library) ?? "unreadable", checkpointSHA256: checkpoint)
    }
}

/// The fixed input a bundle's reference prediction is made on: 2 s at 16 kHz of a 140 Hz harmonic tone with a
/// 5 Hz vibrato (10 harmonics at 1/k), a 4 Hz syllable-rate envelope and seeded noise (SplitMix64 seed 7), and a
/// short sentence for text groups.
public enum ReferenceInput {
    /// Its name in bundles (a new recipe gets a new name).
    public static let name = "emokit-reference-v1"
    /// The sentence text groups get.
    public static let text = "Kids are talking by the door."

    /// The samples.
    public static func samples() -> [Float] {
        var rng = SplitMix64(seed: 7)
        let rate = 16_000.0
        return (0..<32_000).map { i in
            let t = Double(i) / rate
            // instantaneous frequency 140 + 6·sin(2π·5t) Hz, integrated
            let phase = 2 * Double.pi * 140 * t - 6 / 5 * cos(2 * Double.pi * 5 * t)
            var v = 0.0
            for k in 1...10 { v += sin(Double(k) * phase) / Double(k) }
            let envelope = 0.5 - 0.5 * cos(2 * Double.pi * 4 * t)
            let noise = Double(rng.next() >> 11) / Double(1 << 53) - 0.5
            return Float(0.1 * envelope * v + 0.005 * noise)
        }
    }

    /// The samples as a clip.
    public static func clip() -> Clip {
        let s = samples()
        return Clip(samples: s, sampleRate: 16_000, pcmHash: SHA256.hex(ofSamples: s),
                    provenance: Provenance(path: name, format: "synthetic", originalSampleRate: 16_000,
                                           originalChannels: 1, fileHash: SHA256.hex(ofSamples: s)))
    }
}

/// What `emo bundle verify` found: per component and checkpoint whether this machine has the same, and whether the
/// reference prediction is reproduced.
public struct BundleVerification: Sendable {
    /// One line of the report.
    public struct Finding: Sendable, Equatable {
        /// "ok", "differs" or "missing".
        public var status: String
        /// What was compared.
        public var subject: String
        /// The detail.
        public var detail: String
    }

    /// Every finding, in order.
    public var findings: [Finding]
    /// The largest |Δp| of the reference prediction (nil when the bundle has no provenance or could not run).
    public var maxProbabilityDifference: Double?
    /// Whether predictions are reproduced within `tolerance`.
    public var predictionsReproduced: Bool
    /// The tolerance used.
    public static let tolerance = 1e-4

    /// Checks `bundle` against this machine's plugins and models.
    public static func verify(bundle: PipelineBundle, host: PluginHost) -> BundleVerification {
        var findings: [Finding] = []
        let predictor: Predictor
        do { predictor = try Predictor(bundle: bundle, host: host) } catch {
            findings.append(Finding(status: "missing", subject: "the pipeline", detail: "cannot be built here: \(error)"))
            return BundleVerification(findings: findings, maxProbabilityDifference: nil, predictionsReproduced: false)
        }
        guard let recorded = bundle.manifest.provenance else {
            findings.append(Finding(status: "missing", subject: "provenance", detail: "the bundle was written by an EmoKit that recorded no provenance; it loads and runs here, but nothing can be compared (retrain, or rerun `emo run`, to record it)"))
            return BundleVerification(findings: findings, maxProbabilityDifference: nil, predictionsReproduced: true)
        }
        findings.append(Finding(status: recorded.emokitVersion == EmoKitVersion.string ? "ok" : "differs", subject: "EmoKit",
                                detail: "bundle \(recorded.emokitVersion), here \(EmoKitVersion.string)"))
        let current: BundleProvenance
        do { current = try BundleProvenance.make(bundle: bundle, host: host, predictor: predictor) } catch {
            findings.append(Finding(status: "missing", subject: "reference prediction", detail: "failed here: \(error)"))
            return BundleVerification(findings: findings, maxProbabilityDifference: nil, predictionsReproduced: false)
        }
        for old in recorded.components {
            guard let now = current.components.first(where: { $0.role == old.role && $0.id == old.id }) else {
                findings.append(Finding(status: "missing", subject: "\(old.role): \(old.id)", detail: "not installed here"))
                continue
            }
            var notes: [String] = []
            if now.version != old.version { notes.append("version \(old.version) → \(now.version)") }
            if now.pluginVersion != old.pluginVersion { notes.append("plugin \(old.plugin) \(old.pluginVersion) → \(now.pluginVersion)") }
            if now.librarySHA256 != old.librarySHA256 { notes.append("library \(now.library) is another build (SHA-256 \(old.librarySHA256.prefix(12))… → \(now.librarySHA256.prefix(12))…)") }
            if now.checkpointSHA256 != old.checkpointSHA256 {
                notes.append("model checkpoint differs (\(old.checkpointSHA256?.prefix(12) ?? "none")… → \(now.checkpointSHA256?.prefix(12) ?? "none")…)")
            }
            findings.append(Finding(status: notes.isEmpty ? "ok" : "differs", subject: "\(old.role): \(old.id) \(old.version)",
                                    detail: notes.isEmpty ? "same version, library and checkpoint" : notes.joined(separator: "; ")))
        }
        let diff = zip(recorded.referenceProbabilities, current.referenceProbabilities).map { abs($0 - $1) }.max()
            ?? .infinity
        let same = recorded.referenceProbabilities.count == current.referenceProbabilities.count && diff <= tolerance
        findings.append(Finding(status: same ? "ok" : "differs", subject: "reference prediction (\(recorded.referenceInput))",
                                detail: String(format: "max |Δp| %.2e (tolerance %.0e)", diff, tolerance)
                                    + (same ? ": predictions are reproduced" : ": predictions would change on this machine")))
        return BundleVerification(findings: findings, maxProbabilityDifference: diff, predictionsReproduced: same)
    }
}
