import EmoTestSupport
import Foundation
import XCTest

/// Paths and JSON loading shared by the text encoder tests.
enum Fixtures {
    /// The repository root: the nearest folder above this file holding Package.swift.
    static var repoRoot: URL { TestRepository.root }

    /// Tests/TextEncodersTests/Fixtures.
    static let folder = repoRoot.appendingPathComponent("Tests/TextEncodersTests/Fixtures")

    /// ../shared/data (real data; tests skip when absent).
    static let sharedData = repoRoot.appendingPathComponent("../shared/data").standardizedFileURL

    /// The GPT-2 BPE files, or an XCTSkip naming what is missing.
    static func gpt2Folder() throws -> URL {
        let url = sharedData.appendingPathComponent("bpe/gpt2")
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("vocab.json").path) else {
            throw XCTSkip("\(url.path)/vocab.json not found: the GPT-2 BPE files live in ../shared/data (see its README)")
        }
        return url
    }

    /// Parses a fixture JSON file.
    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent(name))
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw NSError(domain: "Fixtures", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(name) is not a JSON object"])
        }
        return object
    }
}

/// `[Any]` of JSON numbers → `[Int]`.
func ints(_ v: Any?) -> [Int] { (v as? [Any])?.compactMap { ($0 as? NSNumber)?.intValue } ?? [] }
/// `[Any]` of JSON numbers → `[Float]`.
func floats(_ v: Any?) -> [Float] { (v as? [Any])?.compactMap { ($0 as? NSNumber)?.floatValue } ?? [] }
