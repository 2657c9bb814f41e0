import EmoCore
import EmoTestSupport
import Foundation
import XCTest
@testable import EmoMedia

/// Media headers that lie, found while fuzzing the decoder (Fuzz/, target `media`; docs/hardening.md): each is a
/// typed error naming the file, where it used to crash before reading a sample.
final class HostileHeaderTests: XCTestCase {
    /// A 190-byte FLAC (8 kHz mono, 240 samples of a 440 Hz sine; ffmpeg's output without its padding block).
    static let flac = Data(base64Encoded: "ZkxhQ4AAACICQAJAAACUAACUAfQA8AAAAPA1kRK2DExf7WAFYCFH01gC//hkCADvYE4AAAVrCjINxQ+2D80OBQqU5Zn9uyxkl4tgmo8gASX/JoA5riQUCYKEMId+mEwRQhZOjT6IiIKFF3wxBiyQUESKtzaaJCRCSyGtzEwRgKIKJcaGIaYIwSIihGIemyxJBQiS/zTWSIkCYEy40faRCQhQrnbosFEJCYhhA1muJBQJgoQwh36YTBFCFkAUCw==") ?? Data()

    private func write(_ bytes: Data, _ name: String) throws -> String {
        let path = try TestRepository.temporaryFolder(self, prefix: "emomedia").appendingPathComponent(name).path
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    func testTheFixtureDecodes() throws {
        let audio = try MediaDecoder.decodeNative(path: try write(Self.flac, "ok.flac"))
        XCTAssertEqual(audio.samples.count, 240)
        XCTAssertEqual(audio.sampleRate, 8000)
    }

    /// STREAMINFO declaring 2^36 − 1 samples: the decoder reserved that many floats (256 GiB) up front and died.
    func testAFLACDeclaringBillionsOfSamplesIsTruncatedNotACrash() throws {
        var bytes = [UInt8](Self.flac)
        bytes[21] |= 0x0F                       // STREAMINFO body starts at 8; total samples = low 36 bits of bytes 18..25
        for i in 22...25 { bytes[i] = 0xFF }
        let path = try write(Data(bytes), "lying.flac")
        XCTAssertThrowsError(try MediaDecoder().decode(path: path)) { error in
            guard case .truncated(let p, let detail)? = error as? MediaError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue(detail.contains("68719476735 frames but only 240"), detail)
        }
    }
}

extension HostileHeaderTests {
    /// A WAV whose header says 2 GHz (the fuzzer's was a Wave64 at 1 953 517 376 Hz): resampling it to 16 kHz built a
    /// 12.6 GB filter table (and would have run for hours); 1 Hz would upsample each sample to 16 000. Both are refused.
    func testAbsurdSampleRatesAreRefusedBeforeResampling() throws {
        for rate in [2_000_000_000, 1] {
            let url = try TestRepository.temporaryFolder(self, prefix: "emomedia").appendingPathComponent("rate\(rate).wav")
            try writeWAV([Float](repeating: 0.1, count: 64), rate: rate, to: url)
            XCTAssertThrowsError(try MediaDecoder().decode(path: url.path)) { error in
                XCTAssertEqual(error as? MediaError, .unsupportedSampleRate(path: url.path, rate: rate))
                XCTAssertTrue("\(error)".contains("\(rate) Hz"), "\(error)")
            }
        }
    }
}
