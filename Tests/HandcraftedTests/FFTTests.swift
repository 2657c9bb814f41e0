@testable import EmoHandcrafted
import Foundation
import XCTest

/// The real FFT against a naive O(N²) DFT (its mathematical definition).
final class FFTTests: XCTestCase {
    func naiveDFT(_ x: [Double]) -> ([Double], [Double]) {
        let n = x.count
        var re = [Double](repeating: 0, count: n / 2 + 1), im = re
        for k in 0...(n / 2) {
            var sr = 0.0, si = 0.0
            for t in 0..<n {
                let a = -2 * Double.pi * Double(k * t % n) / Double(n)
                sr += x[t] * cos(a); si += x[t] * sin(a)
            }
            re[k] = sr; im[k] = si
        }
        return (re, im)
    }

    func testForwardMatchesNaiveDFT() throws {
        var rng = Support.Rng(state: 42)
        for n in [4, 8, 16, 64, 256, 2048] {
            let x = (0..<n).map { _ in rng.next() }
            let fft = try RealFFT(n: n)
            var re = [Double](repeating: 0, count: n / 2 + 1), im = re
            x.withUnsafeBufferPointer { xp in
                re.withUnsafeMutableBufferPointer { r in
                    im.withUnsafeMutableBufferPointer { i in fft.forward(xp.baseAddress!, r.baseAddress!, i.baseAddress!) }
                }
            }
            let (nr, ni) = naiveDFT(x)
            let scale = Double(n).squareRoot()
            for k in 0...(n / 2) {
                XCTAssertEqual(re[k], nr[k], accuracy: 1e-11 * scale, "n=\(n) bin \(k) real")
                XCTAssertEqual(im[k], ni[k], accuracy: 1e-11 * scale, "n=\(n) bin \(k) imag")
            }
        }
    }

    func testInverseRoundTrip() throws {
        var rng = Support.Rng(state: 7)
        for n in [4, 32, 4096] {
            let x = (0..<n).map { _ in rng.next() }
            let fft = try RealFFT(n: n)
            var re = [Double](repeating: 0, count: n / 2 + 1), im = re, back = [Double](repeating: 0, count: n)
            x.withUnsafeBufferPointer { xp in
                re.withUnsafeMutableBufferPointer { r in
                    im.withUnsafeMutableBufferPointer { i in
                        back.withUnsafeMutableBufferPointer { b in
                            fft.forward(xp.baseAddress!, r.baseAddress!, i.baseAddress!)
                            fft.inverse(r.baseAddress!, i.baseAddress!, b.baseAddress!)
                        }
                    }
                }
            }
            for t in 0..<n { XCTAssertEqual(back[t], x[t], accuracy: 1e-12, "n=\(n) sample \(t)") }
            // `count` writes only the first outputs (odd and even counts), equal to the full inverse's, rest untouched
            for count in [1, 3, 4] where count <= n {
                var part = [Double](repeating: .nan, count: n)
                re.withUnsafeBufferPointer { r in
                    im.withUnsafeBufferPointer { i in
                        part.withUnsafeMutableBufferPointer { p in
                            fft.inverse(r.baseAddress!, i.baseAddress!, p.baseAddress!, count: count)
                        }
                    }
                }
                XCTAssertEqual(Array(part.prefix(count)), Array(back.prefix(count)), "n=\(n) count=\(count)")
                XCTAssertTrue(part.dropFirst(count).allSatisfy(\.isNaN), "n=\(n) count=\(count)")
            }
        }
    }

    func testRejectsNonPowerOfTwo() {
        XCTAssertThrowsError(try RealFFT(n: 1000))
        XCTAssertThrowsError(try RealFFT(n: 2))
    }

    func testIncompleteBetaMatchesClosedForm() {
        // For integer a = 2, b = 18: I_x(2, 18) = 1 − (1 − x)^19 − 19·x·(1 − x)^18 (binomial tail).
        for x in stride(from: 0.0, through: 1.0, by: 0.05) {
            let expected = 1 - pow(1 - x, 19) - 19 * x * pow(1 - x, 18)
            XCTAssertEqual(regularizedIncompleteBeta(x, 2, 18), expected, accuracy: 1e-13, "x=\(x)")
        }
    }
}
