import EmoCLISupport
import ArgumentParser
import EmoCore
import EmoMedia
import EmoPipeline
import EmoRuntime
import EmoStore
import Foundation

/// `emo extract CORPUS --kind K --component ID`: run one extractor/encoder plugin over a corpus into the store.
struct ExtractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Run an extractor or encoder plugin over a corpus, caching every result in the SQLite feature store.",
        discussion: """
        Results are keyed by (clip PCM hash, component id, component version, config hash): a rerun over cached \
        clips does no model work, and a run killed at any point (even kill -9) is finished by running the same \
        command again (work is committed every --batch-size clips). Files that fail are listed at the end; the \
        exit status is 2 when any failed (0 with --allow-failures). \
        --shard K/N (1 ≤ K ≤ N) keeps only the items whose file content hash (SHA-256) falls in part K of N: the N \
        shards never overlap, together cover the corpus, and do not depend on item order or machine, so each can run \
        anywhere into its own --store and be retried; `emo store merge` joins the stores. --shard slurm reads K and N \
        from a Slurm job array (SLURM_ARRAY_TASK_ID, _MIN, _MAX or _COUNT; docs/scale-out.md). \
        Examples:
          emo extract ../shared/data/ravdess --kind ravdess --component handcrafted --store feats.sqlite
          emo extract ../shared/data/tess --kind tess --component template-stats --export stats.csv --json
          emo extract ravdess/ --kind ravdess --component handcrafted --shard 2/4 --store shard-2.sqlite
        """)

    @OptionGroup var corpus: CorpusSelection

    @Option(name: [.customLong("component"), .customLong("extractor"), .customLong("encoder")],
            help: "Component id of an extractor or encoder (see `emo plugins list --kind extractor`); --extractor and --encoder are aliases.")
    var component: String

    @Option(help: "Shorthand for the config's \"preset\" (handcrafted: study-a, egemaps-like, egemaps-v02).")
    var preset: String?

    @Option(help: "Shorthand for the config's \"model\" (encoders: a name registered with `emo models import`).")
    var model: String?

    @Option(help: "Component config as a JSON object, merged over the manifest defaults.")
    var config: String = "{}"

    @Option(name: .customLong("store"), help: ArgumentHelp("SQLite feature store file, created if missing (default: $EMO_STORE or ~/.cache/emokit/features.sqlite, shared with `emo run`). Repeatable: new features go to the first; clips already in a later one (only read) are not extracted again.",
                               valueName: "store"))
    var stores: [String] = []

    /// The store that is written.
    var store: String { stores.first ?? defaultStorePath() }

    @Option(help: "Clips per committed transaction.")
    var batchSize: Int = 32

    @Option(help: "Threads that read, hash and decode files (default min(4, cores)); an extractor runs one instance on each.")
    var workers: Int = ExtractionOptions.defaultWorkers

    @Option(help: "Most clips per encoder forward, clips of similar length padded together (1: one clip at a time). Features equal the one-clip path's up to float rounding.")
    var encoderBatch: Int = 16

    @Option(help: "Memory (MB) one batched encoder forward may take, by the encoder's own estimate.")
    var batchMemory: Int = 1_024

    @Option(help: "Fix every clip to this many seconds (crop or zero-pad).")
    var duration: Double?

    @Option(help: "Where the fixed-length window sits: start, centre or energy.")
    var align: String = "start"

    @Flag(help: "Per-utterance mean-variance normalisation of the waveform.")
    var normalise = false

    @Option(help: "Trim leading/trailing silence quieter than this many dB below the peak.")
    var trimSilence: Double?

    @Option(parsing: .unconditional, help: "Only the first N items (corpus order).")
    var limit: Int?

    @Option(help: ArgumentHelp("Only shard K of N (K/N, numbered from 1), chosen by each file's content hash; or 'slurm' for the job-array task's shard.",
                               valueName: "K/N|slurm"))
    var shard: String?

    @Option(help: "Also write the features (output 0) to this .csv or .npy file, in corpus order.")
    var export: String?

    @Flag(help: "Exit 0 even when some files failed.")
    var allowFailures = false

    @Flag(help: "No progress bar.")
    var quiet = false

    @Flag(help: "Progress as JSON lines on stderr; the report as one JSON object on stdout.")
    var json = false

    /// Refuses a negative or zero count by name (parsed unconditionally, so `-5` reaches here as a number).
    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be a positive number of items, got \(limit)") }
        if encoderBatch < 1 { throw ValidationError("--encoder-batch must be at least 1, got \(encoderBatch)") }
        _ = try selectedShard()
    }

    /// The shard `--shard` names (nil for the whole corpus); a bad value is a validation error that says why.
    func selectedShard() throws -> CorpusShard? {
        guard let shard else { return nil }
        do {
            if shard.lowercased() == "slurm" { return try CorpusShard.fromSlurm(ProcessInfo.processInfo.environment) }
            return try CorpusShard.parse(shard)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let mode = OutputMode(quiet: quiet, json: json)
        guard let alignment = DecodeOptions.Alignment(rawValue: align) else {
            throw ValidationError("--align must be start, centre or energy (got '\(align)')")
        }
        var cfg: JSONValue
        do { cfg = try JSONValue.parse(config) } catch { throw ValidationError("--config: \(error)") }
        guard cfg.objectValue != nil else { throw ValidationError("--config must be a JSON object") }
        if let preset { cfg = cfg.merging(["preset": .string(preset)]) }
        if let model { cfg = cfg.merging(["model": .string(model)]) }

        var items = try corpus.load().items
        if let limit { items = Array(items.prefix(max(0, limit))) }
        let corpusCount = items.count
        let shard = try selectedShard()
        if let shard { items = CorpusShard.select(items, shard: shard, workers: workers) }
        let host = PluginHost.standard()
        let instance = try host.instantiate(id: component, config: cfg)
        guard instance.info.kind == .extractor || instance.info.kind == .encoder else {
            throw ValidationError("\(component) is a \(instance.info.kind), not an extractor or encoder")
        }
        let featureStore = try FeatureStore(path: store, alsoReading: Array(stores.dropFirst()))
        let decode = DecodeOptions(duration: duration, alignment: alignment, normalise: normalise, trimSilenceTopDB: trimSilence)
        // An extractor runs one instance per worker thread (the ABI: one instance, one thread at a time).
        let replicas = instance.info.kind == .extractor && workers > 1
            ? try (1..<workers).map { _ in try host.instantiate(id: component, config: cfg) } : []
        let engine = try ExtractionEngine(component: instance, store: featureStore,
                                          options: ExtractionOptions(decode: decode, batchSize: batchSize, workers: workers,
                                                                     encoderBatch: encoderBatch,
                                                                     batchMemoryBytes: max(1, batchMemory) << 20),
                                          replicas: replicas)
        let bar = ProgressBar(total: items.count, label: "extract \(component)", mode: mode, unit: "clips")
        let report = try engine.run(items: items) { p in
            // clips/s counts the clips the component ran on; the ETA assumes every item left needs it.
            var detail = p.cached > 0 ? "cached \(p.cached)" : ""
            if p.failed > 0 { detail += (detail.isEmpty ? "" : ", ") + "failed \(p.failed)" }
            bar.update(done: p.done, detail: detail, rate: p.clipsPerSecond, eta: .some(p.etaSeconds))
        }
        bar.finish()

        if let export {
            let rows = items.compactMap { item in report.clipHashes[item.path].map { (item, $0) } }
            let table = try featureStore.featureTable(
                key: report.key, rows: rows.map { (pcmHash: $0.1, id: $0.0.path) },
                columns: [("label", rows.map(\.0.label)), ("speaker", rows.map(\.0.speaker)),
                          ("group", rows.map(\.0.group)), ("split", rows.map { $0.0.split ?? "" })])
            try table.write(to: export)
        }

        if mode == .json {
            var obj = report.json
            if case .object(var o) = obj {
                o["store"] = .string(store)
                if let shard {
                    o["shard"] = .string(shard.description)
                    o["corpus_items"] = .number(Double(corpusCount))
                }
                if let export { o["export"] = .string(export) }
                obj = .object(o)
            }
            print(obj.serialized())
        } else {
            print("\(component) \(report.key.componentVersion) (config \(report.key.configHash.prefix(12))) → \(store)")
            if let shard { print("shard \(shard): \(items.count) of \(corpusCount) items (by file content hash)") }
            print("items \(report.total): extracted \(report.extracted), cached \(report.cached), failed \(report.failures.count)"
                  + String(format: " in %.1f s", report.seconds))
            if let export { print("features written to \(export)") }
            if !report.failures.isEmpty {
                print("\nfailed (\(report.failures.count)):")
                for f in report.failures { print("  \(f.message)") }
            }
        }
        if !report.failures.isEmpty && !allowFailures { throw ExitCode(2) }
    }
}
