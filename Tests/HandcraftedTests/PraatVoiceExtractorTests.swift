import EmoCore
@testable import EmoHandcrafted
import Foundation
import XCTest

/// `voice_method: praat` end to end through the extractor: the study-a vector's F1–F3, HNR, jitter, shimmer and
/// speech rate must be the values Praat 6.1.38 (parselmouth 0.4.7) gives for the same real clips, computed the way
/// the peer pipeline computes them (fixtures: praat_voice.json from Tests/Reference/praat_voice_reference.py,
/// praat_pulses.json from Tests/Reference/praat_pulses_reference.py). The extractor's output is float32, so the
/// tolerance is float32 rounding (2e-6 relative) unless stated.
final class PraatVoiceExtractorTests: XCTestCase {
    struct VoiceFixture: Decodable {
        struct Clip: Decodable {
            struct Harmonicity: Decodable { var mean: Double? }
            var path: String
            var harmonicity: Harmonicity
            var speech_rate: Double?
            var formant_means: [Double?]
        }
        var clips: [Clip]
    }

    struct PulsesFixture: Decodable {
        struct Clip: Decodable {
            var path: String
            var jitter_local: Double?
            var shimmer_local: Double?
        }
        var clips: [Clip]
    }

    func load<T: Decodable>(_ name: String, as: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: Support.fixtures.appendingPathComponent(name)))
    }

    func testStudyAVoiceValuesArePraats() throws {
        let voice = try load("praat_voice.json", as: VoiceFixture.self)
        let pulses = try load("praat_pulses.json", as: PulsesFixture.self)
        let ex = try HandcraftedExtractor(config: .object(["voice_method": "praat"]))
        XCTAssertEqual(ex.resolvedDescription["config"]?["voice_method"], "praat")
        let names = ex.featureNames
        func index(_ n: String) throws -> Int { try XCTUnwrap(names.firstIndex(of: n), n) }
        func close(_ ours: Double, _ theirs: Double?, _ what: String) {
            guard let theirs else { return XCTAssertTrue(ours.isNaN, "\(what): Praat's is undefined, ours \(ours)") }
            XCTAssertEqual(ours, theirs, accuracy: 2e-6 * max(1, abs(theirs)), what)
        }
        var checked = 0
        for clip in voice.clips {
            let (samples, _) = try Support.readMono(clip.path)
            let v = try ex.features(samples)
            close(v[try index("hnr_db_mean")], clip.harmonicity.mean, "\(clip.path) HNR mean")
            close(v[try index("speech_rate")], clip.speech_rate, "\(clip.path) speech rate")
            for (k, name) in ["f1_hz_mean", "f2_hz_mean", "f3_hz_mean"].enumerated() {
                close(v[try index(name)], clip.formant_means[k], "\(clip.path) \(name)")
            }
            if let p = pulses.clips.first(where: { $0.path == clip.path }) {
                close(v[try index("jitter_local")], p.jitter_local, "\(clip.path) jitter")
                close(v[try index("shimmer_local")], p.shimmer_local, "\(clip.path) shimmer")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 3, "clips with jitter/shimmer fixtures")
    }

    func testVoiceMethodsDifferAndBadNameIsAConfigError() throws {
        let praat = try HandcraftedExtractor(config: .object(["voice_method": "praat"]))
        let pyin = try HandcraftedExtractor(config: .object(["voice_method": "pyin"]))
        XCTAssertEqual(praat.featureNames, pyin.featureNames, "the method changes values, not names")
        let y = VoiceQualityTests.vowel(periods: [Int](repeating: 128, count: 125)).map { Float($0) }
        let a = try praat.features(y), b = try pyin.features(y)
        let hnr = try XCTUnwrap(praat.featureNames.firstIndex(of: "hnr_db_mean"))
        XCTAssertNotEqual(a[hnr], b[hnr], "praat and pyin HNR come from different analyses")
        let mfcc = try XCTUnwrap(praat.featureNames.firstIndex(of: "mfcc_1_mean"))
        XCTAssertEqual(a[mfcc], b[mfcc], "the spectral features do not depend on the voice method")
        XCTAssertThrowsError(try HandcraftedExtractor(config: .object(["voice_method": "praat-ish"]))) { error in
            guard case ComponentError.invalidConfig(_, let message) = error else { return XCTFail("\(error) is not invalidConfig") }
            XCTAssertTrue(message.contains("voice_method"), message)
        }
    }

    /// Clips Praat finds no voice in (silence, low noise, a clip shorter than one analysis window) give NaN voice
    /// values, never a crash, and the spectral features stay finite.
    func testUnvoicedAndTooShortClipsGiveNaNVoiceValues() throws {
        let ex = try HandcraftedExtractor(config: .object(["voice_method": "praat"]))
        let names = ex.featureNames
        var rng = Support.Rng(state: 11)
        let noise = (0..<16000).map { _ in Float(0.01 * rng.next()) }
        for (what, y) in [("silence + noise", [Float](repeating: 0, count: 8000) + noise), ("30 ms", Array(noise.prefix(480)))] {
            let v = try ex.features(y)
            for n in ["f1_hz_mean", "jitter_local", "shimmer_local"] {
                XCTAssertTrue(v[try XCTUnwrap(names.firstIndex(of: n))].isNaN, "\(what): \(n)")
            }
            XCTAssertTrue(v[try XCTUnwrap(names.firstIndex(of: "mfcc_1_mean"))].isFinite, what)
            XCTAssertFalse(v[try XCTUnwrap(names.firstIndex(of: "speech_rate"))] > 0, "\(what): no syllable nuclei without voicing")
        }
    }
}
