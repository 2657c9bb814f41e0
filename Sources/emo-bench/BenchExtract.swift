import EmoSpeechEncoders
import EmoCLISupport
import ArgumentParser
import EmoCore
import EmoPipeline
import EmoRuntime
import EmoStore
import EmoTensor
import Foundation

/// `emo bench extract`: `emo extract`'s encoder throughput, the one-clip path (each clip a batch of one, `[1, S]`)
/// beside length-bucketed clip-exact batches, over the same real clips, in one run, with the features compared.
struct BenchExtract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Time feature extraction through a speech-encoder plugin: one clip per forward beside length-bucketed batches.",
        discussion: """
        Clips come from ../shared/data (or --data): RAVDESS + TESS 16 kHz FLAC files, sorted by path, every k-th \
        so both corpora are in. The encoder is the plugin (dlopened, as `emo extract` runs it) on a random-weight \
        checkpoint of the published base size (generated once into --cache, as `emo bench encoders` does). Each path \
        runs the whole ExtractionEngine (read, hash, decode, forward, SQLite commit) into its own fresh store, \
        after one untimed warm-up forward; with --interleave N the paths alternate in blocks of N clips (the sort \
        window is then at most N), and the best of --repeat runs of each is reported (every run is in the JSON). max_rel_diff compares the two stores' embeddings clip by clip, \
        relative to each embedding's largest magnitude. Load average is printed because other processes share the CPU.
        """)

    @Option(help: "Speech encoder: wav2vec2-base, hubert-base or wavlm-base-plus (random weights, published shapes).")
    var encoder = "wav2vec2-base"

    @Option(help: "Clips (0 = every RAVDESS + TESS file).")
    var clips: Int = 300

    @Option(help: "Most clips per batched forward.")
    var batch: Int = 16

    @Option(help: "Clips sorted by length together before batching.")
    var sortWindow: Int = 256

    @Option(help: "Timed runs of each path (they alternate; best reported).")
    var `repeat`: Int = 1

    @Option(help: "Run the paths in alternating blocks of this many clips (0: each over all clips at once); a changing load then falls on both alike.")
    var interleave: Int = 0

    @Option(help: "Folder holding ravdess/ and tess/ (default ../shared/data from the working directory).")
    var data: String?

    @Option(help: "Folder for the generated checkpoint.")
    var cache: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() async throws {
        guard clips >= 0, batch >= 2, `repeat` >= 1, interleave >= 0 else {
            throw ValidationError("--clips ≥ 0, --batch ≥ 2, --repeat ≥ 1 and --interleave ≥ 0")
        }
        let root = URL(fileURLWithPath: data ?? "../shared/data", relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        let files = BenchFeatures.corpusFiles(root)
        guard !files.isEmpty else { throw ValidationError("no RAVDESS/TESS FLAC files under \(root.path); pass --data") }
        let count = clips == 0 ? files.count : min(clips, files.count)
        let step = max(files.count / max(count, 1), 1)
        let chosen = Swift.stride(from: 0, to: files.count, by: step).prefix(count).map { files[$0] }
        let items = chosen.map { CorpusItem(path: $0, label: "x", speaker: "s", textID: $0, group: "g") }

        let dir = cache ?? (ProcessInfo.processInfo.environment["HOME"].map { $0 + "/.cache/emokit/bench-extract" } ?? "/tmp/emokit-bench-extract")
        let folder = dir + "/" + encoder
        guard let family = SpeechEncoderConfig.Family.allCases.first(where: { encoder.hasPrefix($0.rawValue) }) else {
            throw ValidationError("unknown encoder \(encoder)")
        }
        if !FileManager.default.fileExists(atPath: folder + "/model.safetensors") {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let cfgJSON = SpeechEncoderConfig.baseConfigJSON(family)
            let cfg = try SpeechEncoderConfig(json: cfgJSON, path: folder + "/config.json")
            try cfg.writeRandomCheckpoint(to: folder, configJSON: cfgJSON, seed: 1)
        }
        let component = try PluginHost.standard().instantiate(id: family.rawValue, config: ["model": .string(folder)])
        // Warm-up: one forward of each shape kind, untimed (workspaces, first-touch pages).
        let warm = (0..<48_000).map { Float(sin(Double($0) * 0.01)) * 0.1 }
        _ = try component.forward([.array(try NDArray(shape: [1, warm.count], data: warm))])
        _ = try component.forward([.array(try NDArray(shape: [2, warm.count], data: warm + warm)),
                                   .array(try NDArray(shape: [2], data: [Float(warm.count), 40_000])),
                                   .array(try NDArray(shape: [1], data: [1]))])

        let work = FileManager.default.temporaryDirectory.appendingPathComponent("emo-bench-extract-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }

        /// One path's run: wall and CPU seconds summed over its blocks, the clips it extracted and their hashes.
        struct Timed { var seconds: Double, cpu: Double, load: String, extracted: Int, failed: Int, hashes: [String: String], store: FeatureStore }
        // Blocks of --interleave clips: each block runs both paths back to back (order alternating per block),
        // so a load that changes during the run falls on both paths alike; 0 = each path over all clips at once.
        let blockSize = interleave > 0 ? interleave : max(items.count, 1)
        let blocks = Swift.stride(from: 0, to: items.count, by: blockSize).map { Array(items[$0..<min(items.count, $0 + blockSize)]) }
        var one: [Timed] = [], batched: [Timed] = []
        for r in 0..<`repeat` {
            var paths: [Timed] = []
            for encoderBatch in [1, batch] {
                let store = try FeatureStore(path: work + "/b\(encoderBatch)-r\(r).sqlite")
                paths.append(Timed(seconds: 0, cpu: 0, load: BenchFeatures.loadAverage(), extracted: 0, failed: 0, hashes: [:], store: store))
            }
            for (k, block) in blocks.enumerated() {
                let order = (k + r) % 2 == 0 ? [0, 1] : [1, 0]
                for p in order {
                    let engine = try ExtractionEngine(component: component, store: paths[p].store,
                                                      options: ExtractionOptions(encoderBatch: p == 0 ? 1 : batch, sortWindow: sortWindow))
                    let (t0, c0) = (BenchFeatures.now(), BenchFeatures.cpuSeconds())
                    let report = try engine.run(items: block)
                    paths[p].seconds += BenchFeatures.now() - t0
                    paths[p].cpu += BenchFeatures.cpuSeconds() - c0
                    paths[p].extracted += report.extracted
                    paths[p].failed += report.failures.count
                    paths[p].hashes.merge(report.clipHashes) { a, _ in a }
                }
                if !json && blocks.count > 1 {
                    print(String(format: "run %d/%d, block %d/%d: one clip %.1f s, batched %.1f s so far", r + 1, `repeat`,
                                 k + 1, blocks.count, paths[0].seconds, paths[1].seconds) + " (load \(BenchFeatures.loadAverage()))")
                }
            }
            one.append(paths[0])
            batched.append(paths[1])
            if !json { print(String(format: "run %d/%d: one clip per forward %.1f s, batches of up to %d %.1f s", r + 1, `repeat`, paths[0].seconds, batch, paths[1].seconds)) }
        }
        guard let bestOne = one.min(by: { $0.seconds < $1.seconds }),
              let bestBatched = batched.min(by: { $0.seconds < $1.seconds }) else { return }

        // The two stores' embeddings, clip by clip.
        var worst: Float = 0, compared = 0, scale: Float = 0, identical = 0
        let key = ExtractionEngine.featureKey(for: component)
        for (path, pcm) in bestOne.hashes {
            guard let a = try bestOne.store.outputs(pcmHash: pcm, key: key)?.first?.array,
                  let bpcm = bestBatched.hashes[path],
                  let b = try bestBatched.store.outputs(pcmHash: bpcm, key: key)?.first?.array, a.shape == b.shape else {
                worst = .infinity
                continue
            }
            let largest = a.data.map { abs($0) }.max() ?? 0
            scale = max(scale, largest)
            worst = max(worst, (zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0) / max(1, largest))
            if a.data == b.data { identical += 1 }
            compared += 1
        }
        let n = Double(bestOne.extracted)
        func row(_ t: Timed, _ name: String) -> [String: Any] {
            ["path": name, "seconds": t.seconds, "cpu_seconds": t.cpu, "clips_per_second": Double(t.extracted) / t.seconds,
             "extracted": t.extracted, "failed": t.failed, "load_average_start": t.load]
        }
        let ratio = bestOne.seconds / bestBatched.seconds
        let obj: [String: Any] = [
            "encoder": encoder, "component": family.rawValue, "clips": items.count, "batch": batch, "sort_window": sortWindow,
            "interleave": interleave,
            "one_clip": row(bestOne, "one clip per forward"), "batched": row(bestBatched, "batched"),
            "all_runs": one.map { row($0, "one clip per forward") } + batched.map { row($0, "batched") },
            "ratio": ratio, "cpu_ratio": bestOne.cpu / bestBatched.cpu, "max_rel_diff": Double(worst), "compared": compared,
            "bit_identical": identical, "largest_embedding_value": Double(scale),
            "cpu": BLASInfo.cpu, "cpu_flags": BLASInfo.cpuFlags, "openblas_core": BLASInfo.coreName,
            "openblas_core_source": BLASInfo.coreSource, "openblas_threads": BLASInfo.threadCount,
            "elementwise_kernels": Kernels.elementwisePath, "cores_online": ProcessInfo.processInfo.activeProcessorCount,
        ]
        if json {
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(BLASInfo.cpuLine)
        print("\(BLASInfo.summary), elementwise kernels \(Kernels.elementwisePath), \(ProcessInfo.processInfo.activeProcessorCount) cores online")
        print("\(encoder) (random weights, plugin \(family.rawValue)) over \(items.count) RAVDESS + TESS clips; best of \(`repeat`)" + (interleave > 0 ? ", paths alternating in blocks of \(interleave)" : ""))
        print("path                      clips/s   wall s    cpu s   load avg at start")
        for (t, name) in [(bestOne, "one clip per forward"), (bestBatched, "batches of up to \(batch)")] {
            print(name.padding(toLength: 24, withPad: " ", startingAt: 0)
                  + String(format: "%9.2f %8.1f %8.1f   ", Double(t.extracted) / t.seconds, t.seconds, t.cpu) + t.load)
        }
        print(String(format: "ratio %.2fx (wall), %.2fx (cpu); %d clips compared (%d bit-identical), max |batched − one-clip| / max(1, max |one-clip|) = %.2e (largest |value| %.3g)",
                     ratio, bestOne.cpu / bestBatched.cpu, compared, identical, Double(worst), Double(scale)))
        if n == 0 { print("no clip was extracted") }
    }
}
