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
        let n = indices.count
        var x = [Double](repeating: 0, count: n * c)
        var imputed = [Int](repeating: 0, count: c)
        x.withUnsafeMutableBufferPointer { dst in
            for (k, r) in indices.enumerated() {
                rows.row(r).withUnsafeBufferPointer { src in
                    for ci in 0..<min(c, src.count) {
                        let v = src[ci]
                        if v.isFinite { dst[k * c + ci] = Double(v) } else { dst[k * c + ci] = imputationMeans[ci]; imputed[ci] += 1 }
                    }
                }
            }
        }
        // Which affine map each output row uses: index into `maps` (0 = global).
        var maps = [global]
        var mapOf = [Int](repeating: 0, count: n)
        var unseen: Set<String> = []
        if spec.perSpeaker, let speakerOf = speakers {
            var slot: [String: Int] = [:]
            var unseenRows: [String: [Int]] = [:]
            for (k, r) in indices.enumerated() {
                let s = speakerOf[r]
                if let i = slot[s] { mapOf[k] = i; continue }
                if let a = self.speakers[s] {
                    maps.append(a)
                    slot[s] = maps.count - 1
                    mapOf[k] = maps.count - 1
                } else {
                    unseen.insert(s)
                    unseenRows[s, default: []].append(k)
                }
            }
            if spec.unseenSpeakers == .ownFeatures {
                for ks in unseenRows.values {
                    var own = [Double](repeating: 0, count: c * ks.count)  // column-major [C, rows of this speaker]
                    for (j, k) in ks.enumerated() { for ci in 0..<c { own[ci * ks.count + j] = x[k * c + ci] } }
                    maps.append(spec.affine(ColumnMajor(values: own, rows: ks.count), layout: layout))
                    for k in ks { mapOf[k] = maps.count - 1 }
                }
            }
        }
        var out = [Float](repeating: 0, count: n * c)
        out.withUnsafeMutableBufferPointer { dst in
            x.withUnsafeBufferPointer { src in
                for k in 0..<n {
                    let a = maps[mapOf[k]]
                    a.shift.withUnsafeBufferPointer { shift in
                        a.scale.withUnsafeBufferPointer { scale in
                            for ci in 0..<c { dst[k * c + ci] = Float((src[k * c + ci] - shift[ci]) / scale[ci]) }
                        }
                    }
                }
            }
        }
        let array: NDArray
        do { array = try NDArray(shape: [n, c], data: out) } catch { throw .shape(error.message) }
        return ScaledFeatures(values: array, imputation: ImputationReport(rows: n, perFeature: imputed),
                              unseenSpeakers: unseen.sorted())
    }
}
