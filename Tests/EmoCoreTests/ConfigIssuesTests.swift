import EmoCore
import XCTest

/// `ComponentInfo.configIssues`: the one check every component's config passes before the component is built.
final class ConfigIssuesTests: XCTestCase {
    let info = ComponentInfo(kind: .extractor, id: "demo", version: "1", displayName: "demo", manifest: [
        "config": [
            "n_fft": ["type": "integer", "default": 2048, "minimum": 16, "maximum": 65_536],
            "hidden": ["type": "array", "default": [256], "minimum": 1, "maximum": 65_536],
            "rate": ["type": "number", "default": 0.5],
        ],
    ])

    func testKnownKeysInRangePass() {
        XCTAssertEqual(info.configIssues(["n_fft": 512, "hidden": [64, 32], "rate": 9]), [])
        XCTAssertEqual(info.configIssues([:]), [])
    }

    func testUnknownKeyIsNamedWithWhatTheComponentTakes() {
        XCTAssertEqual(info.configIssues(["nfft": 512]), ["unknown key 'nfft' (demo takes: hidden, n_fft, rate)"])
    }

    func testOutOfRangeValuesAreNamedWithTheRange() {
        XCTAssertEqual(info.configIssues(["n_fft": 1_073_741_824]), ["'n_fft' must be ≥ 16 and ≤ 65536, got 1073741824"])
        XCTAssertEqual(info.configIssues(["hidden": [64, 1e9]]), ["'hidden' must be ≥ 1 and ≤ 65536, got 1000000000"])
        XCTAssertEqual(info.configIssues(["n_fft": 8, "hidden": [0]]).count, 2)
    }

    func testAPathIsNamedOnceInAnIOError() {
        XCTAssertEqual(ComponentError.io(component: "wav2vec2", path: "base", message: "base: is not a folder").description,
                       "wav2vec2: base: is not a folder")
        XCTAssertEqual(ComponentError.io(component: "wav2vec2", path: "base", message: "is not a folder").description,
                       "wav2vec2: base: is not a folder")
    }

    func testAManifestWithoutConfigSchemaAcceptsAnything() {
        let free = ComponentInfo(kind: .fusion, id: "free", version: "1", displayName: "free", manifest: ["description": "x"])
        XCTAssertEqual(free.configIssues(["anything": 1]), [])
    }
}
