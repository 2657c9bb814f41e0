import EmoTestSupport
import EmoRuntime
import Foundation
import XCTest

/// The README's first command, `emo demo`, run as a user would (the built executable, bundled assets, no config).
final class DemoCommandTests: XCTestCase {
    func testDemoPrintsProbabilitiesOverTheBundleClassesAndWritesTheReport() throws {
        let emo = PluginSources.executableDirectory() + "/emo"
        guard FileManager.default.isExecutableFile(atPath: emo) else {
            throw XCTSkip("the emo executable is not built beside the tests; run `swift build` first")
        }
        let out = NSTemporaryDirectory() + "emokit-demo-\(UUID().uuidString.prefix(8))"
        var env = ProcessInfo.processInfo.environment
        env["EMO_CACHE_DIR"] = out + "/cache"
        let (status, stdout) = try TestRepository.run(emo, ["demo", "--json", "--out", out], environment: env,
                                                      includeStandardError: false)
        XCTAssertEqual(status, 0, stdout)
        let data = Data(stdout.utf8)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let probabilities = try XCTUnwrap(json["probabilities"] as? [String: Double])
        XCTAssertEqual(Set(probabilities.keys), ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"])
        XCTAssertEqual(probabilities.values.reduce(0, +), 1, accuracy: 1e-4)
        let predicted = try XCTUnwrap(json["predicted"] as? String)
        XCTAssertEqual(probabilities[predicted], probabilities.values.max())
        XCTAssertTrue((json["evaluation"] as? String)?.contains("random 80/20") ?? false, "the bundle states its protocol")
        let html = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<svg"), "the report has its plots")
    }
}
