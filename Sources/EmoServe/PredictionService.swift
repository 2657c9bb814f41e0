import EmoCore
import EmoPipeline
import EmoRuntime
import Foundation

/// Limits `emo serve` enforces, each with its HTTP answer.
public struct ServeLimits: Sendable, Equatable {
    /// Largest request body in bytes (413 beyond).
    public var maxUploadBytes: Int
    /// Longest clip in seconds after decoding (422 beyond).
    public var maxSeconds: Double
    /// Seconds a request may wait and run before 504.
    public var timeoutSeconds: Double
    /// Requests classified at once (one model copy each).
    public var workers: Int
    /// Requests that may wait for a worker; more get 503 with Retry-After.
    public var queue: Int

    /// The defaults: 50 MB, 60 s clips, 60 s per request, 1 worker, 8 waiting.
    public init(maxUploadBytes: Int = 50_000_000, maxSeconds: Double = 60, timeoutSeconds: Double = 60,
                workers: Int = 1, queue: Int = 8) {
        self.maxUploadBytes = maxUploadBytes
        self.maxSeconds = maxSeconds
        self.timeoutSeconds = timeoutSeconds
        self.workers = workers
        self.queue = queue
    }
}

/// Why a prediction request was not answered with probabilities: each case is one HTTP status and a message that
/// says what to change.
public enum ServeError: Error, Equatable, CustomStringConvertible {
    /// 400: the request is malformed (empty body, bad multipart).
    case badRequest(String)
    /// 413: the body is larger than the limit.
    case tooLarge(limit: Int)
    /// 415: the body is not audio or video EmoKit can decode.
    case unsupportedMedia(String)
    /// 422: decoded, but not something to classify (too long, no text for a text bundle, non-finite output).
    case unprocessable(String)
    /// 503: every worker busy and the queue full.
    case busy(retryAfter: Int)
    /// 504: the request took longer than the timeout.
    case timeout(seconds: Double)
    /// 500: the model failed.
    case failed(String)

    /// The HTTP status code.
    public var status: Int {
        switch self {
        case .badRequest: return 400
        case .tooLarge: return 413
        case .unsupportedMedia: return 415
        case .unprocessable: return 422
        case .busy: return 503
        case .timeout: return 504
        case .failed: return 500
        }
    }

    public var description: String {
        switch self {
        case .badRequest(let m): return m
        case .tooLarge(let limit): return "the upload is larger than this server's limit of \(limit) bytes (--max-upload-bytes)"
        case .unsupportedMedia(let m): return m
        case .unprocessable(let m): return m
        case .busy(let s): return "every worker is busy and the queue is full; retry in \(s) s"
        case .timeout(let s): return "the prediction took longer than this server's \(s) s limit (--timeout)"
        case .failed(let m): return m
        }
    }
}

/// A loaded bundle behind a bounded pool of predictors: what the HTTP routes call.
public final class PredictionService: @unchecked Sendable {
    /// The bundle served.
    public let bundle: PipelineBundle
    /// The limits.
    public let limits: ServeLimits
    /// The request metrics.
    public let metrics = ServeMetrics()
    /// One model copy (and its explainer); the pool hands each to one request at a time.
    final class Worker: @unchecked Sendable {
        let predictor: Predictor
        let integratedGradients: LoadedComponent?
        init(_ predictor: Predictor, integratedGradients: LoadedComponent?) {
            self.predictor = predictor
            self.integratedGradients = integratedGradients
        }
    }
    private var idle: [Worker]
    private var waiters: [CheckedContinuation<Worker, Never>] = []
    private let lock = NSLock()
    private let scratch: String

    /// Loads `limits.workers` predictors of `bundle` (each its own model copy).
    public init(bundle: PipelineBundle, host: PluginHost, limits: ServeLimits) throws {
        self.bundle = bundle
        self.limits = limits
        idle = try (0..<max(1, limits.workers)).map { _ in
            Worker(try Predictor(bundle: bundle, host: host),
                   integratedGradients: try? host.instantiate(id: "integrated-gradients", config: ["n_steps": 32]))
        }
        scratch = NSTemporaryDirectory() + "emo-serve-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: scratch) }

    /// Requests waiting for a worker now.
    public var queueDepth: Int { lock.withLock { waiters.count } }

    /// A free predictor, waiting in the queue if there is room; `busy` when the queue is full.
    func acquire() async throws(ServeError) -> Worker {
        enum Next { case got(Worker), wait, full }
        let next: Next = lock.withLock {
            if let p = idle.popLast() { return .got(p) }
            return waiters.count < limits.queue ? .wait : .full
        }
        switch next {
        case .got(let p): return p
        case .full: throw .busy(retryAfter: 1)
        case .wait:
            return await withCheckedContinuation { continuation in
                lock.withLock {
                    if let p = idle.popLast() { continuation.resume(returning: p) } else { waiters.append(continuation) }
                }
            }
        }
    }

    /// Gives `predictor` to the next waiter, or back to the pool.
    func release(_ worker: Worker) {
        let waiter: CheckedContinuation<Worker, Never>? = lock.withLock {
            if waiters.isEmpty { idle.append(worker); return nil }
            return waiters.removeFirst()
        }
        waiter?.resume(returning: worker)
    }

    /// Classifies one uploaded file (its bytes; `text` for bundles that encode the utterance's text); with
    /// `explain`, also why (`PredictionExplanation`: occlusion over time, feature attributions, modality shares).
    public func predict(bytes: [UInt8], text: String?, explain: Bool = false,
                        window: Double = 0.1) async throws(ServeError) -> (row: BatchPrediction.Row, explanation: JSONValue?) {
        guard !bytes.isEmpty else { throw .badRequest("the request body is empty: send the audio or video file as the body (Content-Type audio/* or application/octet-stream) or as a multipart/form-data field named \"file\"") }
        guard bytes.count <= limits.maxUploadBytes else { throw .tooLarge(limit: limits.maxUploadBytes) }
        if bundle.manifest.groups.contains(where: { $0.input == "corpus-text" }), text == nil {
            throw .unprocessable("this model also reads the utterance's text: add ?text=... (URL-encoded) or a multipart field named \"text\"")
        }
        let worker = try await acquire()
        defer { release(worker) }
        let path = scratch + "/\(UUID().uuidString)"
        do { try Data(bytes).write(to: URL(fileURLWithPath: path)) } catch {
            throw .failed("cannot stage the upload (\(error.localizedDescription))")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let limits = self.limits, classes = bundle.manifest.classes
        let outcome: Result<(BatchPrediction.Row, JSONValue?), ServeError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Self.classify(path: path, text: text, explain: explain, window: window,
                                                             worker: worker, classes: classes, maxSeconds: limits.maxSeconds))
            }
        }
        return try outcome.get()
    }

    /// The blocking part of `predict`, on a worker thread.
    static func classify(path: String, text: String?, explain: Bool, window: Double, worker: Worker, classes: [String],
                         maxSeconds: Double) -> Result<(BatchPrediction.Row, JSONValue?), ServeError> {
        func clean(_ error: Error) -> String {
            "\(error)".replacingOccurrences(of: path + ": ", with: "").replacingOccurrences(of: path, with: "the upload")
        }
        let prediction: Prediction
        do { prediction = try worker.predictor.predict(path: path, text: text) } catch {
            let message = clean(error)
            if message.contains("not a recognised audio or video file") || message.contains("cannot decode") || message.contains("no audio stream") {
                return .failure(.unsupportedMedia(message))
            }
            return .failure(.unprocessable(message))
        }
        let seconds = prediction.clip.duration
        guard seconds <= maxSeconds else {
            return .failure(.unprocessable(String(format: "the clip is %.1f s long; this server classifies clips up to %.0f s (--max-seconds)", seconds, maxSeconds)))
        }
        let p = prediction.probabilities
        let best = p.indices.max { p[$0] < p[$1] } ?? 0
        let row = BatchPrediction.Row(path: path, duration: seconds, sha256: prediction.clip.provenance.fileHash,
                                      predicted: classes.indices.contains(best) ? classes[best] : nil, probabilities: p, error: nil)
        guard explain else { return .success((row, nil)) }
        do {
            let e = try PredictionExplanation.explain(prediction, predictor: worker.predictor, text: text,
                                                      integratedGradients: worker.integratedGradients, window: window)
            return .success((row, e.json(classes: classes)))
        } catch {
            return .failure(.failed("the prediction worked but explaining it failed: \(clean(error))"))
        }
    }

    /// The bundle's evaluation card as JSON (`GET /v1/model`).
    public var card: JSONValue {
        let m = bundle.manifest
        return ["name": .string(m.name), "classes": .array(m.classes.map { .string($0) }),
                "evaluation": .string(m.evaluation), "test_accuracy": .number(m.testAccuracy), "test_macro_f1": .number(m.testMacroF1),
                "groups": .array(m.groups.map { ["name": .string($0.name), "component": .string($0.component), "version": .string($0.version),
                                                 "input": .string($0.input ?? "audio"), "features": .number(Double($0.featureNames.count))] }),
                "fusion": .string(m.fusion.component), "classifier": .string(m.classifier.component),
                "limits": ["max_upload_bytes": .number(Double(limits.maxUploadBytes)), "max_seconds": .number(limits.maxSeconds),
                           "timeout_seconds": .number(limits.timeoutSeconds), "workers": .number(Double(limits.workers)),
                           "queue": .number(Double(limits.queue))]]
    }
}
