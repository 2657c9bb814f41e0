import EmoCore

extension ScalingSpec {
    /// Fits on the training rows of `split` only (`split.train`; validation and test rows are never read).
    ///
    /// Order of work: non-finite values in the training rows are replaced by the column's training mean (over its
    /// finite values), then statistics are computed on the imputed rows (scikit-learn's
    /// `make_pipeline(SimpleImputer(), StandardScaler())` does the same). `speakers[i]` is row `i`'s speaker,
    /// needed only when `perSpeaker` is set.
    public func fit<Rows: FeatureRows>(_ rows: Rows, layout: FeatureLayout, split: Split,
                                       speakers: [String]? = nil) throws(ScalingError) -> FittedScaler {
        try fit(rows, layout: layout, trainingRows: split.train, speakers: speakers)
    }

    /// Fits on the rows listed in `trainingRows` only; `fit(_:layout:split:speakers:)` is the usual entry.
    public func fit<Rows: FeatureRows>(_ rows: Rows, layout: FeatureLayout, trainingRows: [Int],
                                       speakers: [String]? = nil) throws(ScalingError) -> FittedScaler {
        let c = layout.width
        guard rows.columnCount == c else {
            throw .shape("features have \(rows.columnCount) columns but the layout has \(c)")
        }
        guard !trainingRows.isEmpty else { throw .noTrainingRows }
        let known = layout.groups.map(\.name)
        for name in groups.keys.sorted() where !known.contains(name) { throw .unknownGroup(name, known: known) }
        if perSpeaker {
            guard let s = speakers, s.count == rows.rowCount else {
                throw .missingSpeakers(rows: rows.rowCount, speakers: speakers?.count ?? 0)
            }
        }

        // Column-major copy of the training rows: columns[c][r].
        var columns = [[Double]](repeating: [], count: c)
        for ci in 0..<c { columns[ci].reserveCapacity(trainingRows.count) }
        for r in trainingRows {
            for (ci, v) in rows.row(r).enumerated() { columns[ci].append(Double(v)) }
        }
        var means = [Double](repeating: 0, count: c)
        var imputed = [Int](repeating: 0, count: c)
        for ci in 0..<c {
            var sum = 0.0, n = 0
            for v in columns[ci] where v.isFinite { sum += v; n += 1 }
            means[ci] = n > 0 ? sum / Double(n) : 0
            imputed[ci] = columns[ci].count - n
            if n < columns[ci].count {
                for r in columns[ci].indices where !columns[ci][r].isFinite { columns[ci][r] = means[ci] }
            }
        }
        let global = affine(columns, layout: layout)
        var perSpeakerStats: [String: ColumnAffine] = [:]
        if perSpeaker, let speakerOf = speakers {
            var rowsOf: [String: [Int]] = [:]
            for (k, r) in trainingRows.enumerated() { rowsOf[speakerOf[r], default: []].append(k) }
            for (s, ks) in rowsOf {
                perSpeakerStats[s] = affine(columns.map { col in ks.map { col[$0] } }, layout: layout)
            }
        }
        return FittedScaler(spec: self, layout: layout, imputationMeans: means, global: global,
                            speakers: perSpeakerStats, fittedRows: trainingRows.count,
                            fitImputation: ImputationReport(rows: trainingRows.count, perFeature: imputed))
    }

    /// Shift and scale of every column from imputed, column-major `columns`.
    func affine(_ columns: [[Double]], layout: FeatureLayout) -> ColumnAffine {
        var shift = [Double](repeating: 0, count: layout.width)
        var scale = [Double](repeating: 1, count: layout.width)
        for (name, range) in layout.ranges {
            let m = groups[name] ?? method
            switch statistics {
            case .perFeature:
                for ci in range { (shift[ci], scale[ci]) = Self.statistic(m, columns[ci]) }
            case .perGroup:
                let (s, k) = Self.statistic(m, range.flatMap { columns[$0] })
                for ci in range { shift[ci] = s; scale[ci] = k }
            }
        }
        return ColumnAffine(shift: shift, scale: scale)
    }

    /// (shift, scale) of `values` under `method`; a scale below 10·ε becomes 1 (scikit-learn's `_handle_zeros_in_scale`).
    static func statistic(_ method: ScalingMethod, _ values: [Double]) -> (Double, Double) {
        guard !values.isEmpty else { return (0, 1) }
        let shift: Double, scale: Double
        switch method {
        case .none:
            return (0, 1)
        case .standard:
            let mean = values.reduce(0, +) / Double(values.count)
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
            (shift, scale) = (mean, variance.squareRoot())
        case .minMax:
            let lo = values.min() ?? 0, hi = values.max() ?? 0
            (shift, scale) = (lo, hi - lo)
        case .robust:
            let sorted = values.sorted()
            (shift, scale) = (quantile(sorted, 0.5), quantile(sorted, 0.75) - quantile(sorted, 0.25))
        }
        return (shift, scale < 10 * Double.ulpOfOne ? 1 : scale)
    }

    /// NumPy's default ("linear") quantile of ascending `sorted`.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let pos = Double(sorted.count - 1) * q
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        let frac = pos - Double(lo)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * frac
    }
}
