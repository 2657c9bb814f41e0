import ArgumentParser
import EmoCLISupport
import EmoPipeline
import EmoRuntime
import EmoServe
import Foundation
import Logging

/// `emo serve BUNDLE`: a trained bundle as an HTTP service (see `EmoServe.ServeApp`).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emo serve",
        abstract: "Serve a trained bundle over HTTP: a web page at /, POST /v1/predict, GET /v1/model, /healthz, /metrics, /openapi.json.",
        discussion: """
        POST /v1/predict takes an audio or video file as the raw body or as a multipart/form-data field "file" \
        (plus "text" or ?text= for bundles that read the utterance's text) and answers with the predicted class, \
        every class's probability, the clip's duration and SHA-256; ?explain=occlusion adds the probability lost \
        when each 0.1 s is silenced, the top feature attributions (Integrated Gradients) and each feature group's \
        share. The page at / uploads a file or records from the microphone and draws all of it. Limits answer with their own status: a body \
        over --max-upload-bytes 413, undecodable media 415, a clip over --max-seconds 422, all workers busy and \
        --queue waiting 503 with Retry-After, a request over --timeout 504. Logs are one line per request \
        (swift-log) on stderr; SIGTERM or SIGINT stops accepting and lets in-flight requests finish.
          emo serve emo-runs/study-a/bundle --port 8080
          curl --data-binary @clip.wav -H 'Content-Type: audio/wav' localhost:8080/v1/predict
        """)

    @Argument(help: "Bundle folder (an `emo run` output's bundle/).")
    var bundle: String

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port (0 picks a free one; the chosen port is printed).")
    var port = 8080

    @Option(help: "Requests classified at once, each with its own model copy.")
    var workers = 1

    @Option(help: "Requests that may wait for a worker before 503.")
    var queue = 8

    @Option(help: "Largest upload in bytes.")
    var maxUploadBytes = 50_000_000

    @Option(help: "Longest clip in seconds.")
    var maxSeconds = 60.0

    @Option(help: "Seconds per request before 504.")
    var timeout = 60.0

    @Option(help: "A clip the web page offers as \"Try the sample\" (served at /sample).")
    var sample: String?

    func validate() throws {
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be in 0...65535, not \(port)") }
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be in 1...64, not \(workers)") }
        guard queue >= 0 else { throw ValidationError("--queue must be 0 or more, not \(queue)") }
        guard maxUploadBytes > 0, maxSeconds > 0, timeout > 0 else {
            throw ValidationError("--max-upload-bytes, --max-seconds and --timeout must be positive")
        }
    }

    func run() async throws {
        var logger = Logger(label: "emo-serve")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
        let loaded = try PipelineBundle.load(bundle)
        let limits = ServeLimits(maxUploadBytes: maxUploadBytes, maxSeconds: maxSeconds, timeoutSeconds: timeout,
                                 workers: workers, queue: queue)
        let service = try PredictionService(bundle: loaded, host: PluginHost.standard(), limits: limits)
        let host = self.host, name = loaded.manifest.name
        if let sample, !FileManager.default.isReadableFile(atPath: sample) {
            throw ValidationError("--sample \(sample): no such readable file")
        }
        try await ServeApp.run(service: service, host: host, port: port, logger: logger, sample: sample) { bound in
            FileHandle.standardOutput.write(Data("emo serve: \(name) on http://\(host):\(bound) (web page at /; POST /v1/predict, GET /v1/model, /healthz, /metrics, /openapi.json)\n".utf8))
        }
    }
}

await Serve.mainLoadingBLASFirst()
