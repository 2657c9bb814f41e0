import EmoSpeechEncoders
import EmoCLISupport
import ArgumentParser
import EmoCore
import EmoModels
import EmoTensor
import Foundation

/// `emo bench encoders`: wav2vec2-base, HuBERT-base and WavLM-base-plus (random weights, published shapes) on
/// 3 s and 8 s clips and a padded batch, EmoKit beside PyTorch in the same run.
struct BenchEncoders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encoders",
        abstract: "Time the speech encoders against PyTorch (2 threads, inference_mode) on the same checkpoints and clips.",
        discussion: """
        Checkpoints are generated once into --cache (default ~/.cache/emokit/bench-encoders) by \
        Tests/Reference/bench_encoders.py; without torch there, EmoKit writes its own random checkpoints and the \
        PyTorch columns say why they are missing. max_abs_diff compares last_hidden_state over real frames. \
        Times are the best of --repeat wall-clock runs after a warm-up (medians are in the JSON); cpu ratio compares \
        process CPU time (all threads), steadier on a busy machine. \
        Peak memory is each process's peak RSS while loading and running that model.
        """)

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Folder for the generated checkpoints and clips.")
    var cache: String?

    @Option(name: .customLong("repeat"), help: "Timed runs per row (best reported, after one warm-up).")
    var repeats: Int = 3

    @Flag(help: "Measure EmoKit only (reuse checkpoints and PyTorch outputs already in --cache).")
    var emokitOnly = false

    @Option(help: "Comma-separated models.")
    var models = "wav2vec2-base,hubert-base,wavlm-base-plus"

    @Flag(help: "Also time the positional conv alone, direct vs FFT path (B = 4, T = 149, one thread).")
    var positionalConv = false

    func run() async throws {
        let dir = cache ?? (ProcessInfo.processInfo.environment["HOME"].map { $0 + "/.cache/emokit/bench-encoders" } ?? "/tmp/emokit-bench-encoders")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let names = models.split(separator: ",").map(String.init)
        if !json && !emokitOnly { print("running the PyTorch peer (\(ReferencePeer.python) Tests/Reference/bench_encoders.py) ...") }
        let peer = emokitOnly ? .missing("--emokit-only")
            : ReferencePeer.run("bench_encoders.py", arguments: ["--cache", dir, "--models", models, "--repeat", "\(repeats)"])
        var peerRows: [String: [String: Any]] = [:]
        var peerInfo: [String: Any] = [:]
        var missingWhy: String?
        switch peer {
        case .measured(let obj):
            peerInfo = obj
            for r in (obj["rows"] as? [[String: Any]]) ?? [] {
                if let m = r["model"] as? String, let c = r["clip"] as? String { peerRows["\(m)/\(c)"] = r }
            }
        case .missing(let why):
            missingWhy = why
        }
        let inputs = try Self.inputs(dir: dir)
        var rows: [[String: Any]] = []
        var posConvRows: [[String: Any]] = []
        for (seed, name) in names.enumerated() {
            let folder = dir + "/" + name
            if !FileManager.default.fileExists(atPath: folder + "/model.safetensors") {
                guard let family = SpeechEncoderConfig.Family.allCases.first(where: { name.hasPrefix($0.rawValue) }) else {
                    throw ValidationError("unknown model \(name)")
                }
                let cfgJSON = SpeechEncoderConfig.baseConfigJSON(family)
                let cfg = try SpeechEncoderConfig(json: cfgJSON, path: folder + "/config.json")
                try cfg.writeRandomCheckpoint(to: folder, configJSON: cfgJSON, seed: UInt64(seed + 1))
            }
            PeakMemory.reset()
            let t0 = Date()
            let encoder = try SpeechEncoder(directory: folder)
            let loadMs = Date().timeIntervalSince(t0) * 1000
            let reference = try? SafeTensorsFile(path: folder + "/pytorch_outputs.safetensors")
            if positionalConv { posConvRows.append(Self.positionalConvRow(encoder, model: name, repeats: max(5, repeats))) }
            for clip in ["3s", "8s", "batch"] {
                guard let x = inputs[clip] else { continue }
                let (b, n) = (x.shape[0], x.shape[1])
                let lengths = clip == "batch" ? inputs["batch_lengths"]?.data.map { Int($0) } : nil
                var out = try encoder.forward(x.data, batch: b, samples: n, lengths: lengths)  // warm-up
                var times: [Double] = [], cpu: [Double] = []
                for _ in 0..<max(1, repeats) {
                    let s = Date(), c = Self.cpuSeconds()
                    out = try encoder.forward(x.data, batch: b, samples: n, lengths: lengths)
                    times.append(Date().timeIntervalSince(s) * 1000)
                    cpu.append((Self.cpuSeconds() - c) * 1000)
                }
                let ms = times.min() ?? 0, medianMs = times.sorted()[times.count / 2]
                let cpuMs = cpu.min() ?? 0
                var row: [String: Any] = ["model": name, "clip": clip, "batch": b, "samples": n, "frames": out.frames,
                                          "emokit_ms": ms, "emokit_median_ms": medianMs, "emokit_cpu_ms": cpuMs, "emokit_load_ms": loadMs]
                if let p = peerRows["\(name)/\(clip)"], let pms = p["pytorch_ms"] as? Double {
                    row["pytorch_ms"] = pms
                    row["ratio"] = ms / pms
                    if let pk = p["pytorch_peak_mb"] as? Double { row["pytorch_peak_mb"] = pk }
                    if let pm = p["pytorch_median_ms"] as? Double { row["pytorch_median_ms"] = pm }
                    if let pc = p["pytorch_cpu_ms"] as? Double { row["pytorch_cpu_ms"] = pc; row["cpu_ratio"] = cpuMs / pc }
                }
                if let reference, let theirs = try? reference.floats(clip), theirs.count == out.lastHiddenState.count {
                    var d: Float = 0
                    for bi in 0..<b {
                        for t in 0..<out.frameLengths[bi] {
                            let o = (bi * out.frames + t) * out.channels
                            for c in 0..<out.channels { d = max(d, abs(theirs[o + c] - out.lastHiddenState[o + c])) }
                        }
                    }
                    row["max_abs_diff"] = Double(d)
                }
                rows.append(row)
            }
            let peak = PeakMemory.megabytes()
            for i in rows.indices where rows[i]["model"] as? String == name { rows[i]["emokit_peak_mb"] = peak }
            // Forward + backward to the input on the 3 s clip: d(linspace(-1, 1, C) · mean-pooled last_hidden_state)/d input.
            if let x = inputs["3s"], let i = rows.firstIndex(where: { $0["model"] as? String == name && $0["clip"] as? String == "3s" }) {
                let (b, n) = (x.shape[0], x.shape[1])
                var bt: [Double] = []
                var grad: [Float] = []
                for _ in 0..<max(1, repeats) {
                    let s = Date()
                    grad = try encoder.inputGradient(x.data, batch: b, samples: n,
                                                     pooledGrad: Self.linspace(count: encoder.config.hiddenSize, batch: b)).gradient
                    bt.append(Date().timeIntervalSince(s) * 1000)
                }
                rows[i]["emokit_backward_ms"] = bt.min() ?? 0
                rows[i]["emokit_backward_peak_mb"] = PeakMemory.megabytes()
                if let p = peerRows["\(name)/3s"] {
                    for k in ["pytorch_backward_ms", "pytorch_backward_peak_mb"] { if let v = p[k] { rows[i][k] = v } }
                }
                if let reference, let theirs = try? reference.floats("3s_grad"), theirs.count == grad.count {
                    rows[i]["backward_max_abs_diff"] = Double(zip(theirs, grad).reduce(0) { max($0, abs($1.0 - $1.1)) })
                    rows[i]["backward_grad_scale"] = Double(theirs.reduce(0) { max($0, abs($1)) })
                }
            }
        }
        let core = BLASInfo.coreName
        let threads = BLASInfo.threadCount
        if json {
            var obj: [String: Any] = ["openblas_core": core, "openblas_core_source": BLASInfo.coreSource, "cpu": BLASInfo.cpu, "cpu_flags": BLASInfo.cpuFlags, "openblas_threads": threads, "elementwise_kernels": Kernels.elementwisePath, "rows": rows, "cache": dir]
            if positionalConv { obj["positional_conv"] = posConvRows }
            if let missingWhy { obj["pytorch_missing"] = missingWhy }
            for k in ["torch", "transformers", "threads"] { if let v = peerInfo[k] { obj["pytorch_\(k)"] = v } }
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(BLASInfo.cpuLine)
        print("\(BLASInfo.summary), elementwise kernels \(Kernels.elementwisePath); PyTorch \(peerInfo["torch"] ?? "-") (\(peerInfo["threads"] ?? "-") threads)")
        if let missingWhy { print("PyTorch column missing: \(missingWhy)") }
        let header = ["model", "clip", "emokit ms", "pytorch ms", "ratio", "cpu ratio", "max|diff|", "emokit MB", "pytorch MB",
                      "bwd emokit", "bwd torch", "bwd |diff|/max"]
        print(header.enumerated().map { $1.padding(toLength: $0 == 0 ? 17 : 12, withPad: " ", startingAt: 0) }.joined())
        for r in rows {
            func f(_ k: String, _ fmt: String) -> String { (r[k] as? Double).map { String(format: fmt, $0) } ?? "-" }
            let cells = [r["model"] as? String ?? "", r["clip"] as? String ?? "", f("emokit_ms", "%.1f"), f("pytorch_ms", "%.1f"),
                         f("ratio", "%.2fx"), f("cpu_ratio", "%.2fx"), f("max_abs_diff", "%.2e"), f("emokit_peak_mb", "%.0f"), f("pytorch_peak_mb", "%.0f"),
                         f("emokit_backward_ms", "%.0f"), f("pytorch_backward_ms", "%.0f"),
                         (r["backward_max_abs_diff"] as? Double).flatMap { d in (r["backward_grad_scale"] as? Double).map { String(format: "%.1e", d / max($0, 1e-30)) } } ?? "-"]
            print(cells.enumerated().map { $1.padding(toLength: $0 == 0 ? 17 : 12, withPad: " ", startingAt: 0) }.joined())
        }
        for r in posConvRows { print(Self.positionalConvLine(r)) }
    }

    /// `torch.linspace(-1, 1, count)` repeated for each of `batch` rows.
    static func linspace(count: Int, batch: Int) -> [Float] {
        let one = (0..<count).map { -1 + 2 * Float($0) / Float(max(count - 1, 1)) }
        return Array([[Float]](repeating: one, count: batch).joined())
    }

    /// CPU time of this process (all threads), in seconds.
    static func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The clips: from the peer's inputs.safetensors when present, else synthesised here (same recipe, normalised).
    static func inputs(dir: String) throws -> [String: NDArray] {
        let path = dir + "/inputs.safetensors"
        if FileManager.default.fileExists(atPath: path) {
            let f = try SafeTensorsFile(path: path)
            var out: [String: NDArray] = [:]
            for name in f.names { out[name] = try NDArray(shape: try f.info(name).shape, data: try f.floats(name)) }
            return out
        }
        var rng = SeededGenerator(seed: 2025)
        func clip(_ n: Int) -> [Float] {
            (0..<n).map { i in
                let t = Double(i) / 16000
                var x = 0.0
                for k in 1...5 { x += 0.3 / Double(k) * sin(2 * .pi * Double(k) * 140 * t + 3 * sin(2 * .pi * 4 * t)) }
                return Float(0.3 * x) + 0.05 * rng.nextNormal()
            }
        }
        let pre = SpeechPreprocessorConfig()
        var a = clip(48_000), b = clip(128_000)
        let c = clip(88_000)
        pre.apply(&a, batch: 1, samples: a.count, lengths: [a.count])
        var batch = b + c + [Float](repeating: 0, count: 128_000 - c.count)
        pre.apply(&batch, batch: 2, samples: 128_000, lengths: [128_000, 88_000])
        pre.apply(&b, batch: 1, samples: b.count, lengths: [b.count])
        return ["3s": try NDArray(shape: [1, 48_000], data: a), "8s": try NDArray(shape: [1, 128_000], data: b),
                "batch": try NDArray(shape: [2, 128_000], data: batch), "batch_lengths": NDArray(vector: [128_000, 88_000])]
    }
}

/// Peak resident memory of this process (VmHWM), resettable through /proc/self/clear_refs.
enum PeakMemory {
    /// Resets the peak to the current resident size.
    static func reset() { try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8) }

    /// Peak resident set since the last reset, in MB (nil off Linux).
    static func megabytes() -> Double? { statusMegabytes("VmHWM") }

    /// The current resident set, in MB (nil off Linux).
    static func residentMegabytes() -> Double? { statusMegabytes("VmRSS") }

    /// A kB field of /proc/self/status, in MB.
    private static func statusMegabytes(_ field: String) -> Double? {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in s.split(separator: "\n") where line.hasPrefix(field + ":") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Double($0) }
            return kb.map { $0 / 1024 }
        }
        return nil
    }
}
