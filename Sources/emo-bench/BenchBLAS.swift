import ArgumentParser
import EmoTensor
import Foundation

/// `emo bench blas`: the sgemm shapes EmoKit's models run, under every OpenBLAS core this CPU can execute, each in
/// a child process, beside EmoKit's own choice in a clean environment: is the choice within 5 % of the best core?
struct BenchBLAS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blas",
        abstract: "GFLOP/s of the models' GEMM shapes under each OpenBLAS core, and how EmoKit's own choice compares.",
        discussion: """
        OpenBLAS reads its core (OPENBLAS_CORETYPE) once, when it loads, so each column is a child process: \
        "auto" is EmoKit out of the box in a clean environment (no OPENBLAS_* variables), "openblas" is OpenBLAS's \
        own detection (EMOKIT_BLAS_CORE=openblas, what EmoKit ran before it chose), "yours" is this shell's \
        environment as it is (shown when it sets OPENBLAS_*), and every other column forces one core the CPU \
        supports. Shapes: wav2vec2-base's linears at B = 2 × 299 frames (598 rows), one head's attention scores \
        ×12, the feature encoder's 512→512 K3 conv as im2col, and the early-fusion MLP's first layer forward and \
        weight gradient at batch 32. Each cell is the best of ≥ 5 repeats (≥ --min-seconds) in the best of \
        --rounds passes over all columns (round-robin, so load drift hits every column alike).
        """)

    @Option(help: "OpenBLAS threads in every column.")
    var threads = 2

    @Option(help: "Minimum timed seconds per shape and column in one pass.")
    var minSeconds = 0.2

    @Option(help: "Passes over all columns (best kept per cell).")
    var rounds = 2

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Flag(help: .hidden)
    var child = false

    func run() async throws {
        if child {
            print(jsonText(Self.measureHere(threads: threads, minSeconds: minSeconds)))
            return
        }
        let columns = Self.columns()
        var results: [String: [String: Double]] = [:]  // column -> shape -> best seconds
        var cores: [String: String] = [:]
        for round in 0..<max(1, rounds) {
            for (name, env) in columns {
                if !json { FileHandle.standardError.write(Data("round \(round + 1): \(name)\n".utf8)) }
                let obj = try Self.runChild(env: env, threads: threads, minSeconds: minSeconds)
                cores[name] = "\(obj["core"] ?? "?")"
                for shape in (obj["shapes"] as? [[String: Any]]) ?? [] {
                    guard let s = shape["name"] as? String, let t = shape["best_s"] as? Double else { continue }
                    results[name, default: [:]][s] = min(results[name]?[s] ?? .infinity, t)
                }
            }
        }
        let shapes = BLASShape.all
        func total(_ column: String) -> Double { shapes.reduce(0) { $0 + (results[column]?[$1.name] ?? .nan) } }
        let forced = columns.map(\.name).filter { !["auto", "openblas", "yours"].contains($0) }
        let best = forced.min { total($0) < total($1) } ?? "auto"
        let ratio = total("auto") / total(best)
        // The same core in both columns runs the same code: any gap between them is the machine's noise.
        let sameCore = cores["auto"] != nil && cores["auto"] == cores[best]
        let verdict = ratio <= 1.05 ? "within 5 %"
            : sameCore ? "the same core ran in both columns, so the gap is measurement noise (a busy machine? rerun with more --rounds)"
            : "NOT within 5 %"
        if json {
            var cols: [[String: Any]] = []
            for (name, _) in columns {
                cols.append(["column": name, "core": cores[name] ?? "?", "total_s": total(name),
                             "shapes": results[name] ?? [:]])
            }
            print(jsonText(["cpu": BLASInfo.cpu, "cpu_flags": BLASInfo.cpuFlags, "threads": threads,
                                 "rule_choice": BLASInfo.chosenCore, "best_forced": best,
                                 "auto_over_best": ratio, "auto_runs_best_core": sameCore, "columns": cols]))
            return
        }
        print(BLASInfo.cpuLine)
        print("\(threads) OpenBLAS threads; \(BLASInfo.config)")
        print("GFLOP/s per shape (best of \(rounds) rounds); last row: ms for one of each shape")
        let width = 40
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
        print(pad("shape", width) + columns.map { pad("\($0.name)", 12) }.joined())
        print(pad("(core that ran)", width) + columns.map { pad(cores[$0.name] ?? "?", 12) }.joined())
        for shape in shapes {
            let cells = columns.map { col -> String in
                guard let t = results[col.name]?[shape.name] else { return pad("—", 12) }
                return pad(String(format: "%.1f", shape.flops / t / 1e9), 12)
            }
            print(pad(shape.name, width) + cells.joined())
        }
        print(pad("total ms", width) + columns.map { pad(String(format: "%.2f", total($0.name) * 1e3), 12) }.joined())
        print(String(format: "EmoKit's choice out of the box (auto, core %@): %.3fx the time of the best forced core (%@): %@",
                     cores["auto"] ?? "?", ratio, best, verdict))
        if let own = results["openblas"], !own.isEmpty {
            print(String(format: "OpenBLAS's own detection (core %@): %.3fx the best forced core",
                         cores["openblas"] ?? "?", total("openblas") / total(best)))
        }
    }

    /// The columns: name and the child's environment.
    static func columns() -> [(name: String, env: [String: String])] {
        let current = ProcessInfo.processInfo.environment
        var clean = current.filter { !$0.key.hasPrefix("OPENBLAS_") && $0.key != "EMOKIT_BLAS_CORE" }
        clean["OMP_NUM_THREADS"] = nil
        var cols: [(String, [String: String])] = [("auto", clean)]
        var own = clean
        own["EMOKIT_BLAS_CORE"] = "openblas"
        cols.append(("openblas", own))
        if current.keys.contains(where: { $0.hasPrefix("OPENBLAS_") }) { cols.append(("yours", current)) }
        let flags = Set(BLASInfo.cpuFlags.split(separator: " ").map(String.init))
        var forced = ["Prescott"]
        if flags.isSuperset(of: ["avx", "os-ymm"]) { forced.append("SandyBridge") }
        if flags.isSuperset(of: ["avx2", "fma", "os-ymm"]) { forced += ["Haswell", "Zen"] }
        if flags.isSuperset(of: ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "os-zmm"]) {
            forced.append("SkylakeX")
            if flags.contains("avx512_bf16") { forced.append("Cooperlake") }
        }
        for core in forced {
            var env = clean
            env["OPENBLAS_CORETYPE"] = core
            cols.append((core, env))
        }
        return cols
    }

    static func runChild(env: [String: String], threads: Int, minSeconds: Double) throws -> [String: Any] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        p.arguments = ["blas", "--child", "--threads", "\(threads)", "--min-seconds", "\(minSeconds)"]
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ValidationError("the benchmark child exited with status \(p.terminationStatus) under \(env["OPENBLAS_CORETYPE"] ?? "no OPENBLAS_CORETYPE")")
        }
        return obj
    }

    /// Times every shape in this process (the child's side).
    static func measureHere(threads: Int, minSeconds: Double) -> [String: Any] {
        BLASInfo.setThreadCount(threads)
        var rows: [[String: Any]] = []
        for shape in BLASShape.all {
            let t = shape.measure(minSeconds: minSeconds)
            rows.append(["name": shape.name, "best_s": t])
        }
        return ["core": BLASInfo.coreName, "source": BLASInfo.coreSource, "shapes": rows]
    }
}

/// One GEMM shape as a model runs it: `repeats` sgemms of `[m, k] · op(B)` → `[m, n]`.
struct BLASShape {
    let name: String
    let m: Int, n: Int, k: Int
    var transA = false, transB = true
    var repeats = 1

    var flops: Double { 2 * Double(m * n * k * repeats) }

    static let all: [BLASShape] = [
        BLASShape(name: "w2v2 qkv 598x768->2304", m: 598, n: 2304, k: 768),
        BLASShape(name: "w2v2 ffn up 598x768->3072", m: 598, n: 3072, k: 768),
        BLASShape(name: "w2v2 ffn down 598x3072->768", m: 598, n: 768, k: 3072),
        BLASShape(name: "attention scores 299x299x64 x12", m: 299, n: 299, k: 64, repeats: 12),
        BLASShape(name: "conv 512->512 K3 im2col 2399 rows", m: 2399, n: 512, k: 1536),
        BLASShape(name: "mlp fwd 32x2364->1024", m: 32, n: 1024, k: 2364),
        BLASShape(name: "mlp dW 1024x2364 over 32", m: 1024, n: 2364, k: 32, transA: true, transB: false),
    ]

    /// Best seconds for one pass of this shape (`BenchTiming.measure`: warm-ups, then ≥ 5 repeats and ≥ `minSeconds`).
    func measure(minSeconds: Double) -> Double {
        let aCount = m * k, bCount = k * n
        let a = (0..<aCount).map { Float(($0 * 7919) % 1000) / 1000 - 0.5 }
        let b = (0..<bCount).map { Float(($0 * 104_729) % 1000) / 1000 - 0.5 }
        var c = [Float](repeating: 0, count: m * n)
        func once() {
            for _ in 0..<repeats {
                Kernels.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: transA ? m : k,
                              b: b, ldb: transB ? k : n, c: &c, ldc: n)
            }
        }
        return BenchTiming.measure(minSeconds: minSeconds, [once])[0].best
    }
}
