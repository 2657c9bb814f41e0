import EmoCore
import EmoExplainers
import EmoPluginSDK
import XCTest

/// The components as the plugin exports them: valid ids and kinds, defaults that create an instance.
final class ManifestTests: XCTestCase {
    let types: [any PluginComponent.Type] = [IntegratedGradients.self, Occlusion.self, ModalityMasking.self]

    func testExportedListIsValid() {
        XCTAssertEqual(PluginExport.validate(types), [])
    }

    func testDefaultsCreateInstancesThatDescribeThemselves() throws {
        for type in types {
            let instance = try type.init(config: type.componentInfo.configDefaults)
            XCTAssertEqual(instance.info.kind, .explainer)
            XCTAssertNotNil(instance.resolvedDescription["config"], "\(type.componentInfo.id)")
            XCTAssertThrowsError(try instance.forward([]))
        }
    }

    func testResolvedConfigRoundTrips() throws {
        let ig = try IntegratedGradients(config: IntegratedGradients.componentInfo.configDefaults
            .merging(["method": "riemann_trapezoid", "n_steps": 16, "baseline": "mean"]))
        let again = try IntegratedGradients(config: try XCTUnwrap(ig.resolvedDescription["config"]))
        XCTAssertEqual(again.method, .riemannTrapezoid)
        XCTAssertEqual(again.steps, 16)
        XCTAssertEqual(again.baselineKind, .mean)
        let occ = try Occlusion(config: Occlusion.componentInfo.configDefaults.merging(["window": [2, 400], "stride": [1, 200]]))
        let occAgain = try Occlusion(config: try XCTUnwrap(occ.resolvedDescription["config"]))
        XCTAssertEqual(occAgain.window, [2, 400])
        XCTAssertEqual(occAgain.stride, [1, 200])
    }
}
