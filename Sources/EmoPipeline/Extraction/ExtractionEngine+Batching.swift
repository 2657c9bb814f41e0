import EmoCore
import EmoMedia
import EmoStore
import Foundation

/// Length-bucketed encoder batches and extractor replicas: what keeps every core of one machine busy.
///
/// An encoder that declares the `clip_exact` input (the speech encoders) gets clips sorted by length, cut into
/// batches of similar length bounded by `encoderBatch` and `batchMemoryBytes`, as
/// `[.array([B, S]) zero-padded, .array([B] lengths), .array([1] = 1)]`: each clip's conv front end then runs on its
/// real samples and the padding is masked, so every clip gets the embedding a forward on it alone gives (up to float
/// rounding), stored under the same key as `[1, C]`, exactly as the one-clip path stores it. A batch that fails (a
/// clip too short for one frame, an output the engine cannot split per clip) is rerun one clip at a time, so one bad
/// clip costs only its own row.
extension ExtractionEngine {
    /// Whether this run forms encoder batches: an encoder, `encoderBatch` above 1, and the `clip_exact` input declared.
    var batchesClips: Bool {
        guard component.info.kind == .encoder, options.encoderBatch > 1 else { return false }
        return Self.acceptsClipExactBatches(component.info)
    }

    /// True when a component's manifest declares the optional `lengths` and `clip_exact` inputs.
    public static func acceptsClipExactBatches(_ info: ComponentInfo) -> Bool {
        let names = (info.manifest["inputs"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        return names.contains("lengths") && names.contains("clip_exact")
    }

    /// Estimated activation bytes of one forward over `clips` clips padded to `samples` samples each.
    func batchBytes(clips: Int, samples: Int) -> Double {
        let d = component.resolvedDescription
        if let m = d["inference_memory"], let perToken = m["bytes_per_token"]?.doubleValue,
           let perSecond = m["tokens_per_second"]?.doubleValue {
            let t = Double(samples) / 16_000 * perSecond
            let squared = m["bytes_per_token_squared"]?.doubleValue ?? 0
            return Double(clips) * (perToken * t + squared * t * t)
        }
        // Without the component's estimate: frames (20 ms) × hidden × (layers + 1) × 4 bytes per clip.
        let hidden = d["outputs"]?.arrayValue?.first?["dims"]?.arrayValue?.last?.doubleValue ?? 1_024
        let layers = d["model"]?["layers"]?.doubleValue ?? 24
        return Double(clips) * Double(samples) / 320 * hidden * (layers + 1) * 4
    }

    /// Clip indices in batches: sorted by length (longest first, so memory trouble shows at once), each batch of
    /// consecutive clips while it holds at most `encoderBatch` clips within `batchMemoryBytes` (at least one clip).
    func batches(_ clips: [(index: Int, samples: Int)]) -> [[Int]] {
        let sorted = clips.sorted { $0.samples != $1.samples ? $0.samples > $1.samples : $0.index < $1.index }
        var out: [[Int]] = [], current: [Int] = [], longest = 0
        for clip in sorted {
            let widest = max(longest, clip.samples)
            if !current.isEmpty, current.count >= options.encoderBatch
                || batchBytes(clips: current.count + 1, samples: widest) > Double(options.batchMemoryBytes) {
                out.append(current)
                current = []
                longest = 0
            }
            current.append(clip.index)
            longest = max(longest, clip.samples)
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// One clip-exact forward over `members`, split into per-clip `[1, ...]` records; falls back to one clip at a
    /// time when the batch fails or its outputs do not split per clip (`splittable` false: stop batching this run).
    func runBatch(_ members: [(item: CorpusItem, clip: Clip)], decodeKey: String) -> (outcomes: [Outcome], splittable: Bool) {
        let oneByOne = { members.map { self.process($0.item, clip: $0.clip, decodeKey: decodeKey, component: self.component) } }
        guard members.count > 1 else { return (oneByOne(), true) }
        let split: [[Value]]?
        do { split = try batchForward(members.map(\.clip)) } catch { return (oneByOne(), true) }
        guard let split else { return (oneByOne(), false) }
        return (zip(members, split).map { m, outputs in
            .extracted(ExtractionRecord(clip: ClipRecord(clip: m.clip, decodeKey: decodeKey), key: key, outputs: outputs))
        }, true)
    }

    /// The padded forward and its outputs per clip, or nil when an output is not `[B, ...]` float rows.
    private func batchForward(_ clips: [Clip]) throws -> [[Value]]? {
        let b = clips.count
        let inputs = try Self.paddedClipBatch(clips.map(\.samples)) + [.array(try NDArray(shape: [1], data: [1]))]
        let outputs = try component.forward(inputs)
        // Only outputs the manifest declares per clip (dims starting with B) can be split into rows.
        let declared = component.info.manifest["outputs"]?.arrayValue ?? []
        guard !outputs.isEmpty, outputs.count <= declared.count else { return nil }
        var rows = [[Value]](repeating: [], count: b)
        for (o, value) in outputs.enumerated() {
            guard declared[o]["dims"]?.arrayValue?.first?.stringValue == "B", let a = value.array, a.rank >= 1,
                  a.shape[0] == b else { return nil }
            let rowShape = [1] + Array(a.shape.dropFirst())
            let width = a.count / b
            for i in 0..<b {
                rows[i].append(.array(try NDArray(shape: rowShape, data: Array(a.data[(i * width)..<((i + 1) * width)]))))
            }
        }
        return rows
    }

    /// Clips `[S_b]` zero-padded to the longest into the speech encoders' batched input `[.array([B, S]),
    /// .array([B] lengths)]` (the lengths mask the padding as Hugging Face's `attention_mask` does); shared by
    /// clip-exact extraction batches and the trainer's fine-tuned audio groups (`TrainingChain.encoderInput`).
    static func paddedClipBatch(_ clips: [[Float]]) throws -> [Value] {
        let longest = clips.map(\.count).max() ?? 0
        var padded = [Float](repeating: 0, count: clips.count * longest)
        for (b, clip) in clips.enumerated() { padded.replaceSubrange((b * longest)..<(b * longest + clip.count), with: clip) }
        return [.array(try NDArray(shape: [clips.count, longest], data: padded)),
                .array(try NDArray(shape: [clips.count], data: clips.map { Float($0.count) }))]
    }

    /// An extractor's clips on `workers` threads, each thread with its own instance (the component and its
    /// replicas), results in input order.
    func runReplicas(_ members: [(item: CorpusItem, clip: Clip)], decodeKey: String) -> [Outcome] {
        let instances: [any Component] = [component] + replicas
        let pool = InstancePool(instances)
        return ParallelMap.run(members.count, workers: min(options.workers, instances.count)) { i in
            let instance = pool.take()
            defer { pool.give(instance) }
            return process(members[i].item, clip: members[i].clip, decodeKey: decodeKey, component: instance)
        }
    }
}

/// Instances handed to one thread at a time (the ABI's rule: one instance, one thread at a time).
private final class InstancePool: @unchecked Sendable {
    private var free: [any Component]
    private let condition = NSCondition()

    init(_ instances: [any Component]) { free = instances }

    /// An instance no other thread holds (waits for one).
    func take() -> any Component {
        condition.lock()
        defer { condition.unlock() }
        while free.isEmpty { condition.wait() }
        return free.removeLast()
    }

    /// Returns an instance taken with `take`.
    func give(_ instance: any Component) {
        condition.lock()
        free.append(instance)
        condition.signal()
        condition.unlock()
    }
}
