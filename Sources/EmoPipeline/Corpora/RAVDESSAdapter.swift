import Foundation

/// RAVDESS: labels from the seven two-digit file-name fields
/// modality-channel-emotion-intensity-statement-repetition-actor (e.g. `03-01-05-02-01-01-12.wav`).
enum RAVDESSAdapter {
    /// Emotion codes 01...08.
    static let emotions = ["01": "neutral", "02": "calm", "03": "happy", "04": "sad",
                           "05": "angry", "06": "fearful", "07": "disgust", "08": "surprised"]
    /// The two statements.
    static let statements = ["01": "Kids are talking by the door", "02": "Dogs are sitting by the door"]

    static func load(root: String, options: CorpusOptions) -> Corpus {
        let (files, _) = CorpusLoader.mediaFiles(under: root)
        var items: [CorpusItem] = [], skipped: [SkippedItem] = []
        for path in files {
            switch parse(path: path, calm: options.calm) {
            case .success(let item): items.append(item)
            case .failure(let why): skipped.append(SkippedItem(source: path, reason: why.reason))
            }
        }
        return Corpus(kind: .ravdess, root: root, items: items, skipped: skipped)
    }

    struct Reason: Error { var reason: String }

    /// The item a RAVDESS file name describes, or why it is left out.
    static func parse(path: String, calm: CorpusOptions.CalmPolicy) -> Result<CorpusItem, Reason> {
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        let f = stem.split(separator: "-").map(String.init)
        guard f.count == 7, f.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isNumber) }) else {
            return .failure(Reason(reason: "file name '\(stem)' is not seven two-digit fields MM-VV-EE-II-SS-RR-AA"))
        }
        let (modality, channel, emotionCode, intensity, statement, repetition, actor) = (f[0], f[1], f[2], f[3], f[4], f[5], f[6])
        guard modality != "02" else { return .failure(Reason(reason: "video-only recording (modality 02) has no audio")) }
        guard ["01", "03"].contains(modality) else { return .failure(Reason(reason: "unknown modality \(modality)")) }
        guard ["01", "02"].contains(channel) else { return .failure(Reason(reason: "unknown vocal channel \(channel)")) }
        guard var label = emotions[emotionCode] else { return .failure(Reason(reason: "unknown emotion code \(emotionCode)")) }
        guard ["01", "02"].contains(intensity) else { return .failure(Reason(reason: "unknown intensity \(intensity)")) }
        guard let text = statements[statement] else { return .failure(Reason(reason: "unknown statement \(statement)")) }
        guard let actorNumber = Int(actor), (1...24).contains(actorNumber) else {
            return .failure(Reason(reason: "actor \(actor) is outside 01...24"))
        }
        let folder = url.deletingLastPathComponent().lastPathComponent
        if folder.hasPrefix("Actor_") && folder != "Actor_\(actor)" {
            return .failure(Reason(reason: "file names actor \(actor) but sits in folder \(folder)"))
        }
        if label == "calm" {
            switch calm {
            case .merge: label = "neutral"
            case .drop: return .failure(Reason(reason: "calm dropped (--calm drop)"))
            case .keep: break
            }
        }
        let fields = [
            "modality": modality == "01" ? "audio-video" : "audio-only",
            "vocal_channel": channel == "01" ? "speech" : "song",
            "original_emotion": emotions[emotionCode] ?? label,
            "intensity": intensity == "01" ? "normal" : "strong",
            "statement": statement,
            "repetition": repetition,
            "gender": actorNumber % 2 == 1 ? "male" : "female",
        ]
        return .success(CorpusItem(path: path, label: label, speaker: "Actor_\(actor)", textID: "statement-\(statement)",
                                   text: text, group: "statement-\(statement)", fields: fields))
    }
}
