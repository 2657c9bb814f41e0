import Foundation

/// The self-contained HTML report of a `MetricsReport`: inline CSS and SVG, no JavaScript, no external files.
///
/// Layout, top to bottom: reference table (rows model × scaling, columns split protocol, cells mean ± std),
/// comparison table across runs, paired tests, then one section per run with its protocol, split overlap,
/// pooled confusion-matrix heatmap, per-class F1 bars, training curves, a per-class table and every split's
/// overlap (counts and lists) with its headline metrics.
public enum HTMLReport {
    /// The whole page.
    public static func render(_ report: MetricsReport) -> String {
        var body = "<h1>\(ReportSVG.escape(report.title))</h1>\n"
        body += "<p class=\"note\">All figures are on the test parts, in percent, as mean ± std over folds × seeds; "
            + "\(ReportSVG.escape(report.stdNote)). Scalers and every other statistic were fit on training parts only.</p>\n"
        if let peer = report.peer { body += "<h2>Peer pipeline, side by side</h2>\n" + peerSection(peer) }
        if !report.runs.isEmpty {
            body += "<h2>Reference table</h2>\n"
            for metric in [SummaryMetric.accuracy, .macroF1] {
                body += referenceTable(ReferenceTable(runs: report.runs, metric: metric))
            }
            body += "<h2>Comparison across runs</h2>\n<div class=\"wide\">" + comparisonTable(report.runs) + "</div>\n"
        }
        if !report.comparisons.isEmpty { body += "<h2>Paired tests</h2>\n" + pairedTests(report.comparisons) }
        for (i, run) in report.runs.enumerated() { body += runSection(run, index: i + 1) }
        return page(title: report.title, body: body)
    }

    /// Writes `report.html` into `folder` (created if needed) and returns its URL.
    @discardableResult
    public static func write(_ report: MetricsReport, into folder: URL) throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent("report.html")
        try Data(render(report).utf8).write(to: url, options: .atomic)
        return url
    }

    // MARK: - sections

    /// The reference-table layout for one metric.
    public static func referenceTable(_ table: ReferenceTable) -> String {
        var s = "<table class=\"ref\"><caption>\(ReportSVG.escape(table.metric.title)) (%)</caption>\n<thead><tr>"
            + "<th>Model</th><th>Features</th>"
        for c in table.columns { s += "<th>\(ReportSVG.escape(c))</th>" }
        s += "</tr></thead>\n<tbody>\n"
        for row in table.rows {
            s += "<tr><td>\(ReportSVG.escape(row.model))</td><td>\(ReportSVG.escape(row.scaling))</td>"
            for cell in row.cells {
                if let c = cell {
                    s += "<td class=\"num\" title=\"n = \(c.count), ddof = \(c.ddof)\">\(c.formatted(digits: 2, scale: 100))</td>"
                } else {
                    s += "<td class=\"num missing\">—</td>"
                }
            }
            s += "</tr>\n"
        }
        return s + "</tbody></table>\n"
    }

    static func comparisonTable(_ runs: [RunResult]) -> String {
        var s = "<table><thead><tr><th>#</th><th>Model</th><th>Corpus</th><th>Split</th><th>Features</th><th>Seeds</th>"
            + "<th>n</th>"
        for m in SummaryMetric.allCases { s += "<th>\(m.title)</th>" }
        s += "<th>Test items, speaker seen in training</th><th>Test items, text seen in training</th></tr></thead><tbody>\n"
        for (i, r) in runs.enumerated() {
            let p = r.runProtocol
            s += "<tr><td>\(i + 1)</td><td>\(ReportSVG.escape(r.model))</td><td>\(ReportSVG.escape(p.corpus))</td>"
                + "<td>\(ReportSVG.escape(p.split))</td><td>\(ReportSVG.escape(p.scaling))</td>"
                + "<td>\(p.seeds.map(String.init).joined(separator: ", "))</td><td class=\"num\">\(r.folds.count)</td>"
            for m in SummaryMetric.allCases {
                s += "<td class=\"num\">\(r.summary(m)?.formatted(digits: 2, scale: 100) ?? "—")</td>"
            }
            s += "<td class=\"num\">\(overlapShare(r, \.testItemsWithSeenSpeaker))</td>"
                + "<td class=\"num\">\(overlapShare(r, \.testItemsWithSeenText))</td></tr>\n"
        }
        return s + "</tbody></table>\n"
    }

    /// "1234 / 4240 (29.1 %)" summed over folds.
    static func overlapShare(_ r: RunResult, _ key: KeyPath<SplitOverlap, Int>) -> String {
        let seen = r.folds.reduce(0) { $0 + $1.overlap[keyPath: key] }
        let total = r.folds.reduce(0) { $0 + $1.metrics.count }
        guard total > 0 else { return "—" }
        return "\(seen) / \(total) (\(MeanStd.fixed(100 * Double(seen) / Double(total), 1)) %)"
    }

    /// The peer's identity and the side-by-side table with the issue's goal (EmoKit within 1 point or better).
    static func peerSection(_ peer: PeerReport) -> String {
        if let missing = peer.missing {
            return "<p><strong>Peer unavailable:</strong> \(ReportSVG.escape(missing))</p>\n"
        }
        var s = "<p>\(ReportSVG.escape(peer.peer ?? "")); features: \(ReportSVG.escape(peer.features ?? ""))"
        if !peer.versions.isEmpty {
            s += "<br><span class=\"note\">" + ReportSVG.escape(peer.versions.sorted { $0.key < $1.key }
                .map { "\($0.key) \($0.value)" }.joined(separator: ", ")) + "</span>"
        }
        s += "</p>\n<table><thead><tr><th>Metric</th><th>EmoKit</th><th>Peer</th><th>EmoKit − peer (points)</th>"
            + "<th>Goal: within 1 point or better</th></tr></thead><tbody>\n"
        for r in peer.rows {
            s += "<tr><td>\(r.metric.title)</td><td class=\"num\">\(r.emokit.formatted(digits: 2, scale: 100))</td>"
                + "<td class=\"num\">\(r.peer.formatted(digits: 2, scale: 100))</td>"
                + "<td class=\"num\">\(MeanStd.fixed(100 * r.difference, 2))</td><td>\(r.withinOnePoint ? "met" : "not met")</td></tr>\n"
        }
        return s + "</tbody></table>\n"
    }

    static func pairedTests(_ comparisons: [RunComparison]) -> String {
        var s = "<table><thead><tr><th>A</th><th>B</th><th>Metric</th><th>Pairs</th><th>Mean A − B</th>"
            + "<th>Wilcoxon p</th><th>Sign test p</th></tr></thead><tbody>\n"
        for c in comparisons {
            func p(_ r: PairedTestResult?) -> String {
                guard let r else { return "undefined" }
                return "\(MeanStd.fixed(r.pValue, 4)) <span class=\"note\">(\(ReportSVG.escape(r.method)), n=\(r.n))</span>"
            }
            s += "<tr><td>\(ReportSVG.escape(c.a))</td><td>\(ReportSVG.escape(c.b))</td><td>\(c.metric.title)</td>"
                + "<td class=\"num\">\(c.pairs)</td><td class=\"num\">\(MeanStd.fixed(c.meanDifference * 100, 2))</td>"
                + "<td>\(p(c.wilcoxon))</td><td>\(p(c.sign))</td></tr>\n"
        }
        return s + "</tbody></table>\n"
    }

    static func runSection(_ run: RunResult, index: Int) -> String {
        let p = run.runProtocol
        var s = "<section class=\"run\"><h2>\(index). \(ReportSVG.escape(run.model))</h2>\n"
        s += "<p><b>Protocol:</b> \(ReportSVG.escape(p.corpus)); split \(ReportSVG.escape(p.split)); "
            + "\(ReportSVG.escape(p.scaling)); seeds \(p.seeds.map(String.init).joined(separator: ", ")); "
            + "\(run.folds.count) trained model\(run.folds.count == 1 ? "" : "s").</p>\n"
        if let first = run.folds.first {
            s += "<p><b>Overlap</b> (first split, \(ReportSVG.escape(first.split))): \(ReportSVG.escape(first.overlap.summary))"
            if !first.overlap.sharedSpeakers.isEmpty {
                let shown = first.overlap.sharedSpeakers.prefix(12).joined(separator: ", ")
                s += "; shared speakers: \(ReportSVG.escape(shown))\(first.overlap.sharedSpeakers.count > 12 ? ", …" : "")"
            }
            s += ".</p>\n"
            let imputed = run.folds.reduce(0) { $0 + $1.imputedValues }
            if imputed > 0 { s += "<p>\(imputed) non-finite feature values were replaced by training means.</p>\n" }
        }
        guard let classes = run.folds.first?.metrics.classes else { return s + "</section>\n" }
        s += "<div class=\"plots\">"
        s += ReportSVG.confusionMatrix(run.pooledConfusion, labels: classes,
                                       title: "Confusion matrix (summed over \(run.folds.count) test part\(run.folds.count == 1 ? "" : "s"))")
        for (corpus, matrix) in run.pooledConfusionByCorpus {
            s += ReportSVG.confusionMatrix(matrix, labels: classes, title: "Confusion matrix, \(corpus) test items only")
        }
        let f1 = classes.indices.map { c in
            MeanStd(run.folds.compactMap { $0.metrics.perClass[safeIndex: c]?.f1 }).mean
        }
        s += ReportSVG.barChart(labels: classes, values: f1, title: "Per-class F1 (mean over folds × seeds)")
        if let curves = run.folds.first(where: { $0.curves != nil })?.curves {
            s += trainingCurves(curves)
        }
        s += "</div>\n" + corpusTable(run) + perClassTable(run, classes: classes) + foldTable(run)
        return s + "</section>\n"
    }

    /// Accuracy and macro F1 per corpus beside the pooled figure (runs over several corpora only).
    static func corpusTable(_ run: RunResult) -> String {
        let accuracy = run.corpusSummaries(.accuracy), f1 = run.corpusSummaries(.macroF1)
        guard !accuracy.isEmpty else { return "" }
        var s = "<table><caption>By corpus (test items of each corpus, mean over the folds that hold some)</caption><thead><tr>"
            + "<th>Corpus</th><th>Folds</th><th>Accuracy (%)</th><th>Macro F1 (%)</th></tr></thead><tbody>\n"
        s += "<tr><td>pooled</td><td class=\"num\">\(run.folds.count)</td><td class=\"num\">\(run.summary(.accuracy)?.formatted(digits: 2, scale: 100) ?? "—")</td>"
            + "<td class=\"num\">\(run.summary(.macroF1)?.formatted(digits: 2, scale: 100) ?? "—")</td></tr>\n"
        for a in accuracy {
            let m = f1.first { $0.corpus == a.corpus }
            s += "<tr><td>\(ReportSVG.escape(a.corpus))</td><td class=\"num\">\(a.folds)</td><td class=\"num\">\(a.summary.formatted(digits: 2, scale: 100))</td>"
                + "<td class=\"num\">\(m?.summary.formatted(digits: 2, scale: 100) ?? "—")</td></tr>\n"
        }
        return s + "</tbody></table>\n"
    }

    /// Loss and accuracy against epoch; train solid, validation dashed; the kept epoch marked.
    public static func trainingCurves(_ curves: TrainingCurves) -> String {
        let e = curves.epochs
        let best = curves.bestEpoch.map(Double.init)
        func series(_ name: String, _ key: KeyPath<TrainingCurves.Epoch, Double?>, dashed: Bool, color: String) -> ReportSVG.Series? {
            let pts = e.compactMap { r in r[keyPath: key].map { (Double(r.epoch), $0) } }
            return pts.isEmpty ? nil : ReportSVG.Series(name: name, points: pts, dashed: dashed, color: color)
        }
        let loss = [ReportSVG.Series(name: "train", points: e.map { (Double($0.epoch), $0.trainLoss) }, color: ReportSVG.palette[0]),
                    series("validation", \.validationLoss, dashed: true, color: ReportSVG.palette[1])].compactMap { $0 }
        let acc = [series("train", \.trainAccuracy, dashed: false, color: ReportSVG.palette[0]),
                   series("validation", \.validationAccuracy, dashed: true, color: ReportSVG.palette[1])].compactMap { $0 }
        var s = ReportSVG.lineChart(loss, title: "Loss", xLabel: "epoch", yLabel: "cross-entropy", marker: best)
        if !acc.isEmpty { s += ReportSVG.lineChart(acc, title: "Accuracy", xLabel: "epoch", yLabel: "accuracy", marker: best) }
        return s
    }

    static func perClassTable(_ run: RunResult, classes: [String]) -> String {
        var s = "<table><caption>Per class, mean over folds × seeds</caption><thead><tr><th>Class</th><th>Precision</th>"
            + "<th>Recall</th><th>F1</th><th>Support (sum)</th><th>AUC (OvR)</th></tr></thead><tbody>\n"
        for (c, name) in classes.enumerated() {
            let per = run.folds.compactMap { $0.metrics.perClass[safeIndex: c] }
            func cell(_ v: [Double]) -> String { v.isEmpty ? "—" : MeanStd(v).formatted(digits: 3) }
            s += "<tr><td>\(ReportSVG.escape(name))</td><td class=\"num\">\(cell(per.map(\.precision)))</td>"
                + "<td class=\"num\">\(cell(per.map(\.recall)))</td><td class=\"num\">\(cell(per.map(\.f1)))</td>"
                + "<td class=\"num\">\(per.reduce(0) { $0 + $1.support })</td>"
                + "<td class=\"num\">\(cell(per.compactMap(\.auc)))</td></tr>\n"
        }
        return s + "</tbody></table>\n"
    }

    /// Every (seed, fold): its test size, overlap counts and lists, and headline metrics, in a `<details>` block.
    static func foldTable(_ run: RunResult) -> String {
        var s = "<details><summary>Every split: overlap and metrics (\(run.folds.count))</summary>\n<table><thead><tr>"
            + "<th>Seed</th><th>Split</th><th>Corpora (train / test)</th><th>Test items</th><th>Shared speakers</th><th>Test items, speaker seen</th>"
            + "<th>Shared texts</th><th>Test items, text seen</th><th>Accuracy</th><th>Macro F1</th></tr></thead><tbody>\n"
        func list(_ names: [String]) -> String {
            let shown = names.prefix(8).map(ReportSVG.escape).joined(separator: ", ")
            return "\(names.count)\(names.isEmpty ? "" : ": " + shown + (names.count > 8 ? ", …" : ""))"
        }
        for f in run.folds {
            let o = f.overlap
            let corpora = o.trainCorpora.isEmpty && o.testCorpora.isEmpty ? "–"
                : "\(o.trainCorpora.joined(separator: "+")) / \(o.testCorpora.joined(separator: "+"))"
            s += "<tr><td>\(f.seed)</td><td>\(ReportSVG.escape(f.split))</td><td>\(ReportSVG.escape(corpora))</td>"
                + "<td class=\"num\">\(f.metrics.count)</td>"
                + "<td>\(list(o.sharedSpeakers))</td><td class=\"num\">\(o.testItemsWithSeenSpeaker)</td>"
                + "<td>\(list(o.sharedTexts))</td><td class=\"num\">\(o.testItemsWithSeenText)</td>"
                + "<td class=\"num\">\(MeanStd.fixed(f.metrics.accuracy * 100, 2))</td>"
                + "<td class=\"num\">\(MeanStd.fixed(f.metrics.macroF1 * 100, 2))</td></tr>\n"
        }
        return s + "</tbody></table></details>\n"
    }

    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(ReportSVG.escape(title))</title>
        <style>
        body { font-family: Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1180px; color: #111; padding: 0 16px; }
        h1 { font-size: 24px; } h2 { font-size: 19px; margin-top: 30px; border-bottom: 1px solid #ddd; }
        table { border-collapse: collapse; margin: 12px 0 18px; font-size: 13px; }
        caption { text-align: left; font-weight: bold; padding: 4px 0; }
        th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
        th { background: #f1f3f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        td.missing { color: #999; } .note { color: #555; font-size: 12px; } .wide { overflow-x: auto; }
        .wide table { font-size: 12px; }
        .plots { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
        .plots svg { border: 1px solid #eee; background: #fff; }
        details { margin: 8px 0 16px; } summary { cursor: pointer; font-weight: bold; font-size: 13px; }
        </style></head>
        <body>
        \(body)
        </body></html>

        """
    }
}

fileprivate extension Array {
    /// The element at `i`, or nil outside the array.
    subscript(safeIndex i: Int) -> Element? { indices.contains(i) ? self[i] : nil }
}
