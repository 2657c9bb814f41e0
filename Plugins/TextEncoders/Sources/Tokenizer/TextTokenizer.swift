import Foundation

/// How `TextTokenizer.encode(batch:)` pads rows.
public enum PaddingStrategy: String, Sendable, CaseIterable {
    /// Rows keep their own lengths (no padding tokens).
    case none
    /// Every row is padded to the longest row of the batch.
    case longest
    /// Every row is padded to `maxLength`.
    case maxLength = "max_length"
}

/// Token ids of a batch with their attention mask (`[B, T]` each, row-major lists).
public struct TokenBatch: Sendable, Equatable {
    /// Token ids per row, special tokens and padding included.
    public var ids: [[Int]]
    /// 1 for real tokens (specials included), 0 for padding.
    public var attentionMask: [[Int]]

    /// Creates a batch.
    public init(ids: [[Int]], attentionMask: [[Int]]) {
        self.ids = ids
        self.attentionMask = attentionMask
    }
}

/// What the text encoders need of a tokenizer: one text → `start tokens end` ids, truncated; the batch form pads.
///
/// `RobertaTokenizer` (byte-level BPE, `<s> … </s>`) and `WordPieceTokenizer` (`[CLS] … [SEP]`) conform.
public protocol TextTokenizer: Sendable {
    /// The padding token's id.
    var padID: Int { get }
    /// The ids put before and after every text (`<s>` / `</s>`, `[CLS]` / `[SEP]`).
    var startID: Int { get }
    var endID: Int { get }
    /// Token ids of `text` without the start and end tokens.
    func tokenIDs(_ text: String) -> [Int]
    /// Token strings of `text`, without the start and end tokens (for reports and plots).
    func tokens(_ text: String) -> [String]
}

extension TextTokenizer {
    /// The row for one text: start token, body, end token; truncated so the whole row has at most `maxLength` ids
    /// (nil = no limit).
    public func encode(_ text: String, maxLength: Int? = nil) throws -> [Int] {
        var body = tokenIDs(text)
        if let maxLength {
            guard maxLength >= 2 else {
                throw TextEncoderError.invalidOption(message: "max length \(maxLength) leaves no room for the start and end tokens; use 2 or more")
            }
            if body.count > maxLength - 2 { body.removeSubrange((maxLength - 2)...) }
        }
        return [startID] + body + [endID]
    }

    /// Encodes several texts, truncated to `maxLength` and padded as `padding` says.
    public func encode(batch texts: [String], maxLength: Int? = nil, padding: PaddingStrategy = .longest) throws -> TokenBatch {
        var rows = try texts.map { try encode($0, maxLength: maxLength) }
        var masks = rows.map { [Int](repeating: 1, count: $0.count) }
        let target: Int?
        switch padding {
        case .none: target = nil
        case .longest: target = rows.map(\.count).max()
        case .maxLength:
            guard let maxLength else {
                throw TextEncoderError.invalidOption(message: "padding max_length needs a max length")
            }
            target = maxLength
        }
        if let target {
            for r in rows.indices where rows[r].count < target {
                let extra = target - rows[r].count
                rows[r] += [Int](repeating: padID, count: extra)
                masks[r] += [Int](repeating: 0, count: extra)
            }
        }
        return TokenBatch(ids: rows, attentionMask: masks)
    }
}

/// Hugging Face's added-token pass: special-token strings written in a text are cut out before normalisation.
enum SpecialTokenSplit {
    /// A stretch of input: plain text, or one special token written out.
    enum Segment: Equatable { case text(String), special(Int) }

    /// Cuts `text` at every special-token string (leftmost first; the longest of those starting there).
    static func split(_ text: String, on specialTokens: [(text: String, id: Int)]) -> [Segment] {
        let starts = Set(specialTokens.compactMap { $0.text.unicodeScalars.first })
        guard text.unicodeScalars.contains(where: { starts.contains($0) }) else { return text.isEmpty ? [] : [.text(text)] }
        let scalars = Array(text.unicodeScalars)
        let specials = specialTokens.map { (Array($0.text.unicodeScalars), $0.id) }.sorted { $0.0.count > $1.0.count }
        var out: [Segment] = []
        var plain = String.UnicodeScalarView()
        var i = 0
        outer: while i < scalars.count {
            if starts.contains(scalars[i]) {
                for (s, id) in specials where i + s.count <= scalars.count && Array(scalars[i..<(i + s.count)]) == s {
                    if !plain.isEmpty { out.append(.text(String(plain))); plain = String.UnicodeScalarView() }
                    out.append(.special(id))
                    i += s.count
                    continue outer
                }
            }
            plain.append(scalars[i])
            i += 1
        }
        if !plain.isEmpty { out.append(.text(String(plain))) }
        return out
    }
}
