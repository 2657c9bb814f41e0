import Foundation

/// A byte-level BPE vocabulary (GPT-2, RoBERTa, Whisper): token ↔ id and the ranked merges.
///
/// ```swift
/// let bpe = try BytePairEncoding(vocabPath: "vocab.json", mergesPath: "merges.txt")
/// let ids = bpe.encodeWord(ByteLevel.encode(" hello".utf8))   // [id("Ġhello")]
/// ```
///
/// Merging follows the reference: repeatedly join the adjacent pair with the lowest merge rank until no ranked
/// pair remains. Symbols are vocabulary ids throughout, so a merge is one dictionary lookup of two ids.
public struct BytePairEncoding: Sendable {
    /// Token string → id.
    public let tokenToID: [String: Int]
    /// Id → token string (`nil` where the vocabulary skips an id).
    public let idToToken: [String?]
    /// (left id, right id) packed as `left << 32 | right` → (rank, merged id).
    private let merges: [UInt64: (rank: Int, merged: Int)]
    /// Id of each byte's one-scalar token (256 entries; nil when the vocabulary lacks it).
    private let byteIDs: [Int?]

    /// Number of ids (largest id + 1).
    public var count: Int { idToToken.count }

    /// Builds the vocabulary from `vocab` (token → id) and merges lines `"left right"` in rank order; merges whose
    /// parts or result are not in the vocabulary are skipped, as they could never produce a known token.
    public init(vocab: [String: Int], merges mergeLines: [String]) {
        tokenToID = vocab
        var inverse = [String?](repeating: nil, count: (vocab.values.max() ?? -1) + 1)
        for (t, i) in vocab where i >= 0 { inverse[i] = t }
        idToToken = inverse
        var table: [UInt64: (rank: Int, merged: Int)] = [:]
        var rank = 0
        for line in mergeLines {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { continue }
            let left = String(parts[0]), right = String(parts[1])
            if let l = vocab[left], let r = vocab[right], let m = vocab[left + right] {
                let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
                if table[key] == nil { table[key] = (rank, m) }
            }
            rank += 1
        }
        merges = table
        byteIDs = ByteLevel.byteToScalar.map { vocab[String($0)] }
    }

    /// Reads Hugging Face's `vocab.json` and `merges.txt` (a `#version` first line is skipped).
    public init(vocabPath: String, mergesPath: String) throws {
        let vocabData: Data
        do { vocabData = try Data(contentsOf: URL(fileURLWithPath: vocabPath)) } catch {
            throw TextEncoderError.io(path: vocabPath, message: "cannot read the vocabulary (\(error.localizedDescription))")
        }
        guard let object = try? JSONSerialization.jsonObject(with: vocabData), let dict = object as? [String: Any] else {
            throw TextEncoderError.malformedVocabulary(path: vocabPath, message: "not a JSON object (expected Hugging Face's byte-level BPE files: vocab.json {token: id} and merges.txt)")
        }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(dict.count)
        for (token, value) in dict {
            guard let n = value as? NSNumber, n.doubleValue.rounded() == n.doubleValue, n.intValue >= 0 else {
                throw TextEncoderError.malformedVocabulary(path: vocabPath, message: "token \(token.debugDescription) has id \(value), not a non-negative integer (expected Hugging Face's byte-level BPE files: vocab.json {token: id} and merges.txt)")
            }
            vocab[token] = n.intValue
        }
        let text: String
        do { text = try String(contentsOfFile: mergesPath, encoding: .utf8) } catch {
            throw TextEncoderError.io(path: mergesPath, message: "cannot read the merges (\(error.localizedDescription))")
        }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map { String($0) }
        if let first = lines.first, first.hasPrefix("#version") { lines.removeFirst() }
        for (n, line) in lines.enumerated() where line.split(separator: " ").count != 2 {
            throw TextEncoderError.malformedVocabulary(path: mergesPath, message: "line \(n + 2) \(line.debugDescription) is not two symbols separated by one space (expected Hugging Face's byte-level BPE files: vocab.json {token: id} and merges.txt)")
        }
        self.init(vocab: vocab, merges: lines)
    }

    /// Ids of one pre-tokenised piece's bytes after BPE; bytes missing from the vocabulary become `unknown`
    /// (never for a complete byte-level vocabulary) or are dropped when `unknown` is nil.
    public func encode(bytes: [UInt8], unknown: Int?) -> [Int] {
        var symbols: [Int] = []
        symbols.reserveCapacity(bytes.count)
        for b in bytes {
            if let id = byteIDs[Int(b)] { symbols.append(id) } else if let unknown { symbols.append(unknown) }
        }
        while symbols.count > 1 {
            var best = Int.max, at = -1, merged = 0
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(truncatingIfNeeded: symbols[i])) << 32 | UInt64(UInt32(truncatingIfNeeded: symbols[i + 1]))
                if let m = merges[key], m.rank < best { best = m.rank; at = i; merged = m.merged }
            }
            guard at >= 0 else { break }
            // Join every non-overlapping occurrence of the best pair, left to right (as the reference does).
            let left = symbols[at], right = symbols[at + 1]
            var out: [Int] = []
            out.reserveCapacity(symbols.count - 1)
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count, symbols[i] == left, symbols[i + 1] == right {
                    out.append(merged)
                    i += 2
                } else {
                    out.append(symbols[i])
                    i += 1
                }
            }
            symbols = out
        }
        return symbols
    }

    /// The token string of `id`, or nil when out of range.
    public func token(_ id: Int) -> String? {
        guard id >= 0, id < idToToken.count else { return nil }
        return idToToken[id]
    }
}
