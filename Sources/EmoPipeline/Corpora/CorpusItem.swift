/// One labelled recording of a corpus.
public struct CorpusItem: Sendable, Equatable, Codable {
    /// Absolute path of the media file.
    public var path: String
    /// Emotion label (RAVDESS/TESS: `neutral calm happy sad angry fearful disgust surprised`; MELD keeps its own
    /// `anger disgust fear joy neutral sadness surprise`; manifests keep what they say).
    public var label: String
    /// Speaker identity (`Actor_01`, `OAF`, `Chandler`, ...): the key of speaker-independent splits.
    public var speaker: String
    /// Identity of the spoken text (`statement-01`, the TESS word, `dia3_utt2`).
    public var textID: String
    /// The spoken text when the corpus says it.
    public var text: String?
    /// The grouping key of grouped splits: same group never straddles train and test (RAVDESS statement, TESS
    /// word, MELD dialogue, manifest `group`).
    public var group: String
    /// The corpus's own split (MELD `train`/`dev`/`test`), if any.
    public var split: String?
    /// Further fields (`gender`, `intensity`, `repetition`, `sentiment`, ...).
    public var fields: [String: String]

    /// Creates an item.
    public init(path: String, label: String, speaker: String, textID: String, text: String? = nil, group: String,
                split: String? = nil, fields: [String: String] = [:]) {
        self.path = path
        self.label = label
        self.speaker = speaker
        self.textID = textID
        self.text = text
        self.group = group
        self.split = split
        self.fields = fields
    }
}

/// A file or row left out of a corpus, and why.
public struct SkippedItem: Sendable, Equatable, Codable {
    /// The file path, or `file.csv:LINE` for a manifest/annotation row.
    public var source: String
    /// Why it was left out.
    public var reason: String

    /// Creates a skipped entry.
    public init(source: String, reason: String) {
        self.source = source
        self.reason = reason
    }
}

/// A folder turned into labelled items, with everything that was left out.
public struct Corpus: Sendable {
    /// Which adapter read it.
    public var kind: CorpusKind
    /// The folder or manifest it was read from.
    public var root: String
    /// Usable items, sorted by path.
    public var items: [CorpusItem]
    /// Files and rows left out, with reasons.
    public var skipped: [SkippedItem]

    /// Creates a corpus.
    public init(kind: CorpusKind, root: String, items: [CorpusItem], skipped: [SkippedItem]) {
        self.kind = kind
        self.root = root
        self.items = items
        self.skipped = skipped
    }
}

/// The corpus formats EmoKit reads.
public enum CorpusKind: String, Sendable, CaseIterable, Codable {
    /// RAVDESS speech: `Actor_XX/03-01-EE-II-SS-RR-AA.wav` (file-name fields).
    case ravdess
    /// TESS: `<speaker>_<emotion>/<speaker>_<word>_<emotion>.wav`.
    case tess
    /// MELD: `{train,dev,test}_sent_emo.csv` + `dia<D>_utt<U>.mp4` clips.
    case meld
    /// A CSV or JSONL manifest with `path`, `label` and optional `speaker`, `text`, `text_id`, `group`, `split`.
    case manifest
}

/// How adapters treat corpus-specific choices.
public struct CorpusOptions: Sendable, Equatable {
    /// What to do with RAVDESS "calm" (Study A merges it into neutral for its 7 classes).
    public enum CalmPolicy: String, Sendable, CaseIterable, Codable {
        /// Relabel calm as neutral.
        case merge
        /// Leave calm clips out (listed as skipped).
        case drop
        /// Keep calm as its own class.
        case keep
    }

    /// RAVDESS calm handling.
    public var calm: CalmPolicy = .merge
    /// MELD: 7 classes, or 5 (without disgust and fear, as in Study B).
    public var meldClasses: Int = 7
    /// Leave out items whose media file does not exist (MELD and manifests; RAVDESS/TESS list existing files).
    public var checkFiles: Bool = true
    /// MELD clip folder (default: the CSV folder); searched for `train/`, `train_splits/`, `dev/`,
    /// `dev_splits_complete/`, `test/`, `output_repeated_splits_test/` and then itself.
    public var mediaRoot: String? = nil

    /// Default options: calm merged, MELD 7 classes, files checked.
    public init() {}

    /// Creates options.
    public init(calm: CalmPolicy = .merge, meldClasses: Int = 7, checkFiles: Bool = true, mediaRoot: String? = nil) {
        self.calm = calm
        self.meldClasses = meldClasses
        self.checkFiles = checkFiles
        self.mediaRoot = mediaRoot
    }
}

/// Why a corpus could not be read at all (individual bad files or rows are `SkippedItem`s instead).
public enum CorpusError: Error, CustomStringConvertible, Equatable {
    /// The folder or manifest does not exist.
    case notFound(path: String, kind: CorpusKind)
    /// A required file (e.g. MELD's CSVs) is missing.
    case missingFile(path: String, what: String)
    /// A manifest or annotation file is malformed as a whole (no header, unknown format).
    case malformed(path: String, message: String)
    /// An option is out of range.
    case invalidOption(String)

    public var description: String {
        switch self {
        case .notFound(let p, let k):
            return "\(p): not found (expected a \(k.rawValue) corpus there; check the path)"
        case .missingFile(let p, let what):
            return "\(p): missing \(what)"
        case .malformed(let p, let m):
            return "\(p): \(m)"
        case .invalidOption(let m):
            return "corpus option: \(m)"
        }
    }
}
