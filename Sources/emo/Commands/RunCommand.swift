import EmoCLISupport
import ArgumentParser
import EmoCore
import EmoPipeline
import EmoRuntime
import EmoStore
import Foundation

/// The feature store the CLI uses unless told otherwise: `EMO_STORE`, or `~/.cache/emokit/features.sqlite`.
func defaultStorePath() -> String {
    let env = ProcessInfo.processInfo.environment
    if let s = env["EMO_STORE"], !s.isEmpty { return s }
    let cache = env["XDG_CACHE_HOME"] ?? ((env["HOME"] ?? NSHomeDirectory()) + "/.cache")
    try? FileManager.default.createDirectory(atPath: cache + "/emokit", withIntermediateDirectories: true)
    return cache + "/emokit/features.sqlite"
}

/// The store `emo run` works with: `path` itself, or — when `path` is an existing store this user cannot write (a
/// shared read-only disk, a folder without write permission) — a temporary store that reads `path` beside it, so a
/// run whose features are all cached still runs and nothing is added to `path`. The temporary file (new features,
/// the run record) is removed by `cleanup`.
func openRunStore(_ path: String, alsoReading: [String]) throws -> (store: FeatureStore, cleanup: () -> Void) {
    let fm = FileManager.default
    let folder = (path as NSString).deletingLastPathComponent
    let readOnly = fm.fileExists(atPath: path)
        && (!fm.isWritableFile(atPath: path) || !fm.isWritableFile(atPath: folder.isEmpty ? "." : folder))
    guard readOnly else { return (try FeatureStore(path: path, alsoReading: alsoReading), {}) }
    let temporary = fm.temporaryDirectory.appendingPathComponent("emokit-run-\(getpid())-\(UUID().uuidString.prefix(8)).sqlite").path
    stderrLine("note: the store \(path) is read-only here; reading its features and writing what this run adds (uncached features, the run record) to \(temporary), removed at the end")
    let store = try FeatureStore(path: temporary, alsoReading: [path] + alsoReading)
    return (store, {
        for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: temporary + suffix) }
    })
}

/// Writes a line to stderr (progress and logs; stdout stays for results).
func stderrLine(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

/// `emo run SPEC`: a pipeline spec end to end.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline spec end to end: features (cached), splits × seeds, training, metrics, report, bundle.",
        discussion: """
        SPEC is a JSON pipeline spec (docs/evaluation.md; shipped ones in docs/pipelines/). Features are cached in \
        the feature store, so a second run over the same clips does no extraction. Writes OUT/metrics.json, \
        OUT/report.html and OUT/bundle/ (the model of the first seed's first split, loadable by \
        `emo explain` and `emo demo --bundle`). Corpus paths may use ${EMO_DATA} (default ../shared/data).
        """)

    @Argument(help: "Pipeline spec (JSON).")
    var spec: String

    @Option(help: "Output folder (default: emo-runs/<pipeline name>).")
    var out: String?

    @Option(help: ArgumentHelp("Feature store (default: $EMO_STORE or ~/.cache/emokit/features.sqlite). Repeatable: the first is written, later ones (e.g. the shards of `emo extract --shard`) are only read.",
                               valueName: "store"))
    var store: [String] = []

    @Option(parsing: .unconditional, help: "Use at most this many items per class (a quick run; the protocol line says so).")
    var maxPerClass: Int?

    @Option(help: "Override the spec's seeds (comma-separated).")
    var seeds: String?

    @Flag(help: "Only the summary on stdout; no progress on stderr.")
    var quiet = false

    @Flag(help: "Print the metrics report as JSON on stdout.")
    var json = false

    @Flag(help: ArgumentHelp("Also run the peer pipeline (Tests/Reference/peer_pipeline.py: librosa + Praat features, PyTorch model of the same shapes) on the same splits, seeds and settings, and report both side by side.",
                             discussion: "Writes OUT/peer-protocol.json and runs the script with $EMO_REFERENCE_PYTHON (default python3)."))
    var peer = false

    @Flag(help: "Continue an interrupted run: each split resumes from the checkpoint written after its last finished epoch in <out>/checkpoints (kept until the run finishes); the result is the uninterrupted run's, bit for bit.")
    var resume = false

    @Flag(help: "Skip the explainers the spec lists (they run on test items of the bundled model's split by default).")
    var noExplain = false

    @Option(help: "Features the peer trains on: 'peer' (its own librosa/Praat features), 'emokit' (EmoKit's matrix, to separate feature from training differences) or 'emokit-praat-voice' (EmoKit's matrix with the peer's 7 Praat voice-quality columns).")
    var peerFeatures: String = "peer"

    /// Refuses a negative or zero cap by name (parsed unconditionally, so `-5` reaches here as a number).
    func validate() throws {
        if let maxPerClass, maxPerClass < 1 {
            throw ValidationError("--max-per-class must be a positive number of items, got \(maxPerClass)")
        }
        var isFolder: ObjCBool = false
        if let out, FileManager.default.fileExists(atPath: out, isDirectory: &isFolder), !isFolder.boolValue {
            throw ValidationError("--out \(out) is a file; give a folder (created when missing) for metrics.json, report.html and bundle/")
        }
    }

    func run() async throws {
        let host = PluginHost.standard()
        var pipeline = try PipelineSpec.load(from: URL(fileURLWithPath: spec), knownComponents: Set(host.components.keys))
        if let seeds {
            let parsed = seeds.split(separator: ",").compactMap { UInt64($0.trimmingCharacters(in: .whitespaces)) }
            guard !parsed.isEmpty else { throw ValidationError("--seeds must be comma-separated non-negative integers") }
            pipeline.seeds = parsed
        }
        let storePath = store.first ?? defaultStorePath()
        let (featureStore, cleanupStore) = try openRunStore(storePath, alsoReading: Array(store.dropFirst()))
        defer { cleanupStore() }
        let runner = PipelineRunner(spec: pipeline, host: host, store: featureStore)
        runner.maxItemsPerClass = maxPerClass
        let folder = out ?? "emo-runs/\(pipeline.name)"
        runner.checkpointDirectory = folder + "/checkpoints"
        runner.resume = resume
        if resume && !FileManager.default.fileExists(atPath: folder + "/checkpoints") {
            stderrLine("--resume: no checkpoints in \(folder)/checkpoints; training every split from the start")
        }
        let showProgress = !quiet && !json
        if showProgress {
            runner.log = { stderrLine($0) }
            var bars: [String: ProgressBar] = [:]
            runner.extractionProgress = { group, p in
                let bar = bars[group] ?? ProgressBar(total: p.total, label: group, mode: .human)
                bars[group] = bar
                bar.update(done: p.done, detail: "\(p.extracted) new, \(p.cached) cached, \(p.failed) failed")
                if p.done == p.total { bar.finish() }
            }
        }
        let runID = try featureStore.beginRun(kind: "pipeline", config: try JSONValue.parse(pipeline.jsonData()))
        let outcome: PipelineRun
        do {
            outcome = try runner.run()
        } catch {
            try? featureStore.finishRun(runID, status: "failed: \(error)")
            throw error
        }
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: folder + "/checkpoints")  // the run finished: nothing to resume
        var result = outcome.result
        if let cap = maxPerClass { result.runProtocol.corpus += ", at most \(cap) per class" }
        var report = MetricsReport(title: pipeline.name, runs: [result])
        if peer {
            guard ["peer", "emokit", "emokit-praat-voice"].contains(peerFeatures) else {
                throw ValidationError("--peer-features must be 'peer', 'emokit' or 'emokit-praat-voice'")
            }
            let (peerRun, peerReport) = try runPeer(outcome, emokit: result, folder: folder, showProgress: showProgress)
            report = MetricsReport(title: pipeline.name + (peerRun == nil ? "" : " vs peer"), runs: [result] + (peerRun.map { [$0] } ?? []),
                                   comparisons: peerRun.map { p in [SummaryMetric.accuracy, .macroF1].map { RunComparison.make(result, p, metric: $0) } } ?? [])
            report.peer = peerReport
        }
        let metricsURL = try report.write(into: URL(fileURLWithPath: folder))
        let htmlURL = try HTMLReport.write(report, into: URL(fileURLWithPath: folder))
        var explained: [SpecExplanations.Output] = []
        if outcome.model != nil {
            var bundle = try PipelineBundle(run: outcome)
            bundle.manifest.provenance = try BundleProvenance.make(bundle: bundle, host: host,
                                                                   predictor: try Predictor(bundle: bundle, host: host))
            try bundle.write(to: folder + "/bundle")
            if !noExplain && !pipeline.explainers.isEmpty {
                var explanations = try SpecExplanations(run: outcome, bundle: bundle, host: host)
                if showProgress { explanations.log = { stderrLine($0) } }
                explained = try explanations.write(pipeline.explainers, into: folder + "/explanations")
            }
        }
        for m in SummaryMetric.allCases {
            if let s = result.summary(m) { try featureStore.recordMetric(run: runID, name: m.rawValue, value: s.mean, split: "mean") }
        }
        try featureStore.finishRun(runID, status: "finished: \(folder)")
        if json {
            print(String(decoding: try report.jsonData(), as: UTF8.self))
            return
        }
        print(outcome.summary)
        if let peerReport = report.peer { print(peerReport.text) }
        print(featureStore.path == storePath ? "run \(runID) in \(storePath)" : "run not recorded: the store \(storePath) is read-only")
        print("wrote \(metricsURL.path), \(htmlURL.path)\(outcome.model != nil ? ", \(folder)/bundle" : "")")
        for e in explained { print("explained \(e.items) test items with \(e.component) over \(e.inputs): \(e.folder)/batch.html") }
    }
}

extension RunCommand {
    /// Writes `folder/peer-protocol.json`, runs the peer script on it and reads its result; a missing or failing
    /// peer gives a report that says why (never an error: EmoKit's own results stand).
    func runPeer(_ outcome: PipelineRun, emokit: RunResult, folder: String, showProgress: Bool) throws -> (RunResult?, PeerReport) {
        let proto = PeerProtocol(run: outcome)
        let url = try proto.write(to: URL(fileURLWithPath: folder).appendingPathComponent("peer-protocol.json"))
        if showProgress { stderrLine("peer: \(ReferencePeer.python) Tests/Reference/peer_pipeline.py run \(url.path) --features \(peerFeatures)") }
        switch ReferencePeer.run("peer_pipeline.py", arguments: ["run", url.path, "--features", peerFeatures], timeout: 4 * 3600) {
        case .missing(let why):
            return (nil, .unavailable(why))
        case .measured(let object):
            do {
                let data = try JSONSerialization.data(withJSONObject: object)
                let (run, report) = try PeerComparison.compare(output: data, protocol: proto, emokit: emokit)
                return (run, report)
            } catch {
                return (nil, .unavailable("\(error)"))
            }
        }
    }
}

/// `emo runs ...`: list, show and compare finished runs.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "List, show and compare pipeline runs.",
        subcommands: [RunsList.self, RunsShow.self, RunsCompare.self], defaultSubcommand: RunsList.self)
}

/// `emo runs list`.
struct RunsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List runs recorded in the feature store.")

    @Option(help: "Feature store (default: $EMO_STORE or ~/.cache/emokit/features.sqlite).")
    var store: String?

    @Option(help: "Only runs of this kind (pipeline, extract).")
    var kind: String?

    func run() async throws {
        let s = try FeatureStore.reading(store ?? defaultStorePath())
        for r in try s.runs() where kind == nil || r.kind == kind {
            let name = r.config["name"]?.stringValue ?? r.config["component"]?.stringValue ?? ""
            let started = Date(timeIntervalSince1970: r.startedAt)
            print("\(r.id)\t\(r.kind)\t\(name)\t\(started)\t\(r.effectiveStatus)")
        }
    }
}

/// `emo runs show ID`.
struct RunsShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one run's config and metrics.")

    @Argument(help: "Run id, as `emo runs list` prints it.")
    var id: Int

    @Option(help: "Feature store (default: $EMO_STORE or ~/.cache/emokit/features.sqlite).")
    var store: String?

    func run() async throws {
        let s = try FeatureStore.reading(store ?? defaultStorePath())
        guard let r = try s.runs().first(where: { $0.id == id }) else {
            throw ValidationError("no run \(id) in the store; `emo runs list` shows the ids")
        }
        let metrics = try s.metrics(run: id)
        let out: JSONValue = ["id": .number(Double(r.id)), "kind": .string(r.kind), "status": .string(r.effectiveStatus),
                              "config": r.config,
                              "metrics": .object(metrics.mapValues { .object($0.mapValues { .number($0) }) })]
        print(out.serialized(pretty: true))
    }
}

/// `emo runs compare A B`.
struct RunsCompare: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two runs fold by fold: mean difference, Wilcoxon signed-rank and sign tests.",
        discussion: "A and B are run folders (or their metrics.json). Pairs are matched by seed and split name.")

    @Argument(help: "First run folder or metrics.json.")
    var a: String

    @Argument(help: "Second run folder or metrics.json.")
    var b: String

    @Option(help: "Write the comparison report (metrics.json + report.html) into this folder.")
    var out: String?

    /// A decoding failure in words: which field is missing or has the wrong type.
    static func reason(_ error: Error) -> String {
        func path(_ c: [CodingKey]) -> String { c.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".") }
        switch error {
        case DecodingError.keyNotFound(let key, let ctx): return "missing \"\(path(ctx.codingPath + [key]))\""
        case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx):
            return "wrong type at \"\(path(ctx.codingPath))\""
        case DecodingError.dataCorrupted(let ctx): return ctx.debugDescription
        default: return "\(error)"
        }
    }

    func run() async throws {
        func load(_ p: String) throws -> RunResult {
            let url = p.hasSuffix(".json") ? URL(fileURLWithPath: p) : URL(fileURLWithPath: p).appendingPathComponent("metrics.json")
            guard FileManager.default.isReadableFile(atPath: url.path) else {
                throw ValidationError("\(url.path): not found or not readable; give a run folder written by `emo run` (it holds metrics.json) or its metrics.json")
            }
            let report: MetricsReport
            do { report = try MetricsReport.read(from: url) } catch {
                throw ValidationError("\(url.path): not a metrics.json written by `emo run` (\(Self.reason(error)))")
            }
            guard let run = report.runs.first else { throw ValidationError("\(url.path) holds no run") }
            return run
        }
        let ra = try load(a), rb = try load(b)
        let comparisons = SummaryMetric.allCases.map { RunComparison.make(ra, rb, metric: $0) }
        for c in comparisons where c.pairs > 0 {
            let w = c.wilcoxon.map { String(format: "p=%.4g", $0.pValue) } ?? "n/a"
            let s = c.sign.map { String(format: "p=%.4g", $0.pValue) } ?? "n/a"
            print("\(c.metric.title.padding(toLength: 15, withPad: " ", startingAt: 0)) Δ=\(String(format: "%+.4f", c.meanDifference)) over \(c.pairs) pairs; Wilcoxon \(w); sign \(s)")
        }
        if let out {
            let report = MetricsReport(title: "\(ra.label) vs \(rb.label)", runs: [ra, rb], comparisons: comparisons)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            _ = try report.write(into: URL(fileURLWithPath: out))
            _ = try HTMLReport.write(report, into: URL(fileURLWithPath: out))
            print("wrote \(out)/metrics.json and \(out)/report.html")
        }
    }
}
