import EmoCore
import EmoPipeline
import EmoRuntime
import EmoTestSupport
import Foundation
import XCTest

/// A damaged bundle is refused on load with what is wrong, instead of crashing later (an out-of-bounds read of a
/// short scaler, a NaN head converted to an index).
final class BundleValidationTests: XCTestCase {
    /// A copy of the committed demo bundle to damage.
    func demoCopy() throws -> String {
        let dir = try TestPlugins.temporaryFolder(self, prefix: "emokit-bundle") + "/bundle"
        try FileManager.default.copyItem(atPath: TestPlugins.repoRoot.path + "/Sources/emo/Demo/bundle", toPath: dir)
        return dir
    }

    func editScaler(_ dir: String, _ edit: (inout [String: Any]) -> Void) throws {
        let url = URL(fileURLWithPath: dir + "/scaler.json")
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    func testTheUndamagedDemoBundleLoadsAndPredicts() throws {
        let bundle = try PipelineBundle.load(try demoCopy())
        XCTAssertNil(bundle.scaler.problem)
        _ = try Predictor(bundle: bundle, host: try TestPlugins.sharedHost())
    }

    func testShortOrNonPositiveScalerVectorsAreRefused() throws {
        let short = try demoCopy()
        try editScaler(short) { $0["imputationMeans"] = Array(repeating: 0.0, count: 10) }
        XCTAssertThrowsError(try PipelineBundle.load(short)) {
            XCTAssertTrue("\($0)".contains("imputationMeans has 10 values for 65 feature columns"), "\($0)")
        }
        let zero = try demoCopy()
        try editScaler(zero) { object in
            var global = object["global"] as? [String: Any] ?? [:]
            var scale = global["scale"] as? [Double] ?? []
            scale[3] = 0
            global["scale"] = scale
            object["global"] = global
        }
        XCTAssertThrowsError(try PipelineBundle.load(zero)) {
            XCTAssertTrue("\($0)".contains("global.scale[3] is 0.0"), "\($0)")
        }
    }

    func testAScalerFromAnotherRunIsRefused() throws {
        let dir = try demoCopy()
        try editScaler(dir) { object in
            object["layout"] = ["groups": [["name": "handcrafted", "width": 64], ["name": "extra", "width": 1]]]
        }
        XCTAssertThrowsError(try PipelineBundle.load(dir)) {
            XCTAssertTrue("\($0)".contains("do not match bundle.json's feature groups"), "\($0)")
        }
    }

    func testANaNHeadIsRefusedWhenThePredictorIsBuilt() throws {
        let dir = try demoCopy()
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/classifier.state")))
        // The first weight tensor's values start after its header; overwrite 64 of them with NaN.
        let nan: [UInt8] = [0x00, 0x00, 0xC0, 0x7F]
        for i in stride(from: 0x24, to: 0x24 + 4 * 64, by: 4) { bytes.replaceSubrange(i..<(i + 4), with: nan) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/classifier.state"))
        let bundle = try PipelineBundle.load(dir)
        XCTAssertThrowsError(try Predictor(bundle: bundle, host: try TestPlugins.sharedHost())) {
            XCTAssertTrue("\($0)".contains("non-finite probabilities") && "\($0)".contains("retrain"), "\($0)")
        }
    }

    /// `emo bundle pack`'s archive loads to the same bundle as the folder; a truncated or foreign file is refused.
    func testAPackedArchiveLoadsLikeTheFolderAndBrokenOnesAreRefused() throws {
        let folder = try demoCopy()
        let archive = folder + ".emobundle"
        try BundleArchive.pack(folder, to: archive)
        let a = try PipelineBundle.load(folder), b = try PipelineBundle.load(archive)
        XCTAssertEqual(a.manifest, b.manifest)
        XCTAssertEqual(a.scaler, b.scaler)
        XCTAssertEqual(a.fusionState, b.fusionState)
        XCTAssertEqual(a.classifierState, b.classifierState)
        // GNU tar reads it too.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/tar") {
            let listing = try TestRepository.run("/usr/bin/tar", ["-tf", archive])
            XCTAssertEqual(listing.output.split(separator: "\n").map(String.init), BundleArchive.files.map { "bundle/" + $0 })
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        let cut = archive + ".cut"
        try bytes.prefix(5_000).write(to: URL(fileURLWithPath: cut))
        XCTAssertThrowsError(try PipelineBundle.load(cut)) { XCTAssertTrue("\($0)".contains("truncated"), "\($0)") }
        let junk = archive + ".junk"
        try Data(repeating: 0x41, count: 2_048).write(to: URL(fileURLWithPath: junk))
        XCTAssertThrowsError(try PipelineBundle.load(junk)) { XCTAssertTrue("\($0)".contains("no ustar magic"), "\($0)") }
    }
}
