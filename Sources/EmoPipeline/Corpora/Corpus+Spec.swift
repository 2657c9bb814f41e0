import EmoCore
import Foundation

extension CorpusLoader {
    /// Loads one corpus source of a pipeline spec. `kind` is ravdess, tess, meld or manifest; `options` may hold
    /// `calm` (merge/drop/keep, default merge), `meldClasses` (7 or 5), `checkFiles` (default true), `mediaRoot`
    /// or `media` (MELD clip folder) and `annotations` (MELD CSV folder, default `path`): the same keys
    /// `PipelineRunner` reads.
    public static func load(source: CorpusSource,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws(CorpusError) -> Corpus {
        let (resolved, missing) = source.resolvedPath(environment: environment)
        guard let path = resolved else {
            throw .invalidOption("corpus path \(source.path): environment variable \(missing ?? "?") is not set")
        }
        guard let kind = CorpusKind(rawValue: source.kind) else {
            throw .invalidOption("unknown corpus kind '\(source.kind)'; use one of: \(CorpusKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func expanded(_ key: String) throws(CorpusError) -> String? {
            guard let raw = source.options[key]?.stringValue else { return nil }
            guard let p = CorpusSource.expand(raw, environment: environment).path else {
                throw .invalidOption("corpus option \(key) = \(raw): an environment variable in it is not set")
            }
            return p
        }
        var options = CorpusOptions()
        if let c = source.options["calm"]?.stringValue {
            guard let policy = CorpusOptions.CalmPolicy(rawValue: c) else {
                throw .invalidOption("calm must be merge, drop or keep (got '\(c)')")
            }
            options.calm = policy
        }
        if let n = source.options["meldClasses"]?.doubleValue {
            // Int(exactly:): 1e300 does not fit an Int (converting it trapped) and 5.5 is no class count.
            guard let classes = Int(exactly: n) else { throw .invalidOption("meldClasses must be 7 or 5, got \(n)") }
            options.meldClasses = classes
        }
        if case .bool(let b)? = source.options["checkFiles"] { options.checkFiles = b }
        options.mediaRoot = try expanded("mediaRoot")
        if options.mediaRoot == nil { options.mediaRoot = try expanded("media") }
        let root = try expanded("annotations") ?? path
        if kind == .meld && options.mediaRoot == nil { options.mediaRoot = path }
        return try load(kind: kind, path: root, options: options)
    }
}

extension CorpusItem {
    /// The item as the split protocols see it, with speaker and text ids prefixed by the corpus
    /// ("ravdess/Actor_03", "tess/word-back") so ids from different corpora never collide; `path` and `group`
    /// are kept in `fields`.
    public func labelledItem(corpus: CorpusKind) -> LabelledItem {
        var extra = fields
        extra["path"] = path
        extra["group"] = group
        if let text { extra["text"] = text }
        let text = corpus == .tess ? "word-\(textID)" : textID
        return LabelledItem(label: label, speaker: "\(corpus.rawValue)/\(speaker)", textID: "\(corpus.rawValue)/\(text)",
                            partition: split, fields: extra)
    }
}

extension Corpus {
    /// Every item as a `LabelledItem` (see `CorpusItem.labelledItem(corpus:)`), in item order.
    public var labelledItems: [LabelledItem] { items.map { $0.labelledItem(corpus: kind) } }
}
