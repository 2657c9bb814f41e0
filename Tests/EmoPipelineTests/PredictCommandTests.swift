import EmoRuntime
import EmoCore
import EmoPipeline
import EmoTestSupport
import Foundation
import XCTest

/// `emo predict` run as a user would (the built executable) with the committed demo bundle on real clips.
final class PredictCommandTests: XCTestCase {
    /// Runs emo; `output` is stdout, with stderr appended when `withErrors`.
    private func emo(_ arguments: [String], withErrors: Bool = false) throws -> (status: Int32, output: String) {
        let emo = PluginSources.executableDirectory() + "/emo"
        guard FileManager.default.isExecutableFile(atPath: emo) else {
            throw XCTSkip("the emo executable is not built beside the tests; run `swift build` first")
        }
        return try TestRepository.run(emo, arguments, includeStandardError: withErrors)
    }

    private var bundle: String { TestPlugins.repoRoot.path + "/Sources/emo/Demo/bundle" }

    /// A folder with two real clips, one broken file and a text file, plus a manifest naming the clips.
    private func corpus() throws -> String {
        let data = try TestRepository.sharedData()
        let dir = try TestPlugins.temporaryFolder(self, prefix: "emokit-predict")
        try FileManager.default.createDirectory(atPath: dir + "/clips/sub", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: data.appendingPathComponent("ravdess/Actor_01/03-01-05-01-01-01-01.flac").path,
                                         toPath: dir + "/clips/angry.flac")
        try FileManager.default.copyItem(atPath: data.appendingPathComponent("tess/YAF_sad/YAF_dog_sad.flac").path,
                                         toPath: dir + "/clips/sub/sad.flac")
        try "not audio".write(toFile: dir + "/clips/broken.wav", atomically: true, encoding: .utf8)
        try "notes".write(toFile: dir + "/clips/notes.txt", atomically: true, encoding: .utf8)
        try "path,text\nclips/angry.flac,\"Kids, are talking\"\nclips/sub/sad.flac,\n".write(toFile: dir + "/list.csv", atomically: true, encoding: .utf8)
        return dir
    }

    func testCSVRowsForAFolderWithOneBrokenFile() throws {
        let dir = try corpus()
        let run = try emo(["predict", bundle, dir + "/clips", "--format", "csv", "--quiet"])
        XCTAssertEqual(run.status, 1, "a failed file makes the exit status 1: \(run.output)")
        let records = CSVReader.parse(run.output)
        let header = try XCTUnwrap(records.first?.fields)
        XCTAssertEqual(Array(header.prefix(4)), ["path", "duration_s", "sha256", "predicted"])
        XCTAssertEqual(header.last, "error")
        XCTAssertEqual(header.count, 4 + 7 + 1, "one probability column per class of the demo bundle")
        let rows = records.dropFirst().map(\.fields)
        XCTAssertEqual(rows.count, 3, "the .txt file is not media; the folder is walked recursively")
        let byName = Dictionary(uniqueKeysWithValues: rows.map { (($0[0] as NSString).lastPathComponent, $0) })
        let broken = try XCTUnwrap(byName["broken.wav"])
        XCTAssertTrue(broken.last?.contains("not a recognised audio or video file") == true, "\(broken)")
        XCTAssertEqual(broken[3], "")
        for name in ["angry.flac", "sad.flac"] {
            let row = try XCTUnwrap(byName[name])
            XCTAssertEqual(row.last, "", "\(name): \(row)")
            let p = row[4..<11].compactMap { Double($0) }
            XCTAssertEqual(p.count, 7)
            XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-4)
            XCTAssertEqual(row[2].count, 64, "sha256 of the file")
            XCTAssertGreaterThan(Double(row[1]) ?? 0, 1)
        }
        XCTAssertEqual(byName["angry.flac"]?[3], "angry", "the demo model gets this RAVDESS angry clip right")
    }

    /// Silence, a DC offset, a stereo file whose channels cancel and a 10-sample clip: each row says "no speech"
    /// and why, with no class and no probabilities (the demo model used to answer "fear 99.9 %"); a real clip in the
    /// same run is still classified.
    func testClipsWithoutSpeechAreReportedNotClassified() throws {
        let dir = try TestPlugins.temporaryFolder(self, prefix: "emokit-nospeech")
        let n = 3 * 16_000
        let wave = (0..<n).map { 0.3 * sinf(Float($0) * 0.05) * (($0 / 4000) % 2 == 0 ? 1 : 0.01) }
        try writeWAV([Float](repeating: 0, count: n), rate: 16_000, to: URL(fileURLWithPath: dir + "/silence.wav"))
        try writeWAV([Float](repeating: 0.25, count: n), rate: 16_000, to: URL(fileURLWithPath: dir + "/dc.wav"))
        try writeWAV(wave.flatMap { [$0, -$0] }, rate: 16_000, channels: 2, to: URL(fileURLWithPath: dir + "/cancel.wav"))
        try writeWAV(Array(wave.prefix(10)), rate: 16_000, to: URL(fileURLWithPath: dir + "/ten.wav"))
        try FileManager.default.copyItem(atPath: try TestRepository.sharedData().appendingPathComponent("ravdess/Actor_01/03-01-05-01-01-01-01.flac").path,
                                         toPath: dir + "/angry.flac")
        let run = try emo(["predict", bundle, dir, "--format", "csv", "--quiet"])
        XCTAssertEqual(run.status, 1, run.output)
        let rows = CSVReader.parse(run.output).dropFirst().map(\.fields)
        let byName = Dictionary(uniqueKeysWithValues: rows.map { (($0[0] as NSString).lastPathComponent, $0) })
        for (name, why) in [("silence.wav", "silent"), ("dc.wav", "silent"), ("cancel.wav", "silent"), ("ten.wav", "s long")] {
            let row = try XCTUnwrap(byName[name], name)
            XCTAssertTrue(row.last?.contains("no speech") == true && row.last?.contains(why) == true, "\(name): \(row)")
            XCTAssertEqual(row[3], "", "\(name) gets no class")
        }
        XCTAssertEqual(byName["angry.flac"]?[3], "angry")
    }

    func testManifestJSONLinesAndWorkersGiveTheSameRows() throws {
        let dir = try corpus()
        let one = try emo(["predict", bundle, dir + "/list.csv", "--format", "jsonl", "--quiet"])
        XCTAssertEqual(one.status, 0, one.output)
        let lines = one.output.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        for line in lines {
            let object = try JSONValue.parse(Data(line.utf8))
            XCTAssertNotNil(object["predicted"]?.stringValue, String(line))
            XCTAssertNil(object["error"])
        }
        let two = try emo(["predict", bundle, dir + "/list.csv", "--format", "jsonl", "--quiet", "--jobs", "2"])
        XCTAssertEqual(two.output, one.output, "two workers give the same rows in the same order")
        let json = try emo(["predict", bundle, dir + "/clips/angry.flac", "--format", "json", "--out", dir + "/out.json", "--quiet"])
        XCTAssertEqual(json.status, 0, json.output)
        let doc = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: dir + "/out.json")))
        XCTAssertEqual(doc["rows"]?.arrayValue?.count, 1)
        XCTAssertEqual(doc["classes"]?.arrayValue?.count, 7)
    }

    func testBadArgumentsAreExplained() throws {
        let dir = try TestPlugins.temporaryFolder(self, prefix: "emokit-predict")
        let missing = try emo(["predict", bundle, dir + "/nope.wav"], withErrors: true)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("nope.wav: no such file or folder"), missing.output)
        let empty = try emo(["predict", bundle, dir], withErrors: true)
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.output.contains("no media files"), empty.output)
        let format = try emo(["predict", bundle, dir, "--format", "xml"], withErrors: true)
        XCTAssertNotEqual(format.status, 0)
        XCTAssertTrue(format.output.contains("--format must be one of table, csv, jsonl, json"), format.output)
        try "file,label\na.wav,x\n".write(toFile: dir + "/bad.csv", atomically: true, encoding: .utf8)
        let manifest = try emo(["predict", bundle, dir + "/bad.csv"], withErrors: true)
        XCTAssertNotEqual(manifest.status, 0)
        XCTAssertTrue(manifest.output.contains("no 'path' column"), manifest.output)
        let noBundle = try emo(["predict", dir, dir + "/bad.csv"], withErrors: true)
        XCTAssertNotEqual(noBundle.status, 0)
        XCTAssertTrue(noBundle.output.contains("bundle.json"), noBundle.output)
    }

    /// `--explain occlusion` adds when in the clip (the window whose silencing costs the predicted class most) and the
    /// top feature attributions; an unknown method is refused.
    func testExplainAddsThePeakWindowAndTopFeatures() throws {
        let clip = try TestRepository.sharedData().appendingPathComponent("tess/YAF_sad/YAF_dog_sad.flac").path
        let run = try emo(["predict", bundle, clip, "--format", "csv", "--quiet", "--explain", "occlusion"])
        XCTAssertEqual(run.status, 0, run.output)
        let records = CSVReader.parse(run.output)
        let header = try XCTUnwrap(records.first?.fields)
        let row = try XCTUnwrap(records.dropFirst().first?.fields)
        let peak = try XCTUnwrap(header.firstIndex(of: "peak_window_s")), top = try XCTUnwrap(header.firstIndex(of: "top_features"))
        XCTAssertNotNil(Double(row[peak]), "\(row)")
        XCTAssertEqual(row[top].split(separator: ";").count, 5, "\(row)")
        let bad = try emo(["predict", bundle, clip, "--explain", "shap"], withErrors: true)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.output.contains("--explain must be occlusion"), bad.output)
    }
}
