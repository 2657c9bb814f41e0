import Foundation

extension AttributionPlots {
    /// Attribution over a waveform, as in the MELD study's figures: the waveform envelope, then Integrated
    /// Gradients, occlusion, and their difference, each as one bar per time bin (attributions summed within a bin).
    ///
    /// The difference panel compares shapes, not units: IG and occlusion are each divided by their own
    /// max |bin|, then `IG − occlusion` is drawn (range −2…2). Missing methods leave their panels out.
    /// - Parameters:
    ///   - samples: the clip `[T]`.
    ///   - sampleRate: samples per second (for the time axis).
    ///   - ig: Integrated Gradients per sample `[T]`, or nil.
    ///   - occlusion: occlusion attribution per sample `[T]`, or nil.
    ///   - bins: time bins across the width.
    public static func waveform(samples: [Float], sampleRate: Int, ig: [Float]?, occlusion: [Float]?,
                                title: String, width: Double = 900, bins: Int = 300) -> String {
        let left = 70.0, right = 12.0, panelHeight = 90.0, gap = 22.0, top = 28.0
        var panels: [(name: String, values: [Double], scale: Double, envelope: Bool)] = []   // scale = ±axis
        let envelope = envelopeBins(samples, bins: bins)
        panels.append(("waveform", envelope.map { $0.1 }, max(1e-12, maxAbs(envelope.flatMap { [$0.0, $0.1] })), true))
        let igBins = ig.map { binSums($0, bins: bins) }
        let occBins = occlusion.map { binSums($0, bins: bins) }
        if let igBins { panels.append(("Integrated Gradients (max |bin| \(label(maxAbs(igBins))))", igBins, maxAbs(igBins), false)) }
        if let occBins { panels.append(("Occlusion (max |bin| \(label(maxAbs(occBins))))", occBins, maxAbs(occBins), false)) }
        if let igBins, let occBins, igBins.count == occBins.count {
            let a = maxAbs(igBins), b = maxAbs(occBins)
            let diff = zip(igBins, occBins).map { (a > 0 ? $0 / a : 0) - (b > 0 ? $1 / b : 0) }
            panels.append(("IG − occlusion (each ÷ its max)", diff, 2, false))
        }
        let height = top + Double(panels.count) * (panelHeight + gap) + 20
        let plotWidth = width - left - right
        var svg = open(width: width, height: height, title: title)
        for (p, panel) in panels.enumerated() {
            let y0 = top + Double(p) * (panelHeight + gap) + gap
            let mid = y0 + panelHeight / 2
            let n = max(1, panel.values.count)
            let barWidth = plotWidth / Double(n)
            svg += "<text x=\"\(fmt(left))\" y=\"\(fmt(y0 - 5))\" fill=\"\(ink)\">\(escape(panel.name))</text>"
            svg += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(mid))\" x2=\"\(fmt(left + plotWidth))\" y2=\"\(fmt(mid))\" stroke=\"\(rule)\"/>"
            svg += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y0 + 10))\" text-anchor=\"end\" font-size=\"10\" fill=\"\(ink)\">\(label(panel.scale))</text>"
            svg += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y0 + panelHeight))\" text-anchor=\"end\" font-size=\"10\" fill=\"\(ink)\">\(label(-panel.scale))</text>"
            let half = panelHeight / 2
            if panel.envelope {
                var path = ""
                for (i, (lo, hi)) in envelope.enumerated() {
                    let x = left + (Double(i) + 0.5) * barWidth
                    path += "M\(fmt(x)) \(fmt(mid - hi / panel.scale * half))V\(fmt(mid - lo / panel.scale * half))"
                }
                svg += "<path d=\"\(path)\" stroke=\"#555555\" stroke-width=\"\(fmt(max(0.5, barWidth * 0.8)))\"/>"
            } else {
                for (i, v) in panel.values.enumerated() where v != 0 && panel.scale > 0 {
                    let h = min(1, abs(v) / panel.scale) * half
                    let y = v >= 0 ? mid - h : mid
                    svg += "<rect x=\"\(fmt(left + Double(i) * barWidth))\" y=\"\(fmt(y))\" width=\"\(fmt(max(0.5, barWidth)))\" "
                        + "height=\"\(fmt(max(0.3, h)))\" fill=\"\(v >= 0 ? positive : negative)\"/>"
                }
            }
        }
        let duration = Double(samples.count) / Double(max(1, sampleRate))
        let axisY = height - 8
        for k in 0...4 {
            let x = left + plotWidth * Double(k) / 4
            svg += "<text x=\"\(fmt(x))\" y=\"\(fmt(axisY))\" text-anchor=\"middle\" font-size=\"10\" fill=\"\(ink)\">"
                + "\(label(duration * Double(k) / 4)) s</text>"
        }
        return svg + "</svg>"
    }

    /// (min, max) of the samples in each bin.
    static func envelopeBins(_ samples: [Float], bins: Int) -> [(Double, Double)] {
        let n = min(max(1, bins), max(1, samples.count))
        guard !samples.isEmpty else { return [] }
        return (0..<n).map { i in
            let slice = samples[(i * samples.count / n)..<((i + 1) * samples.count / n)]
            return (Double(slice.min() ?? 0), Double(slice.max() ?? 0))
        }
    }
}
