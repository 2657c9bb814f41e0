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
/// hashing and decoding run on `workers` threads, a chunk of `batchSize` files at a time; the component always
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
    private let decoder: MediaDecoder

    /// Prepares a run; throws when options are out of range.
    public init(component: any Component, store: FeatureStore, options: ExtractionOptions = ExtractionOptions()) throws(ExtractionError) {
        guard options.batchSize >= 1 else { throw .invalidOption("batch size must be at least 1, got \(options.batchSize)") }
        guard options.workers >= 1 else { throw .invalidOption("workers must be at least 1, got \(options.workers)") }
        do { decoder = try MediaDecoder(options: options.decode) } catch { throw .invalidOption(error.description) }
        self.component = component
        self.store = store
        self.options = options
        key = ExtractionEngine.featureKey(for: component)
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

        // Chunks of `batchSize` items: files are read and hashed, then decoded, on `workers` threads; cache
        // lookups, the component and the store stay on this thread, in corpus order.
        var start = 0
        while start < items.count {
            let chunk = Array(items[start..<min(items.count, start + options.batchSize)])
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
            for (i, item) in chunk.enumerated() {
                let outcome: Outcome
                if case .failure(let e) = files[i] {
                    outcome = .failed(e.description)
                } else if let pcm = lookups[i], done.contains(pcm) {
                    outcome = .cached(pcmHash: pcm, newSource: nil)
                } else if case .failure(let e)? = clips[i] {
                    outcome = .failed(e.description)
                } else if case .success(let clip)? = clips[i] {
                    outcome = process(item, clip: clip, decodeKey: decodeKey, done: done)
                } else {
                    outcome = .failed("\(item.path): internal error: no decode result")
                }
                switch outcome {
                case .cached(let pcm, let source):
                    state.cached += 1
                    hashes[item.path] = pcm
                    if let s = source { pendingSources.append(s) }
                case .extracted(let record):
                    state.extracted += 1
                    hashes[item.path] = record.clip.pcmHash
                    done.insert(record.clip.pcmHash)
                    pending.append(record)
                case .failed(let message):
                    state.failed += 1
                    failures.append(ExtractionFailure(path: item.path, message: message))
                }
                state.done += 1
                if pending.count >= options.batchSize || pendingSources.count >= 4 * options.batchSize { try flush() }
                progress?(state)
            }
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
    private enum Outcome {
        case cached(pcmHash: String, newSource: ClipRecord?)
        case extracted(ExtractionRecord)
        case failed(String)
    }

    /// Runs the component on a decoded clip unless its PCM is already stored.
    private func process(_ item: CorpusItem, clip: Clip, decodeKey: String, done: Set<String>) -> Outcome {
        let record = ClipRecord(clip: clip, decodeKey: decodeKey)
        if done.contains(clip.pcmHash) { return .cached(pcmHash: clip.pcmHash, newSource: record) }
        let input: Value
        do {
            // Extractors take [T] samples; encoders a batch of one, [1, T].
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
