import EmoCore
import EmoPluginSDK
import XCTest

/// `ComponentConfig`: one declaration gives the manifest schema, the defaults, the reading (with errors naming the
/// key) and the reported config.
final class ComponentConfigTests: XCTestCase {
    enum Window: String, CaseIterable { case thirty = "30s", clip }
    enum Part: String, CaseIterable { case mfcc, chroma }

    struct Demo: ComponentConfig {
        var model = "", nFFT = 2048, rate = 0.5, normalize = false, window = Window.thirty
        var hidden = [256, 128], dropout = OneOrEach.one(0), weights: [Double]?, parts: [Part]?
        var groups: JSONValue = []
        static var fields: [ConfigField<Demo>] {
            [.string("model", \.model, required: true, "a checkpoint folder"),
             .int("n_fft", \.nFFT, in: 16...65_536, "STFT length"),
             .number("rate", \.rate, in: 0...1, "a fraction"),
             .bool("normalize", \.normalize, "L2-normalise"),
             .choice("window", \.window, "30s or clip"),
             .ints("hidden", \.hidden, in: 1...65_536, nonEmpty: true, "hidden widths"),
             .oneOrEach("dropout", \.dropout, in: 0...0.99, "one or one per hidden layer"),
             .numbers("weights", \.weights, "weights or null"),
             .choices("parts", \.parts, "descriptor names or null"),
             .json("groups", \.groups, type: "array", "a structure parsed elsewhere")]
        }
        func problem() -> String? {
            dropout.values(count: hidden.count) == nil ? "'dropout' must list \(hidden.count) numbers" : nil
        }
    }

    func read(_ json: JSONValue) throws -> Demo { try Demo.read(json, component: "demo") }

    func message(_ json: JSONValue, file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try read(json)
            XCTFail("accepted \(json.serialized())", file: file, line: line)
            return ""
        } catch { return "\(error)" }
    }

    func testTheSchemaComesFromTheDeclaration() throws {
        let schema = try XCTUnwrap(Demo.schema.objectValue)
        XCTAssertEqual(schema.keys.sorted(), ["dropout", "groups", "hidden", "model", "n_fft", "normalize", "parts", "rate", "weights", "window"])
        XCTAssertEqual(schema["n_fft"], ["type": "integer", "default": 2048, "minimum": 16, "maximum": 65_536, "description": "STFT length"])
        XCTAssertEqual(schema["window"]?["enum"], ["30s", "clip"])
        XCTAssertEqual(schema["window"]?["default"], "30s")
        XCTAssertEqual(schema["model"]?["required"], true)
        XCTAssertEqual(schema["rate"]?["maximum"], 1)
        XCTAssertEqual(schema["hidden"]?["default"], [256, 128])
        XCTAssertEqual(schema["weights"]?["default"], .null)
        XCTAssertEqual(schema["parts"]?["items"]?["enum"], ["mfcc", "chroma"])
        XCTAssertEqual(schema["dropout"]?["type"], "number|array")
        // A component's ComponentInfo finds the defaults in that schema, and its range check reads the same bounds.
        let info = ComponentInfo(kind: .extractor, id: "demo", version: "1", displayName: "Demo", manifest: ["config": Demo.schema])
        XCTAssertEqual(info.configDefaults, Demo.defaults)
        XCTAssertEqual(info.configIssues(["n_fft": 1_073_741_824]), ["'n_fft' must be ≥ 16 and ≤ 65536, got 1073741824"])
    }

    func testValuesAreReadAndAbsentKeysKeepTheirDefaults() throws {
        let c = try read(["model": "m", "n_fft": 512, "window": "clip", "dropout": [0.1, 0.2], "weights": [1, 2.5],
                          "parts": ["chroma"], "groups": [["name": "a"]]])
        XCTAssertEqual(c.model, "m")
        XCTAssertEqual(c.nFFT, 512)
        XCTAssertEqual(c.window, .clip)
        XCTAssertEqual(c.dropout, .each([0.1, 0.2]))
        XCTAssertEqual(c.weights, [1, 2.5])
        XCTAssertEqual(c.parts, [.chroma])
        XCTAssertEqual(c.groups, [["name": "a"]])
        XCTAssertEqual(c.rate, 0.5)
        XCTAssertEqual(c.hidden, [256, 128])
        // What a component reports reads back to the same values (and null lists stay null).
        let again = try read(c.json)
        XCTAssertEqual(again.json, c.json)
        XCTAssertEqual(try read(["model": "m", "weights": .null]).weights, nil)
        XCTAssertEqual(c.dropout.values(count: 2), [0.1, 0.2])
        XCTAssertNil(c.dropout.values(count: 3))
        XCTAssertEqual(OneOrEach.one(0.3).values(count: 2), [0.3, 0.3])
    }

    func testEachBadValueIsRefusedNamingTheKeyAndWhatIsAllowed() {
        XCTAssertTrue(message(["model": "m", "nfft": 512]).contains("unknown key 'nfft' (demo takes: dropout, groups, hidden, model, n_fft, normalize, parts, rate, weights, window)"))
        XCTAssertTrue(message(["model": "m", "n_fft": 8]).contains("'n_fft' must be ≥ 16 and ≤ 65536, got 8"))
        XCTAssertTrue(message(["model": "m", "n_fft": "big"]).contains("'n_fft' must be an integer, got \"big\""))
        XCTAssertTrue(message(["model": "m", "n_fft": 2.5]).contains("'n_fft' must be an integer"))
        XCTAssertTrue(message(["model": "m", "rate": 1.5]).contains("'rate' must be ≥ 0 and ≤ 1, got 1.5"))
        XCTAssertTrue(message(["model": "m", "normalize": "yes"]).contains("'normalize' must be true or false"))
        XCTAssertTrue(message(["model": "m", "window": "60s"]).contains("'window' must be one of 30s, clip, got \"60s\""))
        XCTAssertTrue(message(["model": "m", "hidden": []]).contains("'hidden' must list at least one integer"))
        XCTAssertTrue(message(["model": "m", "hidden": [64, 1e9]]).contains("'hidden' must hold integers ≥ 1 and ≤ 65536, got 1000000000"))
        XCTAssertTrue(message(["model": "m", "dropout": [0.1, 1.5]]).contains("'dropout' must hold numbers ≥ 0 and ≤ 0.99, got 1.5"))
        XCTAssertTrue(message(["model": "m", "dropout": [0.1, 0.1, 0.1]]).contains("'dropout' must list 2 numbers"))
        XCTAssertTrue(message(["model": "m", "weights": "equal"]).contains("'weights' must be a list of numbers or null"))
        XCTAssertTrue(message(["model": "m", "parts": ["mfcc", "pitch"]]).contains("'parts' holds \"pitch\"; known: mfcc, chroma"))
        XCTAssertTrue(message(["model": ""]).contains("'model' is required: a checkpoint folder"))
        XCTAssertTrue(message(["n_fft": 512]).contains("'model' is required: a checkpoint folder"))
        XCTAssertTrue(message([1, 2]).contains("the config must be a JSON object"))
        XCTAssertTrue(message(["model": "m", "n_fft": 8]).contains("demo"), "the component is named")
    }

    func testSeedsAreMixedWithTheComponent() {
        XCTAssertNotEqual(ComponentSeed.mix(7, component: "mlp"), ComponentSeed.mix(7, component: "projection"))
        XCTAssertEqual(ComponentSeed.mix(7, component: "mlp"), ComponentSeed.mix(7, component: "mlp"))
        XCTAssertNotEqual(ComponentSeed.mix(7, component: "mlp"), ComponentSeed.mix(8, component: "mlp"))
    }
}
