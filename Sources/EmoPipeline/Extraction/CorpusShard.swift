import EmoCore
import EmoMedia
import Foundation

/// One part of a deterministic partition of a corpus, `index` of `count`, numbered from 1 as `emo extract --shard K/N`
/// writes it.
///
/// ```swift
/// let shard = try CorpusShard.parse("2/4")                       // or CorpusShard.fromSlurm(environment)
/// let mine = CorpusShard.select(items, shard: shard, workers: 4)  // this shard's items, in corpus order
/// ```
/// An item belongs to shard `1 + (h mod N)`, where `h` is the first 8 bytes (big-endian) of the SHA-256 of the
/// media file's bytes: the same content hash the store records as `clip_sources.file_hash`. The assignment depends
/// on nothing but the file's bytes and N, so every shard can run on any machine, in any order, be retried, and the
/// N shards never overlap and together cover the corpus. Identical files land in the same shard. A file that cannot
/// be read is placed by the SHA-256 of its path instead, so exactly one shard reports it as failed.
public struct CorpusShard: Sendable, Equatable, CustomStringConvertible {
    /// 1-based shard number, `1...count`.
    public let index: Int
    /// Number of shards, at least 1.
    public let count: Int

    /// A shard; throws when `index` is not in `1...count`.
    public init(index: Int, count: Int) throws(ShardError) {
        guard count >= 1 else { throw .invalid("\(index)/\(count)", "N must be at least 1") }
        guard (1...count).contains(index) else {
            throw .invalid("\(index)/\(count)", "K must be between 1 and N (shards are numbered from 1): got K=\(index), N=\(count)")
        }
        self.index = index
        self.count = count
    }

    /// `K/N`.
    public var description: String { "\(index)/\(count)" }

    /// Parses `K/N` (1-based, `1 ≤ K ≤ N`).
    public static func parse(_ text: String) throws(ShardError) -> CorpusShard {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw .invalid(text, "expected K/N with whole numbers, 1 ≤ K ≤ N (e.g. 2/4), or 'slurm'")
        }
        return try CorpusShard(index: k, count: n)
    }

    /// The shard of a Slurm job-array task: `K = SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN + 1`, and `N` from
    /// `SLURM_ARRAY_TASK_COUNT`, else `SLURM_ARRAY_TASK_MAX − SLURM_ARRAY_TASK_MIN + 1`. The array must be a plain
    /// range (`--array=0-15` or `1-16`, any `%` limit): a step or a list leaves gaps, which is refused by name.
    public static func fromSlurm(_ environment: [String: String]) throws(ShardError) -> CorpusShard {
        func number(_ name: String) throws(ShardError) -> Int? {
            guard let raw = environment[name], !raw.isEmpty else { return nil }
            guard let v = Int(raw.trimmingCharacters(in: .whitespaces)) else {
                throw .slurm("\(name)=\(raw) is not a whole number")
            }
            return v
        }
        guard let id = try number("SLURM_ARRAY_TASK_ID") else {
            throw .slurm("SLURM_ARRAY_TASK_ID is not set: run inside a job array (sbatch --array=0-3 ...), or give --shard K/N")
        }
        guard let min = try number("SLURM_ARRAY_TASK_MIN") else {
            throw .slurm("SLURM_ARRAY_TASK_MIN is not set (Slurm sets it in every array task); give --shard K/N instead")
        }
        let max = try number("SLURM_ARRAY_TASK_MAX")
        let taskCount = try number("SLURM_ARRAY_TASK_COUNT")
        let span = max.map { $0 - min + 1 }
        guard let n = taskCount ?? span else {
            throw .slurm("neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX is set; give --shard K/N instead")
        }
        if let span, let taskCount, span != taskCount {
            throw .slurm("the array has \(taskCount) tasks over IDs \(min)-\(min + span - 1) (a step or a list): use a plain range such as --array=0-\(taskCount - 1), or give --shard K/N")
        }
        let k = id - min + 1
        do { return try CorpusShard(index: k, count: n) } catch {
            throw .slurm("SLURM_ARRAY_TASK_ID=\(id), MIN=\(min) give shard \(k) of \(n), outside 1...\(n)")
        }
    }

    /// The 1-based shard of a file with SHA-256 `hex` among `count` shards.
    public static func shardIndex(sha256 hex: String, count: Int) -> Int {
        var h: UInt64 = 0
        for c in hex.utf8.prefix(16) {
            let v: UInt64
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt64(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = UInt64(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = UInt64(c - UInt8(ascii: "A") + 10)
            default: v = 0
            }
            h = h << 4 | v
        }
        return Int(h % UInt64(Swift.max(1, count))) + 1
    }

    /// The content hash an item is placed by: SHA-256 of the file's bytes, or of `path:` + its path when the file
    /// cannot be read.
    public static func placementHash(of item: CorpusItem) -> String {
        if let f = try? MediaDecoder.loadFile(item.path) { return f.sha256 }
        return SHA256.hex(of: "path:" + item.path)
    }

    /// This shard's items, in the order given, hashing files on `workers` threads.
    public static func select(_ items: [CorpusItem], shard: CorpusShard, workers: Int = ExtractionOptions.defaultWorkers) -> [CorpusItem] {
        let hashes = ParallelMap.run(items.count, workers: workers) { placementHash(of: items[$0]) }
        return zip(items, hashes).filter { shardIndex(sha256: $0.1, count: shard.count) == shard.index }.map(\.0)
    }
}

/// Why a shard could not be chosen.
public enum ShardError: Error, CustomStringConvertible, Equatable {
    /// A `K/N` text that is not a shard.
    case invalid(String, String)
    /// The Slurm environment does not describe a usable array task.
    case slurm(String)

    public var description: String {
        switch self {
        case .invalid(let text, let why): return "--shard \(text): \(why)"
        case .slurm(let why): return "--shard slurm: \(why)"
        }
    }
}
