import EmoCore
import EmoPipeline
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import Logging

/// The HTTP API of `emo serve` on Hummingbird: `GET /` (the web page), `POST /v1/predict` (`?explain=occlusion`),
/// `GET /v1/model`, `GET /healthz`, `GET /metrics`, `GET /openapi.json`, and `GET /sample` when a sample clip is given. Every error is JSON `{"error": "..."}` with the status `ServeError` names.
public enum ServeApp {
    /// The router over `service`.
    public static func router(service: PredictionService, logger: Logger, sample: String? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        let inFlight = InFlight()
        let page = WebPage.html(model: service.bundle.manifest.name, hasSample: sample != nil)
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        if let sample, let bytes = FileManager.default.contents(atPath: sample) {
            router.get("sample") { _, _ in
                Response(status: .ok, headers: [.contentType: "application/octet-stream"],
                         body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
            }
        }
        router.get("healthz") { _, _ in
            json(["status": "ok", "model": .string(service.bundle.manifest.name)])
        }
        router.get("v1/model") { _, _ in
            service.metrics.record(route: "/v1/model", status: 200, seconds: 0)
            return json(service.card)
        }
        router.get("openapi.json") { _, _ in json(OpenAPIDocument.document(classes: service.bundle.manifest.classes)) }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: service.metrics.text(queueDepth: service.queueDepth))))
        }
        router.post("v1/predict") { request, _ in
            let start = Date()
            let id = UUID().uuidString.prefix(8)
            inFlight.enter()
            defer { inFlight.leave() }
            var request = request
            do {
                let (bytes, text) = try await upload(&request, limit: service.limits.maxUploadBytes)
                let explain = request.uri.queryParameters["explain"].map(String.init)
                guard explain == nil || explain == "occlusion" || explain == "true" else {
                    throw ServeError.badRequest("explain=\(explain ?? "") is not known; use explain=occlusion (occlusion over 0.1 s windows, feature attributions and modality shares)")
                }
                let windowText = request.uri.queryParameters["window"].map(String.init)
                let window = windowText.flatMap(Double.init) ?? 0.1
                guard window >= 0.01, window <= 10, windowText == nil || Double(windowText ?? "") != nil else {
                    throw ServeError.badRequest("window=\(windowText ?? "") must be a number of seconds in 0.01...10 (the occlusion window)")
                }
                let (row, explanation) = try await withTimeout(service.limits.timeoutSeconds) {
                    try await service.predict(bytes: bytes, text: text, explain: explain != nil, window: window)
                }
                let seconds = Date().timeIntervalSince(start)
                service.metrics.record(route: "/v1/predict", status: 200, seconds: seconds, predicted: row.predicted)
                logger.info("predict", metadata: ["request": "\(id)", "status": "200", "bytes": "\(bytes.count)",
                                                  "predicted": "\(row.predicted ?? "")", "seconds": "\(String(format: "%.3f", seconds))"])
                var answer = BatchPrediction.json(row, classes: service.bundle.manifest.classes).removing("path")
                if let explanation, case .object(var o) = answer {
                    o["explanation"] = explanation
                    answer = .object(o)
                }
                return json(answer)
            } catch let error as ServeError {
                let seconds = Date().timeIntervalSince(start)
                service.metrics.record(route: "/v1/predict", status: error.status, seconds: seconds)
                logger.warning("predict", metadata: ["request": "\(id)", "status": "\(error.status)", "error": "\(error)"])
                var headers: HTTPFields = [.contentType: "application/json"]
                if case .busy(let retry) = error { headers[.retryAfter] = "\(retry)" }
                return Response(status: .init(code: error.status), headers: headers,
                                body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(["error": .string(error.description)]).serialized())))
            }
        }
        return router
    }

    /// The uploaded file and optional text: a multipart body's `file` and `text` fields, or the raw body (text from
    /// `?text=`).
    static func upload(_ request: inout Request, limit: Int) async throws(ServeError) -> ([UInt8], String?) {
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: limit) } catch { throw .tooLarge(limit: limit) }
        let body = Array(buffer.readableBytesView)
        var text = request.uri.queryParameters["text"].map { String($0).removingPercentEncoding ?? String($0) }
        let contentType = request.headers[.contentType] ?? ""
        if let boundary = Multipart.boundary(contentType: contentType) {
            guard let parts = Multipart.parts(body, boundary: boundary) else {
                throw .badRequest("the multipart/form-data body is malformed (boundary \(boundary))")
            }
            guard let file = parts.first(where: { $0.name == "file" }) ?? parts.first(where: { $0.filename != nil }) else {
                throw .badRequest("the multipart body has no field named \"file\" (found: \(parts.map(\.name).joined(separator: ", ")))")
            }
            if let t = parts.first(where: { $0.name == "text" }) { text = String(decoding: t.body, as: UTF8.self) }
            return (file.body, text)
        }
        return (body, text)
    }

    /// `body()`, or `timeout` after `seconds` (the work goes on in the background holding its worker).
    static func withTimeout<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async throws(ServeError) -> T {
        let result: Result<T, ServeError> = await withTaskGroup(of: Result<T, ServeError>?.self) { group in
            group.addTask {
                do { return .success(try await body()) } catch let error as ServeError { return .failure(error) } catch {
                    return .failure(.failed("\(error)"))
                }
            }
            group.addTask {
                try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
                return Task.isCancelled ? nil : .failure(.timeout(seconds: seconds))
            }
            var first: Result<T, ServeError> = .failure(.timeout(seconds: seconds))
            for await next in group {
                if let next { first = next; break }
            }
            group.cancelAll()
            return first
        }
        return try result.get()
    }

    /// A JSON response.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: value.serialized(pretty: true))))
    }

    /// Runs the server until SIGTERM or SIGINT (in-flight requests finish first); `onReady` gets the bound port.
    public static func run(service: PredictionService, host: String, port: Int, logger: Logger, sample: String? = nil,
                           onReady: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let app = Application(router: router(service: service, logger: logger, sample: sample),
                              configuration: .init(address: .hostname(host, port: port), serverName: "emo-serve"),
                              onServerRunning: { channel in onReady(channel.localAddress?.port ?? port) },
                              logger: logger)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}

/// Counts the predict requests in flight; when the last one leaves, the C heap's free pages go back to the system
/// (`malloc_trim`), so the server's resident memory returns to its baseline after large uploads instead of staying
/// at the high-water mark glibc's allocator would keep.
final class InFlight: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    /// A request starts.
    func enter() { lock.withLock { count += 1 } }

    /// A request ends; the last one out trims the heap.
    func leave() {
        let idle = lock.withLock { count -= 1; return count == 0 }
        if idle, let trim = Self.trim { _ = trim(0) }
    }

    /// glibc's `malloc_trim`, looked up at run time (Swift's Glibc module does not export `<malloc.h>`; nil on a C
    /// library without it).
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()
}

extension JSONValue {
    /// The object without `key`.
    func removing(_ key: String) -> JSONValue {
        guard case .object(var o) = self else { return self }
        o[key] = nil
        return .object(o)
    }
}
