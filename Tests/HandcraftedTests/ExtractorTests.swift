import EmoCore
@testable import EmoHandcrafted
import Foundation
import XCTest

/// The `handcrafted` component: manifest, presets, names, config errors, and end-to-end values.
final class ExtractorTests: XCTestCase {
    func testIdentityAndManifest() {
        let info = HandcraftedExtractor.componentInfo
        XCTAssertEqual(info.id, "handcrafted")
        XCTAssertEqual(info.kind, .extractor)
        XCTAssertTrue(ComponentInfo.isValidID(info.id))
        XCTAssertEqual(info.configDefaults["preset"], "study-a")
        XCTAssertEqual(info.configDefaults["n_mfcc"]?.intValue, 40)
        XCTAssertEqual(info.configDefaults["n_fft"]?.intValue, 2048)
    }

    func testStudyANamesAndOutput() throws {
        let ex = try HandcraftedExtractor(config: .object([:]))
        let names = ex.featureNames
        // 40 MFCC + 12 chroma + centroid, rolloff, ZCR + f0 mean/std + voiced fraction + F1–F3 + HNR + jitter,
        // shimmer, speech rate
        XCTAssertEqual(names.count, 40 + 12 + 3 + 2 + 1 + 3 + 1 + 3)
        XCTAssertEqual(Set(names).count, names.count, "names are unique")
        XCTAssertEqual(names.first, "mfcc_1_mean")
        XCTAssertTrue(names.contains("chroma_a_mean"))
        XCTAssertTrue(names.contains("f0_hz_std"))
        let desc = ex.resolvedDescription
        let out = desc["outputs"]?.arrayValue?.first
        XCTAssertEqual(out?["feature_names"]?.arrayValue?.count, names.count)
        XCTAssertEqual(out?["dims"]?.arrayValue?.first?.intValue, names.count)
        XCTAssertEqual(desc["config"]?["preset"], "study-a")
        let y = VoiceQualityTests.vowel(periods: [Int](repeating: 128, count: 125)).map { Float($0) }
        let result = try ex.forward([.array(NDArray(vector: y))])
        XCTAssertEqual(result.first?.array?.shape, [names.count])
    }

    func testMFCCMeanEqualsLibrosaFrameMean() throws {
        // End to end: the extractor's mfcc_k_mean is the mean over librosa's MFCC frames of the same clip.
        guard let clip = try Support.fixtureClips().first, let mfcc = clip.arrays["mfcc"], let zcr = clip.arrays["zcr"] else {
            return XCTFail("fixtures missing")
        }
        let (samples, _) = try Support.readMono(clip.path)
        let ex = try HandcraftedExtractor(config: .object(["preset": "custom", "descriptors": ["mfcc", "zcr"]]))
        let v = try ex.features(Array(samples.prefix(clip.samples)))
        let frames = mfcc.shape[1]
        for k in 0..<40 {
            let mean = (0..<frames).reduce(0.0) { $0 + Double(mfcc.values[k * frames + $1]) } / Double(frames)
            XCTAssertEqual(v[k], mean, accuracy: 1e-3, "mfcc_\(k + 1)_mean")
        }
        let zmean = zcr.values.reduce(0.0) { $0 + Double($1) } / Double(zcr.values.count)
        XCTAssertEqual(v[40], zmean, accuracy: 1e-6)
    }

    func testEgemapsLikeAndFunctionalsOverride() throws {
        let eg = try HandcraftedExtractor(config: .object(["preset": "egemaps-like"]))
        XCTAssertTrue(eg.featureNames.contains("f0_semitone_p20"))
        XCTAssertTrue(eg.featureNames.contains("mfcc_4_std"))
        XCTAssertFalse(eg.featureNames.contains("mfcc_5_mean"))
        // f0 semitone 7 + rms_db 7 + jitter, shimmer 2 + HNR 2 + F1–F3 × 2 + alpha 2 + Hammarberg 2 + flux 2
        // + MFCC 1–4 × 2 + 5 temporal scalars
        XCTAssertEqual(eg.featureNames.count, 7 + 7 + 2 + 2 + 6 + 2 + 2 + 2 + 8 + 5)
        let y = VoiceQualityTests.vowel(periods: [Int](repeating: 128, count: 125)).map { Float($0) }
        XCTAssertEqual(try eg.features(y).count, eg.featureNames.count)
        let two = try HandcraftedExtractor(config: .object(["functionals": ["mean", "std"]]))
        XCTAssertTrue(two.featureNames.contains("mfcc_40_std"))
        XCTAssertEqual(two.featureNames.count, (40 + 12 + 3 + 1 + 3 + 1) * 2 + 4)
    }

    func testConfigErrorsAreTyped() {
        let cases: [JSONValue] = [
            .object(["preset": "nope"]),
            .object(["n_fft": 1000]),
            .object(["functionals": ["median"]]),
            .object(["preset": "custom"]),
            .object(["descriptors": ["mfcc", "loudness"], "preset": "custom"]),
            .object(["sample_rate": 22050]),
            .object(["pitch_fmin": 5]),
        ]
        for c in cases {
            XCTAssertThrowsError(try HandcraftedExtractor(config: c), "\(c.serialized())") { error in
                guard case ComponentError.invalidConfig = error else { return XCTFail("\(error) is not invalidConfig") }
            }
        }
    }

    func testBadInputIsRejected() throws {
        let ex = try HandcraftedExtractor(config: .object([:]))
        XCTAssertThrowsError(try ex.forward([.array(NDArray(zeros: [2, 100]))]))
        XCTAssertThrowsError(try ex.forward([.array(NDArray(vector: [0]))]))
        XCTAssertThrowsError(try ex.forward([.array(NDArray(vector: [0, .nan, 0]))]))
        XCTAssertThrowsError(try ex.forward([.text("hello")]))
    }

    func testUnvoicedClipGivesNaNPitchAndZeroVoicedFraction() throws {
        let ex = try HandcraftedExtractor(config: .object([:]))
        var rng = Support.Rng(state: 3)
        let noise = (0..<16000).map { _ in Float(0.01 * rng.next()) }
        let v = try ex.features([Float](repeating: 0, count: 8000) + noise)
        let names = ex.featureNames
        func value(_ n: String) -> Double { names.firstIndex(of: n).map { v[$0] } ?? -1 }
        XCTAssertEqual(value("voiced_fraction"), 0)
        XCTAssertTrue(value("f0_hz_mean").isNaN)
        XCTAssertTrue(value("mfcc_1_mean").isFinite)
    }

    func testFunctionalsFromDefinitions() {
        let x: [Double] = [1, 2, 3, 4, 5]
        XCTAssertEqual(Functional.mean.apply(x, dt: 1), 3)
        XCTAssertEqual(Functional.std.apply(x, dt: 1), 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(Functional.p20.apply(x, dt: 1), 1.8, accuracy: 1e-12)    // numpy.percentile linear
        XCTAssertEqual(Functional.range.apply(x, dt: 1), 4.2 - 1.8, accuracy: 1e-12)
        XCTAssertEqual(Functional.slope.apply(x, dt: 0.5), 2, accuracy: 1e-12)  // 1 per frame, 2 frames per second
        XCTAssertEqual(Functional.mean.apply([1, .nan, 3], dt: 1), 2)
        XCTAssertTrue(Functional.max.apply([.nan], dt: 1).isNaN)
    }
}
