import EmoCore
import EmoRuntime
import XCTest

/// Configs that would allocate without bound, or that carry a typo, are refused by the plugin SDK before the
/// component is built, naming the key and the allowed range (the cases: an FFT size of 2^30, a hidden
/// width of 10^9, hop_length 1).
final class ConfigValidationTests: XCTestCase {
    func refusal(_ id: String, _ config: JSONValue) throws -> String {
        let host = try TestPlugins.sharedHost()
        do {
            _ = try host.instantiate(id: id, config: config)
        } catch {
            return "\(error)"
        }
        XCTFail("\(id) accepted \(config.serialized())")
        return ""
    }

    func testUnboundedSizesAreRefusedBeforeAllocating() throws {
        let fft = try refusal("handcrafted", ["n_fft": 1_073_741_824])
        XCTAssertTrue(fft.contains("'n_fft' must be ≥ 16 and ≤ 65536, got 1073741824"), fft)
        let hop = try refusal("handcrafted", ["hop_length": 1])
        XCTAssertTrue(hop.contains("'hop_length' must be ≥ 16"), hop)
        let hidden = try refusal("mlp", ["inputs": 8, "classes": 3, "hidden": [1e9]])
        XCTAssertTrue(hidden.contains("'hidden' must be ≥ 1 and ≤ 65536, got 1000000000"), hidden)
    }

    func testUnknownKeysAreRefusedByName() throws {
        let typo = try refusal("mlp", ["inputs": 8, "classes": 3, "hiden": [16]])
        XCTAssertTrue(typo.contains("unknown key 'hiden'") && typo.contains("hidden"), typo)
        XCTAssertTrue(typo.hasPrefix("mlp.create: invalid config:"), "the component is named once: \(typo)")
        let early = try refusal("early", ["inputs": [4, 4], "seed": 1])
        XCTAssertTrue(early.contains("unknown key 'seed' (early takes: inputs)"), early)
    }
}
