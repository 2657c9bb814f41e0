import EmoCore
import Foundation

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

    /// Fits on the rows listed in `trainingRows` only. Internal on purpose: outside this module a scaler is fitted
    /// from a `Split`, so the rows it learns from are always that split's training part.
    func fit<Rows: FeatureRows>(_ rows: Rows, layout: FeatureLayout, trainingRows: [Int],
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

        // Column-major copy of the training rows: x[ci * n + k] is column ci of training row k.
        let n = trainingRows.count
        var x = [Double](repeating: 0, count: c * n)
        x.withUnsafeMutableBufferPointer { dst in
            for (k, r) in trainingRows.enumerated() {
                rows.row(r).withUnsafeBufferPointer { src in
                    for ci in 0..<min(c, src.count) { dst[ci * n + k] = Double(src[ci]) }
                }
            }
        }
        var means = [Double](repeating: 0, count: c)
        var imputed = [Int](repeating: 0, count: c)
        x.withUnsafeMutableBufferPointer { buf in
            for ci in 0..<c {
                let base = ci * n
                var sum = 0.0, finite = 0
                for k in 0..<n where buf[base + k].isFinite { sum += buf[base + k]; finite += 1 }
                let mean = finite > 0 ? sum / Double(finite) : 0
                means[ci] = mean
                imputed[ci] = n - finite
                if finite < n {
                    for k in 0..<n where !buf[base + k].isFinite { buf[base + k] = mean }
                }
            }
        }
        let global = affine(ColumnMajor(values: x, rows: n), layout: layout)
        var perSpeakerStats: [String: ColumnAffine] = [:]
        if perSpeaker, let speakerOf = speakers {
            var rowsOf: [String: [Int]] = [:]
            for (k, r) in trainingRows.enumerated() { rowsOf[speakerOf[r], default: []].append(k) }
            for (s, ks) in rowsOf {
                perSpeakerStats[s] = affine(ColumnMajor(values: x, rows: n).gathering(ks), layout: layout)
            }
        }
        return FittedScaler(spec: self, layout: layout, imputationMeans: means, global: global,
                            speakers: perSpeakerStats, fittedRows: trainingRows.count,
                            fitImputation: ImputationReport(rows: trainingRows.count, perFeature: imputed))
    }

    /// Shift and scale of every column from imputed, column-major values.
    func affine(_ x: ColumnMajor, layout: FeatureLayout) -> ColumnAffine {
        var shift = [Double](repeating: 0, count: layout.width)
        var scale = [Double](repeating: 1, count: layout.width)
        x.values.withUnsafeBufferPointer { buf in
            for (name, range) in layout.ranges {
                let m = groups[name] ?? method
                guard m != .none, x.rows > 0, !range.isEmpty else { continue }
                switch statistics {
                case .perFeature:
                    for ci in range {
                        (shift[ci], scale[ci]) = Self.statistic(m, UnsafeBufferPointer(rebasing: buf[(ci * x.rows)..<((ci + 1) * x.rows)]))
                    }
                case .perGroup:
                    // A group's columns are adjacent in column-major order: one contiguous run.
                    let run = UnsafeBufferPointer(rebasing: buf[(range.lowerBound * x.rows)..<(range.upperBound * x.rows)])
                    let (s, k) = Self.statistic(m, run)
                    for ci in range { shift[ci] = s; scale[ci] = k }
                }
            }
        }
        return ColumnAffine(shift: shift, scale: scale)
    }

    /// (shift, scale) of `values` under `method`; a scale below 10·ε becomes 1 (scikit-learn's `_handle_zeros_in_scale`).
    static func statistic(_ method: ScalingMethod, _ values: UnsafeBufferPointer<Double>) -> (Double, Double) {
        guard !values.isEmpty else { return (0, 1) }
        let count = Double(values.count)
        let shift: Double, scale: Double
        switch method {
        case .none:
            return (0, 1)
        case .standard:
            var sum = 0.0
            for v in values { sum += v }
            let mean = sum / count
            var ss = 0.0
            for v in values { ss += (v - mean) * (v - mean) }
            (shift, scale) = (mean, (ss / count).squareRoot())
        case .minMax:
            var lo = values[0], hi = values[0]
            for v in values { lo = min(lo, v); hi = max(hi, v) }
            (shift, scale) = (lo, hi - lo)
        case .robust:
            var sorted = Array(values)
            sortAscending(&sorted)
            (shift, scale) = (quantile(sorted, 0.5), quantile(sorted, 0.75) - quantile(sorted, 0.25))
        }
        return (shift, scale < 10 * Double.ulpOfOne ? 1 : scale)
    }

    /// Sorts finite values ascending with the C library's `qsort` (the generic `sort()` is ~50x slower in debug
    /// builds, where the test suite runs; a robust fit sorts every column).
    static func sortAscending(_ values: inout [Double]) {
        values.withUnsafeMutableBufferPointer { buf in
            guard let base = buf.baseAddress, buf.count > 1 else { return }
            qsort(base, buf.count, MemoryLayout<Double>.stride) { a, b in
                guard let a, let b else { return 0 }
                let x = a.load(as: Double.self), y = b.load(as: Double.self)
                return x < y ? -1 : (x > y ? 1 : 0)
            }
        }
    }

    /// NumPy's default ("linear") quantile of ascending `sorted`.
    static func quantile(_ sorted: [Double], _ q: Double) -> Double {
        let pos = Double(sorted.count - 1) * q
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        let frac = pos - Double(lo)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * frac
    }
}

/// Imputed training values, column-major: `values[c * rows + k]` is column `c` of row `k`.
struct ColumnMajor {
    /// `C · rows` values.
    var values: [Double]
    /// Number of rows.
    var rows: Int

    /// The same columns restricted to rows `ks` (in that order).
    func gathering(_ ks: [Int]) -> ColumnMajor {
        let columns = rows > 0 ? values.count / rows : 0
        var out = [Double](repeating: 0, count: columns * ks.count)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<columns {
                    for (j, k) in ks.enumerated() { dst[c * ks.count + j] = src[c * rows + k] }
                }
            }
        }
        return ColumnMajor(values: out, rows: ks.count)
    }
}
