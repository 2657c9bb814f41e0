import EmoCore
import EmoPipeline
import EmoRuntime
import Foundation
import XCTest

/// The specs in docs/pipelines against the installed plugins: every component they name exists, and every config
/// key they set is one that component declares in its manifest (a misspelt key would otherwise be ignored and the
/// study silently run with a default).
final class ShippedPipelineTests: XCTestCase {
    func testEveryComponentAndConfigKeyIsDeclaredByAnInstalledPlugin() throws {
        let host = try TestPlugins.sharedHost()
        let folder = TestPlugins.repoRoot.appendingPathComponent("docs/pipelines")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 7)
        for file in files {
            let spec = try PipelineSpec.load(from: folder.appendingPathComponent(file))
            var refs: [(String, ComponentRef)] = spec.featureGroups.enumerated().flatMap { i, g in
                [("featureGroups[\(i)]", ComponentRef(component: g.component, config: g.config))]
                    + (g.textFrom.map { [("featureGroups[\(i)].textFrom", $0)] } ?? [])
            }
            refs.append(("fusion", ComponentRef(component: spec.fusion.component, config: spec.fusion.config)))
            refs.append(("classifier", spec.classifier))
            refs += spec.explainers.enumerated().map { ("explainers[\($0.offset)]", ComponentRef(component: $0.element.component, config: $0.element.config)) }
            for (path, ref) in refs {
                let registered: PluginHost.Registered
                do { registered = try host.component(ref.component) } catch {
                    XCTFail("\(file) \(path): no installed component '\(ref.component)' (\(error))")
                    continue
                }
                let declared = Set(registered.component.manifest["config"]?.objectValue?.keys.map { $0 } ?? [])
                for key in (ref.config.objectValue ?? [:]).keys.sorted() where !declared.contains(key) {
                    XCTFail("\(file) \(path): '\(ref.component)' declares no config key '\(key)' (it has \(declared.sorted()))")
                }
            }
        }
    }

    func testStudyBDecodesEightSecondNormalisedClipsAndBadAudioOptionsAreNamed() throws {
        let folder = TestPlugins.repoRoot.appendingPathComponent("docs/pipelines")
        let meld = try PipelineSpec.load(from: folder.appendingPathComponent("study-b-meld-projection.json"))
        XCTAssertEqual(meld.audio.decodeOptions.duration, 8)
        XCTAssertTrue(meld.audio.decodeOptions.normalise)
        XCTAssertEqual(meld.audio.decodeOptions.sampleRate, 16_000, "absent fields keep the default")
        let early = try PipelineSpec.load(from: folder.appendingPathComponent("study-a-5-early-fusion-mlp.json"))
        XCTAssertNil(early.audio.decodeOptions.duration, "no audio block: natural length")

        var json = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: folder.appendingPathComponent("study-b-meld-projection.json"))) as? [String: Any])
        json["audio"] = ["duration": -1]
        XCTAssertThrowsError(try PipelineSpec.parse(try JSONSerialization.data(withJSONObject: json), file: "b.json")) { error in
            XCTAssertTrue("\(error)".contains("audio") && "\(error)".contains("duration"), "\(error)")
        }
        json["audio"] = ["seconds": 8]
        XCTAssertThrowsError(try PipelineSpec.parse(try JSONSerialization.data(withJSONObject: json), file: "b.json")) { error in
            XCTAssertTrue("\(error)".contains("audio.seconds"), "\(error)")
        }
    }
}
