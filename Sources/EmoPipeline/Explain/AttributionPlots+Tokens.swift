import Foundation

extension AttributionPlots {
    /// Transcript tokens laid out as text, each on a background shaded by its attribution (red up, blue down);
    /// hovering shows the value. Sub-word markers are dropped for display: "Ġ" (byte-level BPE, as RoBERTa
    /// writes a leading space) starts a new word; "##" (WordPiece) continues one.
    public static func tokens(_ tokens: [String], values: [Float], title: String, width: Double = 640) -> String {
        let count = min(tokens.count, values.count)
        let scale = maxAbs(values.prefix(count).map(Double.init))
        let charWidth = 7.2, lineHeight = 24.0, left = 8.0, top = 30.0
        var placed: [(x: Double, line: Int, w: Double, text: String, value: Double)] = []
        let byteLevel = tokens.contains { $0.hasPrefix("Ġ") }             // RoBERTa-style: pieces without Ġ continue
        var x = left, line = 0
        for i in 0..<count {
            var text = tokens[i]
            var space = i > 0 && !byteLevel
            if text.hasPrefix("Ġ") {
                text.removeFirst()
                space = i > 0
            } else if text.hasPrefix("##") {
                text.removeFirst(2)
                space = false
            }
            let w = max(8, Double(text.count) * charWidth + 4)
            if space { x += 4 }
            if x + w > width - left && x > left { x = left; line += 1 }
            placed.append((x, line, w, text, Double(values[i])))
            x += w
        }
        let height = top + Double(line + 1) * lineHeight + 8
        var svg = open(width: width, height: height, title: title)
        for p in placed {
            let y = top + Double(p.line) * lineHeight
            svg += "<rect x=\"\(fmt(p.x))\" y=\"\(fmt(y))\" width=\"\(fmt(p.w))\" height=\"\(fmt(lineHeight - 4))\" rx=\"3\" "
                + "\(fill(p.value, scale: scale))><title>\(escape(p.text)): \(label(p.value))</title></rect>"
            let dark = scale > 0 && abs(p.value) / scale > 0.6                  // white text on strong shades
            svg += "<text x=\"\(fmt(p.x + 2))\" y=\"\(fmt(y + 15))\" font-family=\"Menlo, monospace\" "
                + "fill=\"\(dark ? "#ffffff" : ink)\">\(escape(p.text))</text>"
        }
        return svg + "</svg>"
    }
}
