import Foundation

/// RoBERTa's tokenizer (Hugging Face `RobertaTokenizer` with `add_prefix_space=False`): GPT-2 byte-level BPE,
/// `<s> … </s>` around each text, truncation to a maximum length and padding with `<pad>` plus an attention mask.
///
/// ```swift
/// let tok = try RobertaTokenizer(folder: "roberta-base")            // vocab.json + merges.txt
/// let batch = try tok.encode(batch: ["Kids are talking by the door"], maxLength: 64, padding: .maxLength)
/// // batch.ids[0] = [0, ..., 2, 1, 1, ...], batch.attentionMask[0] = [1, ..., 1, 0, 0, ...]
/// ```
///
/// Special-token strings written in the text (`<s>`, `</s>`, `<pad>`, `<unk>`, `<mask>`) become those tokens, as in
/// Hugging Face; the text between them goes through the byte-level regex and BPE. No Unicode normalisation.
public struct RobertaTokenizer: TextTokenizer {
    /// The BPE vocabulary and merges.
    public let bpe: BytePairEncoding
    /// `<s>` (CLS / BOS).
    public let bosID: Int
    /// `</s>` (SEP / EOS).
    public let eosID: Int
    /// `<pad>`.
    public let padID: Int
    /// `<unk>`.
    public let unknownID: Int
    /// Special-token strings recognised inside text, longest first, with their ids.
    public let specialTokens: [(text: String, id: Int)]

    /// Builds the tokenizer on `bpe`; `path` names the vocabulary in errors.
    public init(bpe: BytePairEncoding, path: String = "vocab.json") throws {
        func id(_ token: String) throws -> Int {
            guard let i = bpe.tokenToID[token] else { throw TextEncoderError.missingSpecialToken(path: path, token: token) }
            return i
        }
        self.bpe = bpe
        bosID = try id("<s>")
        eosID = try id("</s>")
        padID = try id("<pad>")
        unknownID = try id("<unk>")
        specialTokens = ["<s>", "</s>", "<pad>", "<unk>", "<mask>"]
            .compactMap { t in bpe.tokenToID[t].map { (t, $0) } }
            .sorted { $0.text.count > $1.text.count }
    }

    /// Reads `vocab.json` and `merges.txt` from a model folder as Hugging Face publishes it.
    public init(folder: String) throws {
        let vocab = (folder as NSString).appendingPathComponent("vocab.json")
        let merges = (folder as NSString).appendingPathComponent("merges.txt")
        try self.init(bpe: BytePairEncoding(vocabPath: vocab, mergesPath: merges), path: vocab)
    }

    /// Token ids of `text` without special tokens around it.
    public func tokenIDs(_ text: String) -> [Int] {
        var ids: [Int] = []
        for segment in SpecialTokenSplit.split(text, on: specialTokens) {
            switch segment {
            case .special(let id):
                ids.append(id)
            case .text(let t):
                for piece in ByteLevel.split(t) { ids += bpe.encode(bytes: Array(piece.utf8), unknown: unknownID) }
            }
        }
        return ids
    }

    /// Token strings of `text` without special tokens around it (`Ġ` marks a leading space).
    public func tokens(_ text: String) -> [String] {
        tokenIDs(text).map { bpe.token($0) ?? "<unk>" }
    }

    /// `TextTokenizer`'s start token (`encode` puts it first).
    public var startID: Int { bosID }
    /// `TextTokenizer`'s end token.
    public var endID: Int { eosID }

    /// The text `ids` spell (invalid UTF-8 becomes U+FFFD); special tokens are dropped when `skipSpecialTokens`.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        let specials = Set(specialTokens.map(\.id))
        var bytes: [UInt8] = []
        for id in ids {
            guard let token = bpe.token(id) else { continue }
            if specials.contains(id) {
                if !skipSpecialTokens { bytes += Array(token.utf8) }
                continue
            }
            bytes += ByteLevel.decode(token) ?? Array(token.utf8)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
