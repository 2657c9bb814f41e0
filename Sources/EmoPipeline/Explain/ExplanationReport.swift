import EmoCore
import Foundation

/// One explained prediction, ready to write as JSON and as an HTML page with inline SVG plots
/// (what `emo explain RUN_OR_BUNDLE CLIP` writes). Every part but the header is optional.
public struct ExplanationReport: Sendable {
    /// Attribution over the clip's samples.
    public struct Waveform: Sendable {
        /// The clip `[T]`.
        public var samples: [Float]
        /// Samples per second.
        public var sampleRate: Int
        /// Integrated Gradients per sample `[T]`.
        public var integratedGradients: [Float]?
        /// Occlusion per sample `[T]`.
        public var occlusion: [Float]?
        /// Creates the part.
        public init(samples: [Float], sampleRate: Int, integratedGradients: [Float]?, occlusion: [Float]?) {
            self.samples = samples
            self.sampleRate = sampleRate
            self.integratedGradients = integratedGradients
            self.occlusion = occlusion
        }
    }

    /// Attribution over a fused feature vector, with names and modality groups.
    public struct Features: Sendable {
        /// The fused vector's groups, in order (names, widths, optional per-dimension names).
        public var groups: [FeatureNames.Group]
        /// One attribution per position `[C]`.
        public var values: [Float]
        /// Creates the part.
        public init(groups: [FeatureNames.Group], values: [Float]) {
            self.groups = groups
            self.values = values
        }
    }

    /// Attribution over transcript tokens.
    public struct Tokens: Sendable {
        /// Tokens as the tokenizer wrote them.
        public var tokens: [String]
        /// One attribution per token (summed over the embedding dimension).
        public var values: [Float]
        /// Creates the part.
        public init(tokens: [String], values: [Float]) {
            self.tokens = tokens
            self.values = values
        }

        /// Creates the part from attributions over token embeddings `[L, C]` (row-major), summed over C per token.
        public init(tokens: [String], embeddingAttributions: [Float], dimension: Int) {
            let c = max(1, dimension)
            self.tokens = tokens
            self.values = (0..<(embeddingAttributions.count / c)).map { l in
                embeddingAttributions[(l * c)..<((l + 1) * c)].reduce(0, +)
            }
        }
    }

    /// Page title ("dia3_utt1.mp4").
    public var title: String
    /// Class names, indexed by class.
    public var classNames: [String]
    /// The model's scores `[K]`.
    public var scores: [Float]
    /// The explained class.
    public var target: Int
    /// How the attributions were made ("integrated-gradients gausslegendre, 50 steps, zero baseline; ...").
    public var method: String
    /// IG convergence delta, when there is one.
    public var delta: Float?
    /// Waveform attributions.
    public var waveform: Waveform?
    /// Feature attributions.
    public var features: Features?
    /// Token attributions.
    public var tokens: Tokens?

    /// Creates a report.
    public init(title: String, classNames: [String], scores: [Float], target: Int, method: String, delta: Float? = nil,
                waveform: Waveform? = nil, features: Features? = nil, tokens: Tokens? = nil) {
        self.title = title
        self.classNames = classNames
        self.scores = scores
        self.target = target
        self.method = method
        self.delta = delta
        self.waveform = waveform
        self.features = features
        self.tokens = tokens
    }

    /// Name of class `k` ("class k" when unnamed).
    func className(_ k: Int) -> String { k >= 0 && k < classNames.count ? classNames[k] : "class \(k)" }

    /// The predicted class (arg max of the scores).
    public var predicted: Int { scores.indices.max { scores[$0] < scores[$1] } ?? 0 }

    /// Per-modality totals of the feature attributions (Σ over each group's positions), in group order.
    public var modalityTotals: [Double] {
        guard let features else { return [] }
        return AttributionPlots.modalityTotals(features.values, groups: FeatureNames.ranges(for: features.groups))
    }

    /// The report as JSON: header, modality totals and shares, top features, token values, per-sample arrays.
    public func json(topFeatures: Int = 20) -> JSONValue {
        func numbers(_ v: [Float]) -> JSONValue { .array(v.map { .number(Double($0)) }) }
        var out: [String: JSONValue] = [
            "title": .string(title), "method": .string(method), "target": .string(className(target)),
            "predicted": .string(className(predicted)),
            "scores": .object(Dictionary(uniqueKeysWithValues: scores.indices.map { (className($0), .number(Double(scores[$0]))) })),
        ]
        if let delta { out["convergence_delta"] = .number(Double(delta)) }
        if let features {
            let names = FeatureNames.names(for: features.groups)
            let totals = modalityTotals
            let norm = totals.reduce(0) { $0 + abs($1) }
            let shares = totals.map { norm > 0 ? abs($0) / norm : 0 }
            out["modalities"] = .array(features.groups.indices.map { g in
                ["name": .string(features.groups[g].name), "total": .number(totals[g]), "share": .number(shares[g])]
            })
            let order = features.values.indices.sorted { abs(features.values[$0]) > abs(features.values[$1]) }
            out["top_features"] = .array(order.prefix(topFeatures).compactMap { i in
                i < names.count ? ["name": .string(names[i]), "attribution": .number(Double(features.values[i]))] : nil
            })
            out["feature_attributions"] = numbers(features.values)
        }
        if let tokens {
            out["tokens"] = .array(zip(tokens.tokens, tokens.values).map { ["token": .string($0), "attribution": .number(Double($1))] })
        }
        if let waveform {
            var w: [String: JSONValue] = ["sample_rate": .number(Double(waveform.sampleRate)),
                                          "samples": .number(Double(waveform.samples.count))]
            if let ig = waveform.integratedGradients { w["integrated_gradients"] = numbers(ig) }
            if let occ = waveform.occlusion { w["occlusion"] = numbers(occ) }
            out["waveform"] = .object(w)
        }
        return .object(out)
    }

    /// A standalone HTML page: header (target, prediction, scores, method, delta) and one inline SVG per part.
    public func html() -> String {
        let esc = AttributionPlots.escape
        var body = "<h1>\(esc(title))</h1>"
        body += "<p>Explained class <b>\(esc(className(target)))</b>; predicted <b>\(esc(className(predicted)))</b>. "
            + "Method: \(esc(method))."
        if let delta { body += " Convergence delta \(AttributionPlots.label(Double(delta)))." }
        body += "</p><p class=\"scores\">" + scores.indices.map {
            "\(esc(className($0))) \(AttributionPlots.label(Double(scores[$0])))"
        }.joined(separator: " · ") + "</p>"
        body += "<p class=\"legend\">Red pushes the explained class's score up, blue pushes it down.</p>"
        if let w = waveform {
            body += "<figure>" + AttributionPlots.waveform(samples: w.samples, sampleRate: w.sampleRate,
                                                           ig: w.integratedGradients, occlusion: w.occlusion,
                                                           title: "Attribution over the waveform") + "</figure>"
        }
        if let f = features {
            body += "<figure>" + AttributionPlots.modalityShares(groups: f.groups.map(\.name), totals: modalityTotals,
                                                                 title: "Modality shares") + "</figure>"
            body += "<figure>" + AttributionPlots.featureBars(names: FeatureNames.names(for: f.groups), values: f.values,
                                                              title: "Top features") + "</figure>"
        }
        if let t = tokens {
            body += "<figure>" + AttributionPlots.tokens(t.tokens, values: t.values, title: "Token attributions") + "</figure>"
        }
        return "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(esc(title))</title>"
            + "<style>body{font-family:Helvetica,Arial,sans-serif;max-width:960px;margin:2em auto;color:#222}"
            + "figure{margin:1.5em 0}.legend,.scores{color:#555}</style></head><body>\(body)</body></html>"
    }
}

/// Batch mode: per-class mean modality totals over many explained predictions.
public struct ClassModalitySummary: Sendable {
    /// Group names, in order.
    public var groups: [String]
    /// Class names, indexed by class.
    public var classNames: [String]
    /// Σ totals per class.
    private var sums: [Int: [Double]] = [:]
    /// Predictions per class.
    private var counts: [Int: Int] = [:]

    /// An empty summary.
    public init(groups: [String], classNames: [String]) {
        self.groups = groups
        self.classNames = classNames
    }

    /// Adds one prediction's per-group totals under class `label`.
    public mutating func add(label: Int, totals: [Double]) {
        let base = sums[label] ?? [Double](repeating: 0, count: groups.count)
        sums[label] = zip(base, totals).map { $0 + $1 }
        counts[label, default: 0] += 1
    }

    /// Mean totals per class, classes in index order: `[(class, n, [G])]`.
    public var means: [(label: Int, count: Int, totals: [Double])] {
        sums.keys.sorted().compactMap { k in
            guard let s = sums[k], let n = counts[k], n > 0 else { return nil }
            return (k, n, s.map { $0 / Double(n) })
        }
    }

    /// The per-class stacked-bar figure.
    public func svg(title: String = "Modality shares per class (mean totals)") -> String {
        AttributionPlots.classModalityShares(
            rows: means.map { m in ("\(m.label < classNames.count ? classNames[m.label] : "class \(m.label)") (n=\(m.count))", m.totals) },
            groups: groups, title: title)
    }

    /// As JSON: `{"class": {"n": Int, "totals": {group: Double}}}`.
    public func json() -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: means.map { m in
            (m.label < classNames.count ? classNames[m.label] : "class \(m.label)",
             JSONValue.object(["n": .number(Double(m.count)),
                               "totals": .object(Dictionary(uniqueKeysWithValues: zip(groups, m.totals.map { JSONValue.number($0) })))]))
        }))
    }
}
