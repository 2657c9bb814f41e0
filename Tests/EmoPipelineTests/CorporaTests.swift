import EmoTestSupport
import EmoCore
import EmoMedia
import Foundation
import XCTest
@testable import EmoPipeline

/// The corpus adapters on the real RAVDESS/TESS/MELD files, with expectations taken from the data README.
final class CorporaTests: XCTestCase {
    /// data/README.md: RAVDESS emotion codes.
    let ravdessEmotion = ["01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                          "06": "fearful", "07": "disgust", "08": "surprised"]

    func testRAVDESSCountsAndPerFileLabels() throws {
        let root = try TestRepository.sharedData().appendingPathComponent("ravdess")
        let corpus = try CorpusLoader.load(kind: .ravdess, path: root.path)
        XCTAssertEqual(corpus.items.count, 1440)
        XCTAssertEqual(corpus.skipped, [])
        for item in corpus.items {
            let url = URL(fileURLWithPath: item.path)
            let f = url.deletingPathExtension().lastPathComponent.components(separatedBy: "-")
            let expected = ravdessEmotion[f[2]] == "calm" ? "neutral" : ravdessEmotion[f[2]]
            XCTAssertEqual(item.label, expected, item.path)
            XCTAssertEqual(item.speaker, url.deletingLastPathComponent().lastPathComponent, item.path)
            XCTAssertEqual(item.text, f[4] == "01" ? "Kids are talking by the door" : "Dogs are sitting by the door")
            XCTAssertEqual(item.fields["gender"], Int(f[6])! % 2 == 1 ? "male" : "female")
        }
        // 24 actors × (4 neutral + 8 calm) merged = 288 neutral; 24 × 8 = 192 for each other emotion.
        let summary = CorpusSummary(corpus)
        XCTAssertEqual(summary.labels, ["neutral": 288, "happy": 192, "sad": 192, "angry": 192, "fearful": 192,
                                        "disgust": 192, "surprised": 192])
        XCTAssertEqual(summary.speakers.count, 24)
        XCTAssertTrue(summary.speakers.values.allSatisfy { $0 == 60 })
        XCTAssertEqual(summary.groups, ["statement-01": 720, "statement-02": 720])

        let dropped = try CorpusLoader.load(kind: .ravdess, path: root.path, options: CorpusOptions(calm: .drop))
        XCTAssertEqual(dropped.items.count, 1440 - 192)
        XCTAssertEqual(dropped.skipped.count, 192)
        XCTAssertTrue(dropped.skipped.allSatisfy { $0.reason.contains("calm") })
        let kept = try CorpusLoader.load(kind: .ravdess, path: root.path, options: CorpusOptions(calm: .keep))
        XCTAssertEqual(CorpusSummary(kept).labels["calm"], 192)
    }

    func testTESSCountsAndPerFileLabels() throws {
        let root = try TestRepository.sharedData().appendingPathComponent("tess")
        let corpus = try CorpusLoader.load(kind: .tess, path: root.path)
        XCTAssertEqual(corpus.items.count, 2800)
        XCTAssertEqual(corpus.skipped, [])
        let folderLabel = ["angry": "angry", "disgust": "disgust", "fear": "fearful", "happy": "happy",
                           "neutral": "neutral", "pleasant_surprise": "surprised", "sad": "sad"]
        for item in corpus.items {
            let url = URL(fileURLWithPath: item.path)
            let folder = url.deletingLastPathComponent().lastPathComponent
            let speaker = String(folder.prefix(3))
            XCTAssertEqual(item.label, folderLabel[String(folder.dropFirst(4))], item.path)
            XCTAssertEqual(item.speaker, speaker, item.path)
            // <speaker>_<word>_<emotion>: the word is the second field.
            let word = url.deletingPathExtension().lastPathComponent.components(separatedBy: "_")[1]
            XCTAssertEqual(item.textID, word, item.path)
            XCTAssertEqual(item.text, "Say the word \(word)")
        }
        let summary = CorpusSummary(corpus)
        XCTAssertEqual(summary.labels.count, 7)
        XCTAssertTrue(summary.labels.values.allSatisfy { $0 == 400 })
        XCTAssertEqual(summary.speakers, ["OAF": 1400, "YAF": 1400])
        XCTAssertEqual(summary.groups.count, 200, "200 words")
    }

    func testMELDParsesAllThreeCSVs() throws {
        let root = try TestRepository.sharedData().appendingPathComponent("meld")
        let corpus = try CorpusLoader.load(kind: .meld, path: root.path, options: CorpusOptions(checkFiles: false))
        let summary = CorpusSummary(corpus)
        XCTAssertEqual(summary.splits, ["train": 9989, "dev": 1109, "test": 2610])
        XCTAssertEqual(corpus.skipped, [])
        XCTAssertEqual(Set(summary.labels.keys), ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"])
        let first = try XCTUnwrap(corpus.items.first { $0.split == "train" && $0.textID == "train/dia0_utt0" })
        XCTAssertEqual(first.speaker, "Chandler")
        XCTAssertEqual(first.label, "neutral")
        XCTAssertTrue(first.text?.hasPrefix("also I was the point person") == true)
        XCTAssertTrue(first.path.hasSuffix("dia0_utt0.mp4"))

        let five = try CorpusLoader.load(kind: .meld, path: root.path, options: CorpusOptions(meldClasses: 5, checkFiles: false))
        XCTAssertEqual(Set(CorpusSummary(five).labels.keys), ["anger", "joy", "neutral", "sadness", "surprise"])
        XCTAssertEqual(five.items.count + five.skipped.count, 9989 + 1109 + 2610)
        XCTAssertEqual(five.skipped.count, (summary.labels["disgust"] ?? 0) + (summary.labels["fear"] ?? 0))
        // Without the clips, checking files skips every row and says so.
        let checked = try CorpusLoader.load(kind: .meld, path: root.path)
        XCTAssertEqual(checked.items.count, 0)
        XCTAssertEqual(CorpusSummary(checked).skippedByReason.first?.reason, "clip not found")
    }

    /// A small MELD folder with mp4 clips made from RAVDESS speech: rows with clips become items whose audio
    /// decodes; a row without a clip and a row with a missing field are reported and skipped.
    func testMELDWithClipsMadeByFFmpeg() throws {
        let data = try TestRepository.sharedData()
        let dir = try TestRepository.temporaryFolder(self)
        let header = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime\n"
        let rows = """
            1,"Kids are talking, by the door",Joey,joy,positive,0,0,1,1,"00:00:01,000","00:00:04,000"
            2,Dogs are sitting by the door,Ross,anger,negative,0,1,1,1,"00:00:05,000","00:00:08,000"
            3,No clip for this one,Rachel,neutral,neutral,0,2,1,1,"00:00:09,000","00:00:10,000"
            4,,Monica,neutral,neutral,0,3,1,1,"00:00:11,000","00:00:12,000"

            """
        try Data((header + rows).utf8).write(to: dir.appendingPathComponent("dev_sent_emo.csv"))
        let clips = dir.appendingPathComponent("dev_splits_complete")
        try FileManager.default.createDirectory(at: clips, withIntermediateDirectories: true)
        for (n, source) in ["03-01-03-01-01-01-01.flac", "03-01-05-01-02-01-01.flac"].enumerated() {
            try TestRepository.ffmpeg(["-i", data.appendingPathComponent("ravdess/Actor_01/\(source)").path,
                                         "-f", "lavfi", "-i", "color=c=black:s=16x16:r=5", "-shortest",
                                         "-c:a", "aac", "-ar", "44100", "-c:v", "mpeg4",
                                         clips.appendingPathComponent("dia0_utt\(n).mp4").path])
        }
        let corpus = try CorpusLoader.load(kind: .meld, path: dir.path)
        XCTAssertEqual(corpus.items.map(\.label), ["joy", "anger"])
        XCTAssertEqual(corpus.items[0].text, "Kids are talking, by the door")
        XCTAssertEqual(corpus.items[0].group, "dev/dia0")
        let reasons = corpus.skipped.map(\.reason)
        XCTAssertTrue(reasons.contains { $0.contains("dia0_utt2.mp4") && $0.contains("not found") }, "\(reasons)")
        XCTAssertTrue(reasons.contains { $0 == "missing Utterance" }, "\(reasons)")
        XCTAssertTrue(reasons.contains { $0.contains("train") }, "missing train/test CSVs are reported")
        let decoder = try MediaDecoder()
        for item in corpus.items {
            let clip = try decoder.decode(path: item.path)
            XCTAssertEqual(clip.provenance.originalSampleRate, 44_100)
            XCTAssertGreaterThan(clip.duration, 2.5)
            XCTAssertEqual(clip.sampleRate, 16_000)
        }
    }

    func testManifestCSVAndJSONL() throws {
        let dir = try TestRepository.temporaryFolder(self)
        for name in ["a.wav", "b.wav"] { try Data([1]).write(to: dir.appendingPathComponent(name)) }
        let csv = "path,label,speaker,text,group,site\na.wav,happy,s1,\"hello, there\",g1,lab\nb.wav,sad,s2,,,\nmissing.wav,sad,s3,,,\n,angry,s4,,,\n"
        try Data(csv.utf8).write(to: dir.appendingPathComponent("m.csv"))
        let c = try CorpusLoader.load(kind: .manifest, path: dir.appendingPathComponent("m.csv").path)
        XCTAssertEqual(c.items.count, 2)
        XCTAssertEqual(c.items[0].text, "hello, there")
        XCTAssertEqual(c.items[0].group, "g1")
        XCTAssertEqual(c.items[0].fields["site"], "lab")
        XCTAssertEqual(c.items[1].speaker, "s2")
        XCTAssertEqual(c.skipped.count, 2)
        XCTAssertTrue(c.skipped[0].reason.contains("not found") && c.skipped[0].source.hasSuffix("m.csv:4"))
        XCTAssertEqual(c.skipped[1].reason, "missing path")

        let jsonl = "{\"path\": \"a.wav\", \"label\": \"happy\", \"speaker\": 7}\n\nnot json\n{\"path\": \"b.wav\"}\n"
        try Data(jsonl.utf8).write(to: dir.appendingPathComponent("m.jsonl"))
        let j = try CorpusLoader.load(kind: .manifest, path: dir.appendingPathComponent("m.jsonl").path)
        XCTAssertEqual(j.items.map(\.speaker), ["7"])
        XCTAssertEqual(j.skipped.map(\.reason), ["missing path and label", "missing label"])
        XCTAssertThrowsError(try CorpusLoader.load(kind: .manifest, path: dir.path + "/nope.csv"))
    }

    /// Broken CSV manifests are refused or reported by line: an unterminated quote (it used to swallow every later
    /// row silently), a row with the wrong number of columns (it used to say "missing path"), and a .tsv file, which
    /// is split on tabs (it used to be read as CSV).
    func testManifestUnterminatedQuoteWrongColumnsAndTSV() throws {
        let dir = try TestRepository.temporaryFolder(self)
        for name in ["a.wav", "b.wav", "c.wav"] { try Data([1]).write(to: dir.appendingPathComponent(name)) }
        let quoted = "path,label,text\na.wav,happy,\"fine\"\nb.wav,sad,\"never closed\nc.wav,angry,x\n"
        try Data(quoted.utf8).write(to: dir.appendingPathComponent("q.csv"))
        XCTAssertThrowsError(try CorpusLoader.load(kind: .manifest, path: dir.appendingPathComponent("q.csv").path)) { error in
            XCTAssertTrue("\(error)".contains("line 3: a quote opens here and is never closed"), "\(error)")
        }
        XCTAssertNil(CSVReader.unterminatedQuoteLine("a,\"b\"\"c\",d\n\"multi\nline\"\n"))

        let columns = "path,label,speaker\na.wav,happy,s1\nb.wav,sad\nc.wav,angry,s3,extra\n"
        try Data(columns.utf8).write(to: dir.appendingPathComponent("c.csv"))
        let c = try CorpusLoader.load(kind: .manifest, path: dir.appendingPathComponent("c.csv").path)
        XCTAssertEqual(c.items.map(\.label), ["happy"])
        XCTAssertEqual(c.skipped.map(\.reason), ["has 2 fields but the header has 3", "has 4 fields but the header has 3"])
        XCTAssertEqual(c.skipped.map { $0.source.hasSuffix("c.csv:3") || $0.source.hasSuffix("c.csv:4") }, [true, true])

        let tsv = "path\tlabel\ttext\na.wav\thappy\thello, there\nb.wav\tsad\t\n"
        try Data(tsv.utf8).write(to: dir.appendingPathComponent("m.tsv"))
        let t = try CorpusLoader.load(kind: .manifest, path: dir.appendingPathComponent("m.tsv").path)
        XCTAssertEqual(t.items.map(\.label), ["happy", "sad"])
        XCTAssertEqual(t.items.first?.text, "hello, there")
        try Data(tsv.utf8).write(to: dir.appendingPathComponent("tabs.csv"))
        XCTAssertThrowsError(try CorpusLoader.load(kind: .manifest, path: dir.appendingPathComponent("tabs.csv").path)) { error in
            XCTAssertTrue("\(error)".contains("it is tab-separated: name the file .tsv"), "\(error)")
        }
    }

    func testCSVReaderQuotingAndNewlines() {
        let records = CSVReader.parse("\u{FEFF}a,b\r\n\"x, \"\"y\"\"\",\"multi\nline\"\n\nlast,\n")
        XCTAssertEqual(records.map(\.fields), [["a", "b"], ["x, \"y\"", "multi\nline"], ["last", ""]])
        XCTAssertEqual(records.map(\.line), [1, 2, 5])
    }

    func testSummaryJSONHasIntegerItems() throws {
        let corpus = Corpus(kind: .manifest, root: "/m.csv", items: [
            CorpusItem(path: "/a", label: "x", speaker: "s", textID: "t", group: "g"),
        ], skipped: [SkippedItem(source: "/b", reason: "why")])
        let json = CorpusSummary(corpus).json(kind: .manifest, root: "/m.csv")
        let text = json.serialized()
        XCTAssertTrue(text.contains("\"items\":1,") || text.contains("\"items\":1}"), text)
        XCTAssertEqual(json["skipped"], .array([.object(["source": .string("/b"), "reason": .string("why")])]))
    }
}

/// Corpora as pipeline-spec sources and as split items.
final class CorporaSpecTests: XCTestCase {
    func testSpecSourceAndLabelledItems() throws {
        let data = try TestRepository.sharedData()
        let source = CorpusSource(kind: "ravdess", path: "${EMO_DATA}/ravdess", options: ["calm": "keep"])
        let corpus = try CorpusLoader.load(source: source, environment: ["EMO_DATA": data.path])
        XCTAssertEqual(corpus.items.count, 1440)
        XCTAssertEqual(CorpusSummary(corpus).labels["calm"], 192, "calm kept on request")
        let meld = try CorpusLoader.load(source: CorpusSource(kind: "meld", path: "${EMO_DATA}/meld",
                                                              options: ["meldClasses": 5, "checkFiles": false]),
                                         environment: ["EMO_DATA": data.path])
        XCTAssertEqual(CorpusSummary(meld).labels["fear"], nil)
        XCTAssertGreaterThan(meld.items.count, 12_000)
        let item = try XCTUnwrap(corpus.labelledItems.first)
        XCTAssertEqual(item.speaker, "ravdess/Actor_01")
        XCTAssertEqual(item.textID, "ravdess/statement-01")
        XCTAssertEqual(item.fields["path"], corpus.items[0].path)
        XCTAssertThrowsError(try CorpusLoader.load(source: CorpusSource(kind: "ravdess", path: "${NOPE}/x"), environment: [:]))
        XCTAssertThrowsError(try CorpusLoader.load(source: CorpusSource(kind: "folder", path: data.path), environment: [:]))
        let tess = CorpusItem(path: "/t/OAF_back_angry.flac", label: "angry", speaker: "OAF", textID: "back", group: "back")
        XCTAssertEqual(tess.labelledItem(corpus: .tess).textID, "tess/word-back")
    }
}
