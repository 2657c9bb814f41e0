import EmoCore
import Foundation

/// BERT's tokenizer (Hugging Face `BertTokenizerFast`: `BertNormalizer`, `BertPreTokenizer`, `WordPiece`):
/// `[CLS] … [SEP]` around each text, truncation, padding with `[PAD]` and an attention mask.
///
/// ```swift
/// let tok = try WordPieceTokenizer(folder: "all-MiniLM-L6-v2")      // vocab.txt (+ tokenizer.json for its options)
/// let batch = try tok.encode(batch: ["Kids are talking by the door"], maxLength: 64, padding: .longest)
/// // batch.ids[0] = [101, 4268, 2024, 3331, 2011, 1996, 2341, 102]
/// ```
///
/// The steps, each as `tokenizers` does them:
/// 1. Special-token strings written in the text (`[CLS]`, `[SEP]`, `[PAD]`, `[UNK]`, `[MASK]`) become those
///    tokens; the text between them goes through steps 2–4.
/// 2. Normalise: drop NUL, U+FFFD and control characters (Unicode C*, except tab/newline/return); turn every
///    White_Space character into a space; put spaces around CJK ideographs; if `stripAccents` (default: when
///    lower-casing) decompose (NFD) and drop nonspacing marks (Mn); if `lowercase`, map each scalar to its lower case.
/// 3. Split on whitespace (dropped) and on punctuation (ASCII punctuation or Unicode P*, each its own word).
/// 4. WordPiece: greedy longest match from the left, continuations prefixed `##`; a word with no match for some
///    stretch, or longer than `maxInputCharsPerWord` scalars, becomes one `[UNK]`.
public struct WordPieceTokenizer: TextTokenizer {
    /// Token → id (`vocab.txt` line index).
    public let tokenToID: [String: Int]
    /// Id → token.
    public let idToToken: [String]
    /// Lower-case the text (`do_lower_case`, `lowercase`).
    public let lowercase: Bool
    /// Strip accents (NFD, drop nonspacing marks); by default the same as `lowercase`, as in BERT.
    public let stripAccents: Bool
    /// Put spaces around CJK ideographs.
    public let splitsCJK: Bool
    /// Words longer than this many scalars become `[UNK]` (100).
    public let maxInputCharsPerWord: Int
    /// `[CLS]`, `[SEP]`, `[PAD]`, `[UNK]` ids.
    public let clsID: Int, sepID: Int, padID: Int, unknownID: Int
    /// Special-token strings recognised inside text, with their ids.
    public let specialTokens: [(text: String, id: Int)]

    /// Builds the tokenizer on a vocabulary (one token per entry, id = index); `path` names it in errors.
    public init(vocabulary: [String], lowercase: Bool = true, stripAccents: Bool? = nil, splitsCJK: Bool = true,
                maxInputCharsPerWord: Int = 100, path: String = "vocab.txt") throws {
        var map: [String: Int] = [:]
        for (i, token) in vocabulary.enumerated() where map[token] == nil { map[token] = i }
        func id(_ token: String) throws -> Int {
            guard let i = map[token] else {
                throw TextEncoderError.missingSpecialToken(path: path, token: token)
            }
            return i
        }
        tokenToID = map
        idToToken = vocabulary
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
        self.splitsCJK = splitsCJK
        self.maxInputCharsPerWord = maxInputCharsPerWord
        clsID = try id("[CLS]")
        sepID = try id("[SEP]")
        padID = try id("[PAD]")
        unknownID = try id("[UNK]")
        specialTokens = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"].compactMap { t in map[t].map { (t, $0) } }
    }

    /// Reads a model folder as Hugging Face publishes BERT: `vocab.txt` (or the vocabulary inside
    /// `tokenizer.json`), with the normaliser's options from `tokenizer.json` or `tokenizer_config.json`
    /// (lower-casing on when neither says).
    public init(folder: String) throws {
        func file(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
        func json(_ name: String) throws -> JSONValue? {
            guard FileManager.default.fileExists(atPath: file(name)) else { return nil }
            do { return try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: file(name)))) } catch {
                throw TextEncoderError.malformedVocabulary(path: file(name), message: "not valid JSON (\(error))")
            }
        }
        let fast = try json("tokenizer.json")
        let slow = try json("tokenizer_config.json")
        var vocabulary: [String]
        var path = file("vocab.txt")
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            vocabulary = text.components(separatedBy: "\n")
            if vocabulary.last == "" { vocabulary.removeLast() }
            vocabulary = vocabulary.map { $0.hasSuffix("\r") ? String($0.dropLast()) : $0 }
        } else if case .object(let vocab)? = fast?["model"]?["vocab"] {
            path = file("tokenizer.json")
            var byID = [String](repeating: "", count: vocab.count)
            for (token, value) in vocab {
                guard let i = value.intValue, i >= 0, i < vocab.count else {
                    throw TextEncoderError.malformedVocabulary(path: path, message: "model.vocab[\(token.debugDescription)] is not an id in 0..<\(vocab.count)")
                }
                byID[i] = token
            }
            vocabulary = byID
        } else {
            throw TextEncoderError.io(path: path, message: "no vocab.txt (and no WordPiece vocabulary in tokenizer.json); a BERT folder as Hugging Face publishes it has one")
        }
        guard !vocabulary.isEmpty else {
            throw TextEncoderError.malformedVocabulary(path: path, message: "the vocabulary is empty")
        }
        let normalizer = fast?["normalizer"]
        let lowercase = normalizer?["lowercase"]?.boolValue ?? slow?["do_lower_case"]?.boolValue ?? true
        let strip = normalizer?["strip_accents"]?.boolValue ?? slow?["strip_accents"]?.boolValue
        let cjk = normalizer?["handle_chinese_chars"]?.boolValue ?? slow?["tokenize_chinese_chars"]?.boolValue ?? true
        let maxChars = fast?["model"]?["max_input_chars_per_word"]?.intValue ?? 100
        try self.init(vocabulary: vocabulary, lowercase: lowercase, stripAccents: strip, splitsCJK: cjk,
                      maxInputCharsPerWord: maxChars, path: path)
    }

    // MARK: Text → ids

    /// Token ids of `text` without `[CLS]`/`[SEP]` around it.
    public func tokenIDs(_ text: String) -> [Int] {
        var ids: [Int] = []
        for segment in SpecialTokenSplit.split(text, on: specialTokens) {
            switch segment {
            case .special(let id): ids.append(id)
            case .text(let t): for word in words(normalize(t)) { ids += wordPiece(word) }
            }
        }
        return ids
    }

    /// Token strings of `text` (continuations start with `##`).
    public func tokens(_ text: String) -> [String] {
        tokenIDs(text).map { idToToken.indices.contains($0) ? idToToken[$0] : "[UNK]" }
    }

    /// `TextTokenizer`'s start token (`encode` puts it first).
    public var startID: Int { clsID }
    /// `TextTokenizer`'s end token.
    public var endID: Int { sepID }

    /// The text after step 2 (clean, CJK spacing, accents, lower case).
    public func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.value == 0 || s.value == 0xFFFD || Self.isControl(s) { continue }
            if Self.isWhitespace(s) { out.append(" "); continue }
            if splitsCJK && Self.isCJK(s) {
                out.append(" "); out.append(s); out.append(" ")
            } else {
                out.append(s)
            }
        }
        var scalars = out
        if stripAccents {
            let decomposed = String(scalars).decomposedStringWithCanonicalMapping
            scalars = String.UnicodeScalarView(decomposed.unicodeScalars.filter { !Self.isMark($0) })
        }
        guard lowercase else { return String(scalars) }
        var lowered = String.UnicodeScalarView()
        for s in scalars { lowered.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars) }
        return String(lowered)
    }

    /// Step 3: whitespace-separated words, with every punctuation character its own word.
    public func words(_ normalized: String) -> [String] {
        var words: [String] = []
        var current = String.UnicodeScalarView()
        func flush() {
            if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
        }
        for s in normalized.unicodeScalars {
            if s.properties.isWhitespace {
                flush()
            } else if Self.isPunctuation(s) {
                flush()
                words.append(String(s))
            } else {
                current.append(s)
            }
        }
        flush()
        return words
    }

    /// Step 4: one word's WordPiece ids (one `[UNK]` when it cannot be covered).
    public func wordPiece(_ word: String) -> [Int] {
        let scalars = Array(word.unicodeScalars)
        guard scalars.count <= maxInputCharsPerWord else { return [unknownID] }
        var ids: [Int] = []
        var start = 0
        while start < scalars.count {
            var end = scalars.count
            var found: Int?
            while start < end {
                var piece = String(String.UnicodeScalarView(scalars[start..<end]))
                if start > 0 { piece = "##" + piece }
                if let id = tokenToID[piece] { found = id; break }
                end -= 1
            }
            guard let id = found else { return [unknownID] }
            ids.append(id)
            start = end
        }
        return ids
    }

    // MARK: Character classes (as the `tokenizers` crate defines them)

    /// Tab, newline, carriage return, or Unicode White_Space.
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        s == "\t" || s == "\n" || s == "\r" || s.properties.isWhitespace
    }

    /// Unicode "Other" (Cc, Cf, Cs, Co, Cn) except tab, newline and carriage return.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        if s == "\t" || s == "\n" || s == "\r" { return false }
        switch s.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    /// ASCII punctuation or Unicode P*.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.isASCII, (33...47).contains(s.value) || (58...64).contains(s.value) || (91...96).contains(s.value) || (123...126).contains(s.value) {
            return true
        }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// A nonspacing mark (Mn), dropped when stripping accents; spacing marks (Mc, e.g. Devanagari vowel signs)
    /// stay, as in `tokenizers`.
    static func isMark(_ s: Unicode.Scalar) -> Bool { s.properties.generalCategory == .nonspacingMark }

    /// The CJK Unified Ideographs blocks BERT spaces out.
    static func isCJK(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
             0x2B820...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }
}
