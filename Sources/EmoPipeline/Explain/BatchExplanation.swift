import EmoCore
import Foundation

/// Many explained predictions summarised per class: mean feature attributions, mean modality totals and, for
/// text groups, the tokens with the largest mean attribution. What `emo explain --corpus` and the explainers of a
/// pipeline spec write as `batch.json` + `batch.html`.
public struct BatchExplanation: Sendable {
    /// Pipeline name.
    public var name: String
    /// Explainer id and its settings in words.
    public var method: String
    /// Where the items came from and how they were chosen (one sentence for the page).
    public var provenance: String
    /// The fused vector's groups.
    public let groups: [FeatureNames.Group]
    /// Class names, indexed by class.
    public let classNames: [String]
    /// Items added.
    public private(set) var items = 0
    /// Items whose prediction was the true class.
    public private(set) var correct = 0
    private var sums: [[Double]]      // [K][ΣC_g]
    private var counts: [Int]         // [K]
    private var modality: ClassModalitySummary
    private var tokenSums: [[String: (sum: Double, n: Int)]]  // [K] token → Σ attribution, occurrences

    /// An empty summary.
    public init(name: String, method: String, provenance: String, groups: [FeatureNames.Group], classNames: [String]) {
        self.name = name
        self.method = method
        self.provenance = provenance
        self.groups = groups
        self.classNames = classNames
        let width = groups.reduce(0) { $0 + $1.width }
        sums = [[Double]](repeating: [Double](repeating: 0, count: width), count: classNames.count)
        counts = [Int](repeating: 0, count: classNames.count)
        modality = ClassModalitySummary(groups: groups.map(\.name), classNames: classNames)
        tokenSums = [[String: (sum: Double, n: Int)]](repeating: [:], count: classNames.count)
    }

    /// Counts one explained item (explained towards class `target`; `correct` when the prediction was right).
    public mutating func addItem(correct isCorrect: Bool) {
        items += 1
        if isCorrect { correct += 1 }
    }

    /// Adds one attribution over the fused feature vector `[ΣC_g]`, explained towards class `target`.
    public mutating func addFeatures(_ attribution: [Float], target: Int) {
        guard classNames.indices.contains(target) else { return }
        for j in 0..<min(attribution.count, sums[target].count) { sums[target][j] += Double(attribution[j]) }
        counts[target] += 1
        modality.add(label: target, totals: AttributionPlots.modalityTotals(attribution, groups: FeatureNames.ranges(for: groups)))
    }

    /// Adds one text's token attributions, explained towards class `target`.
    public mutating func addTokens(_ tokens: ExplanationReport.Tokens, target: Int) {
        guard classNames.indices.contains(target) else { return }
        for (t, v) in zip(tokens.tokens, tokens.values) {
            let old = tokenSums[target][t] ?? (0, 0)
            tokenSums[target][t] = (old.sum + Double(v), old.n + 1)
        }
    }

    /// Mean attribution per feature for class `c` (nil when nothing was added for it).
    public func meanFeatures(class c: Int) -> [Float]? {
        guard counts.indices.contains(c), counts[c] > 0 else { return nil }
        return sums[c].map { Float($0 / Double(counts[c])) }
    }

    /// Tokens of class `c` by mean attribution, largest |mean| first (tokens seen at least `minimum` times).
    public func topTokens(class c: Int, count: Int = 12, minimum: Int = 1) -> [(token: String, mean: Double, n: Int)] {
        guard tokenSums.indices.contains(c) else { return [] }
        var rows: [(token: String, mean: Double, n: Int)] = []
        for (token, s) in tokenSums[c] where s.n >= minimum { rows.append((token, s.sum / Double(s.n), s.n)) }
        rows.sort { a, b in abs(a.mean) != abs(b.mean) ? abs(a.mean) > abs(b.mean) : a.token < b.token }
        return Array(rows.prefix(count))
    }

    /// `{"name", "method", "items", "correct", "per_class": {class: {"n", "mean_attribution", "top_tokens"}},
    /// "modality_per_class"}`.
    public func json() -> JSONValue {
        let names = FeatureNames.names(for: groups)
        var perClass: [String: JSONValue] = [:]
        for c in classNames.indices {
            var entry: [String: JSONValue] = ["n": .number(Double(counts[c]))]
            if let mean = meanFeatures(class: c) {
                entry["mean_attribution"] = .object(Dictionary(uniqueKeysWithValues: zip(names, mean.map { .number(Double($0)) })))
            }
            let tokens = topTokens(class: c)
            if !tokens.isEmpty {
                entry["top_tokens"] = .array(tokens.map { ["token": .string($0.token), "mean": .number($0.mean), "n": .number(Double($0.n))] })
            }
            if counts[c] > 0 || !tokens.isEmpty { perClass[classNames[c]] = .object(entry) }
        }
        return ["name": .string(name), "method": .string(method), "provenance": .string(provenance),
                "items": .number(Double(items)), "correct": .number(Double(correct)),
                "per_class": .object(perClass), "modality_per_class": modality.json()]
    }

    /// A self-contained page: modality shares per class, then per class the top features and tokens.
    public func html() -> String {
        let names = FeatureNames.names(for: groups)
        var html = "<!doctype html><html><head><meta charset=\"utf-8\"><title>\(ReportSVG.escape(name)): \(ReportSVG.escape(method)) per class</title></head><body style=\"font-family:sans-serif\">"
        html += "<h1>\(ReportSVG.escape(name)): \(ReportSVG.escape(method)), mean attributions per class</h1>"
        html += "<p>\(ReportSVG.escape(provenance)) The model classified \(correct) of \(items) correctly.</p>"
        if counts.contains(where: { $0 > 0 }) { html += modality.svg() }
        for c in classNames.indices {
            if let mean = meanFeatures(class: c) {
                html += AttributionPlots.featureBars(names: names, values: mean, title: "\(classNames[c]) (n=\(counts[c])): mean attribution", top: 12)
            }
            let tokens = topTokens(class: c)
            if !tokens.isEmpty {
                html += AttributionPlots.featureBars(names: tokens.map { "\($0.token) (×\($0.n))" }, values: tokens.map { Float($0.mean) },
                                                     title: "\(classNames[c]): tokens by mean attribution", top: 12)
            }
        }
        return html + "</body></html>"
    }

    /// Writes `folder/batch.json` and `folder/batch.html` (the folder is created); returns their paths.
    @discardableResult
    public func write(to folder: String) throws -> (json: String, html: String) {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let paths = (folder + "/batch.json", folder + "/batch.html")
        try json().serialized(pretty: true).write(toFile: paths.0, atomically: true, encoding: .utf8)
        try html().write(toFile: paths.1, atomically: true, encoding: .utf8)
        return paths
    }
}
