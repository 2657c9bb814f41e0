import XCTest
@testable import EmoMedia

/// Crop, pad, normalisation and silence trimming, checked against values worked out by hand.
final class ClipProcessingTests: XCTestCase {
    func testCropAndPad() {
        let x: [Float] = [1, 2, 3, 4, 5, 6]
        XCTAssertEqual(ClipProcessing.crop(x, to: 4, alignment: .start), [1, 2, 3, 4])
        XCTAssertEqual(ClipProcessing.crop(x, to: 4, alignment: .centre), [2, 3, 4, 5])
        XCTAssertEqual(ClipProcessing.crop(x, to: 10, alignment: .centre), x)
        XCTAssertEqual(ClipProcessing.pad([1, 2], to: 5, alignment: .start), [1, 2, 0, 0, 0])
        XCTAssertEqual(ClipProcessing.pad([1, 2], to: 5, alignment: .centre), [0, 1, 2, 0, 0])
        // Energy window: the loud burst sits at 5..<8.
        let y: [Float] = [0.1, 0, 0, 0, 0, 3, -3, 3, 0, 0]
        XCTAssertEqual(ClipProcessing.crop(y, to: 3, alignment: .energy), [3, -3, 3])
    }

    func testMeanVarianceNormalisation() {
        // mean 2.5, population variance 1.25.
        let z = ClipProcessing.meanVarianceNormalise([1, 2, 3, 4])
        let s = Float(1 / (1.25 + 1e-7).squareRoot())
        for (a, b) in zip(z, [-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testSilenceTrim() {
        // 1 s of silence, 0.5 s of tone, 1 s of silence at 16 kHz: trimmed length is the tone ± one frame.
        var x = [Float](repeating: 0, count: 16_000)
        x += (0..<8_000).map { Float(sin(Double($0) * 0.2)) * 0.5 }
        x += [Float](repeating: 0, count: 16_000)
        let t = ClipProcessing.trimSilence(x, topDB: 60)
        XCTAssertGreaterThanOrEqual(t.count, 8_000)
        XCTAssertLessThanOrEqual(t.count, 8_000 + 2 * 2_048)
        XCTAssertTrue(ClipProcessing.trimSilence([Float](repeating: 0, count: 5_000), topDB: 60).isEmpty)
    }

    func testOptionsValidationAndCacheKey() throws {
        XCTAssertThrowsError(try MediaDecoder(options: DecodeOptions(duration: -1)))
        XCTAssertThrowsError(try MediaDecoder(options: DecodeOptions(sampleRate: 10)))
        let a = DecodeOptions(duration: 8, alignment: .centre, normalise: true)
        XCTAssertEqual(a.cacheKey, "sr=16000;dur=8.0;align=centre;mvn=1;trim=none")
        XCTAssertNotEqual(a.cacheKey, DecodeOptions().cacheKey)
    }
}
