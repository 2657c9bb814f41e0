import EmoCore
import Foundation
import XCTest
@testable import EmoPipeline

final class SpecTests: XCTestCase {
    private func pipelinesFolder() throws -> URL {
        guard let root = EvalkitFixtures.repoRoot() else { throw XCTSkip("cannot find the repository root") }
        return root.appendingPathComponent("docs/pipelines")
    }

    private func studyASpecJSON() throws -> [String: Any] {
        let url = try pipelinesFolder().appendingPathComponent("study-a-5-early-fusion-mlp.json")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    /// Parses `object` as a spec and returns its issues (empty when it loads).
    private func issues(_ object: [String: Any], file: String = "test.json") -> [SpecIssue] {
        do {
            let data = try JSONSerialization.data(withJSONObject: object)
            _ = try PipelineSpec.parse(data, file: file)
            return []
        } catch let e as SpecError {
            XCTAssertTrue(e.description.contains(file), "errors name the spec file")
            return e.issues
        } catch {
            XCTFail("unexpected error \(error)")
            return []
        }
    }

    func testShippedPipelinesParseAndValidate() throws {
        let folder = try pipelinesFolder()
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        let studyA = files.filter { $0.hasPrefix("study-a-") && $0.dropFirst(8).first?.isNumber == true }
        XCTAssertEqual(studyA.count, 6, "the six Study A models")
        XCTAssertTrue(files.contains("study-b-meld-projection.json"))
        for f in files {
            let spec = try PipelineSpec.load(from: folder.appendingPathComponent(f))
            XCTAssertEqual(spec.name + ".json", f, "a spec's name is its file name")
            XCTAssertEqual(spec.seeds, [42, 123, 2025], f)
            // Round trip: encoding and decoding again gives the same spec, which still validates.
            let again = try PipelineSpec.parse(try spec.jsonData(), file: f)
            XCTAssertEqual(again, spec, f)
        }
        let early = try PipelineSpec.load(from: folder.appendingPathComponent("study-a-5-early-fusion-mlp.json"))
        XCTAssertEqual(early.featureGroups.map(\.name), ["wav2vec2", "hubert", "roberta", "handcrafted"])
        XCTAssertEqual(early.classifier.config["hidden"], [1024, 512, 256])
        XCTAssertEqual(early.classifier.config["l2"], 1e-4)
        XCTAssertEqual(early.fusion.component, "early")
        XCTAssertEqual(early.corpus.mappedLabel("calm"), "neutral")
        let meld = try PipelineSpec.load(from: folder.appendingPathComponent("study-b-meld-projection.json"))
        XCTAssertEqual(meld.split.method, .official(train: "train", validation: "dev", test: "test"))
        XCTAssertEqual(meld.training.optimizer, .adamw)
        XCTAssertEqual(early.split.validationGrouping, .stratified, "default")
        XCTAssertNil(meld.corpus.mappedLabel("disgust"), "classes outside the list are dropped")
    }

    func testUnknownKeyIsNamedWithASuggestion() throws {
        var spec = try studyASpecJSON()
        var training = try XCTUnwrap(spec["training"] as? [String: Any])
        training["learning_rate"] = 0.01
        spec["training"] = training
        let found = issues(spec)
        XCTAssertEqual(found.map(\.path), ["training.learning_rate"])
        XCTAssertTrue(found.first?.message.contains("did you mean \"learningRate\"") ?? false, "\(found)")
    }

    func testWrongTypeAndMissingFieldNameTheirPath() throws {
        var spec = try studyASpecJSON()
        var training = try XCTUnwrap(spec["training"] as? [String: Any])
        training["batchSize"] = "thirty-two"
        spec["training"] = training
        XCTAssertEqual(issues(spec), [SpecIssue(path: "training.batchSize", message: "expected an integer")])

        spec = try studyASpecJSON()
        var groups = try XCTUnwrap(spec["featureGroups"] as? [[String: Any]])
        groups[2].removeValue(forKey: "component")
        spec["featureGroups"] = groups
        XCTAssertEqual(issues(spec), [SpecIssue(path: "featureGroups[2].component", message: "required field is missing")])
    }

    func testBadEnumValueListsTheAllowedOnes() throws {
        var spec = try studyASpecJSON()
        spec["scaling"] = ["method": "minmax"]
        let found = issues(spec)
        XCTAssertEqual(found.map(\.path), ["scaling.method"])
        XCTAssertTrue(found.first?.message.contains("\"min-max\"") ?? false, "\(found)")

        spec = try studyASpecJSON()
        spec["split"] = ["kind": "by-actor", "folds": 5]
        XCTAssertEqual(issues(spec).map(\.path), ["split.kind"])

        spec = try studyASpecJSON()
        spec["split"] = ["kind": "speaker-kfold", "folds": 5, "validationFraction": 0.1, "validationGrouping": "actor"]
        XCTAssertEqual(issues(spec).map(\.path), ["split.validationGrouping"])
        spec["split"] = ["kind": "speaker-kfold", "folds": 5, "validationFraction": 0.1, "validationGrouping": "speaker"]
        XCTAssertEqual(issues(spec), [])
    }

    func testSemanticProblemsAreAllReported() throws {
        var spec = try studyASpecJSON()
        spec["fusion"] = ["component": "early-concat", "groups": ["wav2vec2", "wavlm"]]
        spec["seeds"] = [42, 42]
        spec["split"] = ["kind": "stratified", "testFraction": 1.5]
        var training = try XCTUnwrap(spec["training"] as? [String: Any])
        training["lrPlateau"] = ["factor": 2, "patience": 5]
        training["weightDecay"] = 0.01
        spec["training"] = training
        var corpus = try XCTUnwrap(spec["corpus"] as? [String: Any])
        corpus["labelMap"] = ["calm": "relaxed"]
        spec["corpus"] = corpus
        let paths = Set(issues(spec).map(\.path))
        XCTAssertEqual(paths, ["fusion.groups[1]", "seeds", "split.testFraction", "training.lrPlateau.factor",
                               "training.weightDecay", "corpus.labelMap.calm"])
    }

    func testKnownComponentsAreChecked() throws {
        let data = try JSONSerialization.data(withJSONObject: try studyASpecJSON())
        XCTAssertThrowsError(try PipelineSpec.parse(data, file: "x.json", knownComponents: ["mlp", "early-concat"])) {
            let paths = ($0 as? SpecError)?.issues.map(\.path) ?? []
            XCTAssertTrue(paths.contains("featureGroups[0].component"))
            XCTAssertTrue(paths.contains("featureGroups[2].textFrom.component"))
            XCTAssertFalse(paths.contains("classifier.component"))
        }
    }

    func testMalformedAndMissingFiles() {
        XCTAssertThrowsError(try PipelineSpec.parse(Data("{\"version\": 1,".utf8), file: "broken.json")) {
            guard case .malformed(let file, _)? = $0 as? SpecError else { return XCTFail("\($0)") }
            XCTAssertEqual(file, "broken.json")
        }
        XCTAssertThrowsError(try PipelineSpec.load(from: URL(fileURLWithPath: "/nonexistent/spec.json"))) {
            XCTAssertTrue(String(describing: $0).contains("/nonexistent/spec.json"))
        }
    }

    func testPathVariables() {
        let s = CorpusSource(kind: "ravdess", path: "${EMO_DATA}/ravdess")
        XCTAssertEqual(s.resolvedPath(environment: [:]).path, "../shared/data/ravdess")
        XCTAssertEqual(s.resolvedPath(environment: ["EMO_DATA": "/data"]).path, "/data/ravdess")
        XCTAssertEqual(CorpusSource(kind: "meld", path: "${MELD_CLIPS}").resolvedPath(environment: [:]).missing, "MELD_CLIPS")
    }
}
