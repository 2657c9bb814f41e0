import EmoCore
import Foundation

/// Whisper's token list and decoding rules, from a CTranslate2 folder's `vocabulary.txt` (one byte-level BPE token
/// per line, id = line index) and `config.json` (`suppress_ids`, `suppress_ids_begin`).
public struct WhisperVocabulary: Sendable {
    /// Token strings by id.
    public let tokens: [String]
    /// `<|endoftext|>`.
    public let endOfText: Int
    /// `<|startoftranscript|>`.
    public let startOfTranscript: Int
    /// `<|notimestamps|>`.
    public let noTimestamps: Int
    /// `<|transcribe|>` (nil when absent).
    public let transcribe: Int?
    /// True for multilingual checkpoints (language and task tokens go into the prompt).
    public let isMultilingual: Bool
    /// Never generated: config.json's `suppress_ids` plus every special and timestamp token but end-of-text.
    public let suppress: Set<Int>
    /// Not generated as the first token: config.json's `suppress_ids_begin` (blank, end-of-text).
    public let suppressAtBegin: Set<Int>

    /// Reads `vocabulary.txt` and `config.json` from `folder`.
    public init(folder: String) throws {
        let vocabPath = (folder as NSString).appendingPathComponent("vocabulary.txt")
        let text: String
        do { text = try String(contentsOfFile: vocabPath, encoding: .utf8) } catch {
            throw TextEncoderError.io(path: vocabPath, message: "cannot read Whisper's vocabulary (\(error.localizedDescription))")
        }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        tokens = lines
        var index: [String: Int] = [:]
        for (i, t) in lines.enumerated() where index[t] == nil { index[t] = i }
        func id(_ t: String) throws -> Int {
            guard let i = index[t] else { throw TextEncoderError.missingSpecialToken(path: vocabPath, token: t) }
            return i
        }
        endOfText = try id("<|endoftext|>")
        startOfTranscript = try id("<|startoftranscript|>")
        noTimestamps = try id("<|notimestamps|>")
        transcribe = index["<|transcribe|>"]
        self.index = index
        // English-only models have 51864 tokens; multilingual ones 51865 (+ one language in large-v3).
        isMultilingual = lines.count >= 51865

        let configPath = (folder as NSString).appendingPathComponent("config.json")
        var suppress = Set<Int>(), begin = Set<Int>()
        if let data = FileManager.default.contents(atPath: configPath) {
            guard let json = try? JSONValue.parse(data) else {
                throw TextEncoderError.malformedVocabulary(path: configPath, message: "config.json is not valid JSON")
            }
            suppress = Set(json["suppress_ids"]?.arrayValue?.compactMap(\.intValue) ?? [])
            begin = Set(json["suppress_ids_begin"]?.arrayValue?.compactMap(\.intValue) ?? [])
        } else {
            begin = [endOfText]
            if let blank = index["Ġ"] { begin.insert(blank) }
        }
        for i in (endOfText + 1)..<lines.count { suppress.insert(i) }  // specials and timestamps: text-only output
        self.suppress = suppress
        suppressAtBegin = begin
    }

    /// Token id by string, for the language tokens (`<|de|>`).
    private let index: [String: Int]

    /// The decoder prompt for transcription without timestamps: `<|startoftranscript|>`, then for multilingual
    /// checkpoints `<|language|><|transcribe|>`, then `<|notimestamps|>`.
    public func prompt(language: String = "en") throws -> [Int] {
        var p = [startOfTranscript]
        if isMultilingual, let transcribe {
            guard let lang = index["<|\(language)|>"] else {
                throw TextEncoderError.invalidOption(message: "language \"\(language)\" has no <|\(language)|> token in this Whisper vocabulary (use a code such as en, de, fr)")
            }
            p += [lang, transcribe]
        }
        return p + [noTimestamps]
    }

    /// The text `ids` spell (special tokens dropped, invalid UTF-8 replaced), without surrounding whitespace.
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < tokens.count && id < endOfText {
            bytes += ByteLevel.decode(tokens[id]) ?? Array(tokens[id].utf8)
        }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
