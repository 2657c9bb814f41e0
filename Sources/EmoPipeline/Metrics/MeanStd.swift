/// Mean and standard deviation of one metric over seeds or folds: every reported figure is one of these.
public struct MeanStd: Sendable, Equatable, Codable, CustomStringConvertible {
    /// Arithmetic mean.
    public var mean: Double
    /// Sample standard deviation with `ddof` degrees of freedom removed (0 for a single value).
    public var std: Double
    /// Number of values.
    public var count: Int
    /// Delta degrees of freedom used for `std`: 1 (sample std, `numpy.std(ddof=1)`) unless stated otherwise.
    public var ddof: Int

    /// Summarises `values` (ddof 1 by default; with fewer than `ddof + 1` values the std is 0).
    public init(_ values: [Double], ddof: Int = 1) {
        count = values.count
        self.ddof = ddof
        mean = values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
        let m = mean
        let ss = values.reduce(0) { $0 + ($1 - m) * ($1 - m) }
        std = values.count > ddof ? (ss / Double(values.count - ddof)).squareRoot() : 0
    }

    /// "mean ± std" with `digits` decimals.
    public func formatted(digits: Int = 2, scale: Double = 1) -> String {
        "\(Self.fixed(mean * scale, digits)) ± \(Self.fixed(std * scale, digits))"
    }

    /// "81.23 ± 0.45" for fractions shown as percentages.
    public var description: String { formatted(digits: 2, scale: 100) }

    /// `x` with exactly `digits` decimals (no Foundation formatter: stable across locales).
    static func fixed(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        var p = 1.0
        for _ in 0..<digits { p *= 10 }
        let r = (abs(x) * p).rounded()
        let whole = Int(r / p), frac = Int(r - Double(whole) * p)
        var f = String(frac)
        while f.count < digits { f = "0" + f }
        let sign = x < 0 && r != 0 ? "-" : ""
        return digits > 0 ? "\(sign)\(whole).\(f)" : "\(sign)\(whole)"
    }
}
