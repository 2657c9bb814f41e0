import ArgumentParser
import EmoCLISupport
import EmoCore
import EmoPipeline
import EmoRuntime
import Foundation

/// `emo predict`: a trained bundle on files, folders or a manifest, one row per file.
struct PredictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Classify audio/video files with a trained bundle: one row per file, as a table, CSV, JSON Lines or JSON.",
        discussion: """
        INPUT is a media file, a folder (every audio/video file under it, recursively) or a manifest: a .csv/.tsv \
        with a `path` column (relative to the manifest's folder, or absolute) and an optional `text` column (the \
        utterance's text, for bundles that encode corpus text), or a .jsonl with {"path": ..., "text": ...} lines. \
        Each row holds the file, its duration, the SHA-256 of its bytes, the predicted class and every class's \
        probability (--explain occlusion adds when in the clip and which features). A file that cannot be decoded or classified gets its error in its row and the others go on; \
        the exit status is 1 when any file failed, 0 otherwise. A progress bar with rate and ETA goes to stderr \
        (--quiet silences it).
          emo predict emo-runs/study-a/bundle clips/ --format csv --out predictions.csv
          emo predict bundle/ a.wav b.mp4 --format jsonl
          emo predict bundle/ list.csv --jobs 2
        """)

    @Argument(help: "Bundle folder (an `emo run` output's bundle/).")
    var bundle: String

    @Argument(help: "Media files, folders or manifests (.csv, .tsv, .jsonl).")
    var inputs: [String]

    @Option(help: "table, csv, jsonl or json.")
    var format: String = "table"

    @Option(help: "Write the rows to this file instead of stdout.")
    var out: String?

    @Option(help: "Workers, each with its own copy of the model (the encoders also use BLAS threads).")
    var jobs: Int = 1

    @Option(help: "The utterance's text for every input (bundles with a corpus-text group; a manifest's text column wins).")
    var text: String?

    @Option(help: "occlusion: add why (the 0.1 s window whose silencing lowers the predicted class most, and the top Integrated Gradients feature attributions); costs one prediction per 0.1 s of audio.")
    var explain: String?

    @Option(help: "Every input is this speaker's recording: they are classified together, and a bundle that scales per speaker uses that speaker's statistics, as it was evaluated (its training ones for a speaker it trained on, else those of these clips: at least 8). Without it, such a bundle scales each clip with its global training statistics, and says so.")
    var speaker: String?

    @Flag(help: "No progress bar.")
    var quiet = false

    func validate() throws {
        guard BatchPrediction.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be one of \(BatchPrediction.Format.allCases.map(\.rawValue).joined(separator: ", ")), not '\(format)'")
        }
        guard jobs >= 1, jobs <= 256 else { throw ValidationError("--jobs must be in 1...256, not \(jobs)") }
        if speaker != nil && explain != nil {
            throw ValidationError("--explain explains one clip at a time and cannot be combined with --speaker")
        }
        if let explain, explain != "occlusion" {
            throw ValidationError("--explain must be occlusion (black-box occlusion over 0.1 s windows plus Integrated Gradients over the features), not '\(explain)'")
        }
    }

    func run() async throws {
        guard let format = BatchPrediction.Format(rawValue: format) else { throw ExitCode(2) }
        let loaded = try PipelineBundle.load(bundle)
        var list = try BatchPrediction.inputs(inputs)
        if let text { for i in list.indices where list[i].text == nil { list[i].text = text } }
        let host = PluginHost.standard()
        let workers = min(jobs, list.count)
        let predictors = try (0..<workers).map { _ in try Predictor(bundle: loaded, host: host) }
        let explainers = explain == nil ? [] : (0..<workers).map { _ in try? host.instantiate(id: "integrated-gradients", config: ["n_steps": 32]) }
        let bar = ProgressBar(total: list.count, label: "predict", mode: quiet ? .quiet : .human)
        let rows: [BatchPrediction.Row]
        if let speaker, let predictor = predictors.first {
            rows = BatchPrediction.run(list, speaker: speaker, predictor: predictor, classes: loaded.manifest.classes) { bar.update(done: $0) }
        } else {
            if loaded.scaler.spec.perSpeaker {
                FileHandle.standardError.write(Data("note: this bundle was evaluated with each speaker's own feature statistics; without --speaker each clip is scaled with the training set's global statistics instead (a different protocol: expect lower accuracy). Give one speaker's clips with --speaker NAME for the evaluated one.\n".utf8))
            }
            rows = BatchPrediction.run(list, predictors: predictors, classes: loaded.manifest.classes, explain: explain != nil,
                                       integratedGradients: explainers) { done in
                bar.update(done: done)
            }
        }
        bar.finish()
        let rendered = BatchPrediction.render(rows, classes: loaded.manifest.classes, format: format, model: loaded.manifest.name)
        if let out {
            do { try rendered.write(toFile: out, atomically: true, encoding: .utf8) } catch {
                throw ValidationError("cannot write \(out): \(error.localizedDescription)")
            }
        } else {
            FileHandle.standardOutput.write(Data(rendered.utf8))
        }
        let failed = rows.filter { $0.error != nil }
        if !failed.isEmpty {
            FileHandle.standardError.write(Data("\(failed.count) of \(rows.count) files failed (their rows say why)\n".utf8))
            throw ExitCode(1)
        }
    }
}
