import EmoTestSupport
import Foundation
import XCTest
import EmoCore
@testable import EmoMedia

/// Decoding the real recordings in ../shared/data: odd originals, the FLAC corpora, and mp4s made with ffmpeg.
final class DecoderRealDataTests: XCTestCase {
    /// Frames and rate read from a RIFF/WAVE or AIFF header by a parser independent of the decoder under test.
    struct HeaderFacts { var frames: Int; var rate: Double; var channels: Int }

    func headerFacts(_ url: URL) throws -> HeaderFacts {
        let b = [UInt8](try Data(contentsOf: url))
        func tag(_ at: Int) -> String { String(decoding: b[at..<at + 4], as: UTF8.self) }
        func le32(_ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24 }
        func le16(_ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
        func be32(_ at: Int) -> Int { Int(b[at]) << 24 | Int(b[at + 1]) << 16 | Int(b[at + 2]) << 8 | Int(b[at + 3]) }
        func be16(_ at: Int) -> Int { Int(b[at]) << 8 | Int(b[at + 1]) }
        var at = 12
        if tag(0) == "RIFF" {
            var blockAlign = 0, rate = 0, channels = 0
            while at + 8 <= b.count {
                let size = le32(at + 4)
                if tag(at) == "fmt " { channels = le16(at + 10); rate = le32(at + 12); blockAlign = le16(at + 20) }
                if tag(at) == "data" { return HeaderFacts(frames: size / blockAlign, rate: Double(rate), channels: channels) }
                at += 8 + size + (size & 1)
            }
        } else if tag(0) == "FORM" {
            while at + 8 <= b.count {
                let size = be32(at + 4)
                if tag(at) == "COMM" {
                    let channels = be16(at + 8), frames = be32(at + 10)
                    // 80-bit IEEE extended sample rate: sign+15-bit exponent, 64-bit mantissa with explicit 1.
                    let exponent = be16(at + 16) & 0x7fff
                    var mantissa = 0.0
                    for i in 0..<8 { mantissa = mantissa * 256 + Double(b[at + 18 + i]) }
                    let rate = mantissa * pow(2, Double(exponent - 16383 - 63))
                    return HeaderFacts(frames: frames, rate: rate, channels: channels)
                }
                at += 8 + size + (size & 1)
            }
        }
        throw XCTSkip("\(url.path): header not parsed by the test")
    }

    /// Every published original decodes to ⌈frames · 16000 / rate⌉ samples at 16 kHz, whatever its name says.
    func testOriginalsDecodeToTheRightDuration() throws {
        let data = try TestRepository.sharedData()
        let root = data.appendingPathComponent("originals")
        let files = (FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?
            .compactMap { $0 as? URL } ?? []).filter { $0.pathExtension == "wav" }.sorted { $0.path < $1.path }
        XCTAssertEqual(files.count, 10, "originals/ should hold 5 TESS + 5 RAVDESS files")
        var sawAIFF = false, sawFloat = false, sawStereo = false
        for url in files {
            let facts = try headerFacts(url)
            let clip = try DecodedCache.clip(url.path)
            let expected = Int((Double(facts.frames) * 16_000 / facts.rate).rounded(.up))
            XCTAssertEqual(clip.sampleRate, 16_000)
            XCTAssertEqual(clip.samples.count, expected, "\(url.lastPathComponent): \(facts.frames) frames at \(facts.rate) Hz")
            XCTAssertEqual(clip.provenance.originalSampleRate, Int(facts.rate.rounded()), url.lastPathComponent)
            XCTAssertEqual(clip.provenance.originalChannels, facts.channels, url.lastPathComponent)
            XCTAssertEqual(clip.provenance.fileHash.count, 64)
            let peak = clip.samples.map { abs($0) }.max() ?? 0
            XCTAssertGreaterThan(peak, 0.01, "\(url.lastPathComponent) decodes to near silence")
            // The two 44.1 kHz float32 TESS originals really peak at 2.28 and 2.17 (soundfile agrees): float sources
            // are passed through unclipped; integer sources stay within [-1, 1].
            XCTAssertLessThanOrEqual(peak, facts.rate == 44_100 ? 2.5 : 1.0, "\(url.lastPathComponent) is out of range")
            sawAIFF = sawAIFF || clip.provenance.format == "AIFF"
            sawFloat = sawFloat || facts.rate == 44_100
            sawStereo = sawStereo || facts.channels == 2
        }
        XCTAssertTrue(sawAIFF, "two TESS originals are AIFF data named .wav")
        XCTAssertTrue(sawFloat && sawStereo)
    }

    /// A sample of the 16 kHz FLAC corpora decodes unchanged in rate, with a PCM hash that is stable.
    func testCorpusSampleDecodes() throws {
        let data = try TestRepository.sharedData()
        let decoder = try MediaDecoder()
        let paths = [
            "ravdess/Actor_01/03-01-01-01-01-01-01.flac", "ravdess/Actor_24/03-01-08-02-02-02-24.flac",
            "tess/OAF_angry/OAF_back_angry.flac", "tess/YAF_pleasant_surprise/YAF_back_ps.flac",
        ]
        for p in paths {
            let path = data.appendingPathComponent(p).path
            let clip = try decoder.decode(path: path)
            XCTAssertEqual(clip.provenance.format, "FLAC")
            XCTAssertEqual(clip.provenance.originalSampleRate, 16_000)
            XCTAssertGreaterThan(clip.duration, 1.0, p)
            XCTAssertLessThan(clip.duration, 6.0, p)
            XCTAssertEqual(try decoder.decode(path: path).pcmHash, clip.pcmHash, "decoding twice must hash the same")
        }
    }

    /// A RAVDESS FLAC muxed into mp4 (AAC audio + a tiny video stream) decodes through libavformat to the same
    /// duration and loudness; the same speech as a video-only mp4 fails with a clear error.
    func testMP4FromSpeech() throws {
        let data = try TestRepository.sharedData()
        let tmp = try TestRepository.temporaryFolder(self)
        let flac = data.appendingPathComponent("ravdess/Actor_02/03-01-05-01-01-01-02.flac").path
        let mp4 = tmp.appendingPathComponent("speech.mp4").path
        let videoOnly = tmp.appendingPathComponent("video_only.mp4").path
        try TestRepository.ffmpeg(["-i", flac, "-f", "lavfi", "-i", "color=c=black:s=16x16:r=5", "-shortest",
                              "-c:a", "aac", "-b:a", "128k", "-c:v", "mpeg4", mp4])
        try TestRepository.ffmpeg(["-f", "lavfi", "-i", "color=c=black:s=16x16:r=5:d=1", "-c:v", "mpeg4", videoOnly])

        let decoder = try MediaDecoder()
        let reference = try decoder.decode(path: flac)
        let clip = try decoder.decode(path: mp4)
        XCTAssertTrue(clip.provenance.format.contains("mp4"), clip.provenance.format)
        XCTAssertEqual(clip.sampleRate, 16_000)
        XCTAssertEqual(clip.duration, reference.duration, accuracy: 0.1, "AAC keeps the duration within priming/padding")
        func rmsDB(_ x: [Float]) -> Double { 10 * log10(x.reduce(0.0) { $0 + Double($1 * $1) } / Double(x.count)) }
        XCTAssertEqual(rmsDB(clip.samples), rmsDB(reference.samples), accuracy: 1.0, "loudness survives AAC")
        // m4a from the same FLAC, 48 kHz stereo AAC: resampled and downmixed on the way in.
        let m4a = tmp.appendingPathComponent("speech.m4a").path
        try TestRepository.ffmpeg(["-i", flac, "-ar", "48000", "-ac", "2", "-c:a", "aac", m4a])
        let stereo = try decoder.decode(path: m4a)
        XCTAssertEqual(stereo.provenance.originalChannels, 2)
        XCTAssertEqual(stereo.provenance.originalSampleRate, 48_000)
        XCTAssertEqual(stereo.duration, reference.duration, accuracy: 0.1)

        XCTAssertThrowsError(try decoder.decode(path: videoOnly)) { error in
            guard case MediaError.noAudioStream(let path, let streams) = error else {
                return XCTFail("expected noAudioStream, got \(error)")
            }
            XCTAssertEqual(path, videoOnly)
            XCTAssertTrue(streams.contains("video"), streams)
            XCTAssertTrue(String(describing: error).contains(videoOnly))
        }
    }
}
