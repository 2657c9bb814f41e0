/// How one feature group is rescaled.
public enum ScalingMethod: String, Sendable, Codable, CaseIterable {
    /// Unchanged (the "unscaled" column of the reference table); NaNs are still imputed.
    case none
    /// `(x − mean) / std`, population std (ddof 0), like scikit-learn's StandardScaler.
    case standard
    /// `(x − min) / (max − min)` into [0, 1], like MinMaxScaler.
    case minMax = "min-max"
    /// `(x − median) / (q75 − q25)`, linear-interpolated quantiles, like RobustScaler.
    case robust
}

/// Whether statistics are kept per column or shared by all columns of a group.
public enum ScalingStatistics: String, Sendable, Codable, CaseIterable {
    /// One shift and scale per column (scikit-learn's behaviour).
    case perFeature = "per-feature"
    /// One shift and scale per feature group, over all its values (keeps relative scale inside an embedding).
    case perGroup = "per-group"
}

/// What per-speaker scaling does with a speaker that has no training rows (every test speaker of a
/// speaker-independent split).
public enum UnseenSpeakerPolicy: String, Sendable, Codable, CaseIterable {
    /// Use the statistics of all training rows (strict: no statistic comes from test data).
    case globalTrain = "global-train"
    /// Use the speaker's own feature statistics from the rows being transformed (transductive: unlabelled test
    /// features are read, labels never); reported as such.
    case ownFeatures = "own-features"
}

/// An unfitted scaler: what the pipeline spec's `scaling` field holds.
///
/// JSON: `{"method": "standard", "groups": {"wav2vec2": "none"}, "statistics": "per-feature",
/// "perSpeaker": false, "unseenSpeakers": "global-train"}`; only `method` is required.
/// Non-finite values (NaN, ±inf) are always imputed with the training rows' column mean before scaling.
public struct ScalingSpec: Sendable, Equatable, Codable {
    /// Method for every group not named in `groups`.
    public var method: ScalingMethod
    /// Per-group overrides: group name → method.
    public var groups: [String: ScalingMethod]
    /// Per-column or per-group statistics.
    public var statistics: ScalingStatistics
    /// Normalise each speaker with that speaker's own statistics.
    public var perSpeaker: Bool
    /// What per-speaker scaling does for speakers without training rows.
    public var unseenSpeakers: UnseenSpeakerPolicy

    /// Creates a spec.
    public init(method: ScalingMethod, groups: [String: ScalingMethod] = [:], statistics: ScalingStatistics = .perFeature,
                perSpeaker: Bool = false, unseenSpeakers: UnseenSpeakerPolicy = .globalTrain) {
        self.method = method
        self.groups = groups
        self.statistics = statistics
        self.perSpeaker = perSpeaker
        self.unseenSpeakers = unseenSpeakers
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case method, groups, statistics, perSpeaker, unseenSpeakers }

    /// Decodes, with defaults for every field but `method`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        method = try c.decode(ScalingMethod.self, forKey: .method)
        groups = try c.decodeIfPresent([String: ScalingMethod].self, forKey: .groups) ?? [:]
        statistics = try c.decodeIfPresent(ScalingStatistics.self, forKey: .statistics) ?? .perFeature
        perSpeaker = try c.decodeIfPresent(Bool.self, forKey: .perSpeaker) ?? false
        unseenSpeakers = try c.decodeIfPresent(UnseenSpeakerPolicy.self, forKey: .unseenSpeakers) ?? .globalTrain
    }

    /// Short label for tables: "scaled (standard)" or "unscaled".
    public var displayName: String {
        if method == .none && groups.values.allSatisfy({ $0 == .none }) { return "unscaled" }
        return "scaled (\(method.rawValue)\(perSpeaker ? ", per speaker" : ""))"
    }
}
