@testable import EmoHandcrafted
import Foundation
import XCTest

/// Praat's glottal pulses (`Sound & Pitch: To PointProcess (cc)`), jitter (local) and shimmer (local) against
/// Praat 6.1.38 (parselmouth 0.4.7), fed with Praat's own pitch contour (fixture from
/// Tests/Reference/praat_pulses_reference.py).
final class PraatPointProcessTests: XCTestCase {
    /// One fixture case: Praat's pitch, pulses and measures. Decoded with JSONDecoder, which reads doubles exactly
    /// (JSONSerialization's NSNumber on Linux can be 1 ulp off, enough to show as 1e-12 in jitter).
    struct Case: Decodable {
        struct Pitch: Decodable { var x1: Double; var dt: Double; var f0: [Double] }
        var path: String?
        var samples: Int?
        var pitch: Pitch
        var pulses: [Double]?
        var pulseCount: Int?
        var jitterLocal: Double?
        var shimmerLocal: Double?
        var amplitudePoints: Int?

        var track: PraatPitchTrack { PraatPitchTrack(x1: pitch.x1, dt: pitch.dt, f0: pitch.f0) }
    }

    struct Fixture: Decodable {
        var clips: [Case]
        var synthetic: Case?
    }

    static func decode(_ url: URL) throws -> Fixture {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Fixture.self, from: Data(contentsOf: url))
    }

    func loadFixture() throws -> (clips: [Case], synthetic: Case) {
        let doc = try Self.decode(Support.fixtures.appendingPathComponent("praat_pulses.json"))
        XCTAssertEqual(doc.clips.count, 6, "fixture clips")
        let synthetic = try XCTUnwrap(doc.synthetic, "fixture synthetic case")
        return (doc.clips, synthetic)
    }

    /// The synthetic voice of the reference script: impulses 1, 0.8, … every 120, 124, … samples through
    /// resonators at 700/1220/2600 Hz, peak 0.5 (same arithmetic as `synthetic_voice` there).
    static func syntheticVoice(count: Int = 130) -> [Double] {
        let sr = 16000.0
        let periods = (0..<count).map { $0 % 2 == 0 ? 120 : 124 }
        var x = [Double](repeating: 0, count: periods.reduce(0, +))
        var pos = 0
        for (k, p) in periods.enumerated() { x[pos] = k % 2 == 0 ? 1.0 : 0.8; pos += p }
        for (f, bw) in [(700.0, 80.0), (1220.0, 90.0), (2600.0, 120.0)] {
            let r = exp(-Double.pi * bw / sr)
            let a1 = 2 * r * cos(2 * Double.pi * f / sr), a2 = -r * r
            var y1 = 0.0, y2 = 0.0
            for i in x.indices { let y = x[i] + a1 * y1 + a2 * y2; y2 = y1; y1 = y; x[i] = y }
        }
        let peak = x.map(abs).max() ?? 1
        return x.map { 0.5 * $0 / peak }
    }

    func relative(_ a: Double?, _ b: Double?) -> Double {
        guard let a, let b else { return a == nil && b == nil ? 0 : .infinity }
        return abs(a - b) / abs(b)
    }

    /// Compares one case; returns (max |Δt| over matched pulses, jitter rel. error, shimmer rel. error).
    func check(_ c: Case, _ y: [Double], label: String) -> (Double, Double, Double) {
        let m = PraatJitterShimmer.measures(y, sampleRate: 16000, pitch: c.track)
        let praat = c.pulses ?? []
        XCTAssertEqual(m.pulses.count, praat.count, "\(label): pulse count")
        var worst = 0.0
        for (a, b) in zip(m.pulses, praat) { worst = max(worst, abs(a - b)) }
        XCTAssertLessThan(worst, 1e-9, "\(label): pulse times (s)")
        let rj = relative(m.jitterLocal, c.jitterLocal), rs = relative(m.shimmerLocal, c.shimmerLocal)
        XCTAssertLessThanOrEqual(rj, 1e-9, "\(label): jitter \(String(describing: m.jitterLocal)) vs \(String(describing: c.jitterLocal))")
        XCTAssertLessThanOrEqual(rs, 1e-9, "\(label): shimmer \(String(describing: m.shimmerLocal)) vs \(String(describing: c.shimmerLocal))")
        // the measures alone, on Praat's own pulses
        let tier = PraatJitterShimmer.periodAmplitudes(praat, y, sampleRate: 16000)
        XCTAssertEqual(tier?.count, c.amplitudePoints, "\(label): AmplitudeTier points")
        let jp = PraatJitterShimmer.jitterLocal(praat), sp = PraatJitterShimmer.shimmerLocal(praat, y, sampleRate: 16000)
        XCTAssertLessThanOrEqual(relative(jp, c.jitterLocal), 1e-12, "\(label): jitter on Praat's pulses")
        XCTAssertLessThanOrEqual(relative(sp, c.shimmerLocal), 1e-12, "\(label): shimmer on Praat's pulses")
        return (worst, rj, rs)
    }

    func testRealClipsMatchPraat() throws {
        var worst = (0.0, 0.0, 0.0), pulses = 0
        for c in try loadFixture().clips {
            let path = c.path ?? ""
            let (samples, sr) = try Support.readMono(path)
            XCTAssertEqual(sr, 16000)
            XCTAssertEqual(samples.count, c.samples, "\(path): sample count")
            let r = check(c, samples.map { Double($0) }, label: path)
            worst = (max(worst.0, r.0), max(worst.1, r.1), max(worst.2, r.2))
            pulses += c.pulses?.count ?? 0
        }
        print("PraatPointProcess vs Praat 6.1.38 on 6 clips (\(pulses) pulses): max |Δt| \(worst.0) s, "
              + "max relative error jitter \(worst.1), shimmer \(worst.2)")
        XCTAssertGreaterThan(pulses, 1000)
    }

    func testSyntheticVoice() throws {
        let c = try loadFixture().synthetic
        let y = Self.syntheticVoice()
        XCTAssertEqual(y.count, c.samples)
        _ = check(c, y, label: "synthetic")
        // by construction: periods alternate 120/124 samples, so |ΔT| / mean T = 4/122; the pulses Praat's method
        // places on the resonator output follow the impulses to within a fraction of a sample
        let m = PraatJitterShimmer.measures(y, sampleRate: 16000, pitch: c.track)
        XCTAssertEqual(m.jitterLocal ?? .nan, 4.0 / 122.0, accuracy: 0.1 * 4.0 / 122.0, "synthetic jitter vs construction")
        XCTAssertGreaterThan(m.shimmerLocal ?? 0, 0.02, "alternating 1/0.8 impulses give clear shimmer")
        // consecutive pulses lie one construction period apart
        let periods = zip(m.pulses.dropFirst(), m.pulses).map { ($0 - $1) * 16000 }
        XCTAssertGreaterThan(periods.count, 100)
        XCTAssertTrue(periods.allSatisfy { abs($0 - 120) < 1 || abs($0 - 124) < 1 }, "periods are 120 or 124 samples")
    }

    func testUnvoicedAndShortInputs() {
        let y = (0..<16000).map { sin(Double($0) * 0.05) }
        let unvoiced = PraatPitchTrack(x1: 0.02, dt: 0.01, f0: [Double](repeating: 0, count: 97))
        let m = PraatJitterShimmer.measures(y, sampleRate: 16000, pitch: unvoiced)
        XCTAssertEqual(m.pulses, [])
        XCTAssertNil(m.jitterLocal)
        XCTAssertNil(m.shimmerLocal)
        XCTAssertEqual(PraatPointProcess.pulses([], sampleRate: 16000, pitch: unvoiced), [])
        // an absurd contour (f0 near Nyquist: periods of about one sample) still terminates
        let absurd = PraatPitchTrack(x1: 0.02, dt: 0.01, f0: [Double](repeating: 7900, count: 97))
        XCTAssertLessThanOrEqual(PraatPointProcess.pulses(y, sampleRate: 16000, pitch: absurd).count, y.count)
        // two periods are too few for jitter; jitter needs three pulses, shimmer three pulses and one pair
        XCTAssertNil(PraatJitterShimmer.jitterLocal([0.1, 0.11]))
        XCTAssertNotNil(PraatJitterShimmer.jitterLocal([0.1, 0.11, 0.12]))
        XCTAssertNil(PraatJitterShimmer.shimmerLocal([0.1, 0.11], y, sampleRate: 16000))
        // equal periods: zero jitter
        XCTAssertEqual(PraatJitterShimmer.jitterLocal([0.1, 0.11, 0.12, 0.13]) ?? .nan, 0, accuracy: 1e-12)
        // a period outside [0.1 ms, 20 ms] does not count
        XCTAssertNil(PraatJitterShimmer.jitterLocal([0.1, 0.15, 0.2]))
    }

    func testJitterFromKnownPeriods() {
        // periods 10, 11, 10, 11 ms: |ΔT| = 1 ms on each of 3 pairs, mean period 10.5 ms → 1/10.5
        let t = [0.1, 0.110, 0.121, 0.131, 0.142]
        XCTAssertEqual(PraatJitterShimmer.jitterLocal(t) ?? .nan, 1.0 / 10.5, accuracy: 1e-9)
        // a pair whose ratio exceeds 1.3 drops out of the numerator: 10, 11, 20 ms → only (10, 11) counts; the 20 ms
        // interval differs from its only neighbour by > 1.3 but still counts as a period at the end of the train
        let u = [0.1, 0.110, 0.121, 0.141]
        XCTAssertEqual(PraatJitterShimmer.jitterLocal(u) ?? .nan, 0.001 / ((0.010 + 0.011 + 0.020) / 3), accuracy: 1e-9)
    }

    /// Opt-in survey (EMO_PRAAT_PULSES_SURVEY=file from `praat_pulses_reference.py --survey N file`): EmoKit's
    /// jitter and shimmer from Praat's pitch against Praat's, clip by clip.
    func testSurveyAgainstPraat() throws {
        guard let file = ProcessInfo.processInfo.environment["EMO_PRAAT_PULSES_SURVEY"] else {
            throw XCTSkip("set EMO_PRAAT_PULSES_SURVEY to a file from praat_pulses_reference.py --survey to run the survey")
        }
        let rows = try Self.decode(URL(fileURLWithPath: file)).clips
        var mine: [[Double]] = [[], []], ref: [[Double]] = [[], []]
        var countEqual = 0, definedMismatch = 0, seconds = 0.0, audio = 0.0
        for c in rows {
            let (samples, _) = try Support.readMono(c.path ?? "")
            let y = samples.map { Double($0) }
            audio += Double(y.count) / 16000
            let t0 = Date()
            let m = PraatJitterShimmer.measures(y, sampleRate: 16000, pitch: c.track)
            seconds += Date().timeIntervalSince(t0)
            if m.pulses.count == c.pulseCount { countEqual += 1 }
            for (k, (a, b)) in [(m.jitterLocal, c.jitterLocal), (m.shimmerLocal, c.shimmerLocal)].enumerated() {
                switch (a, b) {
                case let (a?, b?): mine[k].append(a); ref[k].append(b)
                case (nil, nil): break
                default: definedMismatch += 1
                }
            }
        }
        func pearson(_ a: [Double], _ b: [Double]) -> Double {
            let n = Double(a.count), ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
            var sab = 0.0, saa = 0.0, sbb = 0.0
            for (x, y) in zip(a, b) { sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb) }
            return sab / (saa * sbb).squareRoot()
        }
        print("survey: \(rows.count) clips, \(String(format: "%.1f", audio)) s of audio; pulse count equal on \(countEqual); "
              + "defined in one only: \(definedMismatch); pulses + jitter + shimmer time (this build) \(String(format: "%.3f", seconds)) s")
        for (k, name) in ["jitter (local)", "shimmer (local)"].enumerated() {
            let rel = zip(mine[k], ref[k]).map { abs($0 - $1) / abs($1) }.sorted()
            let median = rel.isEmpty ? .nan : rel[rel.count / 2]
            print("\(name): \(rel.count) clips, r \(String(format: "%.9f", pearson(mine[k], ref[k]))), "
                  + "median rel diff \(median), max rel diff \(rel.last ?? .nan), within 1e-4 \(rel.filter { $0 <= 1e-4 }.count)")
        }
        XCTAssertGreaterThan(mine[0].count, rows.count / 2)
    }
}
