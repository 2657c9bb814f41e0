import Foundation

/// Reads a corpus folder or manifest with the adapter for its kind.
///
/// ```swift
/// let corpus = try CorpusLoader.load(kind: .ravdess, path: "../shared/data/ravdess")
/// print(corpus.items.count, corpus.skipped.count)   // 1440 0
/// ```
public enum CorpusLoader {
    /// Audio/video file extensions the folder adapters consider (content is sniffed later, not here).
    static let mediaExtensions: Set<String> = ["wav", "flac", "aif", "aiff", "aifc", "ogg", "oga", "opus", "mp3",
                                               "m4a", "mp4", "mkv", "webm", "mov", "caf", "w64"]

    /// Loads `path` as a corpus of `kind`.
    public static func load(kind: CorpusKind, path: String, options: CorpusOptions = CorpusOptions()) throws(CorpusError) -> Corpus {
        guard options.meldClasses == 7 || options.meldClasses == 5 else {
            throw .invalidOption("MELD classes must be 7 or 5, got \(options.meldClasses)")
        }
        let root = URL(fileURLWithPath: path).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: root) else { throw .notFound(path: root, kind: kind) }
        var corpus: Corpus
        switch kind {
        case .ravdess: corpus = RAVDESSAdapter.load(root: root, options: options)
        case .tess: corpus = TESSAdapter.load(root: root)
        case .meld: corpus = try MELDAdapter.load(root: root, options: options)
        case .manifest: corpus = try ManifestAdapter.load(path: root, options: options)
        }
        corpus.items.sort { $0.path < $1.path }
        return corpus
    }

    /// Every file under `root` with a media extension, and every other regular file (non-hidden) separately.
    static func mediaFiles(under root: String) -> (media: [String], other: [String]) {
        var media: [String] = [], other: [String] = []
        let url = URL(fileURLWithPath: root)
        let keys: [URLResourceKey] = [.isRegularFileKey]
        guard let e = FileManager.default.enumerator(at: url, includingPropertiesForKeys: keys,
                                                      options: [.skipsHiddenFiles]) else { return ([], []) }
        for case let file as URL in e {
            guard (try? file.resourceValues(forKeys: Set(keys)).isRegularFile) == true else { continue }
            if mediaExtensions.contains(file.pathExtension.lowercased()) {
                media.append(file.standardizedFileURL.path)
            } else {
                other.append(file.standardizedFileURL.path)
            }
        }
        return (media.sorted(), other.sorted())
    }
}
