/// RFC 4180 CSV (or TSV, with a tab separator): quoted fields with embedded separators, quotes ("") and newlines;
/// CRLF or LF; a UTF-8 BOM is dropped.
public enum CSVReader {
    /// One parsed record and the 1-based line it starts on.
    public struct Record: Sendable {
        /// The 1-based line the record starts on.
        public var line: Int
        /// The fields, unquoted.
        public var fields: [String]
    }

    /// What `read` found: the records, and the 1-based line on which a quote opens that is never closed (it would
    /// swallow every later row into one field), if any.
    public struct Parsed: Sendable {
        /// Every record.
        public var records: [Record]
        /// The line on which a never-closed quote opens, if any.
        public var unterminatedQuoteLine: Int?
    }

    /// Every record of `text` (an unterminated quote at the end yields the partial field; `read` says where it
    /// opened).
    public static func parse(_ text: String, separator: Unicode.Scalar = ",") -> [Record] {
        read(text, separator: separator).records
    }

    /// The line on which an unterminated quote opens, if any (`read(...).unterminatedQuoteLine`).
    public static func unterminatedQuoteLine(_ text: String, separator: Unicode.Scalar = ",") -> Int? {
        read(text, separator: separator).unterminatedQuoteLine
    }

    /// Every record of `text`, and where an unterminated quote opens.
    public static func read(_ text: String, separator: Unicode.Scalar = ",") -> Parsed {
        var records: [Record] = []
        var field = "", fields: [String] = []
        var inQuotes = false, line = 1, recordLine = 1, quoteLine = 0
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
            case "\"": inQuotes = true; quoteLine = line
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
        return Parsed(records: records, unterminatedQuoteLine: inQuotes ? quoteLine : nil)
    }
}
