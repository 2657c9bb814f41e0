import EmoTestSupport
import Foundation
import XCTest
@testable import EmoMedia

/// The 10 published originals decoded by EmoKit beside librosa.load(sr=16000) (soxr_hq), from the fixture that
/// `Tests/Reference/bench_media.py --fixtures` writes.
final class DecoderReferenceTests: XCTestCase {
    struct Fixture: Decodable {
        struct File: Decodable {
            var path: String
            var samples: Int
            var rms: Double
            var excerpt_start: Int
            var excerpt: [Float]
        }
        var files: [File]
    }

    func testOriginalsMatchLibrosa() throws {
        let data = try TestRepository.sharedData()
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/originals_librosa", withExtension: "json"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.files.count, 10)
        for f in fixture.files {
            let clip = try DecodedCache.clip(data.appendingPathComponent(f.path).standardizedFileURL.path)
            XCTAssertEqual(clip.samples.count, f.samples, "\(f.path): length differs from librosa's")
            let rms = (clip.samples.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(clip.samples.count)).squareRoot()
            // Both filters pass 0-7 kHz flat; they differ only in the 7-8 kHz transition band, where speech has
            // little energy.
            XCTAssertEqual(20 * log10(rms / f.rms), 0, accuracy: 0.1, "\(f.path): loudness differs from librosa's")
            var signal = 0.0, noise = 0.0
            for (k, r) in f.excerpt.enumerated() {
                let d = Double(clip.samples[f.excerpt_start + k] - r)
                signal += Double(r) * Double(r)
                noise += d * d
            }
            let snr = 10 * log10(signal / max(noise, 1e-30))
            XCTAssertGreaterThan(snr, 30, "\(f.path): waveform differs from librosa's (SNR \(snr) dB)")
            print("\(f.path): \(clip.samples.count) samples, SNR vs librosa \(String(format: "%.1f", snr)) dB")
        }
    }
}
