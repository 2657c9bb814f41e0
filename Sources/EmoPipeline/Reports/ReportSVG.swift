/// Small inline-SVG plot builders for the HTML report: no JavaScript, no external files.
///
/// Every function returns one `<svg>` element as a string, sized in CSS pixels with a `viewBox` so it scales.
public enum ReportSVG {
    /// Escapes text for HTML/SVG content and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// A number with `digits` decimals for SVG coordinates and labels.
    static func n(_ x: Double, _ digits: Int = 1) -> String { MeanStd.fixed(x, digits) }

    /// Colours for series, in order (colour-blind-safe Okabe–Ito palette).
    public static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

    /// Confusion-matrix heatmap: rows true class, columns predicted, each cell coloured by its row-normalised
    /// share (recall for the diagonal) and labelled with its count.
    public static func confusionMatrix(_ matrix: [[Int]], labels: [String], title: String) -> String {
        let k = matrix.count
        let cell = 46.0, left = 110.0, top = 60.0
        let width = left + cell * Double(k) + 20, height = top + cell * Double(k) + 70
        var s = open(width: width, height: height, title: title)
        s += text(x: left + cell * Double(k) / 2, y: 22, title, anchor: "middle", size: 15, weight: "bold")
        s += text(x: left + cell * Double(k) / 2, y: height - 12, "predicted", anchor: "middle", size: 12)
        s += "<text x=\"16\" y=\"\(n(top + cell * Double(k) / 2))\" font-size=\"12\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 16 \(n(top + cell * Double(k) / 2)))\">true</text>"
        for (i, row) in matrix.enumerated() {
            let total = max(row.reduce(0, +), 1)
            let y = top + Double(i) * cell
            s += text(x: left - 6, y: y + cell / 2 + 4, labels[safe: i] ?? "\(i)", anchor: "end", size: 11)
            for (j, count) in row.enumerated() {
                let x = left + Double(j) * cell
                let share = Double(count) / Double(total)
                s += "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(cell))\" height=\"\(n(cell))\" "
                    + "fill=\"\(heat(share))\" stroke=\"#ffffff\"><title>\(escape(labels[safe: i] ?? "")) → "
                    + "\(escape(labels[safe: j] ?? "")): \(count) (\(n(share * 100))% of row)</title></rect>"
                s += text(x: x + cell / 2, y: y + cell / 2 + 4, "\(count)", anchor: "middle", size: 12,
                          fill: share > 0.55 ? "#ffffff" : "#111111")
            }
        }
        for (j, label) in labels.enumerated() {
            let x = left + Double(j) * cell + cell / 2, y = top + cell * Double(k) + 14
            s += "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"11\" text-anchor=\"end\" "
                + "transform=\"rotate(-35 \(n(x)) \(n(y)))\">\(escape(label))</text>"
        }
        return s + "</svg>"
    }

    /// One line of a line chart.
    public struct Series: Sendable {
        /// Legend name.
        public var name: String
        /// (x, y) points; non-finite y values are skipped.
        public var points: [(Double, Double)]
        /// Dashed line (validation curves).
        public var dashed: Bool
        /// Colour; nil takes the palette's next.
        public var color: String?

        /// Creates a series.
        public init(name: String, points: [(Double, Double)], dashed: Bool = false, color: String? = nil) {
            self.name = name
            self.points = points
            self.dashed = dashed
            self.color = color
        }
    }

    /// Line chart with axes, ticks and a legend (training curves: loss or accuracy against epoch).
    public static func lineChart(_ series: [Series], title: String, xLabel: String, yLabel: String,
                                 marker: Double? = nil) -> String {
        let width = 460.0, height = 296.0, left = 56.0, right = 16.0, top = 50.0, bottom = 44.0
        let pts = series.flatMap { $0.points }.filter { $0.0.isFinite && $0.1.isFinite }
        var s = open(width: width, height: height, title: title)
        s += text(x: width / 2, y: 20, title, anchor: "middle", size: 14, weight: "bold")
        guard let xMin0 = pts.map(\.0).min(), let xMax0 = pts.map(\.0).max(),
              let yMin0 = pts.map(\.1).min(), let yMax0 = pts.map(\.1).max() else {
            return s + text(x: width / 2, y: height / 2, "no data", anchor: "middle", size: 12) + "</svg>"
        }
        let (xMin, xMax) = xMin0 == xMax0 ? (xMin0 - 1, xMax0 + 1) : (xMin0, xMax0)
        let pad = (yMax0 - yMin0) * 0.05
        let (yMin, yMax) = yMin0 == yMax0 ? (yMin0 - 1, yMax0 + 1) : (yMin0 - pad, yMax0 + pad)
        let pw = width - left - right, ph = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - xMin) / (xMax - xMin) * pw }
        func py(_ y: Double) -> Double { top + (1 - (y - yMin) / (yMax - yMin)) * ph }
        s += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(pw))\" height=\"\(n(ph))\" fill=\"#fafafa\" stroke=\"#999999\"/>"
        let yTicks = ticks(yMin, yMax), xTicks = ticks(xMin, xMax)
        for t in yTicks {
            s += "<line x1=\"\(n(left))\" x2=\"\(n(left + pw))\" y1=\"\(n(py(t)))\" y2=\"\(n(py(t)))\" stroke=\"#e3e3e3\"/>"
            s += text(x: left - 5, y: py(t) + 4, tickLabel(t, step: step(yTicks)), anchor: "end", size: 10)
        }
        for t in xTicks {
            s += text(x: px(t), y: top + ph + 15, tickLabel(t, step: step(xTicks)), anchor: "middle", size: 10)
        }
        s += text(x: left + pw / 2, y: height - 8, xLabel, anchor: "middle", size: 12)
        s += "<text x=\"14\" y=\"\(n(top + ph / 2))\" font-size=\"12\" text-anchor=\"middle\" "
            + "transform=\"rotate(-90 14 \(n(top + ph / 2)))\">\(escape(yLabel))</text>"
        if let m = marker, m >= xMin, m <= xMax {
            s += "<line x1=\"\(n(px(m)))\" x2=\"\(n(px(m)))\" y1=\"\(n(top))\" y2=\"\(n(top + ph))\" "
                + "stroke=\"#666666\" stroke-dasharray=\"2 3\"><title>best epoch \(n(m, 0))</title></line>"
        }
        for (i, ser) in series.enumerated() {
            let color = ser.color ?? palette[i % palette.count]
            let path = ser.points.filter { $0.0.isFinite && $0.1.isFinite }.map { "\(n(px($0.0), 2)),\(n(py($0.1), 2))" }
            if path.count > 1 {
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(ser.dashed ? " stroke-dasharray=\"6 4\"" : "") "
                    + "points=\"\(path.joined(separator: " "))\"/>"
            } else if let p = path.first {
                let xy = p.split(separator: ",")
                s += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"3\" fill=\"\(color)\"/>"
            }
            // Legend in one row above the plot area, so it never hides a curve.
            let lx = left + Double(i) * 110, ly = top - 10
            s += "<line x1=\"\(n(lx))\" x2=\"\(n(lx + 20))\" y1=\"\(n(ly - 4))\" y2=\"\(n(ly - 4))\" "
                + "stroke=\"\(color)\" stroke-width=\"2\"\(ser.dashed ? " stroke-dasharray=\"6 4\"" : "")/>"
            s += text(x: lx + 24, y: ly, ser.name, anchor: "start", size: 11)
        }
        return s + "</svg>"
    }

    /// Horizontal bar chart of values in [0, 1] (per-class F1), one bar per label, value printed at the bar's end.
    public static func barChart(labels: [String], values: [Double], title: String, color: String = "#0072B2") -> String {
        let bar = 22.0, gap = 6.0, left = 120.0, right = 60.0, top = 36.0
        let width = 460.0, height = top + Double(labels.count) * (bar + gap) + 30
        let pw = width - left - right
        var s = open(width: width, height: height, title: title)
        s += text(x: width / 2, y: 20, title, anchor: "middle", size: 14, weight: "bold")
        for t in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let x = left + t * pw
            s += "<line x1=\"\(n(x))\" x2=\"\(n(x))\" y1=\"\(n(top - 4))\" y2=\"\(n(height - 24))\" stroke=\"#e3e3e3\"/>"
            s += text(x: x, y: height - 10, tickLabel(t, step: 0.25), anchor: "middle", size: 10)
        }
        for (i, label) in labels.enumerated() {
            let v = values[safe: i] ?? 0
            let y = top + Double(i) * (bar + gap)
            let w = max(0, min(1, v.isFinite ? v : 0)) * pw
            s += text(x: left - 6, y: y + bar / 2 + 4, label, anchor: "end", size: 11)
            s += "<rect x=\"\(n(left))\" y=\"\(n(y))\" width=\"\(n(w))\" height=\"\(n(bar))\" fill=\"\(color)\">"
                + "<title>\(escape(label)): \(n(v, 3))</title></rect>"
            s += text(x: left + w + 4, y: y + bar / 2 + 4, n(v, 3), anchor: "start", size: 11)
        }
        return s + "</svg>"
    }

    // MARK: - helpers

    static func open(width: Double, height: Double, title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width, 0))\" height=\"\(n(height, 0))\" "
            + "viewBox=\"0 0 \(n(width, 0)) \(n(height, 0))\" role=\"img\" aria-label=\"\(escape(title))\" "
            + "font-family=\"Helvetica, Arial, sans-serif\">"
    }

    static func text(x: Double, y: Double, _ content: String, anchor: String, size: Int, weight: String = "normal",
                     fill: String = "#111111") -> String {
        "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"\(size)\" text-anchor=\"\(anchor)\" font-weight=\"\(weight)\" "
            + "fill=\"\(fill)\">\(escape(content))</text>"
    }

    /// White → dark blue for a share in [0, 1].
    static func heat(_ share: Double) -> String {
        let t = max(0, min(1, share.isFinite ? share : 0))
        let r = Int((1 - t) * 247 + t * 8), g = Int((1 - t) * 251 + t * 48), b = Int((1 - t) * 255 + t * 107)
        return "rgb(\(r),\(g),\(b))"
    }

    /// About five round tick values covering [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        let span = hi - lo
        guard span > 0, span.isFinite else { return [lo] }
        let raw = span / 5
        var step = 1.0
        while step > raw { step /= 10 }
        while step * 10 <= raw { step *= 10 }
        if raw / step > 5 { step *= 5 } else if raw / step > 2 { step *= 2 }
        var t = (lo / step).rounded(.up) * step
        var out: [Double] = []
        while t <= hi + step * 1e-9 && out.count < 12 { out.append(t); t += step }
        return out
    }

    /// Spacing of evenly spaced ticks (1 for fewer than two).
    static func step(_ ticks: [Double]) -> Double { ticks.count > 1 ? ticks[1] - ticks[0] : 1 }

    /// `t` with as many decimals as the tick spacing needs, the same for every tick of an axis.
    static func tickLabel(_ t: Double, step: Double) -> String {
        var digits = 0, s = step
        while s < 0.999 && digits < 6 { s *= 10; digits += 1 }
        let scaled = step * pow10(digits)
        if abs(scaled - scaled.rounded()) > 1e-6 && digits < 6 { digits += 1 }
        return n(t, digits)
    }

    static func pow10(_ d: Int) -> Double { (0..<d).reduce(1.0) { r, _ in r * 10 } }
}

fileprivate extension Array {
    /// The element at `i`, or nil outside the array.
    subscript(safe i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
