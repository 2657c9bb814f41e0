import EmoCore
import Foundation
import EmoMedia
import EmoStore

/// How an extraction run decodes and commits.
public struct ExtractionOptions: Sendable, Equatable {
    /// How each file becomes a clip (part of the clip cache key).
    public var decode: DecodeOptions = DecodeOptions()
    /// Clips per committed transaction: a kill loses at most this many clips' work.
    public var batchSize: Int = 32
    /// Threads that read, hash and decode files, and that run an extractor's replicas (one instance each).
    public var workers: Int = ExtractionOptions.defaultWorkers

    /// Most clips in one encoder forward (padded to the longest, each masked to its real length); 1 runs an
    /// encoder one clip at a time, `[1, S]`, as before batching existed. Encoders that do not declare the
    /// `clip_exact` input always run one clip at a time.
    public var encoderBatch: Int = 16
    /// Activation memory one batched encoder forward may take (the component's `inference_memory` estimate, or
    /// frames × hidden × layers × 4 bytes without one); a batch never holds fewer than one clip.
    public var batchMemoryBytes: Int = 1 << 30
    /// Clips decoded and sorted by length together before forming encoder batches (the padding shrinks as it
    /// grows; decoded audio of this many clips is held in memory).
    public var sortWindow: Int = 256

    /// min(4, active processors).
    public static var defaultWorkers: Int { max(1, min(4, ProcessInfo.processInfo.activeProcessorCount)) }

    /// Default options: natural-length 16 kHz clips, batches of 32, `defaultWorkers` decoding threads.
    public init() {}

    /// Creates options.
    public init(decode: DecodeOptions = DecodeOptions(), batchSize: Int = 32, workers: Int = ExtractionOptions.defaultWorkers,
                encoderBatch: Int = 16, batchMemoryBytes: Int = 1 << 30, sortWindow: Int = 256) {
        self.decode = decode
        self.batchSize = batchSize
        self.workers = workers
        self.encoderBatch = encoderBatch
        self.batchMemoryBytes = batchMemoryBytes
        self.sortWindow = sortWindow
    }
}

/// One item that could not be extracted, and why (the message names the file).
public struct ExtractionFailure: Sendable, Equatable, Codable {
    /// The media file.
    public var path: String
    /// What went wrong and what to do.
    public var message: String

    /// Creates a failure entry.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
}

/// Where a run stands: passed to the progress callback after every item.
public struct ExtractionProgress: Sendable, Equatable {
    /// Items handled so far (extracted + cached + failed).
    public var done: Int
    /// Items in the run.
    public var total: Int
    /// Items the component ran on.
    public var extracted: Int
    /// Items whose outputs were already stored (no model work).
    public var cached: Int
    /// Items that failed.
    public var failed: Int
    /// Seconds since the run started.
    public var seconds: Double = 0

    /// Creates a progress record.
    public init(done: Int, total: Int, extracted: Int, cached: Int, failed: Int, seconds: Double = 0) {
        self.done = done
        self.total = total
        self.extracted = extracted
        self.cached = cached
        self.failed = failed
        self.seconds = seconds
    }

    /// Clips the component ran on per second so far (cached items excluded).
    public var clipsPerSecond: Double { seconds > 0 ? Double(extracted) / seconds : 0 }

    /// Seconds left if every remaining item needs the component at the rate so far (nil before the first clip).
    public var etaSeconds: Double? {
        clipsPerSecond > 0 ? Double(total - done) / clipsPerSecond : nil
    }
}

/// What a finished run did.
public struct ExtractionReport: Sendable, Equatable {
    /// The cache key of the component and config.
    public var key: FeatureKey
    /// Items in the run.
    public var total: Int
    /// Items the component ran on in this run.
    public var extracted: Int
    /// Items already stored before this run.
    public var cached: Int
    /// Items that failed, in corpus order.
    public var failures: [ExtractionFailure]
    /// PCM hash of each item that now has stored outputs, by item path.
    public var clipHashes: [String: String]
    /// The store's run id.
    public var runID: Int
    /// Wall-clock seconds.
    public var seconds: Double

    /// The JSON form printed by `emo extract --json`.
    public var json: JSONValue {
        .object([
            "component": .string(key.componentID),
            "version": .string(key.componentVersion),
            "config_hash": .string(key.configHash),
            "total": .number(Double(total)),
            "extracted": .number(Double(extracted)),
            "cached": .number(Double(cached)),
            "failed": .number(Double(failures.count)),
            "failures": .array(failures.map { .object(["path": .string($0.path), "message": .string($0.message)]) }),
            "run_id": .number(Double(runID)),
            "seconds": .number(seconds),
        ])
    }
}

/// Why a whole run stopped (single bad items are `ExtractionFailure`s instead).
public enum ExtractionError: Error, CustomStringConvertible {
    /// The feature store failed; committed batches are kept, rerun to finish.
    case store(StoreError)
    /// An option is out of range.
    case invalidOption(String)

    public var description: String {
        switch self {
        case .store(let e): return "\(e) (batches committed so far are kept; rerun the same command to finish)"
        case .invalidOption(let m): return "extraction option: \(m)"
        }
    }
}
