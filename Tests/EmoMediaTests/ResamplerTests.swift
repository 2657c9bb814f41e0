import Foundation
import XCTest
@testable import EmoMedia

/// The resampler's passband flatness and alias rejection, measured on tones and swept sines whose exact 16 kHz
/// samples are known analytically.
final class ResamplerTests: XCTestCase {
    /// Output samples skipped at each end (the filter's zero-padded edges).
    let edge = 400

    /// Amplitude of the best-fitting sinusoid at `frequency` (least squares on sin and cos).
    func fittedAmplitude(_ y: ArraySlice<Float>, frequency: Double, rate: Double, offset: Int) -> Double {
        var ss = 0.0, cc = 0.0, sc = 0.0, ys = 0.0, yc = 0.0
        for (k, v) in y.enumerated() {
            let t = 2 * Double.pi * frequency * Double(k + offset) / rate
            let s = sin(t), c = cos(t)
            ss += s * s; cc += c * c; sc += s * c; ys += Double(v) * s; yc += Double(v) * c
        }
        let det = ss * cc - sc * sc
        let a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det
        return (a * a + b * b).squareRoot()
    }

    func tone(_ f: Double, rate: Int, seconds: Double, amplitude: Float = 0.5) -> [Float] {
        (0..<Int(Double(rate) * seconds)).map { amplitude * Float(sin(2 * Double.pi * f * Double($0) / Double(rate))) }
    }

    func testPassbandWithinATenthOfADecibelTo7kHz() throws {
        for rate in [48_000, 44_100] {
            let r = try Resampler(inputRate: rate, outputRate: 16_000)
            var worst = 0.0
            for f in [50.0, 200, 500, 1000, 2000, 3000, 4000, 5000, 6000, 6500, 6800, 7000] {
                let y = r.process(tone(f, rate: rate, seconds: 0.25))
                let a = fittedAmplitude(y[edge..<(y.count - edge)], frequency: f, rate: 16_000, offset: edge)
                let errorDB = 20 * log10(a / 0.5)
                worst = max(worst, abs(errorDB))
                XCTAssertLessThan(abs(errorDB), 0.1, "\(rate) Hz → 16 kHz, \(f) Hz tone: passband error \(errorDB) dB")
            }
            print("resampler \(rate) → 16000: worst passband error to 7 kHz \(String(format: "%.5f", worst)) dB")
        }
    }

    func testAliasesBelowMinus60dB() throws {
        for rate in [48_000, 44_100, 96_000] {
            let r = try Resampler(inputRate: rate, outputRate: 16_000)
            var f = 8_000.0
            var worst = -400.0
            defer { print("resampler \(rate) → 16000: worst alias level \(String(format: "%.1f", worst)) dB") }
            while f < Double(rate) / 2 - 100 {
                let y = r.process(tone(f, rate: rate, seconds: 0.2))
                let mid = y[edge..<(y.count - edge)]
                let rms = (mid.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(mid.count)).squareRoot()
                let levelDB = 20 * log10(max(rms, 1e-20) / (0.5 / 2.0.squareRoot()))
                worst = max(worst, levelDB)
                XCTAssertLessThan(levelDB, -60, "\(rate) Hz → 16 kHz, \(f) Hz tone leaks at \(levelDB) dB")
                f += f < 9_000 ? 250 : 1_700
            }
        }
    }

    /// A linear sweep 50 Hz → 7 kHz comes out as the same sweep sampled at 16 kHz (amplitude and phase);
    /// a sweep over 8.2 kHz → near the input Nyquist comes out as silence below -60 dB.
    func testSweptSine() throws {
        for rate in [48_000, 44_100] {
            let r = try Resampler(inputRate: rate, outputRate: 16_000)
            let seconds = 1.0
            func sweep(_ f0: Double, _ f1: Double, at sr: Int) -> [Float] {
                let k = (f1 - f0) / seconds
                return (0..<Int(Double(sr) * seconds)).map { n in
                    let t = Double(n) / Double(sr)
                    return 0.5 * Float(sin(2 * Double.pi * (f0 * t + k * t * t / 2)))
                }
            }
            let y = r.process(sweep(50, 7_000, at: rate))
            let expected = sweep(50, 7_000, at: 16_000)
            var worst = 0.0
            for i in edge..<(expected.count - edge) { worst = max(worst, Double(abs(y[i] - expected[i]))) }
            // 0.1 dB of 0.5 is 0.0058: a deviation below that bounds both amplitude and phase error.
            XCTAssertLessThan(worst, 0.5 * (pow(10, 0.1 / 20) - 1), "\(rate) Hz passband sweep deviates by \(worst)")

            let z = r.process(sweep(8_200, Double(rate) / 2 - 500, at: rate))
            let mid = z[edge..<(z.count - edge)]
            let rms = (mid.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(mid.count)).squareRoot()
            let levelDB = 20 * log10(max(rms, 1e-20) / (0.5 / 2.0.squareRoot()))
            XCTAssertLessThan(levelDB, -60, "\(rate) Hz stopband sweep aliases at \(levelDB) dB")
        }
    }

    /// 24 414 Hz (TESS originals) has L = 8000 phases: the interpolated table must be as good as the exact one.
    func testInterpolatedPhasesForAwkwardRatio() throws {
        let rate = 24_414
        let r = try Resampler(inputRate: rate, outputRate: 16_000)
        XCTAssertLessThan(r.phases, r.up, "this ratio should use interpolated phases")
        for f in [440.0, 3_000, 6_900] {
            let y = r.process(tone(f, rate: rate, seconds: 0.25))
            let a = fittedAmplitude(y[edge..<(y.count - edge)], frequency: f, rate: 16_000, offset: edge)
            XCTAssertLessThan(abs(20 * log10(a / 0.5)), 0.1, "\(f) Hz through 24414 → 16000")
        }
        let y = r.process(tone(10_000, rate: rate, seconds: 0.25))
        let mid = y[edge..<(y.count - edge)]
        let peak = mid.map { abs($0) }.max() ?? 0
        XCTAssertLessThan(20 * log10(Double(peak) / 0.5), -60, "10 kHz through 24414 → 16000 must be removed")
    }

    func testLengthsIdentityAndUpsampling() throws {
        XCTAssertEqual(try Resampler(inputRate: 48_000, outputRate: 16_000).outputCount(for: 48_001), 16_001)
        XCTAssertEqual(try Resampler(inputRate: 44_100, outputRate: 16_000).outputCount(for: 44_100), 16_000)
        XCTAssertEqual(try Resampler(inputRate: 44_100, outputRate: 16_000).outputCount(for: 1), 1)
        let x: [Float] = [0.1, -0.2, 0.3]
        XCTAssertEqual(try Resampler(inputRate: 16_000, outputRate: 16_000).process(x), x)
        // 8 kHz → 16 kHz: a 1 kHz tone keeps its amplitude, and every even output sample equals the input sample.
        let up = try Resampler(inputRate: 8_000, outputRate: 16_000)
        let input = tone(1_000, rate: 8_000, seconds: 0.25)
        let y = up.process(input)
        XCTAssertEqual(y.count, 2 * input.count)
        for i in stride(from: edge, to: y.count - edge, by: 2) {
            XCTAssertEqual(y[i], input[i / 2], accuracy: 2e-4, "even output \(i)")
        }
        XCTAssertThrowsError(try Resampler(inputRate: 0, outputRate: 16_000))
    }
}
