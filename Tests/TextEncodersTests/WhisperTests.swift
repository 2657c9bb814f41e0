import EmoCore
import EmoMedia
import EmoTextEncoders
import EmoTestSupport
import Foundation
import XCTest

/// The whisper-transcript extractor against ctranslate2's own Whisper tiny.en on real RAVDESS / TESS clips
/// (fixtures from Tests/Reference/make_whisper_fixtures.py).
final class WhisperTests: XCTestCase {
    /// The CTranslate2 Whisper folder (`RealModels.whisperTinyEn`).
    static func modelFolder() throws -> String { try RealModels.whisperTinyEn() }

    /// The clips of whisper_reference.json.
    static func reference() throws -> [[String: Any]] {
        try XCTUnwrap(Fixtures.json("whisper_reference.json")["clips"] as? [[String: Any]], "whisper_reference.json has no clips")
    }

    /// The clip's 16 kHz samples, or XCTSkip when ../shared/data is absent.
    func samples(_ relative: String) throws -> [Float] {
        let path = Fixtures.sharedData.appendingPathComponent(relative).path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) not found (real clips live in ../shared/data)") }
        return try MediaDecoder().decode(path: path).samples
    }

    func testLogMelMatchesWhispersFrontEnd() throws {
        let frontEnd = WhisperLogMel(melCount: 80)
        for clip in try Self.reference() {
            let name = try XCTUnwrap(clip["clip"] as? String)
            let mel = frontEnd.features(try samples(name))  // [80, 3000]
            XCTAssertEqual(mel.count, 80 * 3000)
            let ref = floats(clip["mel_first_frames"])  // [20, 80]: frame-major
            var diff: Float = 0
            for t in 0..<20 { for m in 0..<80 { diff = max(diff, abs(mel[m * 3000 + t] - ref[t * 80 + m])) } }
            XCTAssertLessThanOrEqual(diff, 1e-3, "\(name): first 20 frames differ by \(diff)")
            let mean = Float(mel.reduce(0.0) { $0 + Double($1) } / Double(mel.count))  // Double: 240k terms
            XCTAssertEqual(mean, Float(try XCTUnwrap(clip["mel_mean"] as? Double)), accuracy: 1e-4, name)
            XCTAssertEqual(mel.max() ?? 0, Float(try XCTUnwrap(clip["mel_max"] as? Double)), accuracy: 1e-4, name)
            XCTAssertEqual(mel.min() ?? 0, Float(try XCTUnwrap(clip["mel_min"] as? Double)), accuracy: 1e-4, name)
            print("whisper log-mel \(name): max |swift - torch| over the first 20 frames = \(diff)")
        }
    }

    func testTranscriptsMatchCTranslate2AndTheSpokenWords() throws {
        let folder = try Self.modelFolder()
        let whisper = try WhisperTranscriber(config: ["model": .string(folder)])
        // Four of the six reference clips keep the debug-build run short: the misheard one, one TESS word, both
        // RAVDESS statements.
        for clip in try Self.reference() where !(clip["clip"] as? String ?? "").contains("YAF_dog") && !(clip["clip"] as? String ?? "").contains("Actor_07") {
            let name = try XCTUnwrap(clip["clip"] as? String)
            let audio = try samples(name)
            // Encoder: first frames against ctranslate2's encode (fp16 weights computed in float32 on both sides).
            let encoded = try whisper.model.encode(mel: whisper.model.frontEnd(audio))
            let ref = floats(clip["encoder_first_frames"])
            let scale = Float(try XCTUnwrap(clip["encoder_abs_max"] as? Double))
            let diff = zip(encoded.prefix(ref.count), ref).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(diff / max(1, scale), 1e-3, "\(name): encoder differs by \(diff) (scale \(scale))")
            // Decoder: the same greedy tokens as ctranslate2.
            let ids = try whisper.tokenIDs(encoded: encoded)
            XCTAssertEqual(ids, ints(clip["ids"]), name)
            let text = whisper.vocabulary.decode(ids)
            XCTAssertEqual(text, clip["text"] as? String, name)
            print("whisper \(name): \"\(text)\" (encoder max diff \(diff), scale \(scale))")
            // The words actually spoken (tiny.en mishears OAF "back" angry, as ctranslate2 does: parity only there).
            let words = text.lowercased().filter { $0.isLetter || $0 == " " }
            if name.hasPrefix("ravdess/") {
                let statement = name.split(separator: "-")[4]
                XCTAssertEqual(words, statement == "01" ? "kids are talking by the door" : "dogs are sitting by the door", name)
            } else if !name.contains("OAF_back_angry") {
                let word = name.split(separator: "/").last?.split(separator: "_")[1] ?? ""
                XCTAssertEqual(words, "say the word \(word)", name)
            }
        }
    }

    func testForwardTakesSamplesAndReturnsText() throws {
        let folder = try Self.modelFolder()
        let whisper = try WhisperTranscriber(config: ["model": .string(folder)])
        let audio = try samples("ravdess/Actor_01/03-01-01-01-01-01-01.flac")
        let out = try whisper.forward([.array(NDArray(vector: audio))])
        XCTAssertEqual(out, [.text("Kids are talking by the door.")])
        XCTAssertThrowsError(try whisper.forward([.text("not audio")]))
    }

    func testBadModelFolderIsNamed() throws {
        // Neither an imported name nor a folder: both readings are named, with the command that fixes it.
        XCTAssertThrowsError(try WhisperTranscriber(config: ["model": "/nonexistent/whisper"])) {
            XCTAssertTrue("\($0)".contains("/nonexistent/whisper") && "\($0)".contains("emo models import"), "\($0)")
        }
        // A folder without the model file names the file it needs.
        let empty = NSTemporaryDirectory() + "emokit-whisper-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        XCTAssertThrowsError(try WhisperTranscriber(config: ["model": .string(empty)])) {
            XCTAssertTrue("\($0)".contains(empty + "/model.bin"), "\($0)")
        }
        XCTAssertThrowsError(try WhisperTranscriber(config: [:]))
    }
}

/// Opt-in corpus check: ctranslate2 parity and the spoken words on N RAVDESS + N TESS clips
/// (`make_whisper_fixtures.py MODEL --corpus N OUT.json`, then EMO_WHISPER_CORPUS=OUT.json EMO_WHISPER_MODEL=MODEL).
final class WhisperCorpusTests: XCTestCase {
    func testCorpusTranscripts() throws {
        guard let path = ProcessInfo.processInfo.environment["EMO_WHISPER_CORPUS"] else {
            throw XCTSkip("set EMO_WHISPER_CORPUS to the output of make_whisper_fixtures.py MODEL --corpus N OUT.json")
        }
        let folder = try WhisperTests.modelFolder()
        let whisper = try WhisperTranscriber(config: ["model": .string(folder)])
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        let clips = try XCTUnwrap(object?["clips"] as? [[String: Any]])
        var same = 0, correct = [String: (Int, Int)]()
        for clip in clips {
            let name = try XCTUnwrap(clip["clip"] as? String)
            let audio = try MediaDecoder().decode(path: Fixtures.sharedData.appendingPathComponent(name).path).samples
            let ids = try whisper.tokenIDs(audio)
            if ids == ints(clip["ids"]) { same += 1 } else { XCTFail("\(name): \(ids) vs ctranslate2 \(ints(clip["ids"]))") }
            let words = whisper.vocabulary.decode(ids).lowercased().filter { $0.isLetter || $0 == " " }
            let corpus = name.hasPrefix("ravdess/") ? "ravdess" : "tess"
            let expected: String
            if corpus == "ravdess" {
                expected = name.split(separator: "-")[4] == "01" ? "kids are talking by the door" : "dogs are sitting by the door"
            } else {
                expected = "say the word " + (name.split(separator: "/").last?.split(separator: "_")[1] ?? "")
            }
            let (ok, n) = correct[corpus] ?? (0, 0)
            correct[corpus] = (ok + (words == expected ? 1 : 0), n + 1)
            print("whisper corpus \(name): \"\(whisper.vocabulary.decode(ids))\"\(words == expected ? "" : "  ≠ \(expected)")")
        }
        print("whisper corpus: \(same) of \(clips.count) identical to ctranslate2; exact words: " +
              correct.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.0)/\($0.value.1)" }.joined(separator: ", "))
        XCTAssertEqual(same, clips.count)
    }
}
