import Foundation

/// Inline SVG figures for attribution reports (no scripts, no external fonts; each figure is one `<svg>` element
/// that an HTML report embeds as is).
///
/// Colour convention everywhere: red = pushes the explained class's score up, blue = pushes it down; the
/// intensity is |value| / max|value| of the figure. Figures:
/// - `waveform(...)`: waveform envelope, IG, occlusion and their difference over time (AttributionPlots+Waveform)
/// - `featureBars(...)`: top features by |attribution| with readable names (AttributionPlots+Features)
/// - `modalityShares(...)`, `classModalityShares(...)`: how much each modality contributed (AttributionPlots+Modality)
/// - `tokens(...)`: transcript tokens shaded by attribution (AttributionPlots+Tokens)
public enum AttributionPlots {
    /// Positive attribution colour.
    static let positive = "#c0392b"
    /// Negative attribution colour.
    static let negative = "#2e6fba"
    /// Text colour.
    static let ink = "#222222"
    /// Axis and grid colour.
    static let rule = "#bbbbbb"
    /// Font stack.
    static let font = "font-family=\"Helvetica, Arial, sans-serif\""

    /// Escapes text for SVG/XML content and attribute values (the report's one escaping rule).
    static func escape(_ s: String) -> String { ReportSVG.escape(s) }

    /// A coordinate or size with at most two decimals.
    static func fmt(_ v: Double) -> String {
        guard v.isFinite else { return "0" }
        let r = (v * 100).rounded() / 100
        return r == r.rounded() ? String(Int(r)) : String(format: "%.2f", r)
    }

    /// A value for labels, in 3 significant digits.
    static func label(_ v: Double) -> String {
        guard v.isFinite else { return "n/a" }
        return String(format: "%.3g", v)
    }

    /// Red or blue with opacity |v| / scale.
    static func fill(_ v: Double, scale: Double) -> String {
        let a = scale > 0 ? min(1, abs(v) / scale) : 0
        return "fill=\"\(v >= 0 ? positive : negative)\" fill-opacity=\"\(fmt(max(0.08, a)))\""
    }

    /// Opens an SVG of `width` × `height` with a title line at the top.
    static func open(width: Double, height: Double, title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(fmt(width))\" height=\"\(fmt(height))\" "
            + "viewBox=\"0 0 \(fmt(width)) \(fmt(height))\" role=\"img\" \(font) font-size=\"12\">"
            + "<title>\(escape(title))</title>"
            + "<text x=\"8\" y=\"16\" font-size=\"14\" font-weight=\"bold\" fill=\"\(ink)\">\(escape(title))</text>"
    }

    /// Largest |v|.
    static func maxAbs<S: Sequence>(_ values: S) -> Double where S.Element == Double {
        values.reduce(0) { max($0, abs($1)) }
    }

    /// Sums `values` into `bins` consecutive bins of (nearly) equal length; fewer bins when there are fewer values.
    static func binSums(_ values: [Float], bins: Int) -> [Double] {
        let n = min(max(1, bins), max(1, values.count))
        guard !values.isEmpty else { return [] }
        return (0..<n).map { i in
            let a = i * values.count / n, b = (i + 1) * values.count / n
            return values[a..<b].reduce(0.0) { $0 + Double($1) }
        }
    }
}
