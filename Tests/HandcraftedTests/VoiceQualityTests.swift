@testable import EmoHandcrafted
import Foundation
import XCTest

/// Voice-quality descriptors on synthetic vowels whose f0, formants, jitter and noise are known by construction.
final class VoiceQualityTests: XCTestCase {
    static let sr = 16000.0

    /// A pulse train (periods in samples) through a cascade of two-pole resonators (formant, bandwidth in Hz),
    /// with optional white noise at `noiseRatio` of the signal power.
    static func vowel(periods: [Int], formants: [(Double, Double)] = [(700, 80), (1220, 90), (2600, 120)],
                      noiseRatio: Double = 0, seed: UInt64 = 1) -> [Double] {
        let n = periods.reduce(0, +)
        var x = [Double](repeating: 0, count: n)
        var pos = 0
        for p in periods { x[pos] = 1; pos += p }
        for (f, bw) in formants {
            let r = exp(-Double.pi * bw / sr), theta = 2 * Double.pi * f / sr
            let a1 = 2 * r * cos(theta), a2 = -r * r
            var y1 = 0.0, y2 = 0.0
            for i in 0..<n { let y = x[i] + a1 * y1 + a2 * y2; y2 = y1; y1 = y; x[i] = y }
        }
        let peak = x.map(abs).max() ?? 1
        x = x.map { 0.5 * $0 / peak }
        if noiseRatio > 0 {
            let power = x.reduce(0) { $0 + $1 * $1 } / Double(n)
            var rng = Support.Rng(state: seed)
            // uniform noise in [-a, a] has power a²/3
            let a = (3 * power * noiseRatio).squareRoot()
            x = x.map { $0 + a * rng.next() }
        }
        return x
    }

    func analyze(_ y: [Double]) throws -> DescriptorTracks {
        try DescriptorAnalyzer(settings: ExtractorSettings()).analyze(y, wanted: Set(Descriptor.allCases))
    }

    func scalar(_ t: DescriptorTracks, _ d: Descriptor) -> Double { t.tracks[d]?.values.first?.first ?? .nan }

    func testSteadyVowel() throws {
        // f0 = 125 Hz exactly (128-sample periods), 1.5 s
        let t = try analyze(Self.vowel(periods: [Int](repeating: 128, count: 188)))
        let f0 = Functional.mean.apply(t.tracks[.f0]?.values[0] ?? [], dt: 1)
        XCTAssertEqual(1200 * log2(f0 / 125), 0, accuracy: 10, "f0 within one pYIN bin (10 cents) of 125 Hz")
        XCTAssertGreaterThan(scalar(t, .voicedFraction), 0.8)
        let fm = t.tracks[.formants]?.values ?? []
        for (i, target) in [700.0, 1220, 2600].enumerated() {
            let m = Functional.p50.apply(fm[i], dt: 1)
            XCTAssertEqual(m, target, accuracy: 0.08 * target, "F\(i + 1) median")
        }
        XCTAssertLessThan(scalar(t, .jitterLocal), 0.002, "integer, equal periods: no jitter")
        XCTAssertLessThan(scalar(t, .shimmerLocal), 0.01, "equal pulses: no shimmer")
        let hnr = Functional.mean.apply(t.tracks[.hnr]?.values[0] ?? [], dt: 1)
        XCTAssertGreaterThan(hnr, 25, "a noiseless periodic signal has a high HNR")
    }

    func testJitterOfAlternatingPeriods() throws {
        // periods alternate 131, 125 samples: |ΔT| = 6, mean T = 128 → jitter (local) = 6/128
        let periods = (0..<190).map { $0 % 2 == 0 ? 131 : 125 }
        let t = try analyze(Self.vowel(periods: periods))
        XCTAssertEqual(scalar(t, .jitterLocal), 6.0 / 128.0, accuracy: 0.006)
    }

    func testHNRFollowsAddedNoise() throws {
        // noise power = signal power / 10: HNR ≈ 10 dB (the harmonic part is the whole clean signal)
        let t = try analyze(Self.vowel(periods: [Int](repeating: 128, count: 188), noiseRatio: 0.1))
        let hnr = Functional.mean.apply(t.tracks[.hnr]?.values[0] ?? [], dt: 1)
        XCTAssertEqual(hnr, 10, accuracy: 2.5)
    }

    func testSpeechRateCountsSyllables() throws {
        // four 200 ms vowels separated by 250 ms of silence, 1.8 s in all → 4 nuclei
        var y: [Double] = []
        for _ in 0..<4 {
            y += [Double](repeating: 0, count: 4000)
            y += Self.vowel(periods: [Int](repeating: 128, count: 25))
        }
        y += [Double](repeating: 0, count: 16000 * 18 / 10 - y.count)
        let t = try analyze(y)
        XCTAssertEqual(scalar(t, .speechRate) * Double(y.count) / Self.sr, 4, accuracy: 0.01)
        XCTAssertEqual(scalar(t, .voicedSegmentsPerSecond) * Double(y.count) / Self.sr, 4, accuracy: 0.01)
    }

    func testSilenceGivesNaNPitchNotACrash() throws {
        let t = try analyze([Double](repeating: 0, count: 16000))
        XCTAssertEqual(scalar(t, .voicedFraction), 0)
        XCTAssertTrue(Functional.mean.apply(t.tracks[.f0]?.values[0] ?? [], dt: 1).isNaN)
        XCTAssertTrue(scalar(t, .jitterLocal).isNaN)
        XCTAssertEqual(scalar(t, .speechRate), 0)
    }
}
