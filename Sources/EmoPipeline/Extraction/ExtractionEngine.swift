import EmoCore
import EmoMedia
import EmoStore
import Foundation

/// Runs one extractor or encoder over corpus items with the feature store as a cache.
///
/// ```swift
/// let engine = try ExtractionEngine(component: c, store: store, options: ExtractionOptions(batchSize: 32))
/// let report = try engine.run(items: corpus.items) { p in bar.update(p.done) }
/// for f in report.failures { print(f.path, f.message) }
/// ```
/// For each item: hash the file; if that file, decoded with the same options, already has outputs for this
/// (component id, version, config hash), skip it without decoding (no model work). Otherwise decode, run the
/// component and queue the outputs; every `batchSize` queued clips are committed in one transaction. Reading,
/// hashing and decoding run on `workers` threads, a chunk of files at a time. An encoder that accepts clip-exact
/// batches (`ExtractionEngine+Batching.swift`) runs on clips sorted by length in padded batches of similar length;
/// an extractor given `replicas` runs one clip per worker thread, each on its own instance; otherwise the component
/// runs on the calling thread, one clip at a time, in corpus order. A process
/// killed at any point loses only the uncommitted batch, and a rerun finishes the rest: committed clips are
/// skipped and inserts are idempotent, so there are no lost and no duplicated rows. A file that fails (missing,
/// corrupt, no audio, component error) is listed in the report and the run goes on.
public final class ExtractionEngine {
    /// The component being run.
    public let component: any Component
    /// The cache.
    public let store: FeatureStore
    /// Decode and batching options.
    public let options: ExtractionOptions
    /// The cache key of the component's outputs.
    public let key: FeatureKey
    /// More instances of the same extractor and config, so `workers` threads each run one (empty: one thread).
    public let replicas: [any Component]
    private let decoder: MediaDecoder

    /// Prepares a run; throws when options are out of range or a replica is not the component with its config.
    public init(component: any Component, store: FeatureStore, options: ExtractionOptions = ExtractionOptions(),
                replicas: [any Component] = []) throws(ExtractionError) {
        guard options.batchSize >= 1 else { throw .invalidOption("batch size must be at least 1, got \(options.batchSize)") }
        guard options.workers >= 1 else { throw .invalidOption("workers must be at least 1, got \(options.workers)") }
        guard options.encoderBatch >= 1 else { throw .invalidOption("encoder batch must be at least 1, got \(options.encoderBatch)") }
        guard options.sortWindow >= 1 else { throw .invalidOption("sort window must be at least 1, got \(options.sortWindow)") }
        let key = ExtractionEngine.featureKey(for: component)
        guard replicas.allSatisfy({ ExtractionEngine.featureKey(for: $0) == key && $0 !== component }) else {
            throw .invalidOption("every replica must be another instance of \(component.info.id) with the same config")
        }
        guard replicas.isEmpty || component.info.kind == .extractor else {
            throw .invalidOption("replicas are for extractors (an encoder batches its clips instead)")
        }
        self.replicas = replicas
        self.key = key
        do { decoder = try MediaDecoder(options: options.decode) } catch { throw .invalidOption(error.description) }
        self.component = component
        self.store = store
        self.options = options
    }

    /// The cache key of a component: id, version, and SHA-256 of its resolved config (sorted-key JSON). Components
    /// that load a model put the folder's content hash in that config (`checkpoint_sha256`), so new weights under an
    /// old name, or files overwritten in place, get new features.
    public static func featureKey(for component: any Component) -> FeatureKey {
        let config = component.resolvedDescription["config"] ?? component.resolvedDescription
        return FeatureKey(componentID: component.info.id, componentVersion: component.info.version,
                          configHash: SHA256.hex(of: config.serialized()))
    }

    /// Extracts every item not yet stored; `progress` is called after each item.
    public func run(items: [CorpusItem], progress: ((ExtractionProgress) -> Void)? = nil) throws(ExtractionError) -> ExtractionReport {
        let started = Date()
        let decodeKey = options.decode.cacheKey
        let runConfig: JSONValue = .object([
            "component": .string(key.componentID), "version": .string(key.componentVersion),
            "config_hash": .string(key.configHash), "decode": .string(decodeKey),
            "items": .number(Double(items.count)), "batch_size": .number(Double(options.batchSize)),
        ])
        var done: Set<String>
        let runID: Int
        do {
            try store.registerConfig(key, config: component.resolvedDescription["config"] ?? component.resolvedDescription)
            runID = try store.beginRun(kind: "extract", config: runConfig)
            done = try store.extractedHashes(key: key)
        } catch { throw .store(error) }

        var pending: [ExtractionRecord] = [], pendingSources: [ClipRecord] = []
        var state = ExtractionProgress(done: 0, total: items.count, extracted: 0, cached: 0, failed: 0)
        var failures: [ExtractionFailure] = []
        var hashes: [String: String] = [:]

        func flush() throws(ExtractionError) {
            do { try store.commit(pending, sources: pendingSources) } catch { throw .store(error) }
            pending.removeAll(keepingCapacity: true)
            pendingSources.removeAll(keepingCapacity: true)
        }

        // Chunks of items: files are read and hashed, then decoded, on `workers` threads; cache lookups and the
        // store stay on this thread. An encoder that takes clip-exact batches gets a window of `sortWindow` clips
        // sorted by length and cut into batches of similar length; an extractor with replicas runs one clip per
        // worker; anything else runs one clip at a time in corpus order.
        // Off for the rest of the run once a batch's outputs do not split per clip (e.g. hidden states).
        var batching = batchesClips
        let chunkSize = batching ? max(options.batchSize, options.sortWindow) : options.batchSize
        var start = 0
        while start < items.count {
            let chunk = Array(items[start..<min(items.count, start + chunkSize)])
            start += chunk.count
            let files = ParallelMap.run(chunk.count, workers: options.workers) { i in
                Result { () throws(MediaError) in try MediaDecoder.loadFile(chunk[i].path) }
            }
            var lookups = [String?](repeating: nil, count: chunk.count)
            for i in chunk.indices {
                guard case .success(let f) = files[i] else { continue }
                do { lookups[i] = try store.cachedClip(fileHash: f.sha256, decodeKey: decodeKey) } catch { throw .store(error) }
            }
            let clips = ParallelMap.run(chunk.count, workers: options.workers) { i -> Result<Clip, MediaError>? in
                guard case .success(let f) = files[i] else { return nil }
                if let pcm = lookups[i], done.contains(pcm) { return nil }
                return Result { () throws(MediaError) in try decoder.decode(path: chunk[i].path, file: f) }
            }
            // What needs no component (failures, cache hits), and the clips that do (a PCM seen twice runs once).
            var outcomes = [Outcome?](repeating: nil, count: chunk.count)
            var repeats: [Int: ClipRecord] = [:]
            var toRun: [(index: Int, clip: Clip)] = []
            // A PCM seen twice in the chunk runs once; its repeats take the first one's outcome (a cache hit or
            // the same failure), decided once that is known.
            var scheduled: [String: Int] = [:], repeatOf: [Int: Int] = [:]
            for (i, item) in chunk.enumerated() {
                if case .failure(let e) = files[i] {
                    outcomes[i] = .failed(e.description)
                } else if let pcm = lookups[i], done.contains(pcm) {
                    outcomes[i] = .cached(pcmHash: pcm, newSource: nil)
                } else if case .failure(let e)? = clips[i] {
                    outcomes[i] = .failed(e.description)
                } else if case .success(let clip)? = clips[i] {
                    if done.contains(clip.pcmHash) {
                        outcomes[i] = .cached(pcmHash: clip.pcmHash, newSource: ClipRecord(clip: clip, decodeKey: decodeKey))
                    } else if let first = scheduled[clip.pcmHash] {
                        repeatOf[i] = first
                        repeats[i] = ClipRecord(clip: clip, decodeKey: decodeKey)
                    } else {
                        scheduled[clip.pcmHash] = i
                        toRun.append((i, clip))
                    }
                } else {
                    outcomes[i] = .failed("\(item.path): internal error: no decode result")
                }
            }
            var chunkFailures: [(Int, ExtractionFailure)] = []
            func record(_ i: Int) throws(ExtractionError) {
                let item = chunk[i]
                if outcomes[i] == nil, let first = repeatOf[i], let source = repeats[i] {
                    switch outcomes[first] {
                    case .extracted?, .cached?: outcomes[i] = .cached(pcmHash: source.pcmHash, newSource: source)
                    case .failed(let message)?: outcomes[i] = .failed("\(item.path): same audio as \(chunk[first].path), which failed: \(message)")
                    case nil: return
                    }
                }
                switch outcomes[i] {
                case .cached(let pcm, let source)?:
                    state.cached += 1
                    hashes[item.path] = pcm
                    if let s = source { pendingSources.append(s) }
                case .extracted(let record)?:
                    state.extracted += 1
                    hashes[item.path] = record.clip.pcmHash
                    done.insert(record.clip.pcmHash)
                    pending.append(record)
                case .failed(let message)?:
                    state.failed += 1
                    chunkFailures.append((i, ExtractionFailure(path: item.path, message: message)))
                case nil:
                    return
                }
                state.done += 1
                if pending.count >= options.batchSize || pendingSources.count >= 4 * options.batchSize { try flush() }
            }
            func report() {
                state.seconds = Date().timeIntervalSince(started)
                progress?(state)
            }
            if batching || replicas.isEmpty == false {
                // Cache hits and failures first (no model work), then each batch's clips as the batch finishes.
                for i in chunk.indices where outcomes[i] != nil { try record(i) }
                if !chunk.isEmpty { report() }
                let groups = batching ? batches(toRun.map { (index: $0.index, samples: $0.clip.samples.count) })
                                      : [toRun.map(\.index)]
                let clipAt = Dictionary(uniqueKeysWithValues: toRun.map { ($0.index, $0.clip) })
                for group in groups {
                    let members = group.compactMap { i in clipAt[i].map { (i, $0) } }
                    let results: [Outcome]
                    if batching {
                        let run = runBatch(members.map { (chunk[$0.0], $0.1) }, decodeKey: decodeKey)
                        results = run.outcomes
                        batching = batching && run.splittable
                    } else if !replicas.isEmpty {
                        results = runReplicas(members.map { (chunk[$0.0], $0.1) }, decodeKey: decodeKey)
                    } else {
                        results = members.map { process(chunk[$0.0], clip: $0.1, decodeKey: decodeKey, component: component) }
                    }
                    for (m, outcome) in zip(members, results) {
                        outcomes[m.0] = outcome
                        try record(m.0)
                    }
                    report()
                }
                for i in repeatOf.keys.sorted() { try record(i) }
            } else {
                let clipAt = Dictionary(uniqueKeysWithValues: toRun.map { ($0.index, $0.clip) })
                for i in chunk.indices {
                    if outcomes[i] == nil, let clip = clipAt[i] {
                        outcomes[i] = process(chunk[i], clip: clip, decodeKey: decodeKey, component: component)
                    }
                    try record(i)
                    report()
                }
            }
            failures.append(contentsOf: chunkFailures.sorted { $0.0 < $1.0 }.map(\.1))
        }
        try flush()
        do {
            try store.recordMetric(run: runID, name: "extracted", value: Double(state.extracted))
            try store.recordMetric(run: runID, name: "cached", value: Double(state.cached))
            try store.recordMetric(run: runID, name: "failed", value: Double(state.failed))
            try store.finishRun(runID, status: "finished")
        } catch { throw .store(error) }
        return ExtractionReport(key: key, total: items.count, extracted: state.extracted, cached: state.cached,
                                failures: failures, clipHashes: hashes, runID: runID,
                                seconds: Date().timeIntervalSince(started))
    }

    /// What happened to one item.
    enum Outcome {
        case cached(pcmHash: String, newSource: ClipRecord?)
        case extracted(ExtractionRecord)
        case failed(String)
    }

    /// Runs `component` on one decoded clip: `[T]` samples for an extractor, a batch of one `[1, T]` for an encoder.
    func process(_ item: CorpusItem, clip: Clip, decodeKey: String, component: any Component) -> Outcome {
        let record = ClipRecord(clip: clip, decodeKey: decodeKey)
        let input: Value
        do {
            let shape = component.info.kind == .encoder ? [1, clip.samples.count] : [clip.samples.count]
            input = .array(try NDArray(shape: shape, data: clip.samples))
        } catch {
            return .failed("\(item.path): \(error)")
        }
        let outputs: [Value]
        do {
            outputs = try component.forward([input])
        } catch {
            return .failed("\(item.path): \(component.info.id) failed: \(error)")
        }
        guard !outputs.isEmpty else {
            return .failed("\(item.path): \(component.info.id) returned no outputs")
        }
        return .extracted(ExtractionRecord(clip: record, key: key, outputs: outputs))
    }
}
