import Foundation

/// Result of a paired two-sample test between two runs (per seed, fold or sample).
public struct PairedTestResult: Sendable, Equatable, Codable {
    /// Test name: "wilcoxon-signed-rank" or "sign".
    public var test: String
    /// Wilcoxon: min(R+, R−); sign test: number of positive differences.
    public var statistic: Double
    /// Two-sided p-value.
    public var pValue: Double
    /// How the p-value was obtained: "exact", "exact-permutation", "normal-approximation" or "binomial-exact".
    public var method: String
    /// Pairs used (non-zero differences).
    public var n: Int
    /// Pairs dropped because their difference was zero.
    public var zeros: Int
}

/// Why a paired test could not run.
public enum PairedTestError: Error, CustomStringConvertible, Equatable {
    /// The two samples differ in length.
    case lengthMismatch(Int, Int)
    /// Every difference is zero (or there are none): the test is undefined.
    case noNonZeroDifferences

    /// The message, naming what is wrong and what to do.
    public var description: String {
        switch self {
        case let .lengthMismatch(a, b): return "paired test: samples have \(a) and \(b) values; pair them one to one"
        case .noNonZeroDifferences: return "paired test: all differences are zero, the test is undefined"
        }
    }
}

/// Paired tests with the defaults of SciPy 1.17.
public enum PairedTests {
    /// Two-sided Wilcoxon signed-rank test of `x − y`, as `scipy.stats.wilcoxon(x, y)` with its defaults
    /// (`zero_method="wilcox"`, `correction=False`, `method="auto"`):
    /// - zero differences are dropped; ties among |d| get mid-ranks;
    /// - n (pairs, zeros included) ≤ 50 with no ties and no zeros: exact null distribution of R+,
    ///   p = 2·min(P(R+ ≥ ⌊r⌋), P(R+ ≤ ⌈r⌉)), capped at 1;
    /// - n ≤ 13 with ties or zeros: exact permutation test over all 2^m sign flips of the m non-zero differences
    ///   (what SciPy's `PermutationMethod()` does deterministically at that size);
    /// - otherwise: normal approximation z = (R+ − m(m+1)/4) / σ with the tie-corrected
    ///   σ² = (m(m+1)(2m+1) − Σ(t³ − t)/2) / 24, no continuity correction.
    public static func wilcoxon(_ x: [Double], _ y: [Double]) throws(PairedTestError) -> PairedTestResult {
        guard x.count == y.count else { throw .lengthMismatch(x.count, y.count) }
        let all = zip(x, y).map { $0 - $1 }
        let d = all.filter { $0 != 0 }
        let zeros = all.count - d.count
        guard !d.isEmpty else { throw .noNonZeroDifferences }
        let m = d.count
        let ranks = Ranking.midranks(d.map(abs))
        let rPlus = zip(d, ranks).reduce(0) { $0 + ($1.0 > 0 ? $1.1 : 0) }
        let rMinus = zip(d, ranks).reduce(0) { $0 + ($1.0 < 0 ? $1.1 : 0) }
        let ties = Ranking.tieSizes(d.map(abs))
        let statistic = min(rPlus, rMinus)
        let p: Double, method: String
        if all.count <= 50 && ties.isEmpty && zeros == 0 {
            let counts = signedRankCounts(m)  // counts[w] = #subsets with rank sum w
            let total = counts.reduce(0, +)
            let lo = Int(rPlus.rounded(.down)), hi = Int(rPlus.rounded(.up))
            let sf = counts[min(lo, counts.count)...].reduce(0, +) / total
            let cdf = counts[...min(hi, counts.count - 1)].reduce(0, +) / total
            (p, method) = (min(1, 2 * min(sf, cdf)), "exact")
        } else if all.count <= 13 {
            (p, method) = (permutationP(ranks: ranks, observed: rPlus), "exact-permutation")
        } else {
            let mm = Double(m)
            let mean = mm * (mm + 1) / 4
            let tieTerm = ties.reduce(0.0) { $0 + Double($1 * $1 * $1 - $1) }
            let sigma = ((mm * (mm + 1) * (2 * mm + 1) - tieTerm / 2) / 24).squareRoot()
            let z = (rPlus - mean) / sigma
            (p, method) = (min(1, erfc(abs(z) / 2.0.squareRoot())), "normal-approximation")
        }
        return PairedTestResult(test: "wilcoxon-signed-rank", statistic: statistic, pValue: p, method: method,
                                n: m, zeros: zeros)
    }

    /// Two-sided sign test of `x − y`: zeros dropped, k positive of n non-zero differences against
    /// Binomial(n, ½), p = min(1, 2·min(P(X ≤ k), P(X ≥ k))) (equals `scipy.stats.binomtest(k, n).pvalue`).
    public static func sign(_ x: [Double], _ y: [Double]) throws(PairedTestError) -> PairedTestResult {
        guard x.count == y.count else { throw .lengthMismatch(x.count, y.count) }
        let d = zip(x, y).map { $0 - $1 }
        let positive = d.filter { $0 > 0 }.count, negative = d.filter { $0 < 0 }.count
        let n = positive + negative
        guard n > 0 else { throw .noNonZeroDifferences }
        let pmf = binomialHalfPMF(n)
        let lower = pmf[...positive].reduce(0, +), upper = pmf[positive...].reduce(0, +)
        return PairedTestResult(test: "sign", statistic: Double(positive), pValue: min(1, 2 * min(lower, upper)),
                                method: "binomial-exact", n: n, zeros: d.count - n)
    }

    /// Number of sign assignments of ranks 1...n with each positive-rank sum w (w = 0...n(n+1)/2), as Doubles.
    static func signedRankCounts(_ n: Int) -> [Double] {
        var counts = [Double](repeating: 0, count: n * (n + 1) / 2 + 1)
        counts[0] = 1
        var top = 0
        for r in stride(from: 1, through: n, by: 1) {
            top += r
            for w in stride(from: top, through: r, by: -1) { counts[w] += counts[w - r] }
        }
        return counts
    }

    /// Exact two-sided permutation p-value of R+ over all sign flips of `ranks` (SciPy's `permutation_test` with
    /// an exhaustive null: p = 2·min(P(T ≤ t), P(T ≥ t)), relative tolerance 100·ε, capped at 1).
    static func permutationP(ranks: [Double], observed: Double) -> Double {
        let m = ranks.count
        let total = 1 << m
        let gamma = abs(observed) * 100 * Double.ulpOfOne
        var less = 0, greater = 0
        for mask in 0..<total {
            var t = 0.0
            for i in 0..<m where mask & (1 << i) != 0 { t += ranks[i] }
            if t <= observed + gamma { less += 1 }
            if t >= observed - gamma { greater += 1 }
        }
        return min(1, 2 * Double(min(less, greater)) / Double(total))
    }

    /// Binomial(n, ½) probabilities of 0...n, computed in log space so large n does not overflow.
    static func binomialHalfPMF(_ n: Int) -> [Double] {
        let logHalfN = Double(n) * log(0.5)
        let logNFactorial = logFactorial(n)
        return (0...n).map { k in exp(logNFactorial - logFactorial(k) - logFactorial(n - k) + logHalfN) }
    }

    /// log(n!) as a sum of logs (n is a count of pairs: small).
    static func logFactorial(_ n: Int) -> Double {
        var s = 0.0
        for i in stride(from: 2, through: n, by: 1) { s += log(Double(i)) }
        return s
    }
}
