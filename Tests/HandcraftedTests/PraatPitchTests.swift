@testable import EmoHandcrafted
import Foundation
import XCTest

/// Praat's pitch (ac), harmonicity (ac), intensity, the peer's speech rate and its formant means against Praat 6.1.38
/// (parselmouth 0.4.7) frame by frame on six real clips (fixture from Tests/Reference/praat_voice_reference.py).
final class PraatPitchTests: XCTestCase {
    /// One fixture clip.
    struct Clip {
        var path: String
        var samples: Int
        var pitchX1: Double, pitchDt: Double
        var f0: [Double], strength: [Double]
        var harmonicityX1: Double, harmonicityDt: Double
        var harmonicity: [Double]
        var harmonicityMean: Double?
        var intensityX1: Double, intensityDt: Double
        var intensity: [Double]
        var speechRate: Double?
        var formantMeans: [Double?]
    }

    static func number(_ v: Any?) -> Double? { (v as? NSNumber)?.doubleValue }

    func loadFixture() throws -> [Clip] {
        let url = Support.fixtures.appendingPathComponent("praat_voice.json")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        let clips = doc["clips"] as? [[String: Any]] ?? []
        XCTAssertEqual(clips.count, 6, "fixture clips")
        return clips.map { c in
            let p = c["pitch"] as? [String: Any] ?? [:], h = c["harmonicity"] as? [String: Any] ?? [:]
            let i = c["intensity"] as? [String: Any] ?? [:]
            func doubles(_ d: [String: Any], _ k: String) -> [Double] { (d[k] as? [NSNumber] ?? []).map(\.doubleValue) }
            return Clip(path: c["path"] as? String ?? "", samples: c["samples"] as? Int ?? 0,
                        pitchX1: Self.number(p["x1"]) ?? .nan, pitchDt: Self.number(p["dt"]) ?? .nan,
                        f0: doubles(p, "f0"), strength: doubles(p, "strength"),
                        harmonicityX1: Self.number(h["x1"]) ?? .nan, harmonicityDt: Self.number(h["dt"]) ?? .nan,
                        harmonicity: doubles(h, "values"), harmonicityMean: Self.number(h["mean"]),
                        intensityX1: Self.number(i["x1"]) ?? .nan, intensityDt: Self.number(i["dt"]) ?? .nan,
                        intensity: doubles(i, "values"), speechRate: Self.number(c["speech_rate"]),
                        formantMeans: (c["formant_means"] as? [Any] ?? []).map { Self.number($0) })
        }
    }

    /// The clip's samples as the reference read them (libsndfile float32, promoted to Double).
    func samples(_ clip: Clip) throws -> [Double] {
        let (s, sr) = try Support.readMono(clip.path)
        XCTAssertEqual(sr, 16000)
        XCTAssertEqual(s.count, clip.samples, "\(clip.path): sample count")
        return s.map { Double($0) }
    }

    func testPitchMatchesPraat() throws {
        var frames = 0, voicingAgree = 0, bothVoiced = 0
        var worstF0 = 0.0, worstStrength = 0.0
        for clip in try loadFixture() {
            let y = try samples(clip)
            let got = PraatPitch().analyse(y, sampleRate: 16000)
            let track = got.track
            XCTAssertEqual(track.f0.count, clip.f0.count, "\(clip.path): frame count")
            XCTAssertEqual(track.x1, clip.pitchX1, accuracy: 1e-12, "\(clip.path): x1")
            XCTAssertEqual(track.dt, clip.pitchDt, "\(clip.path): dt")
            let strengths = got.strengths
            for (k, (mine, ref)) in zip(track.f0, clip.f0).enumerated() {
                frames += 1
                if (mine > 0) == (ref > 0) { voicingAgree += 1 } else {
                    print("\(clip.path) frame \(k): EmoKit \(mine) Hz, Praat \(ref) Hz")
                }
                if mine > 0 && ref > 0 {
                    bothVoiced += 1
                    worstF0 = max(worstF0, abs(mine - ref))
                    worstStrength = max(worstStrength, abs(strengths[k] - clip.strength[k]))
                }
            }
        }
        let agree = Double(voicingAgree) / Double(max(frames, 1))
        print("Praat pitch: \(frames) frames, voicing agrees on \(voicingAgree) (\(agree)), \(bothVoiced) voiced in both, "
              + "max |Δf0| \(worstF0) Hz, max |Δstrength| \(worstStrength)")
        XCTAssertGreaterThan(bothVoiced, 500)
        XCTAssertEqual(agree, 1.0, "voicing decisions")
        XCTAssertLessThan(worstF0, 1e-6, "f0 on frames voiced in both (Hz)")
        XCTAssertLessThan(worstStrength, 1e-6, "strength of the chosen candidate")
    }

    func testHarmonicityMatchesPraat() throws {
        var frames = 0, silentAgree = 0, worst = 0.0, worstMean = 0.0
        for clip in try loadFixture() {
            let got = PraatHarmonicity().track(try samples(clip), sampleRate: 16000)
            XCTAssertEqual(got.values.count, clip.harmonicity.count, "\(clip.path): frame count")
            XCTAssertEqual(got.x1, clip.harmonicityX1, accuracy: 1e-12, "\(clip.path): x1")
            for (k, (mine, ref)) in zip(got.values, clip.harmonicity).enumerated() {
                frames += 1
                if (mine == -200) == (ref == -200) { silentAgree += 1 } else {
                    print("\(clip.path) frame \(k): EmoKit \(mine) dB, Praat \(ref) dB")
                }
                if mine != -200 && ref != -200 { worst = max(worst, abs(mine - ref)) }
            }
            if let m = got.mean, let r = clip.harmonicityMean { worstMean = max(worstMean, abs(m - r)) } else {
                XCTFail("\(clip.path): HNR mean \(String(describing: got.mean)) vs \(String(describing: clip.harmonicityMean))")
            }
        }
        print("Praat harmonicity: \(frames) frames, silent/sounding agrees on \(silentAgree), max |ΔHNR| \(worst) dB, "
              + "max |Δmean| \(worstMean) dB")
        XCTAssertEqual(silentAgree, frames, "silent (−200) frames")
        XCTAssertLessThan(worst, 1e-6, "HNR per frame (dB)")
        XCTAssertLessThan(worstMean, 1e-8, "HNR mean (dB)")
    }

    func testIntensityMatchesPraat() throws {
        var worst = 0.0, frames = 0
        for clip in try loadFixture() {
            let got = PraatIntensity().track(try samples(clip), sampleRate: 16000)
            XCTAssertEqual(got.values.count, clip.intensity.count, "\(clip.path): frame count")
            XCTAssertEqual(got.x1, clip.intensityX1, accuracy: 1e-12, "\(clip.path): x1")
            for (mine, ref) in zip(got.values, clip.intensity) { worst = max(worst, abs(mine - ref)); frames += 1 }
        }
        print("Praat intensity: \(frames) frames, max |Δ| \(worst) dB")
        XCTAssertGreaterThan(frames, 1000)
        XCTAssertLessThan(worst, 1e-6, "intensity per frame (dB)")
    }

    func testSpeechRateAndFormantMeansMatchThePeer() throws {
        for clip in try loadFixture() {
            let y = try samples(clip)
            // (PraatVoiceMeans.compute without the harmonicity, which testHarmonicityMatchesPraat covers)
            let pitch = PraatPitch().track(y, sampleRate: 16000)
            let rateValue = PraatVoiceMeans.speechRate(intensity: PraatIntensity().track(y, sampleRate: 16000),
                                                       pitch: pitch, duration: Double(y.count) / 16000)
            let formantMeans = PraatVoiceMeans.formantMeans(y, sampleRate: 16000, pitch: pitch)
            guard let rate = rateValue, let ref = clip.speechRate else {
                XCTFail("\(clip.path): speech rate undefined"); continue
            }
            // a count of nuclei over the duration: equal, not close
            XCTAssertEqual(rate, ref, accuracy: 1e-12, "\(clip.path): speech rate")
            XCTAssertEqual(formantMeans.count, 3)
            for (k, (mine, ref)) in zip(formantMeans, clip.formantMeans).enumerated() {
                guard let m = mine, let r = ref else {
                    XCTAssertEqual(mine == nil, ref == nil, "\(clip.path): F\(k + 1) mean defined"); continue
                }
                XCTAssertEqual(m, r, accuracy: 1e-6, "\(clip.path): F\(k + 1) mean (Hz)")
            }
        }
    }

    func testQuantileIsNumpysLinearRule() {
        // numpy.quantile([1, 2, 3, 4], 0.99) = 3.97; quantile of one value is that value
        XCTAssertEqual(PraatVoiceMeans.quantile([4, 1, 3, 2], 0.99), 3.97, accuracy: 1e-12)
        XCTAssertEqual(PraatVoiceMeans.quantile([5], 0.99), 5)
        XCTAssertEqual(PraatVoiceMeans.quantile([0, 10], 0.5), 5)
    }

    func testSilenceAndShortClips() {
        // all zeros: every pitch frame unvoiced, every harmonicity frame silent; shorter than a window: no frames
        let zeros = [Double](repeating: 0, count: 16000)
        let pitch = PraatPitch().track(zeros, sampleRate: 16000)
        XCTAssertFalse(pitch.f0.isEmpty)
        XCTAssertTrue(pitch.f0.allSatisfy { $0 == 0 })
        let hnr = PraatHarmonicity().track(zeros, sampleRate: 16000)
        XCTAssertTrue(hnr.values.allSatisfy { $0 == -200 })
        XCTAssertNil(hnr.mean)
        XCTAssertEqual(PraatPitch().track([Double](repeating: 0.1, count: 100), sampleRate: 16000).f0, [])
        XCTAssertEqual(PraatHarmonicity().track([Double](repeating: 0.1, count: 100), sampleRate: 16000).values, [])
        XCTAssertEqual(PraatIntensity().track([Double](repeating: 0.1, count: 100), sampleRate: 16000).values, [])
        let none = PraatVoiceMeans.compute(zeros, sampleRate: 16000)
        XCTAssertNil(none.hnrMean)
        XCTAssertEqual(none.formantMeans, [nil, nil, nil])
        XCTAssertEqual(none.speechRate, 0)
    }

    func testSyntheticPulseTrainPitch() {
        // a 125 Hz pulse train through a resonator: Praat's tracker finds 125 Hz (period 128 samples) everywhere
        // inside, with strength near 1
        let y = VoiceQualityTests.vowel(periods: [Int](repeating: 128, count: 188), formants: [(700, 80), (1220, 90)])
        let got = PraatPitch().analyse(y, sampleRate: 16000)
        let inner = got.track.f0.dropFirst(2).dropLast(2)
        XCTAssertFalse(inner.isEmpty)
        for f in inner { XCTAssertEqual(f, 125, accuracy: 0.01) }
        XCTAssertGreaterThan(got.strengths.dropFirst(2).dropLast(2).min() ?? 0, 0.95)
    }

    /// Opt-in survey (EMO_PRAAT_VOICE_SURVEY=file from `praat_voice_reference.py --survey N file`): EmoKit's clip
    /// values against the peer's; prints correlation, median relative difference and the time per clip.
    func testSurveyAgainstPraat() throws {
        guard let file = ProcessInfo.processInfo.environment["EMO_PRAAT_VOICE_SURVEY"] else {
            throw XCTSkip("set EMO_PRAAT_VOICE_SURVEY to a file from praat_voice_reference.py --survey to run the survey")
        }
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as? [String: Any] ?? [:]
        let rows = doc["clips"] as? [[String: Any]] ?? []
        let names = ["HNR mean", "speech rate", "F1 mean", "F2 mean", "F3 mean"]
        var ref = [[Double]](repeating: [], count: 5), mine = ref
        var definedMismatch = [Int](repeating: 0, count: 5)
        var seconds = 0.0, pitchHNRSeconds = 0.0, audio = 0.0
        for row in rows {
            let (samples, sr) = try Support.readMono(row["path"] as? String ?? "")
            let y = samples.map { Double($0) }
            audio += Double(y.count) / Double(sr)
            let t0 = Date()
            let got = PraatVoiceMeans.compute(y, sampleRate: Double(sr))
            seconds += Date().timeIntervalSince(t0)
            let t1 = Date()
            _ = PraatPitch().track(y, sampleRate: Double(sr))
            _ = PraatHarmonicity().track(y, sampleRate: Double(sr))
            pitchHNRSeconds += Date().timeIntervalSince(t1)
            let fm = row["formant_means"] as? [Any] ?? []
            let r: [Double?] = [Self.number(row["hnr_mean"]), Self.number(row["speech_rate"])] + fm.map { Self.number($0) }
            let m: [Double?] = [got.hnrMean, got.speechRate] + got.formantMeans
            for c in 0..<5 {
                switch (m[c], r[c]) {
                case let (a?, b?): mine[c].append(a); ref[c].append(b)
                case (nil, nil): break
                default: definedMismatch[c] += 1
                }
            }
        }
        func pearson(_ a: [Double], _ b: [Double]) -> Double {
            let n = Double(a.count), ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
            var sab = 0.0, saa = 0.0, sbb = 0.0
            for (x, y) in zip(a, b) { sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb) }
            return sab / (saa * sbb).squareRoot()
        }
        print("survey: \(rows.count) clips, \(String(format: "%.1f", audio)) s of audio")
        for c in 0..<5 {
            let rel = zip(mine[c], ref[c]).map { abs($0 - $1) / max(abs($1), 1e-12) }.sorted()
            let absd = zip(mine[c], ref[c]).map { abs($0 - $1) }
            print("\(names[c]): \(ref[c].count) clips, r \(String(format: "%.6f", pearson(mine[c], ref[c]))), "
                  + "median rel diff \(rel.isEmpty ? .nan : rel[rel.count / 2]), max |diff| \(absd.max() ?? .nan), "
                  + "defined in one only \(definedMismatch[c])")
            XCTAssertEqual(definedMismatch[c], 0, names[c])
            XCTAssertGreaterThan(pearson(mine[c], ref[c]), 0.999, names[c])
        }
        print("time (this build): all peer values \(String(format: "%.3f", seconds)) s, pitch + harmonicity "
              + "\(String(format: "%.3f", pitchHNRSeconds)) s, per 3 s of audio: "
              + "\(String(format: "%.4f", pitchHNRSeconds / audio * 3)) s")
    }
}
