import Foundation

extension AttributionPlots {
    /// Horizontal bars of the `top` features with the largest |attribution|, largest first, each labelled with its
    /// readable name ("MFCC 3 mean", "pitch mean", "wav2vec2 dim 17") and value.
    public static func featureBars(names: [String], values: [Float], title: String, top: Int = 20,
                                   width: Double = 640) -> String {
        let count = min(names.count, values.count)
        let order = (0..<count).sorted { abs(values[$0]) > abs(values[$1]) }.prefix(max(0, top))
        let rowHeight = 18.0, top0 = 30.0, labelWidth = 200.0, valueWidth = 70.0
        let height = top0 + Double(order.count) * rowHeight + 12
        let scale = maxAbs(order.map { Double(values[$0]) })
        let barSpace = width - labelWidth - valueWidth - 16
        let zeroX = labelWidth + barSpace / 2
        var svg = open(width: width, height: height, title: title)
        svg += "<line x1=\"\(fmt(zeroX))\" y1=\"\(fmt(top0 - 4))\" x2=\"\(fmt(zeroX))\" y2=\"\(fmt(height - 8))\" stroke=\"\(rule)\"/>"
        for (row, i) in order.enumerated() {
            let v = Double(values[i])
            let y = top0 + Double(row) * rowHeight
            let w = scale > 0 ? abs(v) / scale * barSpace / 2 : 0
            svg += "<text x=\"\(fmt(labelWidth - 6))\" y=\"\(fmt(y + 12))\" text-anchor=\"end\" fill=\"\(ink)\">\(escape(names[i]))</text>"
            svg += "<rect x=\"\(fmt(v >= 0 ? zeroX : zeroX - w))\" y=\"\(fmt(y + 2))\" width=\"\(fmt(w))\" height=\"\(fmt(rowHeight - 5))\" "
                + "fill=\"\(v >= 0 ? positive : negative)\"/>"
            svg += "<text x=\"\(fmt(width - 8))\" y=\"\(fmt(y + 12))\" text-anchor=\"end\" font-size=\"11\" fill=\"\(ink)\">\(label(v))</text>"
        }
        return svg + "</svg>"
    }
}

/// Readable names for the positions of a fused feature vector.
public enum FeatureNames {
    /// One feature group of the fused vector: its name, width, and optional per-dimension names.
    public struct Group: Sendable, Equatable {
        /// Group name ("wav2vec2", "handcrafted", "roberta").
        public var name: String
        /// Number of positions.
        public var width: Int
        /// Names of the positions ("MFCC 3 mean", ...), or nil to use "<group> dim <i>".
        public var dimensionNames: [String]?

        /// Creates a group.
        public init(name: String, width: Int, dimensionNames: [String]? = nil) {
            self.name = name
            self.width = width
            self.dimensionNames = dimensionNames
        }
    }

    /// One name per position, groups in order: the group's own names where given (and of the right count),
    /// otherwise "<group> dim <i>" counted from 0 within the group.
    public static func names(for groups: [Group]) -> [String] {
        groups.flatMap { g -> [String] in
            if let d = g.dimensionNames, d.count == g.width { return d }
            return (0..<g.width).map { "\(g.name) dim \($0)" }
        }
    }

    /// Position ranges of the groups in the fused vector, in order.
    public static func ranges(for groups: [Group]) -> [(name: String, range: Range<Int>)] {
        var start = 0
        return groups.map { g in
            defer { start += g.width }
            return (g.name, start..<(start + g.width))
        }
    }
}
