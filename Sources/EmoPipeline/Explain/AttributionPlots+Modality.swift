import Foundation

extension AttributionPlots {
    /// Per-modality totals of one attribution row: Σ over each group's positions (same definition as the
    /// explainers plugin's `ModalityTotals`). Positions outside the ranges are ignored.
    public static func modalityTotals(_ row: [Float], groups: [(name: String, range: Range<Int>)]) -> [Double] {
        groups.map { g in g.range.clamped(to: 0..<row.count).reduce(0.0) { $0 + Double(row[$1]) } }
    }

    /// One stacked bar of modality shares `|total_g| / Σ|total|` for one prediction, with the signed totals.
    public static func modalityShares(groups: [String], totals: [Double], title: String, width: Double = 640) -> String {
        classModalityShares(rows: [("this prediction", totals)], groups: groups, title: title, width: width)
    }

    /// One stacked bar per row (a prediction, or a class's mean totals) of modality shares `|total_g| / Σ|total|`.
    /// Segment colour is the modality (legend below); its label gives the share and the sign of the total.
    public static func classModalityShares(rows: [(label: String, totals: [Double])], groups: [String], title: String,
                                           width: Double = 640) -> String {
        let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#e15759", "#9c755f"]
        let labelWidth = 130.0, rowHeight = 26.0, top = 30.0
        let barWidth = width - labelWidth - 16
        let height = top + Double(rows.count) * rowHeight + 34
        var svg = open(width: width, height: height, title: title)
        for (r, row) in rows.enumerated() {
            let y = top + Double(r) * rowHeight
            let norm = row.totals.reduce(0) { $0 + abs($1) }
            svg += "<text x=\"\(fmt(labelWidth - 6))\" y=\"\(fmt(y + 15))\" text-anchor=\"end\" fill=\"\(ink)\">\(escape(row.label))</text>"
            var x = labelWidth
            for (g, total) in row.totals.enumerated() where norm > 0 && total != 0 {
                let share = abs(total) / norm, w = share * barWidth
                svg += "<rect x=\"\(fmt(x))\" y=\"\(fmt(y + 3))\" width=\"\(fmt(w))\" height=\"\(fmt(rowHeight - 8))\" "
                    + "fill=\"\(palette[g % palette.count])\"><title>\(escape(g < groups.count ? groups[g] : "group \(g)")): "
                    + "total \(label(total)), share \(label(share * 100)) %</title></rect>"
                if w > 44 {
                    svg += "<text x=\"\(fmt(x + w / 2))\" y=\"\(fmt(y + 15))\" text-anchor=\"middle\" font-size=\"11\" fill=\"#ffffff\">"
                        + "\(total < 0 ? "−" : "+")\(Int((share * 100).rounded())) %</text>"
                }
                x += w
            }
        }
        var lx = labelWidth
        let ly = height - 12
        for (g, name) in groups.enumerated() {
            svg += "<rect x=\"\(fmt(lx))\" y=\"\(fmt(ly - 9))\" width=\"10\" height=\"10\" fill=\"\(palette[g % palette.count])\"/>"
            svg += "<text x=\"\(fmt(lx + 14))\" y=\"\(fmt(ly))\" fill=\"\(ink)\">\(escape(name))</text>"
            lx += 24 + Double(name.count) * 7
        }
        return svg + "</svg>"
    }
}
