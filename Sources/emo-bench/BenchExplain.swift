import EmoSpeechEncoders
import EmoCLISupport
import ArgumentParser
import EmoCore
import EmoModels
import EmoPipeline
import EmoRuntime
import EmoTensor
import Foundation

/// `emo bench explain`: one Integrated Gradients explanation and one Occlusion sweep of a 3 s clip through
/// wav2vec2-base + an MLP head, EmoKit (encoder and explainers loaded as plugins) beside Captum + Hugging Face.
struct BenchExplain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Time IG (gausslegendre) and Occlusion over a waveform through wav2vec2-base + head against Captum.",
        discussion: """
        Both sides run one function: the peer (Tests/Reference/captum_reference.py bench) builds random weights of \
        the published wav2vec2-base shape (transformers' default Wav2Vec2Config under torch.manual_seed(0)), a \
        768 → 256 → 7 ReLU MLP head over mean pooling, and a 3 s clip (220 Hz tone + noise), applies the \
        checkpoint's do_normalize (per-clip zero mean, unit variance) inside the chain, and saves the checkpoint, \
        head, clip and its attributions into --chain; EmoKit then loads that checkpoint through its wav2vec2 \
        plugin, the same head and clip, and explains the same target (zero baseline). So the run is also a \
        full-size parity check: the attributions are compared (max |diff| relative to the largest |value|, and \
        correlation) and the IG convergence deltas printed side by side. Without the peer (--emokit-only), a \
        chain saved by an earlier run is reused; failing that, EmoKit writes its own random checkpoint to \
        --checkpoint and no parity is checked. \
        Each side times each method --repeats times in one process (default 1) and reports the median wall-clock \
        time, with each process's CPU time (all threads, median) beside it (steadier on a busy machine); the \
        ratios are of medians, and with repeats the min-to-min ratios and every run are printed too. Peak memory \
        is each process's peak RSS.
        """)

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "wav2vec2-base checkpoint folder used only when no peer chain is saved (written when missing).")
    var checkpoint = "/tmp/emo-bench-enc/wav2vec2-base"

    @Option(help: "Folder where the peer saves its chain (checkpoint, head, clip, attributions) for EmoKit to run.")
    var chain: String?

    @Option(help: "Clip length in seconds.")
    var seconds: Double = 3

    @Option(help: "Integrated Gradients steps.")
    var steps = 50

    @Option(help: "Occlusion window in samples.")
    var window = 1600

    @Option(help: "Occlusion stride in samples.")
    var stride = 800

    @Option(help: "Rows per model call (IG interpolation steps, occluded copies), both sides.")
    var batch = 8

    @Option(help: "Time each method this many times on each side (in one process) and compare medians.")
    var repeats = 1

    @Flag(help: "Run the encoder without keep_activations (backward recomputes the forward; less memory).")
    var checkpointed = false

    @Flag(help: "Measure EmoKit only.")
    var emokitOnly = false

    @Flag(help: "Skip EmoKit's IG explanation (for profiling the occlusion sweep alone; implies --emokit-only).")
    var occlusionOnly = false

    func run() async throws {
        let chainDir = chain ?? (ProcessInfo.processInfo.environment["HOME"].map { $0 + "/.cache/emokit/bench-explain" } ?? "/tmp/emokit-bench-explain")
        try FileManager.default.createDirectory(atPath: chainDir, withIntermediateDirectories: true)
        let args = ["bench", "--seconds", "\(seconds)", "--steps", "\(steps)", "--window", "\(window)",
                    "--stride", "\(stride)", "--batch", "\(batch)", "--repeats", "\(max(1, repeats))",
                    "--save", chainDir]
        if !json && !emokitOnly && !occlusionOnly { print("running the Captum peer (\(ReferencePeer.python) Tests/Reference/captum_reference.py bench) ...") }
        let peer = emokitOnly || occlusionOnly ? .missing(occlusionOnly ? "--occlusion-only" : "--emokit-only") : ReferencePeer.run("captum_reference.py", arguments: args)

        let shared = PeerChain(folder: chainDir, samples: Int(seconds * 16_000))
        let checkpoint = shared?.checkpoint ?? self.checkpoint
        if shared == nil && !FileManager.default.fileExists(atPath: checkpoint + "/model.safetensors") {
            let cfgJSON = SpeechEncoderConfig.baseConfigJSON(.wav2vec2)
            let cfg = try SpeechEncoderConfig(json: cfgJSON, path: checkpoint + "/config.json")
            try cfg.writeRandomCheckpoint(to: checkpoint, configJSON: cfgJSON, seed: 1)
        }
        PeakMemory.reset()
        let host = PluginHost.standard()
        // As `emo explain` runs them: IG's encoder keeps each forward's tape (keep_activations), so backward
        // recomputes nothing; Occlusion's is a second instance without one (forward only: no tape to write, and
        // each batch splits across threads). One head for both.
        let head = shared?.head ?? BenchMLPHead(input: 768, hidden: 256, classes: 7)
        func makeModel(tape: Bool) throws -> WaveformModel {
            let encoder = try host.instantiate(id: "wav2vec2", config: ["model": .string(checkpoint), "keep_activations": .bool(tape)])
            return WaveformModel(encoder: encoder, head: .component(head), classes: 7, output: .logits)
        }
        var model = try makeModel(tape: !checkpointed)
        let n = Int(seconds * 16_000)
        var wave = NDArray(zeros: [1, n])  // [1, T]
        if let shared {
            wave.data = shared.wave
        } else {
            var rng = SeededGenerator(seed: 0)
            for i in 0..<n {
                let t = Double(i) / 16_000
                wave.data[i] = Float(0.3 * sin(2 * Double.pi * 220 * t) + 0.05 * Double.random(in: -1.7...1.7, using: &rng))
            }
        }
        let probs = try model.scores(wave).data
        let target = probs.indices.max { probs[$0] < probs[$1] } ?? 0
        let ig = try host.instantiate(id: "integrated-gradients", config: [
            "method": "gausslegendre", "n_steps": .number(Double(steps)), "max_batch_elements": .number(Double(batch * n))])
        let runs = max(1, repeats)
        var igRuns: [Double] = [], igCPURuns: [Double] = [], occRuns: [Double] = [], occCPURuns: [Double] = []
        var igResult: Attribution?, occResult: Attribution?
        if !occlusionOnly {
            for _ in 0..<runs {
                let (t0, c0) = (Date(), BenchEncoders.cpuSeconds())
                igResult = try ig.explain(model: model, input: wave, baseline: nil, targets: [target])
                igRuns.append(Date().timeIntervalSince(t0))
                igCPURuns.append(BenchEncoders.cpuSeconds() - c0)
            }
        }
        model = try makeModel(tape: false)
        let occ = try host.instantiate(id: "occlusion", config: [
            "window": [.number(Double(window))], "stride": [.number(Double(stride))], "baseline": 0,
            "max_batch_elements": .number(Double(batch * n))])
        for _ in 0..<runs {
            let (t0, c0) = (Date(), BenchEncoders.cpuSeconds())
            occResult = try occ.explain(model: model, input: wave, baseline: nil, targets: [target])
            occRuns.append(Date().timeIntervalSince(t0))
            occCPURuns.append(BenchEncoders.cpuSeconds() - c0)
        }
        func median(_ v: [Double]) -> Double {
            let s = v.sorted()
            return s.isEmpty ? .nan : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        let (igSeconds, igCPU, occSeconds, occCPU) = (median(igRuns), median(igCPURuns), median(occRuns), median(occCPURuns))
        let peak = PeakMemory.megabytes() ?? 0

        var row: [String: Any] = ["seconds_audio": seconds, "emokit_occlusion_keep_activations": false, "occlusion_window": window,
                                  "occlusion_stride": stride, "batch": batch, "emokit_occlusion_seconds": occSeconds,
                                  "repeats": runs, "emokit_occlusion_runs": occRuns,
                                  "emokit_occlusion_cpu_seconds": occCPU, "emokit_peak_mb": peak,
                                  "openblas_core": BLASInfo.coreName, "openblas_core_source": BLASInfo.coreSource,
                                  "cpu": BLASInfo.cpu, "cpu_flags": BLASInfo.cpuFlags,
                                  "elementwise_kernels": Kernels.elementwisePath,
                                  "openblas_threads": BLASInfo.threadCount]
        if let igResult {
            row["emokit_ig_keep_activations"] = !checkpointed
            row["ig_steps"] = steps
            row["emokit_ig_seconds"] = igSeconds
            row["emokit_ig_cpu_seconds"] = igCPU
            row["emokit_ig_runs"] = igRuns
            if let delta = igResult.delta?.first { row["emokit_ig_delta"] = Double(abs(delta)) }
        }
        row["parity"] = shared == nil ? "not checked: no peer chain in \(chainDir)" : "same checkpoint, head, clip and target"
        row["emokit_target"] = target
        if let shared {
            if let ig = igResult, let ref = shared.attribution("ig_attr") { row["ig_attribution"] = PeerChain.compare(ig.values.data, ref) }
            if let oc = occResult, let ref = shared.attribution("occlusion_attr") {
                row["occlusion_attribution"] = PeerChain.compare(oc.values.data, ref)
            }
            if let delta = igResult?.delta?.first { row["emokit_ig_delta_signed"] = Double(delta) }
        }
        switch peer {
        case .measured(let p):
            for (k, v) in p { row["captum_" + k] = v }
            if let s = p["ig_seconds"] as? Double { row["ig_ratio"] = igSeconds / s }
            if let s = p["occlusion_seconds"] as? Double { row["occlusion_ratio"] = occSeconds / s }
            if let s = p["ig_cpu_seconds"] as? Double { row["ig_cpu_ratio"] = igCPU / s }
            if let s = p["occlusion_cpu_seconds"] as? Double { row["occlusion_cpu_ratio"] = occCPU / s }
            if let r = p["ig_runs"] as? [Double], let best = r.min(), let ours = igRuns.min() { row["ig_ratio_min"] = ours / best }
            if let r = p["occlusion_runs"] as? [Double], let best = r.min(), let ours = occRuns.min() {
                row["occlusion_ratio_min"] = ours / best
            }
        case .missing(let why):
            row["captum_missing"] = why
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        func f(_ k: String, _ fmt: String) -> String { (row[k] as? Double).map { String(format: fmt, $0) } ?? "-" }
        print(BLASInfo.cpuLine)
        print("\(BLASInfo.summary), elementwise kernels \(Kernels.elementwisePath); peer: \(row["captum_peer"] ?? row["captum_missing"] ?? "-")")
        print("wav2vec2-base + MLP head, \(seconds) s clip, batch \(batch)" + (runs > 1 ? ", median of \(runs) runs per side" : ""))
        print("IG gausslegendre \(steps) steps: EmoKit \(f("emokit_ig_seconds", "%.2f")) s, Captum \(f("captum_ig_seconds", "%.2f")) s, ratio \(f("ig_ratio", "%.2f")) (|delta| EmoKit \(f("emokit_ig_delta", "%.3g")), Captum \(f("captum_ig_delta", "%.3g")))")
        print("Occlusion window \(window) stride \(stride): EmoKit \(f("emokit_occlusion_seconds", "%.2f")) s, Captum \(f("captum_occlusion_seconds", "%.2f")) s, ratio \(f("occlusion_ratio", "%.2f"))")
        print("CPU time (all threads): IG EmoKit \(f("emokit_ig_cpu_seconds", "%.2f")) s, Captum \(f("captum_ig_cpu_seconds", "%.2f")) s, ratio \(f("ig_cpu_ratio", "%.2f")); Occlusion EmoKit \(f("emokit_occlusion_cpu_seconds", "%.2f")) s, Captum \(f("captum_occlusion_cpu_seconds", "%.2f")) s, ratio \(f("occlusion_cpu_ratio", "%.2f"))")
        print("peak RSS: EmoKit \(f("emokit_peak_mb", "%.0f")) MB, Captum \(f("captum_peak_rss_mb", "%.0f")) MB")
        print("parity: \(row["parity"] ?? "-"); target EmoKit \(target), Captum \(row["captum_target"] ?? "-")")
        for (name, key) in [("IG", "ig_attribution"), ("Occlusion", "occlusion_attribution")] {
            guard let c = row[key] as? [String: Double] else { continue }
            print(String(format: "  %@ attributions: max|diff| %.3g (%.3g of the largest |value| %.3g), correlation %.6f",
                         name, c["max_abs_diff"] ?? .nan, c["max_rel_diff"] ?? .nan, c["scale"] ?? .nan, c["correlation"] ?? .nan))
        }
        if shared != nil {
            print("  IG signed delta: EmoKit \(f("emokit_ig_delta_signed", "%.4g")), Captum \(f("captum_ig_delta_signed", "%.4g"))")
        }
        if runs > 1 {
            func list(_ k: String) -> String {
                ((row[k] as? [Double]) ?? []).map { String(format: "%.2f", $0) }.joined(separator: " ")
            }
            print("runs (s): IG EmoKit \(list("emokit_ig_runs")) | Captum \(list("captum_ig_runs")); Occlusion EmoKit \(list("emokit_occlusion_runs")) | Captum \(list("captum_occlusion_runs"))")
            print("min-to-min ratios: IG \(f("ig_ratio_min", "%.2f")), Occlusion \(f("occlusion_ratio_min", "%.2f"))")
        }
    }
}

/// The chain the Captum peer saved (`captum_reference.py bench --save`): its HF checkpoint, head, clip and
/// attributions, so both sides of `emo bench explain` run one function.
struct PeerChain {
    let folder: String
    /// The wav2vec2-base checkpoint folder.
    let checkpoint: String
    let head: BenchMLPHead
    /// The clip `[T]`.
    let wave: [Float]

    /// Reads the saved chain, or nil when any file is missing or has the wrong size.
    init?(folder: String, samples: Int) {
        func floats(_ name: String, _ count: Int) -> [Float]? { Self.floats(folder + "/" + name + ".f32", count: count) }
        let ckpt = folder + "/wav2vec2-base"
        guard FileManager.default.fileExists(atPath: ckpt + "/model.safetensors"),
              let w1 = floats("head_w1", 256 * 768), let b1 = floats("head_b1", 256), let w2 = floats("head_w2", 7 * 256),
              let b2 = floats("head_b2", 7), let wave = floats("wave", samples) else { return nil }
        self.folder = folder
        checkpoint = ckpt
        head = BenchMLPHead(w1: w1, b1: b1, w2: w2, b2: b2, input: 768, hidden: 256, classes: 7)
        self.wave = wave
    }

    /// The peer's saved attribution `name` (`ig_attr`, `occlusion_attr`), when present.
    func attribution(_ name: String) -> [Float]? { Self.floats(folder + "/" + name + ".f32", count: wave.count) }

    /// `count` little-endian Float32 values from a raw file (what numpy's `astype("<f4").tofile` writes), or nil
    /// when the file is missing or has another size.
    static func floats(_ path: String, count: Int) -> [Float]? {
        guard let data = FileManager.default.contents(atPath: path), data.count == 4 * count else { return nil }
        return data.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    /// Max |diff|, max |diff| / max |ref|, and the Pearson correlation of two attribution vectors.
    static func compare(_ ours: [Float], _ ref: [Float]) -> [String: Double] {
        let n = min(ours.count, ref.count)
        guard n > 1 else { return [:] }
        var diff = 0.0, scale = 0.0, sa = 0.0, sb = 0.0
        for i in 0..<n {
            diff = max(diff, abs(Double(ours[i]) - Double(ref[i])))
            scale = max(scale, abs(Double(ref[i])))
            sa += Double(ours[i]); sb += Double(ref[i])
        }
        let (ma, mb) = (sa / Double(n), sb / Double(n))
        var cov = 0.0, va = 0.0, vb = 0.0
        for i in 0..<n {
            let (a, b) = (Double(ours[i]) - ma, Double(ref[i]) - mb)
            cov += a * b; va += a * a; vb += b * b
        }
        return ["max_abs_diff": diff, "scale": scale, "max_rel_diff": scale > 0 ? diff / scale : .nan,
                "correlation": cov / (va * vb).squareRoot()]
    }
}

/// A random-weight `[B, 768]` → ReLU(`[B, 256]`) → `[B, 7]` head with backward to its input (bench only).
final class BenchMLPHead: DifferentiableComponent {
    private let w1: [Float], b1: [Float], w2: [Float], b2: [Float]  // [H, C], [H], [K, H], [K]
    private let c: Int, h: Int, k: Int
    private var lastHidden: [Float] = []  // [B, H] pre-activation of the last forward

    /// Uniform(−1/√fan_in, 1/√fan_in) weights, as torch.nn.Linear initialises, from a fixed seed.
    init(input: Int, hidden: Int, classes: Int) {
        var rng = SeededGenerator(seed: 7)
        func u(_ count: Int, _ fanIn: Int) -> [Float] {
            let a = 1 / Float(fanIn).squareRoot()
            return (0..<count).map { _ in Float.random(in: -a...a, using: &rng) }
        }
        (c, h, k) = (input, hidden, classes)
        (w1, b1, w2, b2) = (u(hidden * input, input), u(hidden, input), u(classes * hidden, hidden), u(classes, hidden))
    }

    /// Given weights (torch.nn.Linear layouts: `w1 [H, C]`, `w2 [K, H]`).
    init(w1: [Float], b1: [Float], w2: [Float], b2: [Float], input: Int, hidden: Int, classes: Int) {
        (c, h, k) = (input, hidden, classes)
        (self.w1, self.b1, self.w2, self.b2) = (w1, b1, w2, b2)
    }

    var info: ComponentInfo {
        ComponentInfo(kind: .classifier, id: "bench-mlp-head", version: "1", displayName: "bench MLP head", manifest: .object([:]))
    }
    var resolvedDescription: JSONValue { .object([:]) }

    func forward(_ inputs: [Value]) throws -> [Value] {
        guard let x = inputs.first?.array, x.rank == 2, x.shape[1] == c else {
            throw ComponentError.invalidInput(component: "bench-mlp-head", message: "expected [B, \(c)]")
        }
        let b = x.shape[0]
        var z = [Float](repeating: 0, count: b * h)
        for r in 0..<b {
            for j in 0..<h {
                var s = b1[j]
                for i in 0..<c { s += x.data[r * c + i] * w1[j * c + i] }
                z[r * h + j] = s
            }
        }
        lastHidden = z
        var out = NDArray(zeros: [b, k])
        for r in 0..<b {
            for j in 0..<k {
                var s = b2[j]
                for i in 0..<h { s += max(z[r * h + i], 0) * w2[j * h + i] }
                out.data[r * k + j] = s
            }
        }
        return [.array(out)]
    }

    func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        guard let g = gradOutputs.first, g.count == lastHidden.count / h * k else {
            throw ComponentError.invalidInput(component: "bench-mlp-head", message: "expected d logits [B, \(k)] after a forward")
        }
        let b = g.shape[0]
        var dx = NDArray(zeros: [b, c])
        for r in 0..<b {
            var dz = [Float](repeating: 0, count: h)
            for i in 0..<h where lastHidden[r * h + i] > 0 {
                for j in 0..<k { dz[i] += g.data[r * k + j] * w2[j * h + i] }
            }
            for i in 0..<c {
                var s: Float = 0
                for j in 0..<h { s += dz[j] * w1[j * c + i] }
                dx.data[r * c + i] = s
            }
        }
        return [dx]
    }
}
