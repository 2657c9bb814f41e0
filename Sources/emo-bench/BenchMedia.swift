import EmoCLISupport
import ArgumentParser
import EmoCore
import EmoMedia
import EmoPipeline
import EmoTensor
import Foundation

/// `emo bench media`: decode + resample throughput on every RAVDESS + TESS file, beside librosa/soxr.
struct BenchMedia: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "media",
        abstract: "Decode + resample all RAVDESS and TESS files to 16 kHz mono, beside librosa.load (soxr_hq) in the same run.",
        discussion: """
        EmoKit side, single-threaded: MediaDecoder.decode (sniff, libsndfile/libavformat, downmix, resample, \
        SHA-256 of file and PCM) on each file; then decode + resample alone (no hashing); then the resampler on \
        --resample-seconds of noise at 48 kHz and 44.1 kHz. Peer side: Tests/Reference/bench_media.py runs \
        librosa.load(path, sr=16000) on the same files and soxr (HQ and VHQ) on the same resampling job. \
        Note that the corpus FLACs are already 16 kHz, so their resampling step is a copy on both sides; the \
        resampler rows measure the filter itself (EmoKit: 100 dB Kaiser windowed sinc, direct polyphase \
        convolution; soxr: FFT-based).
        """)

    @Option(help: "The shared data folder holding ravdess/ and tess/.")
    var data: String = "../shared/data"

    @Option(help: "Only the first N files (0 = all 4240).")
    var limit: Int = 0

    @Option(help: "Seconds of noise for the resampler-only rows.")
    var resampleSeconds: Double = 60

    @Flag(help: "Skip the Python peer.")
    var noPeer = false

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        var paths: [String] = []
        for (kind, folder) in [(CorpusKind.ravdess, "ravdess"), (.tess, "tess")] {
            let root = (data as NSString).appendingPathComponent(folder)
            paths += try CorpusLoader.load(kind: kind, path: root).items.map(\.path)
        }
        if limit > 0 { paths = Array(paths.prefix(limit)) }
        guard !paths.isEmpty else { throw ValidationError("no RAVDESS/TESS files under \(data)") }
        let decoder = try MediaDecoder()

        // 0. Untimed: read every file once so both sides start with a warm page cache.
        for p in paths { _ = FileManager.default.contents(atPath: p) }

        // 1. Full clip path (what `emo extract` does per file).
        _ = try decoder.decode(path: paths[0])
        var samples = 0, failures = 0
        let bar = ProgressBar(total: paths.count, label: "bench media", mode: json ? .quiet : .human)
        var t = Date()
        var c = BenchMedia.cpuSeconds()
        for (k, p) in paths.enumerated() {
            do { samples += try decoder.decode(path: p).samples.count } catch { failures += 1 }
            bar.update(done: k + 1)
        }
        bar.finish()
        let clipWall = Date().timeIntervalSince(t)
        let clipSeconds = BenchMedia.cpuSeconds() - c

        // 2. Decode + resample only.
        t = Date()
        c = BenchMedia.cpuSeconds()
        for p in paths {
            guard let raw = try? MediaDecoder.decodeNative(path: p) else { continue }
            _ = try Resampler(inputRate: raw.sampleRate, outputRate: 16_000).process(raw.samples)
        }
        let decodeWall = Date().timeIntervalSince(t)
        let decodeSeconds = BenchMedia.cpuSeconds() - c

        // 3. The resampler alone.
        var generator = SplitMix64(seed: 0)
        var resample: [String: Double] = [:]
        for rate in [48_000, 44_100] {
            let x = (0..<Int(Double(rate) * resampleSeconds)).map { _ in Float(gaussianish(&generator)) * 0.1 }
            let r = try Resampler(inputRate: rate, outputRate: 16_000)
            _ = r.process(Array(x.prefix(rate)))
            let s = BenchMedia.cpuSeconds()
            _ = r.process(x)
            resample[String(rate)] = Double(x.count) / (BenchMedia.cpuSeconds() - s) / 1e6
        }

        // 4. SHA-256 (file and PCM content hashes).
        let blob = [UInt8](repeating: 0x5a, count: 64 << 20)
        let hs = BenchMedia.cpuSeconds()
        _ = blob.withUnsafeBytes { SHA256.hash(raw: $0) }
        let shaMBps = 64 / (BenchMedia.cpuSeconds() - hs)

        // 5. The peer.
        var peer: ReferencePeer.Outcome = .missing("skipped (--no-peer)")
        if !noPeer {
            let list = FileManager.default.temporaryDirectory.appendingPathComponent("emo-bench-media-\(getpid()).txt")
            try Data(paths.joined(separator: "\n").utf8).write(to: list)
            defer { try? FileManager.default.removeItem(at: list) }
            peer = ReferencePeer.run("bench_media.py", arguments: [list.path, "--resample-seconds", String(resampleSeconds)])
        }

        let audioSeconds = Double(samples) / 16_000
        var out: [String: JSONValue] = [
            "files": .number(Double(paths.count)), "failed": .number(Double(failures)),
            "audio_seconds": .number(audioSeconds),
            "emokit_clip_seconds": .number(clipSeconds), "emokit_clip_wall_seconds": .number(clipWall),
            "emokit_decode_resample_wall_seconds": .number(decodeWall), "timing": "process CPU seconds (wall given separately)", "emokit_clip_files_per_s": .number(Double(paths.count) / clipSeconds),
            "emokit_clip_realtime_x": .number(audioSeconds / clipSeconds),
            "emokit_decode_resample_seconds": .number(decodeSeconds),
            "emokit_decode_resample_files_per_s": .number(Double(paths.count) / decodeSeconds),
            "emokit_resample_msamples_per_s": .object(resample.mapValues { .number($0) }),
            "emokit_sha256_mb_per_s": .number(shaMBps),
            "threads": .number(1),
        ]
        var peerLoad: Double? = nil
        var peerObject: [String: Any]? = nil
        switch peer {
        case .measured(let obj):
            peerObject = obj
            if let data = try? JSONSerialization.data(withJSONObject: obj), let v = try? JSONValue.parse(data) { out["peer"] = v }
            peerLoad = obj["load_seconds"] as? Double
        case .missing(let why):
            out["peer_missing"] = .string(why)
        }
        if json {
            print(JSONValue.object(out).serialized(pretty: true))
            return
        }
        print("files: \(paths.count) (RAVDESS + TESS, 16 kHz FLAC), \(String(format: "%.0f", audioSeconds)) s of audio, failed \(failures); 1 thread")
        print("times are process CPU seconds (the machine is shared; wall clock in brackets)")
        print(String(format: "EmoKit clip (decode+resample+hashes): %.2f s [%.2f]  %.0f files/s  %.0f× real time",
                     clipSeconds, clipWall, Double(paths.count) / clipSeconds, audioSeconds / clipSeconds))
        print(String(format: "EmoKit decode+resample only:          %.2f s [%.2f]  %.0f files/s", decodeSeconds, decodeWall,
                     Double(paths.count) / decodeSeconds))
        if let peerLoad {
            let peerWall = (peerObject?["load_wall_seconds"] as? Double) ?? .nan
            print(String(format: "librosa.load(sr=16000, soxr_hq):       %.2f s [%.2f]  %.0f files/s", peerLoad, peerWall,
                         Double(paths.count) / peerLoad))
            print(String(format: "ratio EmoKit / librosa: clip path %.2f, decode+resample only %.2f",
                         clipSeconds / peerLoad, decodeSeconds / peerLoad))
        }
        for rate in ["48000", "44100"] {
            var line = String(format: "resampler %@ → 16000: EmoKit %.1f Msamples/s", rate, resample[rate] ?? 0)
            if case .measured(let obj) = peer, let r = (obj["resample"] as? [String: Any])?[rate] as? [String: Any] {
                line += String(format: "   soxr HQ %.1f, VHQ %.1f Msamples/s",
                               r["soxr_hq_msamples_per_s"] as? Double ?? 0, r["soxr_vhq_msamples_per_s"] as? Double ?? 0)
            }
            print(line)
        }
        var shaLine = String(format: "SHA-256: EmoKit %.0f MB/s", shaMBps)
        if case .measured(let obj) = peer, let py = obj["sha256_mb_per_s"] as? Double {
            shaLine += String(format: "   Python hashlib (OpenSSL) %.0f MB/s", py)
        }
        print(shaLine)
        if case .missing(let why) = peer { print("peer: missing (\(why))") }
    }
}

extension BenchMedia {
    /// CPU seconds this process has used (all threads; the benchmark runs on one).
    static func cpuSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Benchmark noise: a sum of four uniforms from EmoKit's SplitMix64, scaled to about unit variance.
private func gaussianish(_ g: inout SplitMix64) -> Double {
    var s = 0.0
    for _ in 0..<4 { s += Double(g.next() >> 11) / Double(1 << 53) }
    return (s - 2) * 1.732
}
