import EmoCore

extension FittedScaler {
    /// Scales all rows of `values` `[N, C]`; `speakers` (one per row) only when the scaler is per-speaker.
    public func transform(_ values: NDArray, speakers: [String]? = nil) throws(ScalingError) -> ScaledFeatures {
        let table = try FeatureTable(values: values, layout: layout)
        return try transform(table, rows: Array(0..<table.rowCount), speakers: speakers)
    }

    /// Scales rows `indices` of `rows`, in that order; `speakers[i]` is the speaker of row `i` of `rows`.
    ///
    /// Non-finite values become the training mean of their column (counted in the report). With per-speaker
    /// scaling, a speaker seen in training uses its own training statistics; an unseen speaker uses the global
    /// training statistics (`global-train`) or statistics of its own rows among `indices` (`own-features`).
    public func transform<Rows: FeatureRows>(_ rows: Rows, rows indices: [Int],
                                             speakers: [String]? = nil) throws(ScalingError) -> ScaledFeatures {
        let c = layout.width
        guard rows.columnCount == c else {
            throw .shape("features have \(rows.columnCount) columns but the scaler was fitted on \(c)")
        }
        if spec.perSpeaker {
            guard let s = speakers, s.count == rows.rowCount else {
                throw .missingSpeakers(rows: rows.rowCount, speakers: speakers?.count ?? 0)
            }
        }
        // Imputed copy, row-major [N, C].
        var x = [Double](repeating: 0, count: indices.count * c)
        var imputed = [Int](repeating: 0, count: c)
        for (k, r) in indices.enumerated() {
            for (ci, v) in rows.row(r).enumerated() {
                if v.isFinite { x[k * c + ci] = Double(v) } else { x[k * c + ci] = imputationMeans[ci]; imputed[ci] += 1 }
            }
        }
        // Which affine map each output row uses.
        var mapOf = [ColumnAffine](repeating: global, count: indices.count)
        var unseen: Set<String> = []
        if spec.perSpeaker, let speakerOf = speakers {
            var unseenRows: [String: [Int]] = [:]
            for (k, r) in indices.enumerated() {
                let s = speakerOf[r]
                if let a = self.speakers[s] { mapOf[k] = a } else { unseen.insert(s); unseenRows[s, default: []].append(k) }
            }
            if spec.unseenSpeakers == .ownFeatures {
                for ks in unseenRows.values {
                    let columns = (0..<c).map { ci in ks.map { x[$0 * c + ci] } }
                    let own = spec.affine(columns, layout: layout)
                    for k in ks { mapOf[k] = own }
                }
            }
        }
        var out = [Float](repeating: 0, count: indices.count * c)
        for k in 0..<indices.count {
            let a = mapOf[k]
            for ci in 0..<c { out[k * c + ci] = Float((x[k * c + ci] - a.shift[ci]) / a.scale[ci]) }
        }
        let array: NDArray
        do { array = try NDArray(shape: [indices.count, c], data: out) } catch { throw .shape(error.message) }
        return ScaledFeatures(values: array, imputation: ImputationReport(rows: indices.count, perFeature: imputed),
                              unseenSpeakers: unseen.sorted())
    }
}
