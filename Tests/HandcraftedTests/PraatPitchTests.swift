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
}
