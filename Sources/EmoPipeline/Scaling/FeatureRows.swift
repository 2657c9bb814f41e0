import EmoCore

/// Row access to a feature matrix `[N, C]`: the only way a scaler reads data, so a test can watch which rows it reads.
public protocol FeatureRows {
    /// `N`: number of items.
    var rowCount: Int { get }
    /// `C`: number of feature columns (all groups side by side).
    var columnCount: Int { get }
    /// The `C` values of row `i`.
    func row(_ i: Int) -> ArraySlice<Float>
}

/// The column layout of a feature matrix: named feature groups, side by side, in order.
public struct FeatureLayout: Sendable, Equatable, Codable {
    /// One feature group: its name ("handcrafted", "wav2vec2") and width in columns.
    public struct Group: Sendable, Equatable, Codable {
        /// Group name as in the pipeline spec.
        public var name: String
        /// Number of columns.
        public var width: Int
        /// Creates a group.
        public init(name: String, width: Int) { self.name = name; self.width = width }
    }

    /// Groups in column order.
    public var groups: [Group]

    /// Creates a layout.
    public init(groups: [Group]) { self.groups = groups }

    /// A layout with one group named `name` covering `width` columns.
    public static func single(_ name: String = "features", width: Int) -> FeatureLayout {
        FeatureLayout(groups: [Group(name: name, width: width)])
    }

    /// Total width `C`.
    public var width: Int { groups.reduce(0) { $0 + $1.width } }

    /// Each group's column range, in order.
    public var ranges: [(name: String, columns: Range<Int>)] {
        var start = 0
        return groups.map { g in
            defer { start += g.width }
            return (g.name, start..<(start + g.width))
        }
    }

    /// "group[j]" name of column `c` (for imputation reports).
    public func columnName(_ c: Int) -> String {
        for r in ranges where r.columns.contains(c) { return "\(r.name)[\(c - r.columns.lowerBound)]" }
        return "column[\(c)]"
    }
}

/// A feature matrix `[N, C]` held as an `NDArray`, with its group layout.
public struct FeatureTable: FeatureRows, Sendable, Equatable {
    /// Values, shape `[N, C]`.
    public var values: NDArray  // [N, C]
    /// Column layout; `layout.width == C`.
    public var layout: FeatureLayout

    /// Wraps `values` (rank 2) with `layout`; fails when the widths disagree.
    public init(values: NDArray, layout: FeatureLayout) throws(ScalingError) {
        guard values.rank == 2, values.shape[1] == layout.width else {
            throw .shape("feature table is \(values.shape) but the layout is \(layout.width) columns wide")
        }
        self.values = values
        self.layout = layout
    }

    /// `N`.
    public var rowCount: Int { values.shape[0] }
    /// `C`.
    public var columnCount: Int { values.shape[1] }
    /// The `C` values of row `i` (a slice of `values.data`, no copy).
    public func row(_ i: Int) -> ArraySlice<Float> {
        let c = columnCount
        return values.data[(i * c)..<((i + 1) * c)]
    }
}

/// Why a scaler could not be fitted or applied.
public enum ScalingError: Error, CustomStringConvertible, Equatable {
    /// Shapes or widths disagree.
    case shape(String)
    /// The split's training part is empty.
    case noTrainingRows
    /// Per-speaker scaling without a speaker for every row.
    case missingSpeakers(rows: Int, speakers: Int)
    /// A spec names a group the layout lacks.
    case unknownGroup(String, known: [String])
    /// A JSON scaler file could not be read.
    case unreadable(path: String, why: String)

    /// The message, naming what is wrong and what to do.
    public var description: String {
        switch self {
        case .shape(let why): return "scaling: \(why)"
        case .noTrainingRows: return "scaling: the split has no training rows to fit on: check the split protocol"
        case let .missingSpeakers(rows, speakers):
            return "per-speaker scaling needs one speaker per row: \(rows) rows, \(speakers) speakers given; "
                + "pass the items' speakers or turn perSpeaker off"
        case let .unknownGroup(name, known):
            return "scaling names feature group '\(name)', which the features lack (have: \(known.joined(separator: ", ")))"
        case let .unreadable(path, why): return "cannot read scaler \(path): \(why)"
        }
    }
}
