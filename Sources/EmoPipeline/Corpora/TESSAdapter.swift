import Foundation

/// TESS: `<speaker>_<emotion>/<speaker>_<word>_<emotion>.wav`, two speakers (OAF older, YAF younger), every clip
/// "Say the word <word>". Labels are mapped onto the RAVDESS names so the two corpora combine (Study A).
enum TESSAdapter {
    /// Emotion spellings seen in TESS folder and file names → common label.
    static let emotions = ["angry": "angry", "disgust": "disgust", "fear": "fearful", "happy": "happy",
                           "neutral": "neutral", "sad": "sad", "ps": "surprised", "pleasant_surprise": "surprised",
                           "pleasant_surprised": "surprised"]

    static func load(root: String) -> Corpus {
        let (files, _) = CorpusLoader.mediaFiles(under: root)
        var items: [CorpusItem] = [], skipped: [SkippedItem] = []
        for path in files {
            switch parse(path: path) {
            case .success(let item): items.append(item)
            case .failure(let why): skipped.append(SkippedItem(source: path, reason: why.reason))
            }
        }
        return Corpus(kind: .tess, root: root, items: items, skipped: skipped)
    }

    struct Reason: Error { var reason: String }

    /// The item a TESS path describes, or why it is left out.
    static func parse(path: String) -> Result<CorpusItem, Reason> {
        let url = URL(fileURLWithPath: path)
        let stem = url.deletingPathExtension().lastPathComponent
        let parts = stem.split(separator: "_").map(String.init)
        guard parts.count >= 3 else {
            return .failure(Reason(reason: "file name '\(stem)' is not <speaker>_<word>_<emotion>"))
        }
        let fileSpeaker = parts[0].uppercased()
        // The emotion is the longest known suffix ("pleasant_surprise" has an underscore itself).
        var fileEmotion: String? = nil, wordEnd = parts.count - 1
        for take in [2, 1] where parts.count - take >= 2 {
            let suffix = parts[(parts.count - take)...].joined(separator: "_").lowercased()
            if let e = emotions[suffix] { fileEmotion = e; wordEnd = parts.count - take; break }
        }
        guard let label = fileEmotion else {
            return .failure(Reason(reason: "unknown emotion '\(parts[parts.count - 1])' in file name '\(stem)'"))
        }
        let word = parts[1..<wordEnd].joined(separator: "_").lowercased()
        // The folder is authoritative for the speaker: the published set has a typo'd file name
        // (`OAF_neutral/OA_bite_neutral.wav`), kept with a note in `fields["name_speaker"]`.
        let folder = url.deletingLastPathComponent().lastPathComponent
        let folderParts = folder.split(separator: "_", maxSplits: 1).map(String.init)
        var speaker = fileSpeaker
        var fields: [String: String] = [:]
        if folderParts.count == 2, ["OAF", "YAF"].contains(folderParts[0].uppercased()) {
            speaker = folderParts[0].uppercased()
            if fileSpeaker != speaker {
                guard speaker.hasPrefix(fileSpeaker) else {
                    return .failure(Reason(reason: "file names speaker \(fileSpeaker) but sits in folder \(folder)"))
                }
                fields["name_speaker"] = parts[0]
            }
            if let folderLabel = emotions[folderParts[1].lowercased()], folderLabel != label {
                return .failure(Reason(reason: "file name says \(label) but folder \(folder) says \(folderLabel)"))
            }
        }
        guard ["OAF", "YAF"].contains(speaker) else {
            return .failure(Reason(reason: "unknown speaker '\(parts[0])' (TESS has OAF and YAF)"))
        }
        fields["age"] = speaker == "OAF" ? "older" : "younger"
        fields["word"] = word
        return .success(CorpusItem(path: path, label: label, speaker: speaker, textID: word,
                                   text: "Say the word \(word)", group: word, fields: fields))
    }
}
