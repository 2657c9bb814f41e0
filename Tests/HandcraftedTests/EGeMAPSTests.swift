@testable import EmoHandcrafted
import Foundation
import XCTest

/// `egemaps-v02` against openSMILE 3.0 (PyPI opensmile 2.6.0, FeatureSet.eGeMAPSv02) on six real clips
/// (fixture egemaps_v02.json from Tests/Reference/make_egemaps_fixtures.py). openSMILE computes in float32 and its
/// fixture keeps 7 significant digits, so each LLD is compared within 2e-5 of that descriptor's scale (the largest
/// |value| openSMILE gives it on the clip; measured worst 2.6e-6, the slopes) and each functional within 2e-4 of
/// max(|openSMILE's value|, 1e-3) (measured worst 6.3e-5, mfcc4's mean, which sits near 0); only the descriptors listed in `EGeMAPSv02.implementedLLDs` / `implementedFunctionals` are claimed (the others
/// are NaN and are checked to be NaN, so a half-done descriptor cannot pass for openSMILE's), less `notMatched`.
final class EGeMAPSTests: XCTestCase {
    /// Implemented functionals that do not match openSMILE on every fixture clip, left out of the parity check
    /// (docs/history.md (session 11, eGeMAPS)): hammarbergIndexUV — on a frame holding a single non-zero sample (RAVDESS's near-silent
    /// edges) the spectrum is flat, the exact index is 0 dB and is skipped as "zero", while openSMILE's float32
    /// FFT leaves ~5e-7 dB and counts the frame (7.87 vs our 7.63 on Actor_01's angry clip).
    ///
    /// F1–F3 frequency and bandwidth (LLDs and their 12 functionals) follow openSMILE's definition step by step (its
    /// inverse-DFT resampling, order-11 LPC, negated-coefficient roots) and ~94 % of frames agree within 1 Hz, but the
    /// order-11 LPC of the 11 kHz frame is ill-conditioned: openSMILE's float32 autocorrelation and ours give
    /// different roots on some frames (up to ~1 kHz apart on near-silent ones), so means differ by up to 4 % and
    /// stddevNorm by up to 9 % on these clips. Not matched yet.
    ///
    /// H1−A3 and F1–F3 amplitudeLogRelF0 (cHarmonics) pick the harmonic nearest each formant, so they inherit the
    /// formant differences (means within ~1 %). HNRdBACF and H1−H2, from the same component, match.
    static let notMatchedLLDNames = EGeMAPSv02.formantNames + ["logRelF0-H1-A3_sma3nz",
        "F1amplitudeLogRelF0_sma3nz", "F2amplitudeLogRelF0_sma3nz", "F3amplitudeLogRelF0_sma3nz"]
    static let notMatched: Set<String> = Set(["hammarbergIndexUV_sma3nz_amean"]
        + notMatchedLLDNames.flatMap { ["\($0)_amean", "\($0)_stddevNorm"] })
    static let notMatchedLLDs: Set<String> = Set(notMatchedLLDNames)

    struct Fixture: Decodable {
        struct Clip: Decodable {
            var path: String
            var samples: Int
            var lld: [[Double]]
            var func_: [Double]
            enum CodingKeys: String, CodingKey { case path, samples, lld, func_ = "func" }
        }
        var lld_names: [String]
        var func_names: [String]
        var clips: [Clip]
    }

    func fixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: Support.fixtures.appendingPathComponent("egemaps_v02.json")))
    }

    func testNamesAndOrderAreOpenSMILEs() throws {
        let f = try fixture()
        XCTAssertEqual(EGeMAPSv02.lldNames, f.lld_names)
        XCTAssertEqual(EGeMAPSv02.functionalNames, f.func_names)
        XCTAssertEqual(EGeMAPSv02.functionalNames.count, 88)
        XCTAssertEqual(EGeMAPSv02.lldNames.count, 25)
    }

    func testLowLevelDescriptorsMatchOpenSMILE() throws {
        let f = try fixture()
        let eg = try EGeMAPSv02()
        var compared = 0
        var worstLLD: [String: Double] = [:]
        for clip in f.clips {
            let (samples, sr) = try Support.readMono(clip.path)
            XCTAssertEqual(sr, 16000)
            XCTAssertEqual(samples.count, clip.samples)
            let ours = eg.lowLevelDescriptors(samples)
            XCTAssertEqual(ours.count, clip.lld.count, "\(clip.path): openSMILE's lld row count")
            for (k, name) in f.lld_names.enumerated() {
                let theirs = clip.lld.map { $0[k] }
                guard EGeMAPSv02.implementedLLDs.contains(name) else {
                    XCTAssertTrue(ours.allSatisfy { $0[k].isNaN }, "\(name) is not matched yet and must be NaN")
                    continue
                }
                let scale = max(theirs.map(abs).max() ?? 0, 1e-6)
                var worst = 0.0, at = 0
                for t in 0..<min(ours.count, theirs.count) {
                    let e = abs(ours[t][k] - theirs[t])
                    if e > worst { worst = e; at = t }
                }
                worstLLD[name] = max(worstLLD[name] ?? 0, worst / scale)
                if Self.notMatchedLLDs.contains(name) { continue }
                XCTAssertLessThanOrEqual(worst, 2e-5 * scale, "\(clip.path) \(name): worst |Δ| \(worst) at frame \(at), scale \(scale)")
                compared += 1
            }
        }
        XCTAssertEqual(compared, f.clips.count * EGeMAPSv02.implementedLLDs.subtracting(Self.notMatchedLLDs).count)
        for name in f.lld_names where worstLLD[name] != nil {
            print(String(format: "egemaps LLD %@ worst |Δ|/scale %.2e%@", name, worstLLD[name] ?? 0,
                         Self.notMatchedLLDs.contains(name) ? " (not matched)" : ""))
        }
    }

    func testFunctionalsMatchOpenSMILE() throws {
        let f = try fixture()
        let eg = try EGeMAPSv02()
        var compared = 0
        var worst: [String: Double] = [:]
        for clip in f.clips {
            let (samples, _) = try Support.readMono(clip.path)
            let ours = eg.functionals(samples)
            XCTAssertEqual(ours.count, 88)
            for (k, name) in f.func_names.enumerated() {
                guard EGeMAPSv02.implementedFunctionals.contains(name) else {
                    XCTAssertTrue(ours[k].isNaN, "\(name) is not matched yet and must be NaN")
                    continue
                }
                let theirs = clip.func_[k]
                worst[name] = max(worst[name] ?? 0, abs(ours[k] - theirs) / max(abs(theirs), 1e-3))
                if Self.notMatched.contains(name) { continue }
                XCTAssertEqual(ours[k], theirs, accuracy: 2e-4 * max(abs(theirs), 1e-3), "\(clip.path) \(name)")
                compared += 1
            }
        }
        XCTAssertEqual(compared, f.clips.count * EGeMAPSv02.implementedFunctionals.subtracting(Self.notMatched).count)
        for name in f.func_names where worst[name] != nil {
            print(String(format: "egemaps functional %@ worst |Δ|/max(|ref|,1e-3) %.2e%@", name, worst[name] ?? 0,
                         Self.notMatched.contains(name) ? " (not matched)" : ""))
        }
    }

    /// Clips shorter than one 60 ms (or one 20 ms) frame, silence and a pure tone give 88 finite values and
    /// LLD rows of 25, without trapping; silence has no voiced segment and a zero F0 mean.
    func testShortSilentAndTonalInputs() throws {
        let eg = try EGeMAPSv02()
        var rng = Support.Rng(state: 7)
        let tone = (0..<16000).map { Float(0.3 * sin(2 * Double.pi * 220 * Double($0) / 16000)) }
        let inputs: [(String, [Float])] = [
            ("2 samples", [0.1, -0.1]), ("300 samples", (0..<300).map { _ in Float(0.1 * rng.next()) }),
            ("700 samples", (0..<700).map { _ in Float(0.1 * rng.next()) }),
            ("1 s silence", [Float](repeating: 0, count: 16000)), ("1 s 220 Hz tone", tone),
        ]
        let names = EGeMAPSv02.functionalNames
        for (what, x) in inputs {
            let v = eg.functionals(x)
            XCTAssertEqual(v.count, 88, what)
            for (k, value) in v.enumerated() { XCTAssertTrue(value.isFinite, "\(what): \(names[k]) = \(value)") }
            XCTAssertTrue(eg.lowLevelDescriptors(x).allSatisfy { $0.count == 25 }, what)
        }
        let silence = eg.functionals([Float](repeating: 0, count: 16000))
        XCTAssertEqual(silence[names.firstIndex(of: "F0semitoneFrom27.5Hz_sma3nz_amean") ?? 0], 0)
        XCTAssertEqual(silence[names.firstIndex(of: "VoicedSegmentsPerSec") ?? 0], 0)
        // The tone is voiced throughout at 220 Hz: 12·log2(220/27.5) = 36 semitones.
        let toneF0 = eg.functionals(tone)[names.firstIndex(of: "F0semitoneFrom27.5Hz_sma3nz_amean") ?? 0]
        XCTAssertEqual(toneF0, 36, accuracy: 0.2)
    }

    func testExtractorPresetIsTheFeatureSet() throws {
        let f = try fixture()
        let ex = try HandcraftedExtractor(config: .object(["preset": "egemaps-v02"]))
        XCTAssertEqual(ex.featureNames, f.func_names)
        XCTAssertEqual(ex.resolvedDescription["config"]?["preset"], "egemaps-v02")
        let clip = f.clips[0]
        let (samples, _) = try Support.readMono(clip.path)
        let v = try ex.features(samples)
        let direct = try EGeMAPSv02().functionals(samples)
        XCTAssertEqual(v.count, 88)
        for k in v.indices where !(v[k].isNaN && direct[k].isNaN) { XCTAssertEqual(v[k], direct[k], f.func_names[k]) }
        let loud = try XCTUnwrap(f.func_names.firstIndex(of: "loudness_sma3_amean"))
        XCTAssertEqual(v[loud], clip.func_[loud], accuracy: 1e-3 * abs(clip.func_[loud]))
        XCTAssertThrowsError(try HandcraftedExtractor(config: .object(["preset": "egemaps-v02", "functionals": .array(["mean"])])))
    }

    /// Opt-in survey (EMO_EGEMAPS_SURVEY=file from `make_egemaps_fixtures.py --survey N file`): the 88 functionals
    /// of N real clips against openSMILE's. Prints, per functional, how many clips are within the parity tolerance
    /// (2e-4 of max(|value|, 1e-3)) and the worst relative difference; fails if a functional claimed as matched
    /// misses the tolerance on more than 1 % of the clips.
    func testSurveyAgainstOpenSMILE() throws {
        guard let file = ProcessInfo.processInfo.environment["EMO_EGEMAPS_SURVEY"] else {
            throw XCTSkip("set EMO_EGEMAPS_SURVEY to a file from make_egemaps_fixtures.py --survey to run the survey")
        }
        struct Survey: Decodable {
            struct Row: Decodable { var path: String; var func_: [Double]; enum CodingKeys: String, CodingKey { case path, func_ = "func" } }
            var clips: [Row]
        }
        let rows = try JSONDecoder().decode(Survey.self, from: Data(contentsOf: URL(fileURLWithPath: file))).clips
        let eg = try EGeMAPSv02()
        let names = EGeMAPSv02.functionalNames
        var within = [Int](repeating: 0, count: names.count), worst = [Double](repeating: 0, count: names.count)
        var worstClip = [String](repeating: "", count: names.count)
        var seconds = 0.0, audio = 0.0
        for row in rows {
            let (samples, _) = try Support.readMono(row.path)
            audio += Double(samples.count) / 16000
            let t0 = Date()
            let ours = eg.functionals(samples)
            seconds += Date().timeIntervalSince(t0)
            for k in names.indices {
                let theirs = row.func_[k]
                let rel = abs(ours[k] - theirs) / max(abs(theirs), 1e-3)
                if rel <= 2e-4 { within[k] += 1 }
                if !(rel <= worst[k]) { worst[k] = rel; worstClip[k] = row.path }
            }
        }
        print(String(format: "egemaps survey: %d clips, %.1f s of audio, %.2f s to analyse (this build)", rows.count, audio, seconds))
        for k in names.indices {
            let claimed = EGeMAPSv02.implementedFunctionals.contains(names[k]) && !Self.notMatched.contains(names[k])
            print(String(format: "egemaps survey %@: %d/%d within 2e-4, worst %.2e (%@)%@", names[k], within[k], rows.count,
                         worst[k], worstClip[k], claimed ? "" : " (not claimed)"))
            if claimed {
                XCTAssertGreaterThanOrEqual(Double(within[k]), 0.99 * Double(rows.count), "\(names[k]): \(within[k])/\(rows.count) within tolerance")
            }
        }
    }
}
