import EmoRuntime
import EmoTestSupport
import Foundation
import XCTest

/// `emo run` then `emo explain BUNDLE CLIP --waveform`, as a user runs them (the built executable): a pipeline with
/// a speech-encoder group (the tiny random-weight wav2vec2 fixture) trained on a few real TESS clips, then IG and
/// Occlusion over one clip's samples. Occlusion runs on its own encoder instance without the tape (each batch split
/// across threads), IG on one with it; both attributions must cover every sample and the IG delta must be reported.
final class WaveformExplainCommandTests: XCTestCase {
    func testRunThenExplainWaveformThroughTheCLI() throws {
        let emo = PluginSources.executableDirectory() + "/emo"
        guard FileManager.default.isExecutableFile(atPath: emo) else {
            throw XCTSkip("the emo executable is not built beside the tests; run `swift build` first")
        }
        let tess = try TestRepository.sharedData().appendingPathComponent("tess").path
        let dir = try TestRepository.temporaryFolder(self, prefix: "emokit-waveform-cli").path
        let checkpoint = TestRepository.path("Tests/EmoModelsTests/Fixtures/encoders/wav2vec2-base")
        let spec = """
        {"version": 1, "name": "waveform-cli-test",
         "corpus": {"sources": [{"kind": "tess", "path": "\(tess)"}], "classes": ["angry", "sad"]},
         "audio": {"duration": 0.5},
         "featureGroups": [{"name": "w2v", "component": "wav2vec2", "config": {"model": "\(checkpoint)"}}],
         "split": {"kind": "stratified", "testFraction": 0.25},
         "scaling": {"method": "standard"},
         "fusion": {"component": "early"},
         "classifier": {"component": "logistic"},
         "training": {"optimizer": "adam", "learningRate": 0.05, "batchSize": 4, "maxEpochs": 3},
         "seeds": [5]}
        """
        try spec.write(toFile: dir + "/spec.json", atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["EMO_CACHE_DIR"] = dir + "/cache"
        let (runStatus, runOut) = try TestRepository.run(emo, ["run", dir + "/spec.json", "--out", dir + "/run",
                                                               "--store", dir + "/store.sqlite", "--max-per-class", "4",
                                                               "--quiet", "--no-explain"], environment: env)
        XCTAssertEqual(runStatus, 0, runOut)
        let clip = tess + "/OAF_angry/OAF_back_angry.flac"
        let (status, out) = try TestRepository.run(emo, ["explain", dir + "/run/bundle", clip, "--waveform",
                                                         "--config", "{\"n_steps\": 4}",
                                                         "--occlusion-config", "{\"window\": [800], \"stride\": [800]}",
                                                         "--out", dir + "/explain"], environment: env)
        XCTAssertEqual(status, 0, out)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: dir + "/explain/explanation.json"))) as? [String: Any])
        let waveform = try XCTUnwrap(json["waveform"] as? [String: Any], "\(json.keys)")
        let samples = try XCTUnwrap(waveform["samples"] as? Int, "\(waveform.keys)")
        XCTAssertEqual(samples, 8000, "0.5 s at 16 kHz, as the spec's audio block says")
        let ig = try XCTUnwrap(waveform["integrated_gradients"] as? [Double])
        let occlusion = try XCTUnwrap(waveform["occlusion"] as? [Double])
        XCTAssertEqual(ig.count, samples)
        XCTAssertEqual(occlusion.count, samples)
        XCTAssertTrue(occlusion.contains { $0 != 0 }, "occluding 50 ms windows moves the probability")
        XCTAssertTrue(ig.allSatisfy(\.isFinite) && occlusion.allSatisfy(\.isFinite))
        XCTAssertNotNil(json["convergence_delta"] as? Double, "IG's convergence delta is reported")
    }
}
