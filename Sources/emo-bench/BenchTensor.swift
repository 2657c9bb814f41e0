import EmoCLISupport
import ArgumentParser
import EmoTensor
import Foundation

/// `emo bench tensor`: GFLOP/s of EmoTensor's sgemm-backed linear and conv1d beside raw sgemm and PyTorch CPU.
struct BenchTensor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tensor",
        abstract: "GFLOP/s of linear and conv1d at base-transformer shapes: EmoTensor vs raw sgemm vs PyTorch CPU.",
        discussion: """
        Linear: T = 149 and 399 frames, C = 768, FFN 3072 (with bias). Conv1d: the wav2vec2 feature encoder on \
        24000 samples (1→512 K10 s5; 512→512 K3 s2 on 4799 frames) and the positional convolution \
        (768 channels, K128, 16 groups, T = 399), in PyTorch layout (im2col) and channels-last (in place). \
        "raw sgemm" is one cblas_sgemm at the same GEMM shape on ready-made operands (no bias, no im2col). \
        PyTorch runs Tests/Reference/bench_tensor.py with EMO_REFERENCE_PYTHON and --threads. Each number is \
        the best of ≥ 5 timed repeats (≥ --min-seconds per side) after 3 warm-ups; medians are in --json. \
        On a shared machine, `--threads 1 --clock cpu` gives per-core numbers that other jobs cannot disturb. \
        Build with -c release.
        """)

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Minimum timed seconds per case and side.")
    var minSeconds: Double = 0.3

    @Option(help: "Threads for OpenBLAS and for PyTorch.")
    var threads: Int = 2

    @Option(help: "wall (elapsed time) or cpu (process CPU time: robust when other jobs share the cores; use with --threads 1, since BLAS threads that spin-wait also count).")
    var clock: BenchClock = .wall

    func run() async throws {
        let cases = BenchTensorCase.all
        BLASInfo.setThreadCount(threads)
        BenchTiming.clock = clock
        var rows: [[String: Any]] = []
        for c in cases {
            // EmoKit, raw sgemm (and channels-last) take turns rep by rep, so load changes hit all of them alike.
            let timings = c.measure(minSeconds: minSeconds)
            let (emo, raw) = (timings[0], timings[1])
            var row: [String: Any] = ["name": c.name, "gflop": c.flops / 1e9, "emo": emo.json, "raw_sgemm": raw.json,
                                      "emo_over_raw": raw.best / emo.best]
            if timings.count > 2 {
                let cl = timings[2]
                row["emo_channels_last"] = cl.json
                row["channels_last_over_raw"] = raw.best / cl.best
            }
            rows.append(row)
            FileHandle.standardError.write(Data("measured \(c.name)\n".utf8))
        }
        let peerArgs = ["--cases", jsonText(cases.map(\.peerSpec)), "--threads", String(threads),
                        "--min-seconds", String(minSeconds),
                        "--clock", clock.rawValue]
        var peerNote = ""
        switch ReferencePeer.run("bench_tensor.py", arguments: peerArgs) {
        case .measured(let peer):
            let results = peer["results"] as? [String: [String: Any]] ?? [:]
            for i in rows.indices {
                guard let name = rows[i]["name"] as? String, let r = results[name], let best = r["best_s"] as? Double,
                      let emo = rows[i]["emo"] as? [String: Any], let emoBest = emo["best_s"] as? Double else { continue }
                rows[i]["pytorch"] = r
                rows[i]["speedup_vs_pytorch"] = best / emoBest
                if let cl = rows[i]["emo_channels_last"] as? [String: Any], let clBest = cl["best_s"] as? Double {
                    rows[i]["channels_last_speedup_vs_pytorch"] = best / clBest
                }
            }
            peerNote = "PyTorch \(peer["torch"] ?? "?") (\(peer["threads"] ?? "?") threads, \(peer["capability"] ?? "?"))"
        case .missing(let why):
            peerNote = "PyTorch column missing: \(why)"
        }
        let header: [String: Any] = [
            "openblas_core": BLASInfo.coreName, "openblas_core_source": BLASInfo.coreSource,
            "cpu": BLASInfo.cpu, "cpu_flags": BLASInfo.cpuFlags, "openblas_threads": BLASInfo.threadCount,
            "openblas_config": BLASInfo.config, "peer": peerNote, "min_seconds": minSeconds, "cases": rows,
            "clock": clock.rawValue,
        ]
        if json {
            print(jsonText(header))
            return
        }
        print(BLASInfo.cpuLine)
        print("\(BLASInfo.summary) (\(BLASInfo.config)); \(clock.rawValue) clock")
        print(peerNote)
        func cell(_ any: Any?, flops: Double) -> String {
            guard let d = any as? [String: Any], let best = d["best_s"] as? Double else { return "—" }
            return String(format: "%7.2f ms %6.1f", best * 1e3, flops / best / 1e9)
        }
        print(pad("case", 42) + pad("EmoKit ms GF/s", 19) + pad("ch-last ms GF/s", 19) + pad("raw sgemm ms GF/s", 19)
              + pad("PyTorch ms GF/s", 19) + "emo/raw  vs torch")
        for (c, row) in zip(cases, rows) {
            let ratio = (row["emo_over_raw"] as? Double).map { String(format: "%5.0f%%", $0 * 100) } ?? "—"
            var speed = (row["speedup_vs_pytorch"] as? Double).map { String(format: "%5.2f×", $0) } ?? "—"
            if let cl = row["channels_last_speedup_vs_pytorch"] as? Double {
                speed += String(format: " (ch-last %.2f×, %.0f%% of raw)", cl,
                                (row["channels_last_over_raw"] as? Double ?? 0) * 100)
            }
            print(pad(c.name, 42) + pad(cell(row["emo"], flops: c.flops), 19)
                  + pad(cell(row["emo_channels_last"], flops: c.flops), 19)
                  + pad(cell(row["raw_sgemm"], flops: c.flops), 19) + pad(cell(row["pytorch"], flops: c.flops), 19)
                  + ratio + "  " + speed)
        }
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}

/// JSON text of a Foundation object (sorted keys): what every benchmark's --json prints.
func jsonText(_ object: Any) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
    return String(decoding: data, as: UTF8.self)
}

/// Which clock times the benchmark.
enum BenchClock: String, ExpressibleByArgument {
    /// Elapsed time.
    case wall
    /// CPU time of the whole process (all threads).
    case cpu

    /// Current reading in seconds.
    var now: Double {
        var ts = timespec()
        clock_gettime(self == .wall ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Best and median seconds of one measured side.
struct BenchTiming {
    /// The clock every measurement uses (set once by the command before measuring).
    nonisolated(unsafe) static var clock: BenchClock = .wall

    let best: Double
    let median: Double
    let repeats: Int
    var json: [String: Any] { ["best_s": best, "median_s": median, "repeats": repeats] }

    /// Runs each body 3 times untimed, then round-robin until every body has ≥ 5 timed repeats and
    /// `minSeconds` have passed in all.
    static func measure(minSeconds: Double, _ bodies: [() -> Void]) -> [BenchTiming] {
        for body in bodies { for _ in 0..<3 { body() } }
        var times = [[Double]](repeating: [], count: bodies.count)
        let start = clock.now
        while times[0].count < 5 || clock.now - start < minSeconds * Double(bodies.count) {
            for (i, body) in bodies.enumerated() {
                let t0 = clock.now
                body()
                times[i].append(clock.now - t0)
            }
        }
        return times.map { t in
            let sorted = t.sorted()
            return BenchTiming(best: sorted[0], median: sorted[sorted.count / 2], repeats: sorted.count)
        }
    }
}

/// One benchmark shape.
struct BenchTensorCase {
    enum Kind {
        case linear(rows: Int, inFeatures: Int, outFeatures: Int)
        case conv1d(Conv1dGeometry, inputLength: Int)
        case gelu(count: Int)
        case attention(AttentionGeometry)
    }

    let name: String
    let kind: Kind

    static let all: [BenchTensorCase] = {
        var cases: [BenchTensorCase] = []
        for t in [149, 399] {
            cases.append(.init(name: "linear T=\(t) 768→768", kind: .linear(rows: t, inFeatures: 768, outFeatures: 768)))
            cases.append(.init(name: "linear T=\(t) 768→3072", kind: .linear(rows: t, inFeatures: 768, outFeatures: 3072)))
            cases.append(.init(name: "linear T=\(t) 3072→768", kind: .linear(rows: t, inFeatures: 3072, outFeatures: 768)))
        }
        cases.append(.init(name: "conv1d 1→512 K10 s5 (24000 samples)",
                           kind: .conv1d(Conv1dGeometry(inChannels: 1, outChannels: 512, kernelSize: 10, stride: 5),
                                         inputLength: 24000)))
        cases.append(.init(name: "conv1d 512→512 K3 s2 (Tin 4799)",
                           kind: .conv1d(Conv1dGeometry(inChannels: 512, outChannels: 512, kernelSize: 3, stride: 2),
                                         inputLength: 4799)))
        cases.append(.init(name: "conv1d 768→768 K128 G16 p64 (T 399)",
                           kind: .conv1d(Conv1dGeometry(inChannels: 768, outChannels: 768, kernelSize: 128,
                                                        padding: 64, groups: 16), inputLength: 399)))
        cases.append(.init(name: "gelu erf 399×3072", kind: .gelu(count: 399 * 3072)))
        cases.append(.init(name: "attention T=399 H12 D64",
                           kind: .attention(AttentionGeometry(batch: 1, heads: 12, headDim: 64, queryLength: 399,
                                                              keyLength: 399))))
        return cases
    }()

    /// Multiply-adds × 2.
    var flops: Double {
        switch kind {
        case let .linear(rows, i, o): return 2 * Double(rows * i * o)
        case let .conv1d(g, tIn):
            return 2 * Double(g.outChannels * g.groupInChannels * g.kernelSize * g.outputLength(inputLength: tIn))
        case let .gelu(count): return Double(count)  // "GFLOP/s" here means Gelem/s
        case let .attention(g):  // the two GEMMs
            return 4 * Double(g.batch * g.heads * g.queryLength * g.keyLength * g.headDim)
        }
    }

    /// What bench_tensor.py needs to build the same case.
    var peerSpec: [String: Any] {
        switch kind {
        case let .linear(rows, i, o):
            return ["name": name, "kind": "linear", "rows": rows, "in": i, "out": o, "bias": true]
        case let .conv1d(g, tIn):
            return ["name": name, "kind": "conv1d", "batch": 1, "cin": g.inChannels, "cout": g.outChannels,
                    "k": g.kernelSize, "stride": g.stride, "padding": g.padding, "groups": g.groups, "tin": tIn,
                    "bias": false]
        case let .gelu(count):
            return ["name": name, "kind": "gelu", "count": count]
        case let .attention(g):
            return ["name": name, "kind": "attention", "batch": g.batch, "heads": g.heads, "head_dim": g.headDim,
                    "t": g.queryLength]
        }
    }

    private static func buffer(_ count: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
        var rng = SeededGenerator(seed: seed)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        for i in 0..<count { p[i] = rng.nextNormal() * 0.1 }
        return p
    }

    /// Times [EmoKit, raw sgemm] for linear and [EmoKit (PyTorch layout), raw sgemm, EmoKit channels-last] for
    /// conv1d. "raw sgemm" is the same GEMM shape (one call per group) on ready operands: no bias, no im2col.
    func measure(minSeconds: Double) -> [BenchTiming] {
        switch kind {
        case let .linear(rows, i, o):
            let x = Self.buffer(rows * i, seed: 1), w = Self.buffer(o * i, seed: 2), b = Self.buffer(o, seed: 3)
            let y = Self.buffer(rows * o, seed: 4)
            defer { [x, w, b, y].forEach { $0.deallocate() } }
            return BenchTiming.measure(minSeconds: minSeconds, [
                { Kernels.linear(x: x, rows: rows, inFeatures: i, weight: w, bias: b, outFeatures: o, y: y) },
                { Kernels.sgemm(transB: true, m: rows, n: o, k: i, a: x, lda: i, b: w, ldb: i, c: y, ldc: o) },
            ])
        case let .conv1d(g, tIn):
            let tOut = g.outputLength(inputLength: tIn)
            let red = g.groupInChannels * g.kernelSize, og = g.groupOutChannels
            let x = Self.buffer(g.inChannels * tIn, seed: 1), w = Self.buffer(g.weightCount, seed: 2)
            let y = Self.buffer(g.outChannels * tOut, seed: 4)
            let work = Self.buffer(max(g.workspaceCount(inputLength: tIn),
                                       Kernels.conv1dChannelsLastWorkspaceCount(g, inputLength: tIn)), seed: 5)
            let col = Self.buffer(red * tOut, seed: 6)
            defer { [x, w, y, work, col].forEach { $0.deallocate() } }
            return BenchTiming.measure(minSeconds: minSeconds, [
                { Kernels.conv1d(g, batch: 1, inputLength: tIn, x: x, weight: w, bias: nil, y: y, workspace: work) },
                {
                    for grp in 0..<g.groups {
                        Kernels.sgemm(m: og, n: tOut, k: red, a: w + grp * og * red, lda: red, b: col, ldb: tOut,
                                      c: y + grp * og * tOut, ldc: tOut)
                    }
                },
                {
                    Kernels.conv1dChannelsLast(g, batch: 1, inputLength: tIn, x: x, packedWeight: w, bias: nil, y: y,
                                               workspace: work)
                },
            ])
        case let .gelu(count):
            let x = Self.buffer(count, seed: 1), y = Self.buffer(count, seed: 2)
            defer { [x, y].forEach { $0.deallocate() } }
            // "raw" here is a plain copy of the same bytes (memory-bound floor).
            return BenchTiming.measure(minSeconds: minSeconds, [
                { Kernels.gelu(x: x, y: y, count: count) },
                { y.update(from: x, count: count) },
            ])
        case let .attention(g):
            let c = g.heads * g.headDim, t = g.queryLength
            let q = Self.buffer(t * c, seed: 1), k = Self.buffer(t * c, seed: 2), v = Self.buffer(t * c, seed: 3)
            let o = Self.buffer(t * c, seed: 4), work = Self.buffer(g.workspaceCount, seed: 5)
            defer { [q, k, v, o, work].forEach { $0.deallocate() } }
            let strides = AttentionStrides(channels: c)
            return BenchTiming.measure(minSeconds: minSeconds, [
                {
                    Kernels.attention(g, strides: strides, q: q, k: k, v: v, keyMask: nil, positionBias: nil,
                                      biasBatchStride: 0, output: o, probabilities: nil, workspace: work)
                },
                {  // the same two GEMMs per head without the softmax
                    for h in 0..<g.heads {
                        Kernels.sgemm(transB: true, m: t, n: t, k: g.headDim, alpha: g.scale, a: q + h * g.headDim,
                                      lda: c, b: k + h * g.headDim, ldb: c, c: work, ldc: t)
                        Kernels.sgemm(m: t, n: g.headDim, k: t, a: work, lda: t, b: v + h * g.headDim, ldb: c,
                                      c: o + h * g.headDim, ldc: c)
                    }
                },
            ])
        }
    }
}
