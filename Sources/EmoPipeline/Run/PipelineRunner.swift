import EmoCore
import EmoMedia
import EmoRuntime
import EmoStore
import Foundation

/// Runs a `PipelineSpec` end to end: corpus → cached feature extraction → splits × seeds → scaling fit on the
/// training part → fusion + classifier trained by the host → test metrics → mean ± std → report and bundle.
///
/// ```swift
/// let runner = PipelineRunner(spec: spec, host: PluginHost.standard(), store: try FeatureStore(path: "emo.sqlite"))
/// let result = try runner.run()
/// print(result.summary)
/// ```
public final class PipelineRunner {
    /// The pipeline.
    public let spec: PipelineSpec
    /// Where components come from.
    public let host: PluginHost
    /// The feature cache and run log.
    public let store: FeatureStore
    /// Progress and log lines for people (stderr in the CLI).
    public var log: (String) -> Void = { _ in }
    /// Extraction progress per group.
    public var extractionProgress: ((String, ExtractionProgress) -> Void)?
    /// Keep at most this many items per class (stratified by taking every k-th item), for quick runs.
    public var maxItemsPerClass: Int?
    /// Where each split's training checkpoint is written after every epoch (`seed-S-split-I/` folders; nil: none).
    public var checkpointDirectory: String?
    /// Continue each split from its checkpoint in `checkpointDirectory` when one is there (an interrupted run).
    public var resume = false
    /// Seconds between two checkpoints of a split (the last epoch's is always written).
    public var checkpointInterval: Double = 30
    /// Environment for `${VAR}` in corpus paths (EMO_DATA defaults to ../shared/data).
    public var environment: [String: String] = ProcessInfo.processInfo.environment

    /// Creates a runner.
    public init(spec: PipelineSpec, host: PluginHost, store: FeatureStore) {
        self.spec = spec
        self.host = host
        self.store = store
    }

    // MARK: corpus

    /// Loads every corpus source and maps labels onto the spec's classes.
    public func loadCorpus() throws -> RunCorpus {
        var items: [RunItem] = []
        var skipped: [SkippedItem] = []
        var unmapped = 0
        for (source, name) in zip(spec.corpus.sources, spec.corpus.sourceNames) {
            let corpus = try CorpusLoader.load(source: source, environment: environment)
            skipped += corpus.skipped
            for item in corpus.items {
                guard let label = spec.corpus.mappedLabel(item.label), let index = spec.corpus.classes.firstIndex(of: label) else {
                    unmapped += 1
                    continue
                }
                items.append(RunItem(item: item, label: label, classIndex: index, corpus: name))
            }
        }
        if let cap = maxItemsPerClass {
            var byClass: [Int: [RunItem]] = [:]
            for i in items { byClass[i.classIndex, default: []].append(i) }
            var kept: [RunItem] = []
            for c in byClass.keys.sorted() {
                let list = byClass[c] ?? []
                let step = max(1, list.count / max(cap, 1))
                kept += stride(from: 0, to: list.count, by: step).prefix(cap).map { list[$0] }
            }
            items = kept.sorted { $0.item.path < $1.item.path }
        }
        guard !items.isEmpty else {
            throw RunError.emptyCorpus("the corpus sources of '\(spec.name)' gave no items with a label in \(spec.corpus.classes)")
        }
        return RunCorpus(items: items, classes: spec.corpus.classes, skipped: skipped, unmapped: unmapped)
    }

    // MARK: features

    /// Extracts (or reads from the cache) every feature group for `items`.
    public func extractGroups(_ items: [RunItem]) throws -> GroupMatrices {
        // Rows by item index: a path is not an item's identity (MELD without its videos gives every split's
        // dia0_utt0 the same path, with different texts and labels).
        var rowsByGroup: [[Int: [Float]]] = []
        var keys: [FeatureKey] = []
        var names: [[String]] = []
        var failures: [ExtractionFailure] = []
        var liveInputs: [Int: [Value]] = [:]
        for (g, group) in spec.featureGroups.enumerated() {
            let component = try host.instantiate(id: group.component, config: group.config)
            if group.fineTune != nil {
                // Fine-tuned: encoded afresh from the texts or clips at every training step. The table holds zeros of
                // the encoder's width as placeholders (scaled with `none`), so the layout and bundles stay the same.
                let width = try Self.embeddingWidth(component)
                log("group \(group.name): \(group.component) is fine-tuned (\(group.fineTune?.layers ?? "all")); its \(width)-wide embeddings are computed in training, not cached")
                let inputs: [Int: Value]
                if group.input == .audio {
                    let decoded = try liveClips(group, items: items)
                    failures += decoded.failures
                    inputs = decoded.clips
                } else {
                    let texts = try texts(group, items: items)
                    inputs = Dictionary(uniqueKeysWithValues: texts.enumerated().map { ($0.offset, Value.text($0.element)) })
                }
                liveInputs[g] = items.indices.map { inputs[$0] ?? .text("") }
                rowsByGroup.append(Dictionary(uniqueKeysWithValues: inputs.keys.map { ($0, [Float](repeating: 0, count: width)) }))
                keys.append(ExtractionEngine.featureKey(for: component))
                names.append([])
                continue
            }
            guard group.input == .audio else {
                let rows = try textRows(group, component: component, items: items)
                rowsByGroup.append(rows)
                keys.append(ExtractionEngine.featureKey(for: component))
                names.append([])
                continue
            }
            // An extractor runs one instance per worker thread; an encoder batches its clips instead.
            let options = ExtractionOptions(decode: spec.audio.decodeOptions)
            let replicas = component.info.kind == .extractor
                ? try (1..<max(1, options.workers)).map { _ in try host.instantiate(id: group.component, config: group.config) } : []
            let engine = try ExtractionEngine(component: component, store: store, options: options, replicas: replicas)
            log("extracting \(group.name) with \(group.component) \(component.info.version) for \(items.count) clips")
            let report = try engine.run(items: items.map(\.item)) { [extractionProgress] p in extractionProgress?(group.name, p) }
            log("  \(report.extracted) extracted, \(report.cached) cached, \(report.failures.count) failed in \(String(format: "%.1f", report.seconds)) s")
            failures += report.failures
            var rows: [Int: [Float]] = [:]
            for (i, item) in items.enumerated() {
                guard let hash = report.clipHashes[item.item.path],
                      let outputs = try store.outputs(pcmHash: hash, key: engine.key),
                      let first = outputs.first?.array else { continue }
                rows[i] = first.data
            }
            rowsByGroup.append(rows)
            keys.append(engine.key)
            let declared = component.resolvedDescription["outputs"]?.arrayValue?.first?["feature_names"]?.arrayValue?
                .compactMap(\.stringValue) ?? []
            names.append(declared)
        }
        let keptIndices = items.indices.filter { i in rowsByGroup.allSatisfy { $0[i] != nil } }
        let kept = keptIndices.map { items[$0] }
        guard !kept.isEmpty else { throw RunError.emptyCorpus("every clip failed extraction; first failure: \(failures.first?.message ?? "none")") }
        var groups: [GroupMatrices.Group] = []
        for (g, spec) in spec.featureGroups.enumerated() {
            let width = rowsByGroup[g][keptIndices[0]]?.count ?? 0
            var values = NDArray(zeros: [kept.count, width])
            for (r, item) in kept.enumerated() {
                guard let row = rowsByGroup[g][keptIndices[r]], row.count == width else {
                    throw RunError.badOutput(component: spec.component, message: "\(item.item.path) gave a vector of a different width than \(width)")
                }
                for j in 0..<width { values.data[r * width + j] = row[j] }
            }
            let featureNames = names[g].count == width ? names[g] : (0..<width).map { "\(spec.name) dim \($0)" }
            groups.append(.init(name: spec.name, key: keys[g], featureNames: featureNames, values: values))
        }
        return GroupMatrices(items: kept, groups: groups, failures: failures,
                             liveInputs: liveInputs.mapValues { inputs in keptIndices.map { inputs[$0] } })
    }

    /// The decoded clips (`.array([S])`, 16 kHz mono shaped by the spec's `audio` options) that fine-tuned audio group
    /// `group` encodes at every training step, by item index; clips that cannot be decoded are failures (and the item
    /// is dropped from every group, as with extraction). Refuses before decoding when the clips would not fit in
    /// half the memory this machine has available.
    func liveClips(_ group: FeatureGroupSpec, items: [RunItem],
                   available: Double? = PipelineRunner.availableMemoryBytes()) throws -> (clips: [Int: Value], failures: [ExtractionFailure]) {
        let decoder = try MediaDecoder(options: spec.audio.decodeOptions)
        if let available, let seconds = spec.audio.duration {
            let bytes = Double(items.count) * seconds * Double(spec.audio.decodeOptions.sampleRate) * 4
            if bytes > available / 2 {
                throw RunError.unsupported(String(format: "fine-tuning group '%@' keeps its %d clips decoded in memory: %.2f GB at %.1f s each, more than half the %.2f GB this machine has available; shorten audio.duration or use fewer items", group.name, items.count, bytes / 1e9, seconds, available / 1e9))
            }
        }
        log("decoding \(items.count) clips for fine-tuned group \(group.name) (kept in memory, encoded at every step)")
        var clips: [Int: Value] = [:], failures: [ExtractionFailure] = [], bytes = 0.0
        for (i, item) in items.enumerated() {
            do {
                let clip = try decoder.decode(path: item.item.path)
                clips[i] = .array(try NDArray(shape: [clip.samples.count], data: clip.samples))
                bytes += Double(clip.samples.count * 4)
            } catch {
                failures.append(ExtractionFailure(path: item.item.path, message: "\(error)"))
            }
            if let available, bytes > available / 2 {
                throw RunError.unsupported(String(format: "fine-tuning group '%@' keeps its clips decoded in memory: after %d of %d clips they take %.2f GB, half the %.2f GB this machine has available; set audio.duration to crop them or use fewer items", group.name, i + 1, items.count, bytes / 1e9, available / 1e9))
            }
        }
        log(String(format: "  %d clips decoded (%.1f MB), %d failed", clips.count, bytes / 1e6, failures.count))
        return (clips, failures)
    }

    /// Rows of a text feature group: the corpus' own utterance text (`corpus-text`) or the transcript the
    /// group's `textFrom` component makes of each clip (`transcript`), encoded by `component` (e.g. roberta).
    /// Transcripts are cached per clip like features; embeddings under the text's SHA-256.
    func textRows(_ group: FeatureGroupSpec, component: LoadedComponent, items: [RunItem]) throws -> [Int: [Float]] {
        log("encoding \(group.input.rawValue) of \(items.count) items with \(group.component) for group \(group.name)")
        return try encodedRows(try texts(group, items: items), component: component)
    }

    /// The text group `group` reads for each item, in item order: the corpus' own utterance text or the clip's
    /// transcript (made by the group's `textFrom` component and cached in the store per clip).
    func texts(_ group: FeatureGroupSpec, items: [RunItem]) throws -> [String] {
        var transcriber: LoadedComponent?
        if group.input == .transcript {
            guard let from = group.textFrom else {
                throw RunError.unsupported("feature group '\(group.name)' reads transcripts but names no textFrom component (e.g. whisper-transcript)")
            }
            transcriber = try host.instantiate(id: from.component, config: from.config)
        }
        var texts: [String] = []
        texts.reserveCapacity(items.count)
        if let transcriber {
            // Transcripts are extracted like any feature (cached in the store per clip and transcriber config).
            let engine = try ExtractionEngine(component: transcriber, store: store,
                                              options: ExtractionOptions(decode: spec.audio.decodeOptions))
            let report = try engine.run(items: items.map(\.item)) { [extractionProgress] p in extractionProgress?(group.name + " transcripts", p) }
            log("  transcripts: \(report.extracted) made, \(report.cached) cached, \(report.failures.count) failed in \(String(format: "%.1f", report.seconds)) s")
            for item in items {
                guard let hash = report.clipHashes[item.item.path],
                      let text = try store.outputs(pcmHash: hash, key: engine.key)?.first?.text else {
                    let why = report.failures.first { $0.path == item.item.path }?.message ?? "no transcript stored"
                    throw RunError.badOutput(component: transcriber.info.id, message: "no transcript for \(item.item.path): \(why)")
                }
                texts.append(text)
            }
        } else {
            for item in items {
                guard let t = item.item.text, !t.isEmpty else {
                    throw RunError.unsupported("feature group '\(group.name)' reads corpus-text, but \(item.item.path) has no text (use a corpus with transcripts: MELD or a manifest with a text column)")
                }
                texts.append(t)
            }
        }
        return texts
    }

    /// Each text's embedding by its index in `texts`, from the store or encoded by `component` (each distinct text
    /// once).
    func encodedRows(_ texts: [String], component: LoadedComponent) throws -> [Int: [Float]] {
        // Stored rows first: a text's features are keyed by the text's SHA-256 (as a clip's are by its samples'), and
        // each distinct text is encoded once (a repeated text gets the same row however it was batched).
        let key = ExtractionEngine.featureKey(for: component)
        func textHash(_ text: String) -> String { "text:" + SHA256.hex(of: text) }
        var byText: [String: [Float]] = [:]
        var pending: [String] = [], queued: Set<String> = []
        for t in texts where byText[t] == nil && !queued.contains(t) {
            if let stored = try store.outputs(pcmHash: textHash(t), key: key)?.first?.array {
                byText[t] = stored.data
            } else {
                pending.append(t)
                queued.insert(t)
            }
        }
        let distinct = Set(texts).count
        if pending.count < distinct { log("  \(distinct - pending.count) of \(distinct) distinct texts cached in the store") }
        if !pending.isEmpty {
            try store.registerConfig(key, config: component.resolvedDescription["config"] ?? component.resolvedDescription)
        }
        // Texts of similar length share a forward ([B, T] padded to the batch's longest; the pooled vectors do
        // not depend on the padding beyond rounding), 32 at a time.
        let order = pending.sorted { $0.utf8.count < $1.utf8.count }
        for start in stride(from: 0, to: order.count, by: 32) {
            let batch = Array(order[start..<min(order.count, start + 32)])
            guard let out = try component.forward(batch.map { .text($0) }).first?.array,
                  out.rank == 2, out.shape[0] == batch.count else {
                throw RunError.badOutput(component: component.info.id, message: "returned no [B, C] float embedding for \(batch.count) texts")
            }
            let width = out.shape[1]
            var records: [ExtractionRecord] = []
            for (r, text) in batch.enumerated() {
                let row = Array(out.data[(r * width)..<((r + 1) * width)])
                byText[text] = row
                let h = textHash(text)
                records.append(ExtractionRecord(
                    clip: ClipRecord(pcmHash: h, sampleRate: 0, sampleCount: text.utf8.count, format: "text",
                                     originalSampleRate: 0, originalChannels: 0, fileHash: h, decodeKey: "text", path: ""),
                    key: key, outputs: [.array(try NDArray(shape: [width], data: row))]))
            }
            try store.commit(records)
        }
        var rows: [Int: [Float]] = [:]
        for (i, t) in texts.enumerated() { rows[i] = byText[t] }
        return rows
    }

    // MARK: training and evaluation

    /// The trainer settings for `seed`: the spec's `training` block, seeded, with class weights by name resolved
    /// against the corpus classes.
    func trainingConfig(seed: UInt64) -> TrainingConfig {
        var c = spec.training
        c.seed = seed
        if case .named = c.classWeights {
            c.classWeights = .explicit(c.classWeights.resolved(classes: spec.corpus.classes, trainingLabels: []).map { Float($0) })
        }
        return c
    }

    /// The width C of an encoder's `[B, C]` embedding, from its resolved description.
    static func embeddingWidth(_ component: LoadedComponent) throws -> Int {
        guard let width = component.resolvedDescription["outputs"]?.arrayValue?.first?["dims"]?.arrayValue?.last?.intValue,
              width > 0 else {
            throw RunError.badOutput(component: component.info.id, message: "describe() does not state its embedding width (outputs[0].dims)")
        }
        return width
    }

    /// Fresh fine-tuned encoders for the spec's `fineTune` groups (group index → encoder), each created from the
    /// checkpoint with `fine_tune` and the run's seed added to its config.
    public func makeEncoders(seed: UInt64) throws -> [Int: LoadedComponent] {
        try checkFineTunable()
        var out: [Int: LoadedComponent] = [:]
        for (g, group) in spec.featureGroups.enumerated() {
            guard let fineTune = group.fineTune else { continue }
            let manifest = try host.component(group.component).component.manifest
            var extra: [String: JSONValue] = ["fine_tune": .string(fineTune.layers)]
            if manifest["config"]?["seed"] != nil { extra["seed"] = .number(Double(seed % (1 << 52))) }
            let encoder = try host.instantiate(id: group.component, config: group.config.merging(.object(extra)))
            guard encoder.parameters.contains(where: { !$0.isBuffer }) else {
                throw RunError.unsupported("cannot fine-tune component \(group.component) (group '\(group.name)'): it exposes no parameters")
            }
            try checkTrainingMemory(encoder, group: group.name)
            out[g] = encoder
        }
        return out
    }

    /// Estimates the memory fine-tuning `encoder` takes at the spec's batch size (the component's own
    /// `training_memory` in its description: fixed bytes plus, per row, `bytes_per_token · T` and, where attention
    /// grows with the square of the length, `bytes_per_token_squared · T²`, with T its `max_tokens` — or, for an audio
    /// group with `audio.duration`, that duration × `tokens_per_second`), logs it, and refuses before training when it
    /// exceeds the memory this machine has available.
    func checkTrainingMemory(_ encoder: LoadedComponent, group: String, available: Double? = PipelineRunner.availableMemoryBytes()) throws {
        let cost = encoder.resolvedDescription["training_memory"]
        guard let fixed = cost?["fixed_bytes"]?.doubleValue, let perToken = cost?["bytes_per_token"]?.doubleValue,
              let maxTokens = cost?["max_tokens"]?.doubleValue else { return }
        var tokens = maxTokens
        if let perSecond = cost?["tokens_per_second"]?.doubleValue, let seconds = spec.audio.duration {
            tokens = min(maxTokens, (seconds * perSecond).rounded(.up))
        }
        let squared = cost?["bytes_per_token_squared"]?.doubleValue ?? 0
        let batch = Double(spec.training.batchSize)
        let estimate = fixed + batch * (perToken * tokens + squared * tokens * tokens)
        let unit = cost?["tokens_per_second"] == nil ? "tokens" : "frames"
        func gb(_ b: Double) -> String { String(format: "%.2f GB", b / 1e9) }
        log("group \(group): fine-tuning \(encoder.info.id) needs about \(gb(estimate)) at batch \(Int(batch)) × up to \(Int(tokens)) \(unit) (\(gb(fixed)) weights, gradients and optimiser moments)")
        if let available, estimate > available {
            let knob = unit == "frames" ? "audio.duration (or the encoder's max_seconds)" : "the encoder's max_tokens"
            // An encoder that can checkpoint activations and does not yet: that keeps the batch and the length.
            let checkpointing = encoder.resolvedDescription["config"]?["gradient_checkpointing"]?.boolValue == false
                ? ", or set gradient_checkpointing: true in the group's config (one layer's activations kept instead of all; one more forward per step)" : ""
            throw RunError.unsupported("fine-tuning \(encoder.info.id) (group '\(group)') needs an estimated \(gb(estimate)) at batch \(Int(batch)) × \(Int(tokens)) \(unit), more than the \(gb(available)) this machine has available: lower training.batchSize (training.gradientAccumulation keeps the effective batch) or \(knob)\(checkpointing)")
        }
    }

    /// `MemAvailable` from /proc/meminfo in bytes, or nil where it cannot be read.
    static func availableMemoryBytes() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            return line.split(separator: " ").dropFirst().first.flatMap { Double($0) }.map { $0 * 1024 }
        }
        return nil
    }

    /// Refuses, before any extraction, a `fineTune` group whose component cannot be fine-tuned.
    func checkFineTunable() throws {
        for group in spec.featureGroups where group.fineTune != nil {
            guard try host.component(group.component).component.manifest["config"]?["fine_tune"] != nil else {
                throw RunError.unsupported("cannot fine-tune component \(group.component) (group '\(group.name)'): it exposes no parameters (its manifest has no fine_tune option); remove fineTune to use it frozen")
            }
        }
    }

    /// Builds a fresh fusion + classifier chain for group widths `widths`, seeded.
    public func makeChain(widths: [Int], seed: UInt64) throws -> (chain: TrainingChain, fusion: LoadedComponent, classifier: LoadedComponent) {
        let seedValue = JSONValue.number(Double(seed % (1 << 52)))
        /// The run's seed, for a component whose manifest takes one (components refuse keys they do not declare).
        func seeded(_ id: String, _ config: [String: JSONValue]) throws -> JSONValue {
            var config = config
            if (try host.component(id)).component.manifest["config"]?["seed"] != nil { config["seed"] = seedValue }
            return .object(config)
        }
        let fusionConfig = try seeded(spec.fusion.component, ["inputs": .array(widths.map { .number(Double($0)) })])
        let fusion = try host.instantiate(id: spec.fusion.component, config: spec.fusion.config.merging(fusionConfig))
        guard let fusedWidth = fusion.resolvedDescription["outputs"]?.arrayValue?.first?["dims"]?.arrayValue?.last?.intValue else {
            throw RunError.badOutput(component: spec.fusion.component, message: "describe() does not state its output width (outputs[0].dims)")
        }
        let classifierConfig = try seeded(spec.classifier.component, ["inputs": .number(Double(fusedWidth)),
                                                                      "classes": .number(Double(spec.corpus.classes.count))])
        let classifier = try host.instantiate(id: spec.classifier.component,
                                              config: spec.classifier.config.merging(classifierConfig))
        return (TrainingChain(fusion: fusion, classifier: classifier), fusion, classifier)
    }

    /// Runs the whole protocol and returns per-split results, aggregates and the first split's trained model.
    public func run() throws -> PipelineRun {
        try checkFineTunable()
        let corpus = try loadCorpus()
        log("\(spec.name): \(corpus.items.count) items, classes \(corpus.classes) with counts \(corpus.classCounts); \(corpus.skipped.count) skipped, \(corpus.unmapped) unmapped")
        // Make the splits once before extracting, so a protocol that cannot be made (an unknown corpus, classes on
        // one side only, too few texts) stops the run before the long part.
        if let first = spec.seeds.first { _ = try spec.split.method.splits(of: corpus.items, seed: first) }
        let matrices = try extractGroups(corpus.items)
        let items = matrices.items
        let layout = matrices.layout
        let all = try FeatureTable(values: matrices.concatenated(), layout: layout)
        // Fine-tuned groups: their texts or clips (encoded at every step) and identity scaling of their placeholder
        // columns.
        let liveInputs = matrices.liveInputs
        var scaling = spec.scaling
        for g in liveInputs.keys { scaling.groups[spec.featureGroups[g].name] = ScalingMethod.none }
        var folds: [FoldResult] = []
        var seconds: [Double] = []
        var firstModel: TrainedModel?
        var trainedSplits: [SeededSplit] = []
        for seed in spec.seeds {
            let splits = try spec.split.splits(of: items, seed: seed)
            for (splitIndex, split) in splits.enumerated() {
                let started = Date()
                let speakers = items.map { $0.speaker ?? "" }
                let scaler = try scaling.fit(all, layout: layout, split: split, speakers: speakers)
                var imputed = 0
                let k = corpus.classes.count
                func part(_ rows: [Int]) throws -> TrainingSet {
                    let scaled = try scaler.transform(all, rows: rows, speakers: speakers)
                    imputed += scaled.imputation.total
                    return try TrainingSet(groups: splitColumns(scaled.values, layout: layout), labels: rows.map { items[$0].classIndex },
                                           classes: k, liveInputs: liveInputs.mapValues { inputs in rows.map { inputs[$0] } })
                }
                let train = try part(split.train)
                let test = try part(split.test)
                let validation = split.validation.isEmpty ? nil : try part(split.validation)
                var (chain, fusion, classifier) = try makeChain(widths: layout.groups.map(\.width), seed: seed)
                let encoders = try makeEncoders(seed: seed)
                chain.encoders = encoders
                if encoders.keys.contains(where: { spec.featureGroups[$0].input == .audio }) { chain.liveEvaluationBatchSize = 8 }
                chain.encoderLearningRates = encoders.keys.reduce(into: [:]) { rates, g in
                    if let lr = spec.featureGroups[g].fineTune?.learningRate { rates[g] = lr }
                }
                var trainer = Trainer(config: trainingConfig(seed: seed))
                let checkpointFolder = checkpointDirectory.map { "\($0)/seed-\(seed)-split-\(splitIndex)" }
                if let checkpointFolder {
                    trainer.onCheckpoint = { try $0.write(to: checkpointFolder) }
                    trainer.checkpointInterval = checkpointInterval
                }
                var saved: TrainingCheckpoint?
                if resume, let checkpointFolder, let checkpoint = try TrainingCheckpoint.read(from: checkpointFolder) {
                    saved = checkpoint
                    log("  seed \(seed) \(split.name): resuming from its checkpoint after epoch \(checkpoint.epochsDone)\(checkpoint.finished ? " (finished)" : "")")
                }
                let result = try trainer.train(chain, on: train, validation: validation, resumingFrom: saved)
                chain.setTraining(false)
                let probabilities = softmaxRows(try chain.predict(test.groups, live: test.liveInputs,
                                                                  batchSize: chain.evaluationBatchSize))
                let predicted = (0..<test.labels.count).map { r in
                    (0..<k).max { probabilities.data[r * k + $0] < probabilities.data[r * k + $1] } ?? 0
                }
                let scores = (0..<test.labels.count).map { r in (0..<k).map { Double(probabilities.data[r * k + $0]) } }
                let metrics = try ClassificationMetrics.compute(truth: test.labels, predicted: predicted, classes: corpus.classes,
                                                                scores: scores)
                // With several corpora, the same metrics over each corpus's test items.
                var perCorpus: [String: ClassificationMetrics]?
                if Set(items.map(\.corpus)).count > 1 {
                    var byCorpus: [String: [Int]] = [:]
                    for (r, i) in split.test.enumerated() { byCorpus[items[i].corpus, default: []].append(r) }
                    perCorpus = try byCorpus.mapValues { rows in
                        try ClassificationMetrics.compute(truth: rows.map { test.labels[$0] }, predicted: rows.map { predicted[$0] },
                                                          classes: corpus.classes, scores: rows.map { scores[$0] })
                    }
                }
                let elapsed = Date().timeIntervalSince(started)
                log(String(format: "  seed %llu %@: accuracy %.4f, macro-F1 %.4f, %d epochs, %.1f s (%@)", seed, split.name,
                           metrics.accuracy, metrics.macroF1, result.history.count, elapsed, split.overlap.summary))
                let curves = TrainingCurves(epochs: result.history.map {
                    TrainingCurves.Epoch(epoch: $0.epoch, trainLoss: $0.trainLoss, validationLoss: $0.validationLoss,
                                         trainAccuracy: $0.trainAccuracy, validationAccuracy: $0.validationAccuracy,
                                         learningRate: $0.learningRate)
                }, bestEpoch: result.selectedEpoch)
                folds.append(FoldResult(seed: seed, split: split.name, overlap: split.overlap, metrics: metrics,
                                        curves: curves, imputedValues: imputed, perCorpus: perCorpus))
                seconds.append(elapsed)
                trainedSplits.append(SeededSplit(seed: seed, split: split))
                if firstModel == nil {
                    firstModel = TrainedModel(scaler: scaler, fusionState: try fusion.saveState(),
                                              classifierState: try classifier.saveState(),
                                              fusionConfig: fusion.resolvedDescription["config"] ?? .object([:]),
                                              classifierConfig: classifier.resolvedDescription["config"] ?? .object([:]),
                                              encoderStates: try encoders.reduce(into: [:]) { states, e in
                                                  states[spec.featureGroups[e.key].name] = try e.value.saveState()
                                              })
                }
            }
        }
        let sources = spec.corpus.sources.map(\.kind).joined(separator: "+")
        let runProtocol = RunProtocol(corpus: "\(sources) (\(corpus.classes.count) classes, \(items.count) items)",
                                      split: spec.split.method.displayName, scaling: scalingName, seeds: spec.seeds)
        return PipelineRun(spec: spec, corpus: corpus, groups: matrices.groups.map {
            PipelineRun.GroupInfo(name: $0.name, component: $0.key.componentID, version: $0.key.componentVersion,
                                  configHash: $0.key.configHash, width: $0.values.shape[1], featureNames: $0.featureNames)
        }, extractionFailures: matrices.failures, result: RunResult(model: spec.name, runProtocol: runProtocol, folds: folds),
        splitSeconds: seconds, model: firstModel, items: items, features: all.values, trainedSplits: trainedSplits)
    }

    /// The scaling in words ("standard", "none", "standard per speaker").
    var scalingName: String {
        spec.scaling.method.rawValue + (spec.scaling.perSpeaker ? " per speaker" : "")
    }
}

