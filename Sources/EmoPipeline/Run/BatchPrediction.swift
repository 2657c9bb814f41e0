import EmoCore
import EmoRuntime
import Foundation

/// `emo predict`'s inputs and rows: which files a list of paths names, and one result row per file.
///
/// ```swift
/// let inputs = try BatchPrediction.inputs(["clips/", "extra.wav", "list.csv"])  // folders recurse; manifests list
/// for input in inputs { rows.append(BatchPrediction.row(for: input, predictor: predictor)) }
/// print(BatchPrediction.render(rows, classes: bundle.manifest.classes, format: .csv))
/// ```
public enum BatchPrediction {
    /// One file to classify, with the utterance text when a manifest gives one.
    public struct Input: Sendable, Equatable {
        /// The media file.
        public var path: String
        /// The utterance's text (manifest `text` column), for bundles with text groups.
        public var text: String?

        /// Creates an input.
        public init(path: String, text: String? = nil) {
            self.path = path
            self.text = text
        }
    }

    /// One file's result: the prediction, or why there is none.
    public struct Row: Sendable, Equatable {
        /// The media file.
        public var path: String
        /// Seconds of audio decoded (nil on error).
        public var duration: Double?
        /// SHA-256 of the file bytes (nil on error).
        public var sha256: String?
        /// The most probable class (nil on error).
        public var predicted: String?
        /// Probabilities in the bundle's class order (empty on error).
        public var probabilities: [Float]
        /// What went wrong with this file (nil when it was classified).
        public var error: String?
        /// Why, when asked for (`emo predict --explain occlusion`).
        public var explanation: PredictionExplanation?

        /// Creates a row.
        public init(path: String, duration: Double?, sha256: String?, predicted: String?, probabilities: [Float], error: String?,
                    explanation: PredictionExplanation? = nil) {
            self.explanation = explanation
            self.path = path
            self.duration = duration
            self.sha256 = sha256
            self.predicted = predicted
            self.probabilities = probabilities
            self.error = error
        }
    }

    /// Output formats.
    public enum Format: String, Sendable, CaseIterable {
        /// Aligned columns for a terminal.
        case table
        /// Comma-separated with a header: path, duration_s, sha256, predicted, one `p_<class>` column per class, error.
        case csv
        /// One JSON object per line.
        case jsonl
        /// One JSON document: model, classes, rows.
        case json
    }

    /// Why the inputs could not be listed.
    public enum InputError: Error, CustomStringConvertible, Equatable {
        /// A named path does not exist.
        case notFound(String)
        /// A manifest could not be read or has no `path` column.
        case badManifest(path: String, message: String)
        /// Nothing to classify.
        case empty([String])

        public var description: String {
            switch self {
            case .notFound(let p): return "\(p): no such file or folder"
            case .badManifest(let p, let m): return "\(p): \(m)"
            case .empty(let paths):
                return "no media files in \(paths.joined(separator: ", ")) (looked for \(CorpusLoader.mediaExtensions.sorted().joined(separator: ", ")); a manifest is a .csv/.tsv/.jsonl with a path column)"
            }
        }
    }

    /// The files `paths` name, in order: a media file is itself; a folder gives every media file under it
    /// (recursively, sorted); a `.csv`, `.tsv` or `.jsonl` file is a manifest whose `path` column (relative to the
    /// manifest's folder, or absolute) lists the files and whose optional `text` column gives their text.
    /// Other files are listed too (their row will say why they cannot be decoded).
    public static func inputs(_ paths: [String]) throws(InputError) -> [Input] {
        var out: [Input] = []
        let fm = FileManager.default
        for raw in paths {
            let path = URL(fileURLWithPath: raw).standardizedFileURL.path
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .notFound(raw) }
            if isDirectory.boolValue {
                out += CorpusLoader.mediaFiles(under: path).media.map { Input(path: $0) }
                continue
            }
            switch (path as NSString).pathExtension.lowercased() {
            case "csv": out += try manifest(path, separator: ",")
            case "tsv": out += try manifest(path, separator: "\t")
            case "jsonl": out += try jsonLines(path)
            default: out.append(Input(path: path))
            }
        }
        guard !out.isEmpty else { throw .empty(paths) }
        return out
    }

    /// The rows of a CSV/TSV manifest.
    static func manifest(_ path: String, separator: Unicode.Scalar) throws(InputError) -> [Input] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .badManifest(path: path, message: "unreadable or not UTF-8 text")
        }
        let parsed = CSVReader.read(text, separator: separator)
        if let line = parsed.unterminatedQuoteLine {
            throw .badManifest(path: path, message: "a quote opened on line \(line) is never closed")
        }
        guard let header = parsed.records.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }),
              let pathColumn = header.firstIndex(of: "path") else {
            throw .badManifest(path: path, message: "the header has no 'path' column (found: \(parsed.records.first?.fields.joined(separator: ", ") ?? "nothing"))")
        }
        let textColumn = header.firstIndex(of: "text")
        let folder = (path as NSString).deletingLastPathComponent
        return parsed.records.dropFirst().compactMap { record -> Input? in
            guard record.fields.count > pathColumn else { return nil }
            let file = record.fields[pathColumn].trimmingCharacters(in: .whitespaces)
            guard !file.isEmpty else { return nil }
            let text = textColumn.flatMap { record.fields.count > $0 ? record.fields[$0] : nil }
            return Input(path: resolve(file, in: folder), text: text)
        }
    }

    /// The lines of a JSON Lines manifest (`{"path": ..., "text": ...}` per line).
    static func jsonLines(_ path: String) throws(InputError) -> [Input] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .badManifest(path: path, message: "unreadable or not UTF-8 text")
        }
        let folder = (path as NSString).deletingLastPathComponent
        var out: [Input] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty else { continue }
            guard let object = try? JSONValue.parse(Data(trimmed.utf8)), let file = object["path"]?.stringValue else {
                throw .badManifest(path: path, message: "line \(n + 1) is not a JSON object with a \"path\" string")
            }
            out.append(Input(path: resolve(file, in: folder), text: object["text"]?.stringValue))
        }
        return out
    }

    /// `file` as an absolute path (relative ones against `folder`).
    static func resolve(_ file: String, in folder: String) -> String {
        file.hasPrefix("/") ? file : URL(fileURLWithPath: folder).appendingPathComponent(file).standardizedFileURL.path
    }

    /// Classifies one input; any error becomes the row's `error`, so one bad file never stops a batch. With
    /// `explain`, the row also carries the occlusion-over-time and Integrated Gradients explanation
    /// (`integratedGradients` nil leaves the feature attributions out).
    public static func row(for input: Input, predictor: Predictor, classes: [String], explain: Bool = false,
                           integratedGradients: LoadedComponent? = nil) -> Row {
        do {
            // `Predictor.predict` throws on non-finite probabilities, so a row never holds them.
            let p = try predictor.predict(path: input.path, text: input.text)
            let best = p.probabilities.indices.max { p.probabilities[$0] < p.probabilities[$1] } ?? 0
            let explanation = explain ? try PredictionExplanation.explain(p, predictor: predictor, text: input.text,
                                                                          integratedGradients: integratedGradients) : nil
            return Row(path: input.path, duration: p.clip.duration, sha256: p.clip.provenance.fileHash,
                       predicted: classes.indices.contains(best) ? classes[best] : nil, probabilities: p.probabilities, error: nil,
                       explanation: explanation)
        } catch {
            return Row(path: input.path, duration: nil, sha256: nil, predicted: nil, probabilities: [],
                       error: "\(error)".replacingOccurrences(of: "\n", with: " "))
        }
    }

    /// Classifies every input with `predictors.count` workers (one predictor each: components keep per-call state),
    /// rows in input order; `progress(done)` is called after each file (from the workers, serialised).
    public static func run(_ inputs: [Input], predictors: [Predictor], classes: [String], explain: Bool = false,
                           integratedGradients: [LoadedComponent?] = [], progress: (Int) -> Void = { _ in }) -> [Row] {
        let workers = max(1, min(predictors.count, inputs.count))
        let chunk = (inputs.count + workers - 1) / workers
        let done = DoneCounter()
        nonisolated(unsafe) let shared = predictors
        nonisolated(unsafe) let explainers = integratedGradients
        return withoutActuallyEscaping(progress) { progress in
            nonisolated(unsafe) let report = progress
            let parts = ParallelMap.run(workers, workers: workers) { w -> [Row] in
                let range = (w * chunk)..<min(inputs.count, (w + 1) * chunk)
                return range.map { i in
                    let row = row(for: inputs[i], predictor: shared[w], classes: classes, explain: explain,
                                  integratedGradients: explainers.indices.contains(w) ? explainers[w] : nil)
                    done.increment(then: report)
                    return row
                }
            }
            return parts.flatMap { $0 }
        }
    }

    /// Classifies every input as one speaker's recordings, scaled together (`Predictor.predict(clips:speaker:)`: a
    /// per-speaker bundle then uses that speaker's statistics, as it was evaluated). A file that cannot be decoded
    /// gets its error in its row and is left out of the speaker's statistics; an error of the whole group (too few
    /// clips for the speaker's own statistics) goes into every other row. Rows in input order.
    public static func run(_ inputs: [Input], speaker: String, predictor: Predictor, classes: [String],
                           progress: (Int) -> Void = { _ in }) -> [Row] {
        var rows = inputs.map { Row(path: $0.path, duration: nil, sha256: nil, predicted: nil, probabilities: [], error: nil) }
        var clips: [Clip] = [], texts: [String?] = [], slots: [Int] = []
        for (i, input) in inputs.enumerated() {
            do {
                clips.append(try predictor.decode(path: input.path))
                texts.append(input.text)
                slots.append(i)
            } catch {
                rows[i].error = "\(error)".replacingOccurrences(of: "\n", with: " ")
            }
            progress(i + 1)
        }
        do {
            for (p, i) in zip(try predictor.predict(clips: clips, speaker: speaker, texts: texts), slots) {
                let best = p.probabilities.indices.max { p.probabilities[$0] < p.probabilities[$1] } ?? 0
                rows[i] = Row(path: inputs[i].path, duration: p.clip.duration, sha256: p.clip.provenance.fileHash,
                              predicted: classes.indices.contains(best) ? classes[best] : nil, probabilities: p.probabilities,
                              error: nil)
            }
        } catch {
            for i in slots { rows[i].error = "\(error)".replacingOccurrences(of: "\n", with: " ") }
        }
        return rows
    }

    /// A thread-safe count of finished files; the callback runs under its lock, so calls never overlap.
    private final class DoneCounter: @unchecked Sendable {
        private var value = 0
        private let lock = NSLock()
        func increment(then report: (Int) -> Void) {
            lock.withLock {
                value += 1
                report(value)
            }
        }
    }

    /// The rows as text in `format` (`model` names the bundle in the JSON document).
    public static func render(_ rows: [Row], classes: [String], format: Format, model: String = "") -> String {
        switch format {
        case .csv:
            let explained = rows.contains { $0.explanation != nil }
            var lines = [(["path", "duration_s", "sha256", "predicted"] + classes.map { "p_" + $0 }
                          + (explained ? ["peak_window_s", "top_features"] : []) + ["error"]).map(csvField).joined(separator: ",")]
            for r in rows {
                let probs = r.probabilities.isEmpty ? classes.map { _ in "" } : r.probabilities.map { String(format: "%.6f", $0) }
                var why: [String] = []
                if explained {
                    why = [r.explanation?.peakWindowStart.map { String(format: "%.2f", $0) } ?? "",
                           r.explanation.map { $0.topFeatures.prefix(5).map { "\($0.name)=\(String(format: "%.3g", $0.value))" }.joined(separator: ";") } ?? ""]
                }
                let fields = [r.path, r.duration.map { String(format: "%.3f", $0) } ?? "", r.sha256 ?? "", r.predicted ?? ""] + probs + why + [r.error ?? ""]
                lines.append(fields.map(csvField).joined(separator: ","))
            }
            return lines.joined(separator: "\n") + "\n"
        case .jsonl:
            return rows.map { json($0, classes: classes).serialized() }.joined(separator: "\n") + "\n"
        case .json:
            let doc: JSONValue = ["model": .string(model), "classes": .array(classes.map { .string($0) }),
                                  "rows": .array(rows.map { json($0, classes: classes) }),
                                  "failed": .number(Double(rows.filter { $0.error != nil }.count))]
            return doc.serialized(pretty: true) + "\n"
        case .table:
            let width = min(60, rows.map(\.path.count).max() ?? 4)
            func pad(_ s: String, _ n: Int) -> String {
                s.count >= n ? String(s.suffix(n)) : s + String(repeating: " ", count: n - s.count)
            }
            var lines = [pad("file", width) + "  " + pad("predicted", 10) + "  " + classes.map { pad(String($0.prefix(8)), 8) }.joined(separator: " ") + "  seconds"]
            for r in rows {
                if let error = r.error {
                    lines.append(pad(r.path, width) + "  error: " + error)
                    continue
                }
                lines.append(pad(r.path, width) + "  " + pad(r.predicted ?? "?", 10) + "  "
                             + r.probabilities.map { pad(String(format: "%.3f", $0), 8) }.joined(separator: " ")
                             + "  " + (r.duration.map { String(format: "%.2f", $0) } ?? ""))
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }

    /// One row as a JSON object (the JSON Lines format's line).
    public static func json(_ r: Row, classes: [String]) -> JSONValue {
        var o: [String: JSONValue] = ["path": .string(r.path)]
        if let d = r.duration { o["duration_s"] = .number(d) }
        if let h = r.sha256 { o["sha256"] = .string(h) }
        if let p = r.predicted { o["predicted"] = .string(p) }
        if !r.probabilities.isEmpty {
            o["probabilities"] = .object(Dictionary(uniqueKeysWithValues: zip(classes, r.probabilities.map { .number(Double($0)) })))
        }
        if let e = r.error { o["error"] = .string(e) }
        if let x = r.explanation { o["explanation"] = x.json(classes: classes, waveform: false) }
        return .object(o)
    }

    /// A CSV field, quoted when it holds a comma, quote or line break.
    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
