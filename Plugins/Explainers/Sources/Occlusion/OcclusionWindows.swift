import EmoCore

/// The sliding windows of Captum's Occlusion over the non-batch dimensions of one row.
///
/// Per dimension d (extent n_d, window w_d, stride s_d) there are `ceil((n_d − w_d) / s_d) + 1` positions,
/// starting at `i · s_d`; a window that would run past the end is cut at the end (Captum pads its window
/// tensor with a negative amount there). Window number k decomposes with the first dimension varying fastest.
struct OcclusionWindows {
    /// Extents of the non-batch dimensions.
    let dims: [Int]
    /// Window extent per dimension.
    let window: [Int]
    /// Stride per dimension.
    let stride: [Int]
    /// Positions per dimension.
    let shiftCounts: [Int]

    /// Windows for rows of shape `dims`; `window`/`stride` name the trailing dimensions, and any leading
    /// dimension they leave out is covered whole (window = extent).
    init(dims: [Int], window: [Int], stride: [Int], component: String) throws {
        guard window.count <= dims.count else {
            throw ComponentError.invalidConfig(component: component,
                                               message: "'window' has \(window.count) dimensions but each input row has only \(dims.count) (\(dims))")
        }
        guard stride.count == window.count else {
            throw ComponentError.invalidConfig(component: component,
                                               message: "'stride' has \(stride.count) dimensions, 'window' \(window.count); give one stride per window dimension")
        }
        let lead = dims.count - window.count
        let w = Array(dims.prefix(lead)) + window
        let s = [Int](repeating: 1, count: lead) + stride
        for d in 0..<dims.count {
            guard w[d] >= 1, w[d] <= dims[d] else {
                throw ComponentError.invalidConfig(component: component,
                                                   message: "window \(w) does not fit rows of shape \(dims) (dimension \(d))")
            }
            guard s[d] >= 1, s[d] <= w[d] || dims[d] == w[d] else {
                throw ComponentError.invalidConfig(component: component,
                                                   message: "stride \(s[d]) is larger than the window \(w[d]) in dimension \(d); some elements would never be occluded")
            }
        }
        self.dims = dims
        self.window = w
        self.stride = s
        self.shiftCounts = (0..<dims.count).map { d in (dims[d] - w[d] + s[d] - 1) / s[d] + 1 }
    }

    /// Number of windows.
    var count: Int { shiftCounts.reduce(1, *) }

    /// Start of window `k` in each dimension (Captum's `_occlusion_mask`).
    func origin(_ k: Int) -> [Int] {
        var rest = k
        return (0..<dims.count).map { d in
            defer { rest /= shiftCounts[d] }
            return (rest % shiftCounts[d]) * stride[d]
        }
    }

    /// Calls `body(offset, length)` for each contiguous run (along the last dimension) of window `k`, as
    /// offsets into one row-major row.
    func forEachRun(_ k: Int, _ body: (Int, Int) -> Void) {
        let start = origin(k)
        let end = (0..<dims.count).map { min(dims[$0], start[$0] + window[$0]) }
        let rank = dims.count
        var rowStrides = [Int](repeating: 1, count: rank)
        for d in Swift.stride(from: rank - 2, through: 0, by: -1) { rowStrides[d] = rowStrides[d + 1] * dims[d + 1] }
        let runLength = end[rank - 1] - start[rank - 1]
        var index = Array(start.dropLast())                                  // coordinates of the leading dims
        while true {
            var offset = start[rank - 1]
            for d in 0..<(rank - 1) { offset += index[d] * rowStrides[d] }
            body(offset, runLength)
            var d = rank - 2                                                   // odometer over leading dims
            while d >= 0 {
                index[d] += 1
                if index[d] < end[d] { break }
                index[d] = start[d]
                d -= 1
            }
            if d < 0 { return }
        }
    }
}
