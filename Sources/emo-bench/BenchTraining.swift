import EmoCLISupport
import ArgumentParser
import EmoCore
import EmoPipeline
import EmoRuntime
import EmoTensor
import Foundation

/// `emo bench training`: one epoch of Study A's large early-fusion MLP, EmoKit beside PyTorch in the same run.
struct BenchTraining: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "training",
        abstract: "Time one training epoch of the large early-fusion MLP (EmoKit through the plugin ABI vs PyTorch).",
        discussion: """
        Model: early fusion of four groups (768 + 768 + 768 + 60 = 2364 inputs) → MLP 1024 → 512 → 256 → 7 with \
        batch norm (Linear → BatchNorm1d → ReLU), cross-entropy, Adam lr 1e-3, batch 32, 3392 seeded random rows, \
        shuffled every epoch. EmoKit trains the `early` and `mlp` plugins through the C ABI with the host trainer; \
        the peer runs Tests/Reference/bench_training.py with torch.set_num_threads(--threads); EmoKit sets OpenBLAS \
        to the same count. On a machine shared with other work, also compare --threads 1: PyTorch's OpenMP threads \
        spin-wait badly when the cores are oversubscribed, which inflates its 2-thread time. Both sides run one \
        untimed warm-up epoch, then --epochs timed epochs; the medians are compared (goal: ratio ≤ 1.0). \
        Build with `swift build -c release` for meaningful numbers.
        """)

    @Option(help: "Rows per epoch.")
    var rows = 3392

    @Option(help: "Timed epochs per side (after one warm-up epoch).")
    var epochs = 3

    @Option(help: "Threads per side: OpenBLAS (and the trainer's Adam) for EmoKit, torch.set_num_threads for PyTorch.")
    var threads = 2

    @Flag(help: "Skip the PyTorch peer.")
    var noPeer = false

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() async throws {
        BLASInfo.setThreadCount(threads)
        let groups = [768, 768, 768, 60], classes = 7
        let data = try Self.data(rows: rows, widths: groups, classes: classes)
        let host = PluginHost.standard()
        let fusion = try host.instantiate(id: "early", config: ["inputs": .array(groups.map { .number(Double($0)) })])
        let head = try host.instantiate(id: "mlp", config: ["inputs": .number(Double(groups.reduce(0, +))), "classes": .number(Double(classes)),
                                                           "hidden": [1024, 512, 256], "batch_norm": true, "seed": 0])
        let chain = TrainingChain(fusion: fusion, classifier: head)
        var config = TrainingConfig()
        config.optimizer = .adam
        config.learningRate = 1e-3
        config.batchSize = 32
        config.maxEpochs = 1
        config.blasThreads = threads  // the side-by-side thread count, not the trainer's default of 1
        var times: [Double] = [], losses: [Double] = []
        for e in 0...max(1, epochs) {
            config.seed = UInt64(e)
            let t0 = DispatchTime.now().uptimeNanoseconds
            let result = try Trainer(config: config).train(chain, on: data)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            if e > 0 {
                times.append(seconds)
                losses.append(result.history.last?.trainLoss ?? .nan)
            }
        }
        let ours = times.sorted()[(times.count - 1) / 2]
        let optimiserSeconds = try Self.optimiserOnly(parameters: head.parameters.filter { !$0.isBuffer }.map(\.count),
                                                      steps: (rows + config.batchSize - 1) / config.batchSize)
        let peer: ReferencePeer.Outcome = noPeer
            ? .missing("--no-peer")
            : ReferencePeer.run("bench_training.py", arguments: ["--rows", "\(rows)", "--epochs", "\(max(1, epochs))",
                                                                 "--threads", "\(threads)"])
        var out: [String: JSONValue] = [
            "model": "early fusion [768, 768, 768, 60] → MLP 2364 → 1024 → 512 → 256 → 7, batch norm, Adam, batch 32",
            "rows": .number(Double(rows)), "blas_core": .string(BLASInfo.coreName), "blas_core_source": .string(BLASInfo.coreSource),
            "cpu_flags": .string(BLASInfo.cpuFlags),
            "blas_threads": .number(Double(BLASInfo.threadCount)),
            "emokit": ["epoch_seconds": .array(times.map(JSONValue.number)), "median_s": .number(ours),
                       "train_losses": .array(losses.map(JSONValue.number)), "path": "plugins through the C ABI",
                       "optimiser_only_s": .number(optimiserSeconds)],
            "goal_ratio": 1.0,
        ]
        switch peer {
        case .measured(let p):
            let theirs = (p["median_s"] as? Double) ?? .nan
            out["pytorch"] = ["epoch_seconds": .array(((p["epoch_seconds"] as? [Double]) ?? []).map(JSONValue.number)),
                              "median_s": .number(theirs), "threads": .number(Double((p["threads"] as? Int) ?? threads)),
                              "torch": .string((p["torch"] as? String) ?? "?")]
            out["ratio"] = .number(ours / theirs)
        case .missing(let why):
            out["pytorch"] = ["missing": .string(why)]
        }
        if json {
            print(JSONValue.object(out).serialized(pretty: true))
            return
        }
        print("model:    \(out["model"]?.stringValue ?? "")")
        print("rows:     \(rows), timed epochs per side: \(times.count) (after one warm-up)")
        print(BLASInfo.cpuLine)
        print(BLASInfo.summary)
        print(String(format: "EmoKit:   median %.3f s/epoch  (%@)", ours, times.map { String(format: "%.3f", $0) }.joined(separator: ", ")))
        print(String(format: "          of which the Adam updates alone take about %.3f s (same parameter sizes and step count)", optimiserSeconds))
        switch peer {
        case .measured(let p):
            let theirs = (p["median_s"] as? Double) ?? .nan
            print(String(format: "PyTorch:  median %.3f s/epoch  (%d threads, torch %@)", theirs,
                         (p["threads"] as? Int) ?? threads, (p["torch"] as? String) ?? "?"))
            print(String(format: "ratio:    %.2fx PyTorch time (goal ≤ 1.0x)", ours / theirs))
        case .missing(let why):
            print("PyTorch:  not measured: \(why)")
        }
    }

    /// Seconds for `steps` Adam updates of buffers with these sizes (the optimiser's share of an epoch).
    static func optimiserOnly(parameters counts: [Int], steps: Int) throws -> Double {
        let buffers = counts.map { n -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) in
            let v = UnsafeMutablePointer<Float>.allocate(capacity: n), g = UnsafeMutablePointer<Float>.allocate(capacity: n)
            v.initialize(repeating: 0.01, count: n)
            g.initialize(repeating: 1e-3, count: n)
            return (v, g)
        }
        defer { for (v, g) in buffers { v.deallocate(); g.deallocate() } }
        let adam = try Adam(parameters: zip(buffers, counts).map { ParameterView(value: $0.0, grad: $0.1, count: $1) },
                            numerics: .vectorized(threads: BLASInfo.threadCount), zeroesGradients: true)
        let t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { adam.step() }
        return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    /// Seeded standard-normal features and uniform labels (timing does not depend on the values).
    static func data(rows: Int, widths: [Int], classes: Int) throws -> TrainingSet {
        var g = SeededGenerator(seed: 42)
        let groups = try widths.map { w in
            try NDArray(shape: [rows, w], data: (0..<(rows * w)).map { _ in g.nextNormal() })
        }
        let labels = (0..<rows).map { _ in Int(g.next() % UInt64(classes)) }
        return try TrainingSet(groups: groups, labels: labels, classes: classes)
    }
}
