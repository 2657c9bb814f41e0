import EmoCore
import EmoPipeline
import EmoRuntime
import EmoServe
import EmoTestSupport
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import XCTest

/// `emo serve`'s HTTP API on the committed demo bundle and real clips, through a real socket.
final class ServeTests: XCTestCase {
    /// A running server and its base URL; `stop()` cancels it.
    struct Server {
        let base: URL
        let task: Task<Void, Error>
        func stop() { task.cancel() }
    }

    static var demoBundle: String { TestRepository.path("Sources/emo/Demo/bundle") }

    /// The plugin host over this build's plugins (registry.json, libraries and emo-probe beside the tests).
    static func host(_ test: XCTestCase) throws -> PluginHost {
        let build = PluginSources.executableDirectory()
        guard FileManager.default.isExecutableFile(atPath: build + "/emo-probe") else {
            throw XCTSkip("plugins are not built beside the tests (\(build)); run `swift build` first")
        }
        let cache = try TestRepository.temporaryFolder(test, prefix: "emokit-serve").path
        let sources = PluginSources(registries: [TestRepository.path("registry.json")], hostDirectory: build)
        return PluginHost(sources: sources, prober: Prober(executable: build + "/emo-probe", timeout: 30),
                          cache: ProbeCache(path: cache + "/plugin-cache.json"))
    }

    func start(limits: ServeLimits = ServeLimits(), sample: String? = nil) async throws -> Server {
        let service = try PredictionService(bundle: try PipelineBundle.load(Self.demoBundle), host: try Self.host(self), limits: limits)
        var logger = Logger(label: "emo-serve-test")
        logger.logLevel = .critical  // the tests stop servers by cancelling them, which Hummingbird logs as errors
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let task = Task {
            try await ServeApp.run(service: service, host: "127.0.0.1", port: 0, logger: logger, sample: sample) { continuation.yield($0) }
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw XCTSkip("the server did not start") }
        return Server(base: try XCTUnwrap(URL(string: "http://127.0.0.1:\(port)")), task: task)
    }

    /// One HTTP request; status, body and the Retry-After header.
    static func send(_ server: Server, _ path: String, method: String = "GET", body: Data? = nil,
                     contentType: String? = nil) async throws -> (status: Int, body: Data, retryAfter: String?) {
        var r = URLRequest(url: try XCTUnwrap(URL(string: server.base.absoluteString + path)))
        r.httpMethod = method
        r.httpBody = body
        if let contentType { r.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        r.timeoutInterval = 600
        let (data, response) = try await URLSession.shared.data(for: r)
        let http = try XCTUnwrap(response as? HTTPURLResponse)
        return (http.statusCode, data, http.value(forHTTPHeaderField: "Retry-After"))
    }

    func request(_ server: Server, _ path: String, method: String = "GET", body: Data? = nil,
                 contentType: String? = nil) async throws -> (status: Int, body: Data, retryAfter: String?) {
        try await Self.send(server, path, method: method, body: body, contentType: contentType)
    }

    func clip(_ relative: String) throws -> Data {
        try Data(contentsOf: try TestRepository.sharedData().appendingPathComponent(relative))
    }

    func testPredictModelHealthMetricsAndOpenAPI() async throws {
        let server = try await start()
        defer { server.stop() }
        let health = try await request(server, "/healthz")
        XCTAssertEqual(health.status, 200)

        // Raw body and multipart give the same answer, the one `emo predict` gives.
        let audio = try clip("ravdess/Actor_01/03-01-05-01-01-01-01.flac")
        let raw = try await request(server, "/v1/predict", method: "POST", body: audio, contentType: "audio/flac")
        XCTAssertEqual(raw.status, 200, String(decoding: raw.body, as: UTF8.self))
        let answer = try JSONValue.parse(raw.body)
        XCTAssertEqual(answer["predicted"]?.stringValue, "angry")
        let probabilities = try XCTUnwrap(answer["probabilities"]?.objectValue)
        XCTAssertEqual(probabilities.count, 7)
        XCTAssertEqual(probabilities.values.compactMap(\.doubleValue).reduce(0, +), 1, accuracy: 1e-4)
        XCTAssertEqual(answer["sha256"]?.stringValue, SHA256.hash(data: audio).hex)
        let boundary = "emokit-test-boundary"
        var form = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"clip.flac\"\r\nContent-Type: audio/flac\r\n\r\n".utf8)
        form += audio + Data("\r\n--\(boundary)--\r\n".utf8)
        let multipart = try await request(server, "/v1/predict", method: "POST", body: form, contentType: "multipart/form-data; boundary=\(boundary)")
        XCTAssertEqual(multipart.status, 200, String(decoding: multipart.body, as: UTF8.self))
        XCTAssertEqual(try JSONValue.parse(multipart.body)["probabilities"], answer["probabilities"])

        let model = try JSONValue.parse(try await request(server, "/v1/model").body)
        XCTAssertEqual(model["classes"]?.arrayValue?.count, 7)
        XCTAssertNotNil(model["evaluation"]?.stringValue)
        let openapi = try JSONValue.parse(try await request(server, "/openapi.json").body)
        XCTAssertEqual(openapi["openapi"]?.stringValue, "3.1.0")
        XCTAssertNotNil(openapi["paths"]?["/v1/predict"]?["post"])

        // Bad input: empty, not audio, a malformed multipart body; each a 4xx with a JSON message.
        let empty = try await request(server, "/v1/predict", method: "POST", body: Data(), contentType: "audio/wav")
        XCTAssertEqual(empty.status, 400)
        XCTAssertTrue(String(decoding: empty.body, as: UTF8.self).contains("body is empty"))
        let junk = try await request(server, "/v1/predict", method: "POST", body: Data("not audio at all".utf8), contentType: "audio/wav")
        XCTAssertEqual(junk.status, 415, String(decoding: junk.body, as: UTF8.self))
        XCTAssertTrue(String(decoding: junk.body, as: UTF8.self).contains("not a recognised audio or video file"))
        let badForm = try await request(server, "/v1/predict", method: "POST", body: Data("garbage".utf8),
                                        contentType: "multipart/form-data; boundary=xyz")
        XCTAssertEqual(badForm.status, 400)

        let metrics = String(decoding: try await request(server, "/metrics").body, as: UTF8.self)
        XCTAssertTrue(metrics.contains("emokit_requests_total{route=\"/v1/predict\",status=\"200\"} 2"), metrics)
        XCTAssertTrue(metrics.contains("emokit_requests_total{route=\"/v1/predict\",status=\"415\"} 1"), metrics)
        XCTAssertTrue(metrics.contains("emokit_predict_duration_seconds_count 5"), metrics)
        XCTAssertTrue(metrics.contains("emokit_predictions_total{class=\"angry\"} 2"), metrics)
    }

    func testLimitsAnswerWithTheirStatus() async throws {
        let audio = try clip("tess/YAF_sad/YAF_dog_sad.flac")
        let small = try await start(limits: ServeLimits(maxUploadBytes: 1_000, maxSeconds: 1))
        defer { small.stop() }
        let big = try await request(small, "/v1/predict", method: "POST", body: audio, contentType: "audio/flac")
        XCTAssertEqual(big.status, 413, String(decoding: big.body, as: UTF8.self))
        let short = try await start(limits: ServeLimits(maxSeconds: 0.5))
        defer { short.stop() }
        let long = try await request(short, "/v1/predict", method: "POST", body: audio, contentType: "audio/flac")
        XCTAssertEqual(long.status, 422)
        XCTAssertTrue(String(decoding: long.body, as: UTF8.self).contains("--max-seconds"))

        // One worker, no queue: of several concurrent requests some get 503 with Retry-After, none fails otherwise.
        let busy = try await start(limits: ServeLimits(workers: 1, queue: 0))
        defer { busy.stop() }
        let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let r = try await Self.send(busy, "/v1/predict", method: "POST", body: audio, contentType: "audio/flac")
                    return (r.status, r.retryAfter)
                }
            }
            var out: [(Int, String?)] = []
            for try await s in group { out.append(s) }
            return out
        }
        XCTAssertTrue(statuses.allSatisfy { $0.0 == 200 || $0.0 == 503 }, "\(statuses)")
        XCTAssertTrue(statuses.contains { $0.0 == 200 }, "\(statuses)")
        XCTAssertTrue(statuses.contains { $0.0 == 503 && $0.1 == "1" }, "one worker, no queue: \(statuses)")
    }

    /// An upload without speech (silence, a steady tone) is a 422 that says so, not a confident class.
    func testAClipWithoutSpeechIsA422() async throws {
        let dir = try TestRepository.temporaryFolder(self, prefix: "emokit-serve-silence")
        let silent = dir.appendingPathComponent("silence.wav"), tone = dir.appendingPathComponent("tone.wav")
        try writeWAV([Float](repeating: 0, count: 32_000), rate: 16_000, to: silent)
        try writeWAV((0..<32_000).map { 0.3 * sinf(Float($0) * 0.17) }, rate: 16_000, to: tone)
        let server = try await start()
        defer { server.stop() }
        for (file, why) in [(silent, "silent"), (tone, "steady tone")] {
            let r = try await request(server, "/v1/predict", method: "POST", body: try Data(contentsOf: file), contentType: "audio/wav")
            let body = String(decoding: r.body, as: UTF8.self)
            XCTAssertEqual(r.status, 422, body)
            XCTAssertTrue(body.contains("no speech") && body.contains(why), body)
            XCTAssertFalse(body.contains("probabilities"), body)
        }
    }

    /// As a user runs it: `emo serve BUNDLE --port 0` prints where it listens, answers, and exits 0 on SIGTERM.
    func testTheCommandServesAndStopsGracefullyOnSIGTERM() async throws {
        let emo = PluginSources.executableDirectory() + "/emo"
        guard FileManager.default.isExecutableFile(atPath: emo),
              FileManager.default.isExecutableFile(atPath: PluginSources.executableDirectory() + "/emo-serve") else {
            throw XCTSkip("emo and emo-serve are not built beside the tests; run `swift build` first")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: emo)
        process.arguments = ["serve", Self.demoBundle, "--port", "0"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // The first stdout line names the URL.
        var line = Data()
        let deadline = Date().addingTimeInterval(60)
        while !line.contains(10), Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        let text = String(decoding: line, as: UTF8.self)
        let url = try XCTUnwrap(text.split(separator: " ").first { $0.hasPrefix("http://") }.map(String.init), text)
        let server = Server(base: try XCTUnwrap(URL(string: url)), task: Task {})
        let health = try await Self.send(server, "/healthz")
        XCTAssertEqual(health.status, 200)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit)
        XCTAssertEqual(process.terminationStatus, 0, "SIGTERM stops the server gracefully")
    }

    /// `?explain=occlusion`: the probability lost per 0.1 s window, the top feature attributions, group shares and a
    /// waveform envelope; an unknown method is a 400.
    func testExplainReturnsOcclusionFeaturesAndShares() async throws {
        let server = try await start(limits: ServeLimits(timeoutSeconds: 600))
        defer { server.stop() }
        let audio = try clip("ravdess/Actor_01/03-01-05-01-01-01-01.flac")
        // 0.5 s windows keep the debug build's run short (the default is 0.1 s).
        let r = try await request(server, "/v1/predict?explain=occlusion&window=0.5", method: "POST", body: audio, contentType: "audio/flac")
        XCTAssertEqual(r.status, 200, String(decoding: r.body, as: UTF8.self))
        let answer = try JSONValue.parse(r.body)
        let e = try XCTUnwrap(answer["explanation"])
        XCTAssertEqual(e["target"]?.stringValue, answer["predicted"]?.stringValue)
        let duration = try XCTUnwrap(answer["duration_s"]?.doubleValue)
        let windows = try XCTUnwrap(e["occlusion"]?["values"]?.arrayValue)
        XCTAssertEqual(windows.count, Int((duration / 0.5).rounded(.up)))
        XCTAssertTrue(windows.contains { ($0.doubleValue ?? 0) != 0 }, "silencing some window changes the prediction")
        XCTAssertEqual(e["features"]?.arrayValue?.count, 12)
        XCTAssertEqual(e["modalities"]?["handcrafted"]?.doubleValue ?? 0, 1, accuracy: 1e-6)
        XCTAssertEqual(e["waveform"]?["max"]?.arrayValue?.count, 400)
        let bad = try await request(server, "/v1/predict?explain=shap", method: "POST", body: audio, contentType: "audio/flac")
        XCTAssertEqual(bad.status, 400)
        let badWindow = try await request(server, "/v1/predict?explain=occlusion&window=abc", method: "POST", body: audio, contentType: "audio/flac")
        XCTAssertEqual(badWindow.status, 400)
    }

    /// The page at / in real headless Chromium, driven as a user drives it (DevTools protocol over a pipe): the
    /// file chooser is given a real clip and Classify is clicked; the bars, the occlusion over the waveform and the
    /// feature bars are drawn and a screenshot is saved; then Record captures ~2 s from Chromium's fake microphone
    /// (a beep), Stop sends it as the browser's own WebM/Opus, and the page shows the server's answer; last, the
    /// sample button (`emo serve --sample`) classifies the server's clip.
    func testTheWebPageClassifiesAndDrawsInHeadlessChromium() async throws {
        guard let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("Chromium is not installed (apt-get install chromium; .ci/setup installs it)")
        }
        let sample = try TestRepository.sharedData().appendingPathComponent("ravdess/Actor_01/03-01-05-01-01-01-01.flac").path
        let server = try await start(limits: ServeLimits(timeoutSeconds: 600), sample: sample)
        defer { server.stop() }
        let page = try await request(server, "/")
        XCTAssertEqual(page.status, 200)
        let html = String(decoding: page.body, as: UTF8.self)
        for external in ["src=\"http", "href=\"http", "fetch(\"http", "url(http"] {
            XCTAssertFalse(html.contains(external), "no external requests (\(external))")
        }
        let dir = try TestRepository.temporaryFolder(self, prefix: "emokit-chromium").path
        let url = server.base.absoluteString + "/?window=0.5"
        let seen = try await Self.detached { () throws -> (chosen: JSONValue, recorded: JSONValue, sampled: JSONValue, png: Data) in
            let browser = try HeadlessChromium(executable: chromium, profile: dir + "/profile", log: dir + "/chromium.log")
            try browser.open(url)
            try browser.wait(for: "document.readyState === 'complete' && !!document.getElementById('file')", timeout: 60,
                             explain: "document.readyState")
            try browser.chooseFiles("#file", [sample])
            XCTAssertEqual(try browser.evaluate("document.getElementById('file').files[0].name").stringValue,
                           "03-01-05-01-01-01-01.flac", "the chooser holds the clip")
            _ = try browser.evaluate("document.getElementById('send').click()")
            try browser.wait(for: "document.body.getAttribute('data-done') === '1'", timeout: 300,
                             explain: "document.getElementById('status').textContent")
            let counts = """
                JSON.stringify({ bars: document.querySelectorAll('.bar').length, occlusion: document.querySelectorAll('.occlusion').length,
                  features: document.querySelectorAll('.feature').length, predicted: document.getElementById('predicted').textContent,
                  status: document.getElementById('status').textContent })
                """
            let chosen = try JSONValue.parse(try browser.evaluate(counts).stringValue ?? "")
            let png = try browser.screenshot()
            // Record → Stop: the browser's own recording goes through the same upload.
            _ = try browser.evaluate("document.body.removeAttribute('data-done'); document.getElementById('status').textContent = ''")
            _ = try browser.evaluate("document.getElementById('record').click()")
            try browser.wait(for: "document.getElementById('record').textContent === 'Stop'", timeout: 30,
                             explain: "document.getElementById('status').textContent")
            usleep(2_500_000)
            _ = try browser.evaluate("document.getElementById('record').click()")
            try browser.wait(for: "document.body.getAttribute('data-done') === '1' || document.getElementById('status').className === 'error'",
                             timeout: 300, explain: "document.getElementById('status').textContent")
            let recorded = try JSONValue.parse(try browser.evaluate(counts).stringValue ?? "")
            // The sample button (`emo serve --sample`) runs the same upload on the server's clip.
            _ = try browser.evaluate("document.body.removeAttribute('data-done'); document.getElementById('sample').click()")
            try browser.wait(for: "document.body.getAttribute('data-done') === '1'", timeout: 300,
                             explain: "document.getElementById('status').textContent")
            let sampled = try JSONValue.parse(try browser.evaluate(counts).stringValue ?? "")
            return (chosen, recorded, sampled, png)
        }
        XCTAssertEqual(seen.chosen["bars"]?.intValue, 7, "one bar per class: \(seen.chosen.serialized())")
        XCTAssertGreaterThan(seen.chosen["occlusion"]?.intValue ?? 0, 5)
        XCTAssertEqual(seen.chosen["features"]?.intValue, 12)
        XCTAssertEqual(seen.chosen["predicted"]?.stringValue, "angry", seen.chosen.serialized())
        XCTAssertEqual(Array(seen.png.prefix(4)), [0x89, 0x50, 0x4E, 0x47], "a PNG screenshot")
        XCTAssertGreaterThan(seen.png.count, 10_000)
        if let keep = ProcessInfo.processInfo.environment["EMO_KEEP_SCREENSHOT"] { try? seen.png.write(to: URL(fileURLWithPath: keep)) }
        XCTAssertEqual(seen.recorded["bars"]?.intValue, 7, "the recording was classified: \(seen.recorded.serialized())")
        XCTAssertTrue(seen.recorded["status"]?.stringValue?.hasPrefix("done (") == true, seen.recorded.serialized())
        print("recorded from the fake microphone: \(seen.recorded.serialized())")
        XCTAssertEqual(seen.sampled["predicted"]?.stringValue, "angry", seen.sampled.serialized())
    }

    /// Runs `work` off the test's thread (the in-process server must keep serving) and returns its result.
    static func detached<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do { continuation.resume(returning: try work()) } catch { continuation.resume(throwing: error) }
            }
        }
    }
}
