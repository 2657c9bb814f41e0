import EmoCore
import Foundation

/// MELD: `{train,dev,test}_sent_emo.csv` (Sr No., Utterance, Speaker, Emotion, Sentiment, Dialogue_ID,
/// Utterance_ID, Season, Episode, StartTime, EndTime) and one clip per row, `dia<D>_utt<U>.mp4`.
enum MELDAdapter {
    /// The three splits and their annotation files.
    static let splits = [("train", "train_sent_emo.csv"), ("dev", "dev_sent_emo.csv"), ("test", "test_sent_emo.csv")]
    /// Folders the official archives unpack to, per split (searched in order, then the media root itself).
    static let clipFolders = ["train": ["train", "train_splits"],
                              "dev": ["dev", "dev_splits_complete", "dev_splits"],
                              "test": ["test", "output_repeated_splits_test", "test_splits"]]
    /// The seven MELD emotions.
    static let emotions: Set<String> = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]
    /// Left out of the five-class variant (Study B).
    static let notInFiveClasses: Set<String> = ["disgust", "fear"]

    static func load(root: String, options: CorpusOptions) throws(CorpusError) -> Corpus {
        var items: [CorpusItem] = [], skipped: [SkippedItem] = []
        let mediaRoot = options.mediaRoot.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? root
        var foundAny = false
        for (split, csvName) in splits {
            let csvPath = (root as NSString).appendingPathComponent(csvName)
            guard let data = FileManager.default.contents(atPath: csvPath) else {
                skipped.append(SkippedItem(source: csvPath, reason: "annotation file not found; the \(split) split is empty"))
                continue
            }
            foundAny = true
            guard let text = String(data: data, encoding: .utf8) else {
                throw .malformed(path: csvPath, message: "not valid UTF-8 text")
            }
            let clipDir = clipFolders[split, default: []].map { (mediaRoot as NSString).appendingPathComponent($0) }
                .first { FileManager.default.fileExists(atPath: $0) } ?? mediaRoot
            let (rows, bad) = try parse(csv: text, csvPath: csvPath, split: split, clipDir: clipDir, options: options)
            items += rows
            skipped += bad
        }
        guard foundAny else {
            throw .missingFile(path: root, what: "MELD annotation files (train_sent_emo.csv, dev_sent_emo.csv, test_sent_emo.csv)")
        }
        return Corpus(kind: .meld, root: root, items: items, skipped: skipped)
    }

    /// Items of one annotation file; rows with missing fields, unknown labels or (when checked) missing clips are skipped.
    static func parse(csv text: String, csvPath: String, split: String, clipDir: String,
                      options: CorpusOptions) throws(CorpusError) -> ([CorpusItem], [SkippedItem]) {
        let records = CSVReader.parse(text)
        guard let header = records.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces) }) else {
            throw .malformed(path: csvPath, message: "empty annotation file")
        }
        let required = ["Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID"]
        var column: [String: Int] = [:]
        for (i, name) in header.enumerated() { column[name] = i }
        let missingColumns = required.filter { column[$0] == nil }
        guard missingColumns.isEmpty else {
            throw .malformed(path: csvPath, message: "header lacks \(missingColumns.joined(separator: ", ")) (found: \(header.joined(separator: ", ")))")
        }
        var items: [CorpusItem] = [], skipped: [SkippedItem] = []
        for record in records.dropFirst() {
            let source = "\(csvPath):\(record.line)"
            guard record.fields.count == header.count else {
                skipped.append(SkippedItem(source: source, reason: "expected \(header.count) fields, found \(record.fields.count)"))
                continue
            }
            func value(_ name: String) -> String {
                column[name].map { record.fields[$0].trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
            }
            let empty = required.filter { value($0).isEmpty }
            guard empty.isEmpty else {
                skipped.append(SkippedItem(source: source, reason: "missing \(empty.joined(separator: ", "))"))
                continue
            }
            guard let dialogue = Int(value("Dialogue_ID")), let utterance = Int(value("Utterance_ID")) else {
                skipped.append(SkippedItem(source: source, reason: "Dialogue_ID/Utterance_ID are not integers"))
                continue
            }
            let label = value("Emotion").lowercased()
            guard emotions.contains(label) else {
                skipped.append(SkippedItem(source: source, reason: "unknown emotion '\(label)'"))
                continue
            }
            if options.meldClasses == 5 && notInFiveClasses.contains(label) {
                skipped.append(SkippedItem(source: source, reason: "\(label) is not in the five-class set"))
                continue
            }
            let clipName = "dia\(dialogue)_utt\(utterance).mp4"
            let path = (clipDir as NSString).appendingPathComponent(clipName)
            if options.checkFiles && !FileManager.default.fileExists(atPath: path) {
                skipped.append(SkippedItem(source: source, reason: "clip \(path) not found"))
                continue
            }
            var fields: [String: String] = ["dialogue": String(dialogue), "utterance": String(utterance)]
            for name in ["Sentiment", "Season", "Episode", "StartTime", "EndTime"] where !value(name).isEmpty {
                fields[name.lowercased()] = value(name)
            }
            items.append(CorpusItem(path: path, label: label, speaker: value("Speaker"),
                                    textID: "\(split)/dia\(dialogue)_utt\(utterance)", text: value("Utterance"),
                                    group: "\(split)/dia\(dialogue)", split: split, fields: fields))
        }
        return (items, skipped)
    }
}
