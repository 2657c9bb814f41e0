// GPT-2's byte-level pre-tokenisation: the reversible byte ↔ printable-character map and the splitting regex.

/// The two pieces of GPT-2's byte-level scheme that come before BPE (RoBERTa and Whisper use them unchanged).
///
/// - `byteToScalar`: every byte 0...255 maps to a printable Unicode scalar (`bytes_to_unicode()` in GPT-2's
///   `encoder.py`): the printable Latin-1 bytes map to themselves, the other 68 to U+0100 upwards, so a space
///   becomes `Ġ` (U+0120) and a newline `Ċ` (U+010A).
/// - `split(_:)`: the pre-tokenisation regex
///   `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, written out as a scanner so
///   it does not depend on a regex engine's Unicode tables or backtracking.
public enum ByteLevel {
    /// Byte → printable scalar (256 entries).
    public static let byteToScalar: [Unicode.Scalar] = {
        var printable: [Int] = Array(33...126) + Array(161...172) + Array(174...255)
        var scalars = printable
        var extra = 0
        for b in 0..<256 where !printable.contains(b) {
            printable.append(b)
            scalars.append(256 + extra)
            extra += 1
        }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, s) in zip(printable, scalars) { table[b] = Unicode.Scalar(UInt32(s)) ?? " " }
        return table
    }()

    /// Printable scalar value → byte (inverse of `byteToScalar`).
    public static let scalarToByte: [UInt32: UInt8] = {
        var map: [UInt32: UInt8] = [:]
        for (b, s) in byteToScalar.enumerated() { map[s.value] = UInt8(b) }
        return map
    }()

    /// The UTF-8 bytes of `text` rewritten as printable scalars (what BPE vocabularies are spelled in).
    public static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out = String.UnicodeScalarView()
        for b in bytes { out.append(byteToScalar[Int(b)]) }
        return String(out)
    }

    /// The bytes a vocabulary token spells; nil when it holds a scalar outside the byte map (an added token).
    public static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard let b = scalarToByte[s.value] else { return nil }
            out.append(b)
        }
        return out
    }

    /// Splits `text` into the pieces GPT-2's regex matches, in order; concatenated they give `text` back.
    public static func split(_ text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        var pieces: [String] = []
        var i = 0
        while i < s.count {
            let end = matchEnd(s, at: i)
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: s[i..<end])
            pieces.append(String(piece))
            i = end
        }
        return pieces
    }

    /// End (exclusive) of the regex match starting at `i` (always > `i`).
    static func matchEnd(_ s: [Unicode.Scalar], at i: Int) -> Int {
        let n = s.count
        // 's 't 're 've 'm 'll 'd (case-sensitive, as in GPT-2)
        if s[i] == "'", i + 1 < n {
            switch s[i + 1] {
            case "s", "t", "m", "d": return i + 2
            case "r" where i + 2 < n && s[i + 2] == "e": return i + 3
            case "v" where i + 2 < n && s[i + 2] == "e": return i + 3
            case "l" where i + 2 < n && s[i + 2] == "l": return i + 3
            default: break
            }
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional leading space, then a run of one class.
        let start = (s[i] == " " && i + 1 < n) ? i + 1 : i
        let cls = Self.characterClass(s[start])
        if cls != .space {
            var j = start + 1
            while j < n, characterClass(s[j]) == cls { j += 1 }
            return j
        }
        // `\s+(?!\S)` then `\s+`: a whitespace run, leaving its last character to prefix a following word.
        var j = i + 1
        while j < n, isSpace(s[j]) { j += 1 }
        if j == n || j - i == 1 { return j }
        return j - 1
    }

    /// The three classes the regex distinguishes.
    enum CharacterClass { case letter, number, space, other }

    /// `\p{L}`, `\p{N}`, `\s`, or anything else.
    static func characterClass(_ c: Unicode.Scalar) -> CharacterClass {
        if isSpace(c) { return .space }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }

    /// `\s`: the Unicode White_Space property (tab, newline, space, NBSP, U+2028, U+3000, ...).
    static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }
}
