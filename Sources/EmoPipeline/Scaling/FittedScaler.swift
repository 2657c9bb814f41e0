import EmoCore
import Foundation

/// Per-column affine map `x' = (x − shift) / scale`.
public struct ColumnAffine: Sendable, Equatable, Codable {
    /// Subtracted first, one per column.
    public var shift: [Double]
    /// Divided by next, one per column (never zero: a constant column gets 1, as scikit-learn does).
    public var scale: [Double]

    /// The map `(x − shift) / scale`, one entry per column in each.
    public init(shift: [Double], scale: [Double]) {
        self.shift = shift
        self.scale = scale
    }
}

/// How many values were imputed (non-finite values replaced by the training mean), per feature column.
public struct ImputationReport: Sendable, Equatable, Codable {
    /// Rows looked at.
    public var rows: Int
    /// Imputed values per column, `C` entries.
    public var perFeature: [Int]
    /// Sum of `perFeature`.
    public var total: Int { perFeature.reduce(0, +) }

    /// The columns with at least one imputed value, as "group[j]" → count, using `layout` for names.
    public func nonZero(layout: FeatureLayout) -> [(feature: String, count: Int)] {
        perFeature.enumerated().filter { $0.element > 0 }.map { (layout.columnName($0.offset), $0.element) }
    }
}

/// A scaler fitted on the training rows of one split: it can only transform (fitting lives on `ScalingSpec`).
///
/// Its JSON form (`jsonData()`, `load(from:)`) ships inside a trained pipeline bundle.
public struct FittedScaler: Sendable, Equatable, Codable {
    /// The spec it was fitted from.
    public let spec: ScalingSpec
    /// The column layout it expects.
    public let layout: FeatureLayout
    /// Training-row mean of each column over its finite values (0 for a column with none): what NaNs become.
    public let imputationMeans: [Double]
    /// Statistics over all training rows.
    public let global: ColumnAffine
    /// Per-speaker statistics over each training speaker's rows (empty unless `spec.perSpeaker`).
    public let speakers: [String: ColumnAffine]
    /// Number of training rows fitted on.
    public let fittedRows: Int
    /// Values imputed among the training rows while fitting.
    public let fitImputation: ImputationReport

    init(spec: ScalingSpec, layout: FeatureLayout, imputationMeans: [Double], global: ColumnAffine,
         speakers: [String: ColumnAffine], fittedRows: Int, fitImputation: ImputationReport) {
        self.spec = spec
        self.layout = layout
        self.imputationMeans = imputationMeans
        self.global = global
        self.speakers = speakers
        self.fittedRows = fittedRows
        self.fitImputation = fitImputation
    }

    /// This scaler with per-speaker statistics off: every row through the global training statistics (what a
    /// per-speaker scaler can do for a clip whose speaker is not known).
    public var globalOnly: FittedScaler {
        var plain = spec
        plain.perSpeaker = false
        return FittedScaler(spec: plain, layout: layout, imputationMeans: imputationMeans, global: global, speakers: [:],
                            fittedRows: fittedRows, fitImputation: fitImputation)
    }

    /// Sorted-key JSON bytes of this scaler.
    public func jsonData() throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return try enc.encode(self)
    }

    /// Reads a scaler written by `jsonData()`.
    public static func load(from url: URL) throws(ScalingError) -> FittedScaler {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .unreadable(path: url.path, why: "the file is missing or not readable (a bundle folder needs bundle.json, scaler.json, fusion.state and classifier.state)")
        }
        return try load(data: data, path: url.path)
    }

    /// Decodes and validates scaler JSON; `path` names it in errors.
    public static func load(data: Data, path: String) throws(ScalingError) -> FittedScaler {
        let url = URL(fileURLWithPath: path)
        let scaler: FittedScaler
        do {
            scaler = try JSONDecoder().decode(FittedScaler.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw .unreadable(path: url.path, why: "not a scaler written by EmoKit: missing \"\(key.stringValue)\"")
        } catch {
            throw .unreadable(path: url.path, why: "not a scaler written by EmoKit (\(error))")
        }
        if let problem = scaler.problem {
            throw .unreadable(path: url.path, why: "\(problem); the file is damaged or was edited (retrain, or restore it from the run's bundle)")
        }
        return scaler
    }

    /// What makes this scaler unusable, if anything: a vector whose length is not the layout's width (it would be
    /// read out of bounds), a non-finite statistic, a zero or negative scale.
    public var problem: String? {
        guard !layout.groups.isEmpty, layout.groups.allSatisfy({ $0.width > 0 }) else { return "the layout has no columns" }
        // Summed with overflow checks: `layout.width` traps on widths a damaged file can hold (Int.max + 2).
        var c = 0
        for g in layout.groups {
            let (sum, overflow) = c.addingReportingOverflow(g.width)
            if overflow { return "the layout's group widths add up to more columns than an Int holds" }
            c = sum
        }
        func check(_ name: String, _ v: [Double], positive: Bool = false) -> String? {
            guard v.count == c else { return "\(name) has \(v.count) values for \(c) feature columns" }
            if let i = v.firstIndex(where: { !$0.isFinite || (positive && $0 <= 0) }) {
                return "\(name)[\(i)] is \(v[i]) (\(positive ? "must be finite and > 0" : "must be finite"))"
            }
            return nil
        }
        if let p = check("imputationMeans", imputationMeans) { return p }
        if let p = check("global.shift", global.shift) ?? check("global.scale", global.scale, positive: true) { return p }
        for (speaker, a) in speakers.sorted(by: { $0.key < $1.key }) {
            if let p = check("speakers[\(speaker)].shift", a.shift) ?? check("speakers[\(speaker)].scale", a.scale, positive: true) { return p }
        }
        return nil
    }
}

/// Features after scaling, with what was done to get there.
public struct ScaledFeatures: Sendable, Equatable {
    /// Scaled values `[N, C]`.
    public var values: NDArray  // [N, C]
    /// Values imputed in these rows.
    public var imputation: ImputationReport
    /// Speakers without training statistics that per-speaker scaling met, sorted (empty otherwise).
    public var unseenSpeakers: [String]
}
