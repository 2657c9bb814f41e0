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
    /// Threads that read, hash and decode files (the component itself runs on one thread).
    public var workers: Int = ExtractionOptions.defaultWorkers

    /// min(4, active processors).
    public static var defaultWorkers: Int { max(1, min(4, ProcessInfo.processInfo.activeProcessorCount)) }

    /// Default options: natural-length 16 kHz clips, batches of 32, `defaultWorkers` decoding threads.
    public init() {}

    /// Creates options.
    public init(decode: DecodeOptions = DecodeOptions(), batchSize: Int = 32, workers: Int = ExtractionOptions.defaultWorkers) {
        self.decode = decode
        self.batchSize = batchSize
        self.workers = workers
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
