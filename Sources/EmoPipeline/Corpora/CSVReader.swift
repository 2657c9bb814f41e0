/// RFC 4180 CSV (or TSV, with a tab separator): quoted fields with embedded separators, quotes ("") and newlines;
/// CRLF or LF; a UTF-8 BOM is dropped.
enum CSVReader {
    /// One parsed record and the 1-based line it starts on.
    struct Record {
        var line: Int
        var fields: [String]
    }

    /// The 1-based line on which a quote opens that is never closed (it would swallow every later row), if any:
    /// the same quote rules as `parse`.
    static func unterminatedQuoteLine(_ text: String, separator: Unicode.Scalar = ",") -> Int? {
        var inQuotes = false, line = 1, openedOn = 0
        var scalars = Substring(text).unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return scalars.next()
        }
        while let c = next() {
            if c == "\n" { line += 1 }
            guard c == "\"" else { continue }
            if !inQuotes {
                inQuotes = true
                openedOn = line
                continue
            }
            if let n = next() {
                if n == "\"" { continue }  // a doubled quote inside a quoted field
                pending = n  // read again as ordinary text after the closing quote
            }
            inQuotes = false
        }
        return inQuotes ? openedOn : nil
    }

    /// Every record of `text` (an unterminated quote at the end yields the partial field: check
    /// `unterminatedQuoteLine` first where that matters).
    static func parse(_ text: String, separator: Unicode.Scalar = ",") -> [Record] {
        var records: [Record] = []
        var field = "", fields: [String] = []
        var inQuotes = false, line = 1, recordLine = 1
        var scalars = Substring(text).unicodeScalars[...]
        if scalars.first == "\u{FEFF}" { scalars = scalars.dropFirst() }
        var iterator = scalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return iterator.next()
        }
        func endRecord() {
            fields.append(field)
            field = ""
            if !(fields.count == 1 && fields[0].isEmpty) { records.append(Record(line: recordLine, fields: fields)) }
            fields = []
        }
        while let c = next() {
            if inQuotes {
                if c == "\"" {
                    if let n = next() {
                        if n == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = n }
                    } else { inQuotes = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"": inQuotes = true
            case separator: fields.append(field); field = ""
            case "\r":
                if let n = next(), n != "\n" { pending = n }
                endRecord(); line += 1; recordLine = line
            case "\n":
                endRecord(); line += 1; recordLine = line
            default: field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        return records
    }
}
