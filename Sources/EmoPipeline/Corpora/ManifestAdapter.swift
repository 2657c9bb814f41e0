import EmoCore
import Foundation

/// A site-specific corpus listed in a manifest: CSV with a header, or JSON Lines (one object per line).
/// Required: `path` (relative to the manifest's folder, or absolute) and `label`. Optional: `speaker`, `text`,
/// `text_id`, `group`, `split`; any other column is kept in `fields`.
enum ManifestAdapter {
    static func load(path: String, options: CorpusOptions) throws(CorpusError) -> Corpus {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw .malformed(path: path, message: "cannot read the manifest as UTF-8 text (is it a folder? pass the .csv or .jsonl file)")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
        let rows: [(source: String, fields: [String: String], problem: String?)]
        if ext == "jsonl" || ext == "ndjson" {
            rows = try jsonLines(text, path: path).map { ($0.source, $0.fields, nil) }
        } else if ext == "csv" || ext == "tsv" || ext == "txt" {
            rows = try csvRows(text, path: path, separator: ext == "tsv" ? "\t" : ",")
        } else {
            throw .malformed(path: path, message: "unknown manifest format '.\(ext)'; use .csv or .jsonl")
        }
        var items: [CorpusItem] = [], skipped: [SkippedItem] = []
        for row in rows {
            if let problem = row.problem {
                skipped.append(SkippedItem(source: row.source, reason: problem))
                continue
            }
            let f = row.fields
            let missing = ["path", "label"].filter { (f[$0] ?? "").isEmpty }
            guard missing.isEmpty else {
                skipped.append(SkippedItem(source: row.source, reason: "missing \(missing.joined(separator: " and "))"))
                continue
            }
            let rel = f["path"] ?? ""
            let file = rel.hasPrefix("/") ? rel : base.appendingPathComponent(rel).standardizedFileURL.path
            if options.checkFiles && !FileManager.default.fileExists(atPath: file) {
                skipped.append(SkippedItem(source: row.source, reason: "file \(file) not found"))
                continue
            }
            let speaker = f["speaker"].flatMap { $0.isEmpty ? nil : $0 } ?? "unknown"
            let textID = f["text_id"].flatMap { $0.isEmpty ? nil : $0 } ?? f["text"].flatMap { $0.isEmpty ? nil : $0 } ?? file
            let group = f["group"].flatMap { $0.isEmpty ? nil : $0 } ?? textID
            var extra = f
            for k in ["path", "label", "speaker", "text", "text_id", "group", "split"] { extra[k] = nil }
            items.append(CorpusItem(path: file, label: f["label"] ?? "", speaker: speaker, textID: textID,
                                    text: f["text"].flatMap { $0.isEmpty ? nil : $0 }, group: group,
                                    split: f["split"].flatMap { $0.isEmpty ? nil : $0 }, fields: extra))
        }
        return Corpus(kind: .manifest, root: path, items: items, skipped: skipped)
    }

    static func csvRows(_ text: String, path: String, separator: Unicode.Scalar = ",") throws(CorpusError)
        -> [(source: String, fields: [String: String], problem: String?) ] {
        let parsed = CSVReader.read(text, separator: separator)
        if let line = parsed.unterminatedQuoteLine {
            throw .malformed(path: path, message: "line \(line): a quote opens here and is never closed, so every later row would be swallowed into one field; close it (a quote inside a quoted field is written \"\")")
        }
        let records = parsed.records
        guard let header = records.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }),
              header.contains("path") else {
            let tabs = separator == "," && (records.first?.fields.first?.contains("\t") ?? false)
            throw .malformed(path: path, message: "the first line must be a header naming at least 'path' and 'label'"
                + (tabs ? " (it is tab-separated: name the file .tsv)" : ""))
        }
        return records.dropFirst().map { r in
            var fields: [String: String] = [:]
            for (i, name) in header.enumerated() where i < r.fields.count {
                fields[name] = r.fields[i].trimmingCharacters(in: .whitespaces)
            }
            let problem = r.fields.count == header.count ? nil
                : "has \(r.fields.count) fields but the header has \(header.count)\(separator == "," && r.fields.count == 1 && header.count > 1 ? " (a tab-separated file needs the .tsv extension)" : "")"
            return ("\(path):\(r.line)", fields, problem)
        }
    }

    static func jsonLines(_ text: String, path: String) throws(CorpusError) -> [(source: String, fields: [String: String])] {
        var rows: [(source: String, fields: [String: String])] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard case .object(let obj)? = try? JSONValue.parse(trimmed) else {
                rows.append(("\(path):\(i + 1)", [:]))  // reported as missing path and label
                continue
            }
            var fields: [String: String] = [:]
            for (k, v) in obj {
                switch v {
                case .string(let s): fields[k.lowercased()] = s
                case .number(let n): fields[k.lowercased()] = n == n.rounded() && abs(n) < 1e15 ? String(Int(n)) : String(n)
                case .bool(let b): fields[k.lowercased()] = String(b)
                default: break
                }
            }
            rows.append(("\(path):\(i + 1)", fields))
        }
        return rows
    }
}
