import EmoCore
import Foundation

extension PipelineSpec {
    /// Reads, decodes and validates the spec at `url`; every problem is reported with the file and its JSON path.
    public static func load(from url: URL, knownComponents: Set<String>? = nil) throws(SpecError) -> PipelineSpec {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw .unreadable(file: url.path, why: error.localizedDescription) }
        return try parse(data, file: url.path, knownComponents: knownComponents)
    }

    /// Decodes and validates spec bytes; `file` names the source in errors. `knownComponents`, when given, is the
    /// set of component ids the registry offers, and every id the spec names must be in it.
    public static func parse(_ data: Data, file: String, knownComponents: Set<String>? = nil) throws(SpecError) -> PipelineSpec {
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch { throw .malformed(file: file, why: error.description) }
        var issues = SpecKeys.unknownKeys(in: json, schema: SpecKeys.pipeline, path: "")
        var spec: PipelineSpec?
        do {
            spec = try JSONDecoder().decode(PipelineSpec.self, from: data)
        } catch let error as DecodingError {
            issues.append(issue(for: error))
        } catch {
            issues.append(SpecIssue(path: "", message: String(describing: error)))
        }
        if let s = spec { issues += s.validate(knownComponents: knownComponents) }
        guard issues.isEmpty, let result = spec else { throw .invalid(file: file, issues: issues) }
        return result
    }

    /// Sorted-key, pretty JSON of this spec (what a run folder keeps next to its results).
    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try enc.encode(self)
    }

    /// A `SpecIssue` naming the JSON path of a decoding failure.
    static func issue(for error: DecodingError) -> SpecIssue {
        switch error {
        case let .keyNotFound(key, ctx):
            return SpecIssue(path: render(ctx.codingPath + [key]), message: "required field is missing")
        case let .typeMismatch(type, ctx):
            return SpecIssue(path: render(ctx.codingPath), message: "expected \(describe(type))")
        case let .valueNotFound(type, ctx):
            return SpecIssue(path: render(ctx.codingPath), message: "expected \(describe(type)), found null")
        case let .dataCorrupted(ctx):
            return SpecIssue(path: render(ctx.codingPath), message: ctx.debugDescription)
        @unknown default:
            return SpecIssue(path: "", message: String(describing: error))
        }
    }

    /// "training.earlyStopping.patience", "featureGroups[1].component".
    static func render(_ path: [CodingKey]) -> String {
        var out = ""
        for key in path {
            if let i = key.intValue, key.stringValue.hasPrefix("Index") || key.stringValue == String(i) {
                out += "[\(i)]"
            } else {
                out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return out
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Double.Type, is Float.Type: return "a number"
        case is Int.Type, is UInt64.Type: return "an integer"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object (\(name))"
        }
    }
}

/// The keys each spec object may hold, for rejecting unknown (usually misspelt) keys.
enum SpecKeys {
    indirect enum Schema: Sendable {
        /// An object with these keys; a key's schema says what its value may hold.
        case object([String: Schema])
        /// An array whose elements follow the schema.
        case array(Schema)
        /// Anything (component configs, labels, numbers).
        case free
    }

    static func keys<K: CodingKey & CaseIterable>(_: K.Type, _ nested: [String: Schema] = [:]) -> Schema {
        keys(Set(K.allCases.map(\.stringValue)), nested)
    }

    static func keys(_ names: Set<String>, _ nested: [String: Schema] = [:]) -> Schema {
        var out: [String: Schema] = [:]
        for n in names { out[n] = nested[n] ?? .free }
        return .object(out)
    }

    static let pipeline: Schema = keys(PipelineSpec.CodingKeys.self, [
        "corpus": keys(CorpusSpec.CodingKeys.self, ["sources": .array(keys(CorpusSource.CodingKeys.self))]),
        "audio": keys(AudioSpec.CodingKeys.self),
        "featureGroups": .array(keys(FeatureGroupSpec.CodingKeys.self, ["textFrom": keys(ComponentRef.CodingKeys.self),
                                                                         "fineTune": keys(FineTuneSpec.CodingKeys.self)])),
        "split": keys(SplitSpec.knownKeys),
        "scaling": keys(ScalingSpec.CodingKeys.self),
        "fusion": keys(FusionSpec.CodingKeys.self),
        "classifier": keys(ComponentRef.CodingKeys.self),
        "training": keys(TrainingConfig.CodingKeys.self, [
            "earlyStopping": keys(TrainingConfig.EarlyStopping.CodingKeys.self),
            "lrPlateau": keys(TrainingConfig.Plateau.CodingKeys.self),
            "warmup": keys(TrainingConfig.Warmup.CodingKeys.self),
        ]),
        "explainers": .array(keys(ExplainerSpec.CodingKeys.self)),
    ])

    /// Issues for keys of `json` that `schema` does not allow (type errors are left to the decoder).
    static func unknownKeys(in json: JSONValue, schema: Schema, path: String) -> [SpecIssue] {
        switch (schema, json) {
        case let (.object(allowed), .object(members)):
            var issues: [SpecIssue] = []
            for key in members.keys.sorted() {
                let sub = path.isEmpty ? key : "\(path).\(key)"
                guard let s = allowed[key], let value = members[key] else {
                    let names = allowed.keys.sorted()
                    var msg = "unknown field \"\(key)\""
                    if let guess = closest(key, among: names) { msg += "; did you mean \"\(guess)\"?" }
                    msg += " (allowed here: \(names.joined(separator: ", ")))"
                    issues.append(SpecIssue(path: sub, message: msg))
                    continue
                }
                issues += unknownKeys(in: value, schema: s, path: sub)
            }
            return issues
        case let (.array(element), .array(values)):
            return values.enumerated().flatMap { unknownKeys(in: $1, schema: element, path: "\(path)[\($0)]") }
        default:
            return []
        }
    }

    /// The allowed name nearest to `key` by edit distance (case-insensitive), if it is close (≤ 3 edits).
    static func closest(_ key: String, among names: [String]) -> String? {
        let scored = names.map { ($0, editDistance(Array(key.lowercased()), Array($0.lowercased()))) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 3 else { return nil }
        return best.0
    }

    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
