import EmoCore
import Foundation

/// Which recordings and labels a pipeline uses: one or more corpus sources, a label map and the class list.
///
/// ```json
/// {"sources": [{"kind": "ravdess", "path": "${EMO_DATA}/ravdess"}, {"kind": "tess", "path": "${EMO_DATA}/tess"}],
///  "labelMap": {"calm": "neutral", "fearful": "fear"},
///  "classes": ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]}
/// ```
public struct CorpusSpec: Sendable, Equatable, Codable {
    /// Corpora read together (RAVDESS + TESS for Study A).
    public var sources: [CorpusSource]
    /// Corpus label → pipeline label (calm → neutral); labels not named stay as they are.
    public var labelMap: [String: String]
    /// Class names in class-id order; items whose mapped label is not listed are dropped (and counted).
    public var classes: [String]

    /// Each source's corpus name, in source order: its kind, or "kind#n" for the n-th source of a kind (n ≥ 2).
    /// Per-corpus metrics and the corpus-level splits (`cross-corpus`, `leave-one-corpus-out`) use these names.
    public var sourceNames: [String] {
        var seen: [String: Int] = [:]
        return sources.map { s in
            seen[s.kind, default: 0] += 1
            let n = seen[s.kind, default: 1]
            return n == 1 ? s.kind : "\(s.kind)#\(n)"
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case sources, labelMap, classes }

    /// Decodes, with `labelMap` defaulting to `{}`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sources = try c.decode([CorpusSource].self, forKey: .sources)
        labelMap = try c.decodeIfPresent([String: String].self, forKey: .labelMap) ?? [:]
        classes = try c.decode([String].self, forKey: .classes)
    }

    /// The pipeline label for corpus label `raw`, or nil when it is not one of `classes`.
    public func mappedLabel(_ raw: String) -> String? {
        let l = labelMap[raw] ?? raw
        return classes.contains(l) ? l : nil
    }
}

/// One corpus on disk.
public struct CorpusSource: Sendable, Equatable, Codable {
    /// Corpus reader id ("ravdess", "tess", "meld", "folder").
    public var kind: String
    /// Folder (or CSV file); `${VAR}` expands from the environment, `${EMO_DATA}` defaulting to `../shared/data`;
    /// relative paths are relative to the working directory.
    public var path: String
    /// Reader options (MELD: `{"media": "${EMO_DATA}/meld/clips", "annotations": "..."}`); default `{}`.
    public var options: JSONValue

    enum CodingKeys: String, CodingKey, CaseIterable { case kind, path, options }

    /// Creates a source.
    public init(kind: String, path: String, options: JSONValue = [:]) {
        self.kind = kind
        self.path = path
        self.options = options
    }

    /// Decodes, with `options` defaulting to `{}`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(String.self, forKey: .kind)
        path = try c.decode(String.self, forKey: .path)
        options = try c.decodeIfPresent(JSONValue.self, forKey: .options) ?? [:]
    }

    /// `path` with `${VAR}` expanded from `environment` (`EMO_DATA` defaults to `../shared/data`); nil names the
    /// first variable that is unset.
    public func resolvedPath(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> (path: String?, missing: String?) {
        CorpusSource.expand(path, environment: environment)
    }

    /// Expands `${VAR}` references in `text`.
    static func expand(_ text: String, environment: [String: String]) -> (path: String?, missing: String?) {
        var env = environment
        if env["EMO_DATA"] == nil { env["EMO_DATA"] = "../shared/data" }
        var out = "", rest = Substring(text)
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { return (nil, "unterminated ${") }
            let name = String(rest[start.upperBound..<end])
            guard let value = env[name] else { return (nil, name) }
            out += value
            rest = rest[rest.index(after: end)...]
        }
        return (out + rest, nil)
    }
}
