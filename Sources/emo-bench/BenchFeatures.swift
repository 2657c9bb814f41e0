import EmoCLISupport
import ArgumentParser
import EmoTensor
import CSndFile
import EmoCore
import EmoRuntime
import Foundation

/// `emo bench features`: the handcrafted extractor's `study-a` set beside librosa 0.11 on real clips, single thread,
/// then every RAVDESS + TESS clip with two threads. The extractor is loaded like any plugin (registry, `dlopen`, the
/// C ABI), so the times include the boundary crossing: samples in as a float32 array, the vector out.
struct BenchFeatures: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Time the handcrafted study-a features against librosa on real clips, and over the whole corpus.",
        discussion: """
        Clips come from ../shared/data (or --data): RAVDESS + TESS 16 kHz FLAC files, sorted by path, every k-th \
        one so both corpora are represented. Each clip is cut to --seconds. Decoding is not timed in the \
        side-by-side part; the corpus part times decoding + extraction with --threads workers. The `handcrafted` \
        plugin is loaded through the plugin registry and called through the C ABI, as `emo extract` does. \
        The librosa column runs Tests/Reference/bench_features.py with EMO_REFERENCE_PYTHON.
        """)

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Number of clips in the side-by-side comparison.")
    var clips = 200

    @Option(help: "Seconds kept from each clip in the side-by-side comparison.")
    var seconds = 3.0

    @Option(help: "Worker threads for the whole-corpus pass (0 skips it).")
    var threads = 2

    @Option(help: "Folder holding ravdess/ and tess/ (default ../shared/data from the working directory).")
    var data: String?

    @Option(help: "voice_method of the study-a set: praat (default; the peer column then adds Praat through parselmouth for formants, HNR, jitter, shimmer, speech rate) or pyin.")
    var voiceMethod = "praat"

    @Flag(help: "Skip the librosa column.")
    var noPeer = false

    @Flag(help: "Also time the egemaps-v02 preset on the same clips, single thread, beside openSMILE 3.0 (Tests/Reference/bench_egemaps.py with EMO_REFERENCE_PYTHON; skipped with --no-peer).")
    var egemaps = false

    enum BenchError: Error, CustomStringConvertible {
        case noData(String)
        case decode(String)
        case badOutput(String)
        var description: String {
            switch self {
            case .noData(let d): return "no RAVDESS/TESS FLAC files under \(d); pass --data pointing at the folder holding ravdess/ and tess/"
            case .decode(let p): return "\(p): libsndfile could not read it as 16 kHz mono audio"
            case .badOutput(let why): return "the handcrafted plugin returned \(why); rebuild it (`swift build -c release`) and run `emo plugins scan`"
            }
        }
    }

    /// One `handcrafted` instance loaded through the plugin host, with its feature names.
    struct PluginExtractor: @unchecked Sendable {
        let component: LoadedComponent
        let featureNames: [String]

        init(host: PluginHost, config: JSONValue) throws {
            component = try host.instantiate(id: "handcrafted", config: config)
            featureNames = component.resolvedDescription["outputs"]?.arrayValue?.first?["feature_names"]?.arrayValue?
                .compactMap(\.stringValue) ?? []
        }

        /// The clip's vector through the ABI (float32 out, widened for the comparison with librosa).
        func features(_ y: [Float]) throws -> [Double] {
            guard let out = try component.forward([.array(NDArray(vector: y))]).first?.array else {
                throw BenchError.badOutput("no float array")
            }
            return out.data.map { Double($0) }
        }
    }

    /// All corpus files, sorted.
    static func corpusFiles(_ root: URL) -> [String] {
        var out: [String] = []
        for sub in ["ravdess", "tess"] {
            let dir = root.appendingPathComponent(sub)
            guard let e = FileManager.default.enumerator(atPath: dir.path) else { continue }
            for case let p as String in e where p.hasSuffix(".flac") { out.append(dir.appendingPathComponent(p).path) }
        }
        return out.sorted()
    }

    /// Decodes a 16 kHz mono file with libsndfile.
    static func decode(_ path: String) throws -> [Float] {
        var info = SF_INFO()
        guard let f = sf_open(path, Int32(SFM_READ), &info) else { throw BenchError.decode(path) }
        defer { sf_close(f) }
        guard info.channels == 1, info.samplerate == 16000 else { throw BenchError.decode(path) }
        var buf = [Float](repeating: 0, count: Int(info.frames))
        let got = buf.withUnsafeMutableBufferPointer { sf_readf_float(f, $0.baseAddress, info.frames) }
        return Array(buf.prefix(Int(got)))
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) * 1e-6
            + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) * 1e-6
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }

    func run() async throws {
        let root = URL(fileURLWithPath: data ?? "../shared/data", relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        let files = Self.corpusFiles(root)
        guard !files.isEmpty else { throw BenchError.noData(root.path) }
        let stride = max(files.count / max(clips, 1), 1)
        let chosen = Swift.stride(from: 0, to: files.count, by: stride).prefix(clips).map { files[$0] }
        let maxSamples = Int(seconds * 16000)
        let audio = try chosen.map { Array(try Self.decode($0).prefix(maxSamples)) }
        let audioSeconds = Double(audio.reduce(0) { $0 + $1.count }) / 16000
        var report: [String: Any] = [
            "clips": audio.count, "audio_seconds": audioSeconds, "max_seconds_per_clip": seconds,
            "openblas_core": BLASInfo.coreName, "blas_used": false,
            "cores_online": ProcessInfo.processInfo.activeProcessorCount, "load_average_start": Self.loadAverage(),
        ]
        // EmoKit, one thread, through the plugin ABI
        let host = PluginHost.standard()
        let studyA: JSONValue = .object(["preset": "study-a", "voice_method": .string(voiceMethod)])
        report["voice_method"] = voiceMethod
        let extractor = try PluginExtractor(host: host, config: studyA)
        _ = try extractor.features(audio[0])   // warm caches
        var vectors: [[Double]] = []
        let cpu0 = Self.cpuSeconds(), t0 = Self.now()
        for y in audio { vectors.append(try extractor.features(y)) }
        let emoSeconds = Self.now() - t0, emoCPU = Self.cpuSeconds() - cpu0
        report["emokit_seconds"] = emoSeconds
        report["emokit_cpu_seconds"] = emoCPU
        report["emokit_ms_per_clip"] = emoSeconds / Double(audio.count) * 1000
        report["features_per_clip"] = extractor.featureNames.count
        // the same descriptors as the librosa column only (no formants, HNR, jitter, shimmer, speech rate)
        let subset = try PluginExtractor(host: host, config: .object([
            "preset": "custom", "descriptors": ["mfcc", "chroma", "spectral_centroid", "spectral_rolloff", "zcr", "f0", "voiced_fraction"],
            "functionals": ["mean", "std"]]))
        _ = try subset.features(audio[0])
        let cpuS = Self.cpuSeconds(), tS = Self.now()
        for y in audio { _ = try subset.features(y) }
        report["emokit_librosa_subset_seconds"] = Self.now() - tS
        report["emokit_librosa_subset_cpu_seconds"] = Self.cpuSeconds() - cpuS
        // librosa peer
        if !noPeer {
            let list = FileManager.default.temporaryDirectory.appendingPathComponent("emo-bench-features-\(getpid()).txt")
            try chosen.joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: list) }
            let peerArgs = [list.path, String(maxSamples)] + (voiceMethod == "praat" ? ["praat"] : [])
            switch ReferencePeer.run("bench_features.py", arguments: peerArgs) {
            case .missing(let why):
                report["librosa_missing"] = why
            case .measured(let obj):
                let peerSeconds = obj["seconds"] as? Double ?? .nan
                report["librosa_seconds"] = peerSeconds
                report["librosa_ms_per_clip"] = peerSeconds / Double(audio.count) * 1000
                report["librosa_warmup_s"] = obj["warmup_s"]
                report["librosa_version"] = obj["librosa"]
                if let ps = obj["praat_seconds"] as? Double {
                    report["peer_praat_seconds"] = ps
                    report["peer_praat_version"] = obj["praat"]
                }
                report["speedup"] = peerSeconds / emoSeconds
                if let peerCPU = obj["cpu_seconds"] as? Double {
                    report["librosa_cpu_seconds"] = peerCPU
                    report["speedup_cpu"] = peerCPU / emoCPU
                    if let sub = report["emokit_librosa_subset_cpu_seconds"] as? Double {
                        report["speedup_cpu_same_descriptors"] = peerCPU / sub
                    }
                }
                if let names = obj["names"] as? [String], let rows = obj["vectors"] as? [[Any]] {
                    let pv = rows.map { $0.map { ($0 as? Double) ?? .nan } }     // null (unvoiced f0) → NaN
                    report["agreement"] = Self.agreement(names: names, peer: pv, ours: vectors, ourNames: extractor.featureNames)
                }
            }
        }
        // egemaps-v02 beside openSMILE, one thread each
        if egemaps {
            let eg = try PluginExtractor(host: host, config: .object(["preset": "egemaps-v02"]))
            _ = try eg.features(audio[0])
            var egVectors: [[Double]] = []
            let cpuE = Self.cpuSeconds(), tE = Self.now()
            for y in audio { egVectors.append(try eg.features(y)) }
            let egSeconds = Self.now() - tE
            report["egemaps_seconds"] = egSeconds
            report["egemaps_cpu_seconds"] = Self.cpuSeconds() - cpuE
            report["egemaps_ms_per_clip"] = egSeconds / Double(audio.count) * 1000
            if !noPeer {
                let list = FileManager.default.temporaryDirectory.appendingPathComponent("emo-bench-egemaps-\(getpid()).txt")
                try chosen.joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
                defer { try? FileManager.default.removeItem(at: list) }
                switch ReferencePeer.run("bench_egemaps.py", arguments: [list.path, String(maxSamples)]) {
                case .missing(let why):
                    report["opensmile_missing"] = why
                case .measured(let obj):
                    let total = obj["seconds"] as? Double ?? .nan, api = obj["smileapi_seconds"] as? Double ?? .nan
                    report["opensmile_version"] = obj["opensmile"]
                    report["opensmile_seconds"] = total
                    report["opensmile_smileapi_seconds"] = api
                    report["egemaps_speedup_vs_smileapi"] = api / egSeconds
                    if let names = obj["names"] as? [String], let rows = obj["vectors"] as? [[Any]], names == eg.featureNames {
                        // clips on which each functional is within 2e-4 of max(|openSMILE|, 1e-3) (the parity tolerance)
                        var within = 0, checked = 0
                        for (c, row) in rows.enumerated() where c < egVectors.count {
                            for (k, v) in row.enumerated() where k < egVectors[c].count {
                                let b = (v as? Double) ?? .nan, a = egVectors[c][k]
                                checked += 1
                                if abs(a - b) <= 2e-4 * max(abs(b), 1e-3) { within += 1 }
                            }
                        }
                        report["egemaps_values_within_2e-4"] = "\(within)/\(checked)"
                    }
                }
            }
        }
        // whole corpus, N threads
        if threads > 0 {
            let allFiles = files
            let n = threads
            let results = ThreadResults(count: n)
            let cpu1 = Self.cpuSeconds(), t1 = Self.now()
            let instances = try (0..<n).map { _ in try PluginExtractor(host: host, config: studyA) }
            let workers = (0..<n).map { w in
                Thread {
                    do {
                        let ex = instances[w]
                        var done = 0, secs = 0.0
                        for i in Swift.stride(from: w, to: allFiles.count, by: n) {
                            let y = try Self.decode(allFiles[i])
                            _ = try ex.features(y)
                            done += 1
                            secs += Double(y.count) / 16000
                        }
                        results.set(w, done: done, audio: secs, error: nil)
                    } catch {
                        results.set(w, done: 0, audio: 0, error: "\(error)")
                    }
                }
            }
            workers.forEach { $0.start() }
            results.waitAll()
            let wall = Self.now() - t1, cpu = Self.cpuSeconds() - cpu1
            report["corpus_clips"] = results.done
            report["corpus_audio_seconds"] = results.audio
            report["corpus_threads"] = n
            report["corpus_wall_seconds"] = wall
            report["corpus_cpu_seconds"] = cpu
            report["corpus_effective_cores"] = cpu / wall
            if let e = results.firstError { report["corpus_error"] = e }
        }
        report["load_average_end"] = Self.loadAverage()
        if json {
            let d = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
            print(String(decoding: d, as: UTF8.self))
        } else {
            printTable(report)
        }
    }

    /// Max |ours − librosa| per feature family over clips, and pYIN agreement on voiced fraction.
    static func agreement(names: [String], peer: [[Double]], ours: [[Double]], ourNames: [String]) -> [String: Any] {
        var worst: [String: Double] = [:]
        var index: [String: Int] = [:]
        for (i, n) in ourNames.enumerated() { index[n] = i }
        var f0Within1Cent = 0, f0Both = 0
        for (c, pv) in peer.enumerated() where c < ours.count {
            for (j, name) in names.enumerated() {
                guard let i = index[name], j < pv.count else { continue }
                let a = ours[c][i], b = pv[j]
                if name == "f0_hz_mean", a.isFinite, b.isFinite {
                    f0Both += 1
                    if abs(1200 * log2(a / b)) <= 1 { f0Within1Cent += 1 }
                }
                let family = name.hasPrefix("mfcc") ? "mfcc_mean" : name.hasPrefix("chroma") ? "chroma_mean" : name
                let err = (a.isNaN && b.isNaN) ? 0 : abs(a - b) / max(abs(b), 1e-9)
                worst[family] = max(worst[family] ?? 0, err)
            }
        }
        return ["max_relative_difference": worst, "clips_f0_mean_within_1_cent": f0Within1Cent, "clips_voiced_in_both": f0Both]
    }

    func printTable(_ r: [String: Any]) {
        func f(_ k: String, _ digits: Int = 3) -> String {
            guard let v = r[k] as? Double else { return "\(r[k] ?? "-")" }
            return String(format: "%.\(digits)f", v)
        }
        print("handcrafted study-a, voice_method \(r["voice_method"] ?? "?") (\(r["features_per_clip"] ?? "?") features per clip), \(r["clips"] ?? 0) clips, \(f("audio_seconds", 1)) s of audio (≤ \(seconds) s each)")
        print("OpenBLAS core \(r["openblas_core"] ?? "?") (not used: the extractor is pure Swift, called through the plugin ABI); load average at start \(r["load_average_start"] ?? "?")")
        print("  EmoKit  (1 thread): \(f("emokit_seconds")) s wall, \(f("emokit_cpu_seconds")) s CPU, \(f("emokit_ms_per_clip", 2)) ms/clip wall")
        if r["egemaps_seconds"] != nil {
            print("  egemaps-v02, EmoKit (1 thread): \(f("egemaps_seconds")) s wall, \(f("egemaps_ms_per_clip", 2)) ms/clip; openSMILE \(r["opensmile_version"] ?? "-") (1 thread): \(f("opensmile_seconds")) s through PyPI opensmile, \(f("opensmile_smileapi_seconds")) s inside SMILEapi; speed-up vs SMILEapi \(f("egemaps_speedup_vs_smileapi", 2))x; values within parity tolerance \(r["egemaps_values_within_2e-4"] ?? "-")\(r["opensmile_missing"].map { " (openSMILE: \($0))" } ?? "")")
        }
        if let why = r["librosa_missing"] { print("  librosa: missing (\(why))") } else if r["librosa_seconds"] != nil {
            let withPraat = r["peer_praat_seconds"] != nil ? " + Praat \(r["peer_praat_version"] ?? "")" : ""
            print("  librosa\(withPraat) (1 thread): \(f("librosa_seconds")) s wall, \(f("librosa_cpu_seconds")) s CPU, \(f("librosa_ms_per_clip", 2)) ms/clip wall (+ \(f("librosa_warmup_s", 1)) s numba warm-up, untimed)")
            if r["peer_praat_seconds"] != nil { print("    of which Praat (formants, HNR, jitter, shimmer, speech rate): \(f("peer_praat_seconds")) s wall") }
            print("  speed-up: \(f("speedup", 1))x wall, \(f("speedup_cpu", 1))x CPU")
            print("  EmoKit on librosa's descriptors only: \(f("emokit_librosa_subset_cpu_seconds")) s CPU → \(f("speedup_cpu_same_descriptors", 1))x CPU")
            if let a = r["agreement"] { print("  agreement with librosa (float32 input): \(a)") }
        }
        if r["corpus_clips"] != nil {
            print("all \(r["corpus_clips"] ?? 0) RAVDESS+TESS clips (\(f("corpus_audio_seconds", 0)) s audio), \(r["corpus_threads"] ?? 0) threads, decode + extract: \(f("corpus_wall_seconds", 1)) s wall, \(f("corpus_cpu_seconds", 1)) s CPU (\(f("corpus_effective_cores", 2)) cores effective)")
        }
        print("load average at end \(r["load_average_end"] ?? "?") (the machine is shared: compare CPU and wall seconds)")
    }
}

/// Per-worker results, filled from worker threads.
final class ThreadResults: @unchecked Sendable {
    private let lock = NSCondition()
    private var doneCount: [Int]
    private var audioSecs: [Double]
    private var errors: [String?]
    private var finished = 0
    init(count: Int) {
        doneCount = [Int](repeating: 0, count: count)
        audioSecs = [Double](repeating: 0, count: count)
        errors = [String?](repeating: nil, count: count)
    }
    func set(_ w: Int, done: Int, audio: Double, error: String?) {
        lock.lock(); doneCount[w] = done; audioSecs[w] = audio; errors[w] = error; finished += 1; lock.broadcast(); lock.unlock()
    }
    func waitAll() { lock.lock(); while finished < doneCount.count { lock.wait() }; lock.unlock() }
    var done: Int { doneCount.reduce(0, +) }
    var audio: Double { audioSecs.reduce(0, +) }
    var firstError: String? { errors.compactMap { $0 }.first }
}
