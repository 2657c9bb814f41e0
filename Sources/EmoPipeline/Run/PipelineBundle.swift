import EmoCore
import EmoMedia
import EmoRuntime
import Foundation

/// A trained pipeline as a portable folder: any host with the same plugins can load it and predict.
///
/// ```
/// bundle/
///   bundle.json        classes, feature groups (component id, version, config, names), fusion and classifier
///                      ids + resolved configs, protocol and test metrics of the run that trained it
///   scaler.json        the scaler fitted on the training rows
///   fusion.state       fusion state bytes (saveState)
///   classifier.state   classifier state bytes
///   encoder-NAME.safetensors   for each fine-tuned group NAME, its encoder's weights (saveState: Hugging Face
///                      tensor names, so `transformers` loads them with the checkpoint's config.json)
/// ```
public struct PipelineBundle: Sendable {
    /// A feature group: component and config (what extraction needs) plus its columns.
    public struct Group: Sendable, Codable, Equatable {
        /// Group name.
        public var name: String
        /// Extractor or encoder id.
        public var component: String
        /// Version of the component that produced the training features (a different version is refused).
        public var version: String
        /// Config passed at creation.
        public var config: JSONValue
        /// Column names.
        public var featureNames: [String]
        /// What the component reads: "audio" (default when absent), "corpus-text" or "transcript".
        public var input: String?
        /// For "transcript": the transcriber that makes the text from the clip (absent in older bundles).
        public var textFrom: ComponentRef?
        /// For a fine-tuned group: the bundle file holding its encoder's trained weights, loaded over the
        /// checkpoint's (absent for frozen groups).
        public var weights: String?

        /// Whether the group reads text rather than audio.
        public var readsText: Bool { (input ?? "audio") != "audio" }
    }

    /// The `bundle.json` content.
    public struct Manifest: Sendable, Codable, Equatable {
        /// Bundle format (1).
        public var format: Int
        /// Pipeline name.
        public var name: String
        /// Class names, index = class id.
        public var classes: [String]
        /// Feature groups, in fusion input order.
        public var groups: [Group]
        /// Fusion component id and resolved config.
        public var fusion: ComponentRef
        /// Classifier component id and resolved config.
        public var classifier: ComponentRef
        /// How the model was evaluated (corpus, split, seeds, overlap).
        public var evaluation: String
        /// Test accuracy and macro-F1 of the split this model was trained on.
        public var testAccuracy: Double, testMacroF1: Double
        /// The spec's corpus label map (raw corpus label → class), so batch tools label new items the same way.
        public var labelMap: [String: String]?
        /// How training decoded clips (absent = the defaults), so prediction decodes the same way.
        public var audio: AudioSpec?
        /// What the bundle needs to run elsewhere and how it answered then (absent in bundles from before
        /// EmoKit 0.1.0's session 7): `emo bundle verify` compares it with this machine.
        public var provenance: BundleProvenance?

        /// The class index of a raw corpus label, or nil when it maps to none of `classes`.
        public func classIndex(ofRawLabel raw: String) -> Int? {
            classes.firstIndex(of: labelMap?[raw] ?? raw)
        }
    }

    /// The manifest.
    public var manifest: Manifest
    /// The fitted scaler.
    public var scaler: FittedScaler
    /// Fusion state bytes.
    public var fusionState: [UInt8]
    /// Classifier state bytes.
    public var classifierState: [UInt8]
    /// Fine-tuned encoders' weights by bundle file name (`Group.weights`).
    public var encoderStates: [String: [UInt8]]

    /// The bundle file of fine-tuned group `name`'s encoder weights.
    static func weightsFile(group name: String) -> String { "encoder-\(name).safetensors" }

    /// The bundle of a finished run (its first seed's first split).
    public init(run: PipelineRun) throws {
        guard let model = run.model, let first = run.result.folds.first else {
            throw RunError.unsupported("the run trained no model, so there is nothing to bundle")
        }
        let groups = zip(run.spec.featureGroups, run.groups).map { spec, info in
            Group(name: spec.name, component: spec.component, version: info.version, config: spec.config,
                  featureNames: info.featureNames, input: spec.input.rawValue, textFrom: spec.textFrom,
                  weights: model.encoderStates[spec.name] == nil ? nil : Self.weightsFile(group: spec.name))
        }
        manifest = Manifest(format: 1, name: run.spec.name, classes: run.corpus.classes, groups: groups,
                            fusion: ComponentRef(component: run.spec.fusion.component, config: model.fusionConfig),
                            classifier: ComponentRef(component: run.spec.classifier.component, config: model.classifierConfig),
                            evaluation: "\(run.protocolDescription); this model: seed \(first.seed), \(first.split)",
                            testAccuracy: first.metrics.accuracy, testMacroF1: first.metrics.macroF1,
                            labelMap: run.spec.corpus.labelMap, audio: run.spec.audio)
        scaler = model.scaler
        fusionState = model.fusionState
        classifierState = model.classifierState
        encoderStates = Dictionary(model.encoderStates.map { (Self.weightsFile(group: $0.key), $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    /// Writes the bundle into `directory` (created if needed).
    public func write(to directory: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: directory + "/bundle.json"))
        try scaler.jsonData().write(to: URL(fileURLWithPath: directory + "/scaler.json"))
        try Data(fusionState).write(to: URL(fileURLWithPath: directory + "/fusion.state"))
        try Data(classifierState).write(to: URL(fileURLWithPath: directory + "/classifier.state"))
        for (name, bytes) in encoderStates { try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + name)) }
    }

    /// Reads a bundle folder, or a bundle archive file (`emo bundle pack`); every missing or unreadable file is named.
    public static func load(_ directory: String) throws -> PipelineBundle {
        var isDirectory: ObjCBool = false
        let archive: [String: Data]?
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
            archive = try BundleArchive.read(directory)
        } else {
            archive = nil
        }
        func read(_ name: String) throws -> Data {
            guard let d = archive.map({ $0[name] }) ?? FileManager.default.contents(atPath: directory + "/" + name) else {
                throw RunError.bundle(path: directory + "/" + name, message: "missing or unreadable; a bundle needs bundle.json, scaler.json, fusion.state and classifier.state")
            }
            return d
        }
        let manifest: Manifest
        do { manifest = try JSONDecoder().decode(Manifest.self, from: try read("bundle.json")) } catch let e as RunError { throw e } catch {
            throw RunError.bundle(path: directory + "/bundle.json", message: "not a bundle manifest: \(error)")
        }
        guard manifest.format == 1 else {
            throw RunError.bundle(path: directory + "/bundle.json", message: "bundle format \(manifest.format) is not supported (this EmoKit reads 1)")
        }
        let scaler = try FittedScaler.load(data: try read("scaler.json"), path: directory + "/scaler.json")
        let widths = manifest.groups.map(\.featureNames.count)
        guard scaler.layout.groups.map(\.width) == widths, scaler.layout.groups.map(\.name) == manifest.groups.map(\.name) else {
            throw RunError.bundle(path: directory + "/scaler.json", message: "the scaler's columns \(scaler.layout.groups.map { "\($0.name) \($0.width)" }) do not match bundle.json's feature groups \(zip(manifest.groups, widths).map { "\($0.name) \($1)" }); the bundle's files come from different runs")
        }
        guard !manifest.classes.isEmpty else {
            throw RunError.bundle(path: directory + "/bundle.json", message: "the bundle names no classes")
        }
        var encoderStates: [String: [UInt8]] = [:]
        for name in manifest.groups.compactMap(\.weights) {
            guard !name.contains("/"), name.hasSuffix(".safetensors") else {
                throw RunError.bundle(path: directory + "/bundle.json", message: "group weights \"\(name)\" must name a .safetensors file inside the bundle")
            }
            encoderStates[name] = [UInt8](try read(name))
        }
        return PipelineBundle(manifest: manifest, scaler: scaler, fusionState: [UInt8](try read("fusion.state")),
                              classifierState: [UInt8](try read("classifier.state")), encoderStates: encoderStates)
    }

    private init(manifest: Manifest, scaler: FittedScaler, fusionState: [UInt8], classifierState: [UInt8],
                 encoderStates: [String: [UInt8]]) {
        self.manifest = manifest
        self.scaler = scaler
        self.fusionState = fusionState
        self.classifierState = classifierState
        self.encoderStates = encoderStates
    }
}

/// A loaded bundle ready to predict: extractors, scaler, fusion and classifier instantiated from the host's plugins.
public final class Predictor {
    /// The bundle.
    public let bundle: PipelineBundle
    /// Feature components, one per group.
    public let extractors: [LoadedComponent]
    /// Per group: the transcriber of a "transcript" group, nil for the others.
    public let transcribers: [LoadedComponent?]
    /// The trained chain.
    public let chain: TrainingChain
    private let decoder: MediaDecoder
    /// What scales a single clip: the bundle's scaler, or for a per-speaker bundle its global training statistics
    /// (a lone clip has no speaker; `predict(clips:speaker:)` scales a speaker's clips as the bundle was evaluated).
    public let singleClipScaler: FittedScaler

    /// The fewest clips whose own statistics scale an unseen speaker (`unseenSpeakers: own-features`): fewer give
    /// unreliable means and spreads (one clip would be scaled to all zeros).
    public static let minimumOwnStatisticsClips = 8

    /// Whether the bundle scales each speaker with that speaker's statistics. Single clips (`predict(path:)`,
    /// `predict(clip:)`) then go through the global training statistics, a different protocol from the one the
    /// bundle was evaluated with; `predict(clips:speaker:)` gives the evaluated one.
    public var scalesPerSpeaker: Bool { bundle.scaler.spec.perSpeaker }

    /// Instantiates every component of `bundle` from `host` and restores the trained states.
    public init(bundle: PipelineBundle, host: PluginHost) throws {
        self.bundle = bundle
        singleClipScaler = bundle.scaler.spec.perSpeaker ? bundle.scaler.globalOnly : bundle.scaler
        var extractors: [LoadedComponent] = []
        var transcribers: [LoadedComponent?] = []
        for g in bundle.manifest.groups {
            switch g.input ?? "audio" {
            case "audio", "corpus-text":
                transcribers.append(nil)
            case "transcript":
                guard let from = g.textFrom else {
                    throw RunError.bundle(path: g.component, message: "group '\(g.name)' reads transcripts but the bundle names no transcriber (written by an older EmoKit); retrain it, or predict with --text")
                }
                transcribers.append(try host.instantiate(id: from.component, config: from.config))
            case let other:
                throw RunError.bundle(path: g.component, message: "group '\(g.name)' reads '\(other)', which this EmoKit does not know (audio, corpus-text, transcript)")
            }
            let c = try host.instantiate(id: g.component, config: g.config)
            guard c.info.version == g.version else {
                throw RunError.bundle(path: g.component, message: "the bundle was trained on \(g.component) \(g.version) features but the installed plugin is \(c.info.version); retrain, or install that version")
            }
            if let file = g.weights {  // fine-tuned: the trained weights over the checkpoint's
                guard let bytes = bundle.encoderStates[file] else {
                    throw RunError.bundle(path: file, message: "group '\(g.name)' was fine-tuned but its weights are not in the bundle")
                }
                do { try c.loadState(bytes) } catch {
                    throw RunError.bundle(path: file, message: "cannot load group '\(g.name)''s fine-tuned weights into \(g.component): \(error)")
                }
            }
            extractors.append(c)
        }
        self.extractors = extractors
        self.transcribers = transcribers
        let fusion = try host.instantiate(id: bundle.manifest.fusion.component, config: bundle.manifest.fusion.config)
        let classifier = try host.instantiate(id: bundle.manifest.classifier.component, config: bundle.manifest.classifier.config)
        try fusion.loadState(bundle.fusionState)
        try classifier.loadState(bundle.classifierState)
        chain = TrainingChain(fusion: fusion, classifier: classifier)
        chain.setTraining(false)
        decoder = try MediaDecoder(options: bundle.manifest.audio?.decodeOptions ?? DecodeOptions())
        // A damaged head (NaN or infinite weights) shows on any input: check one all-zero row (the training mean
        // after scaling) before trusting it with real clips.
        let width = bundle.scaler.layout.width
        let probe = try probabilities(scaled: NDArray(shape: [1, width], data: [Float](repeating: 0, count: width)))
        guard probe.shape == [1, bundle.manifest.classes.count] else {
            throw RunError.bundle(path: bundle.manifest.classifier.component, message: "the trained head gives \(probe.shape) probabilities for one row, but the bundle names \(bundle.manifest.classes.count) classes")
        }
        guard probe.data.allSatisfy(\.isFinite) else {
            throw RunError.bundle(path: bundle.manifest.classifier.component, message: "the trained fusion/classifier gives non-finite probabilities on the mean input: its stored weights hold NaN or infinity (fusion.state / classifier.state damaged, or training diverged); retrain")
        }
    }

    /// Whether some group reads text (so a prediction needs `text`, or a transcriber for it).
    public var needsText: Bool { bundle.manifest.groups.contains { $0.readsText } }

    /// The text a text group encodes for this clip: `text` when given, else the group's transcript of the clip.
    public func text(forGroup g: Int, clip: Clip, given text: String?) throws -> String {
        if let text { return text }
        let group = bundle.manifest.groups[g]
        guard let transcriber = transcribers[g] else {
            throw RunError.unsupported("bundle group '\(group.name)' encodes the utterance's text (corpus-text): give it with --text \"...\"")
        }
        guard let t = try transcriber.forward([.array(NDArray(vector: clip.samples))]).first?.text else {
            throw RunError.badOutput(component: transcriber.info.id, message: "returned no text for the clip")
        }
        return t
    }

    /// The unscaled feature row of one clip, all groups side by side `[1, ΣC_g]`, and the text each text group
    /// encoded (by group index). `text` is the utterance's text for text groups (a transcript group transcribes
    /// the clip when it is nil).
    public func features(of clip: Clip, text: String? = nil) throws -> (row: NDArray, texts: [Int: String]) {
        var row: [Float] = []
        var texts: [Int: String] = [:]
        for (g, c) in extractors.enumerated() {
            let input: Value
            if bundle.manifest.groups[g].readsText {
                let t = try self.text(forGroup: g, clip: clip, given: text)
                texts[g] = t
                input = .text(t)
            } else {
                input = c.info.kind == .encoder
                    ? .array(try NDArray(shape: [1, clip.samples.count], data: clip.samples))
                    : .array(NDArray(vector: clip.samples))
            }
            guard let out = try c.forward([input]).first?.array else {
                throw RunError.badOutput(component: c.info.id, message: "returned no float features")
            }
            row += out.data
        }
        return (try NDArray(shape: [1, row.count], data: row), texts)
    }

    /// Class probabilities of the scaled feature rows `[B, ΣC_g]` (already scaled).
    public func probabilities(scaled: NDArray) throws -> NDArray {
        softmaxRows(try chain.predict(splitColumns(scaled, layout: bundle.scaler.layout)))
    }

    /// Decodes `path`, extracts, scales and classifies: probabilities per class, in `bundle.manifest.classes` order.
    /// `text` is the utterance's text for bundles with text groups (see `features(of:text:)`).
    /// A clip without speech (`SpeechPresence`: silence, a DC offset, a steady tone, shorter than 0.2 s) is refused
    /// with `RunError.noSpeech` instead of given a confident answer; the check sees the whole recording, before the
    /// bundle's trimming or cropping.
    public func predict(path: String, text: String? = nil) throws -> Prediction {
        try predict(clip: try decode(path: path), text: text)
    }

    /// Extracts, scales and classifies an already decoded clip (as given: the reference input and occluded copies
    /// of a clip come this way, so no speech check).
    /// A per-speaker bundle scales the clip with its global training statistics (see `scalesPerSpeaker`).
    public func predict(clip: Clip, text: String? = nil) throws -> Prediction {
        let (raw, texts) = try features(of: clip, text: text)
        let scaled = try singleClipScaler.transform(raw).values
        let p = try probabilities(scaled: scaled).data
        guard p.allSatisfy(\.isFinite) else {
            throw RunError.badOutput(component: bundle.manifest.classifier.component, message: "non-finite probabilities for \(clip.provenance.path) (its features are not finite after imputation: silent or corrupt audio?)")
        }
        return Prediction(clip: clip, features: raw, probabilities: p, texts: texts)
    }

    /// Classifies clips of one speaker together, scaled as the bundle was evaluated: a per-speaker bundle uses the
    /// speaker's training statistics when it trained on `speaker`, else (an unseen speaker) the statistics of these
    /// clips' features (`unseenSpeakers: own-features`, at least `minimumOwnStatisticsClips` clips) or the global
    /// training ones (`global-train`). Other bundles scale as `predict(clip:)` does. `texts[i]` is clip i's text.
    public func predict(clips: [Clip], speaker: String, texts: [String?]? = nil) throws -> [Prediction] {
        guard !clips.isEmpty else { return [] }
        let scaler = bundle.scaler
        if scaler.spec.perSpeaker, scaler.speakers[speaker] == nil, scaler.spec.unseenSpeakers == .ownFeatures,
           clips.count < Self.minimumOwnStatisticsClips {
            throw RunError.unsupported("speaker '\(speaker)' is not one the bundle trained on, so it is scaled with the statistics of its own clips, and \(clips.count) clip\(clips.count == 1 ? "" : "s") are too few (at least \(Self.minimumOwnStatisticsClips)): give more of this speaker's clips, or predict them without a speaker (global training statistics)")
        }
        var rows: [Float] = []
        var features: [(row: NDArray, texts: [Int: String])] = []
        for (i, clip) in clips.enumerated() {
            let f = try self.features(of: clip, text: texts.flatMap { $0.indices.contains(i) ? $0[i] : nil })
            rows += f.row.data
            features.append(f)
        }
        let width = rows.count / clips.count
        let scaled = try scaler.transform(try NDArray(shape: [clips.count, width], data: rows),
                                          speakers: scaler.spec.perSpeaker ? Array(repeating: speaker, count: clips.count) : nil).values
        let p = try probabilities(scaled: scaled).data
        let k = bundle.manifest.classes.count
        return try clips.indices.map { i in
            let row = Array(p[(i * k)..<((i + 1) * k)])
            guard row.allSatisfy(\.isFinite) else {
                throw RunError.badOutput(component: bundle.manifest.classifier.component, message: "non-finite probabilities for \(clips[i].provenance.path) (its features are not finite after imputation: silent or corrupt audio?)")
            }
            return Prediction(clip: clips[i], features: features[i].row, probabilities: row, texts: features[i].texts)
        }
    }

    /// Decodes `path` as `predict(path:)` does (the bundle's audio options), refusing a recording without speech.
    public func decode(path: String) throws -> Clip {
        let rate = decoder.options.sampleRate
        return try decoder.decode(path: path) { whole in
            if let why = SpeechPresence.problem(whole, sampleRate: rate) { throw RunError.noSpeech(path: path, message: why) }
        }
    }
}

/// One clip through a `Predictor`.
public struct Prediction: Sendable {
    /// The decoded clip.
    public var clip: Clip
    /// Unscaled features `[1, ΣC_g]`.
    public var features: NDArray
    /// Probabilities in `bundle.manifest.classes` order.
    public var probabilities: [Float]
    /// The text each text group encoded, by group index.
    public var texts: [Int: String]
}
