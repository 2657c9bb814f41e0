import EmoTestSupport
import XCTest
@testable import EmoMedia

/// `SpeechPresence` refuses what holds no speech (the silence, DC offset, cancelling channels, 10-sample
/// clip, and a steady tone or noise) and passes every real RAVDESS and TESS clip tried.
final class SpeechPresenceTests: XCTestCase {
    let rate = 16_000

    func tone(_ seconds: Double, amplitude: Float = 0.3) -> [Float] {
        (0..<Int(seconds * Double(rate))).map { amplitude * sinf(2 * .pi * 440 * Float($0) / Float(16_000)) }
    }

    func testWhatHoldsNoSpeechIsRefusedWithItsReason() throws {
        let silence = [Float](repeating: 0, count: 3 * rate)
        XCTAssertTrue(try XCTUnwrap(SpeechPresence.problem(silence, sampleRate: rate)).contains("silent"))
        let dc = [Float](repeating: 0.4, count: 3 * rate)
        XCTAssertTrue(try XCTUnwrap(SpeechPresence.problem(dc, sampleRate: rate)).contains("silent"), "a DC offset is silence")
        let short = Array(tone(1)[0..<10])
        XCTAssertTrue(try XCTUnwrap(SpeechPresence.problem(short, sampleRate: rate)).contains("0.001 s long"))
        XCTAssertTrue(try XCTUnwrap(SpeechPresence.problem(tone(3), sampleRate: rate)).contains("steady tone"))
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<(3 * rate)).map { _ in Float.random(in: -0.05...0.05, using: &generator) }
        XCTAssertTrue(try XCTUnwrap(SpeechPresence.problem(noise, sampleRate: rate)).contains("barely changes"))
    }

    func testSpeechLikeLevelChangesPass() {
        // Syllable-like bursts: 150 ms of tone, 100 ms of near-silence, over 2 s.
        let burst = (0..<(2 * rate)).map { i -> Float in (i % 4000) < 2400 ? 0.2 * sinf(Float(i) * 0.17) : 0.0005 * sinf(Float(i) * 0.9) }
        XCTAssertNil(SpeechPresence.problem(burst, sampleRate: rate))
    }

    func testRealClipsPassEvenTheQuietestRAVDESSOne() throws {
        let data = try TestRepository.sharedData()
        let decoder = try MediaDecoder()
        // The quietest RAVDESS clip (loudest frame −54.6 dBFS) and the TESS clip with the smallest level spread.
        for relative in ["ravdess/Actor_09/03-01-04-01-02-02-09.flac", "tess/OAF_pleasant_surprise/OAF_when_ps.flac",
                         "ravdess/Actor_01/03-01-05-01-01-01-01.flac"] {
            let clip = try decoder.decode(path: data.appendingPathComponent(relative).path)
            XCTAssertNil(SpeechPresence.problem(clip.samples, sampleRate: clip.sampleRate), relative)
        }
    }
}
