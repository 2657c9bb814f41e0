import EmoTestSupport
import Foundation
import XCTest

/// `--help` texts read as prose: the discussions are written without hard line breaks inside sentences (the argument
/// parser wraps them to the terminal), so no line of a help text stops short and continues mid-sentence.
final class HelpTextTests: XCTestCase {
    func testHelpTextsHaveNoHardBreaksInsideSentences() throws {
        let emo = try TestRepository.emoExecutable().path
        let commands: [[String]] = [[], ["run"], ["bench"], ["models", "import"], ["plugins", "scan"], ["plugins", "verify"],
                                    ["features"], ["extract"], ["explain"], ["corpus", "describe"], ["demo"]]
        var env = ProcessInfo.processInfo.environment
        env["COLUMNS"] = "100"
        for command in commands {
            let (status, output) = try TestRepository.run(emo, command + ["--help"], environment: env)
            XCTAssertEqual(status, 0, output)
            // The overview and discussion: everything before USAGE.
            let prose = output.components(separatedBy: "USAGE:")[0].split(separator: "\n", omittingEmptySubsequences: false)
            for (a, b) in zip(prose, prose.dropFirst()) where !a.isEmpty && !b.isEmpty && !b.hasPrefix(" ") {
                let continuesSentence = b.first.map { $0.isLowercase } ?? false
                XCTAssertFalse(a.count < 60 && continuesSentence,
                               "emo \(command.joined(separator: " ")) --help breaks a sentence after \"\(a)\"")
            }
        }
    }

    /// A negative count is refused by name (it used to be read as a missing value: "Missing value for '--limit'").
    func testNegativeCountsAreRefusedByName() throws {
        let emo = try TestRepository.emoExecutable().path
        let extract = try TestRepository.run(emo, ["extract", "/nonexistent", "--kind", "ravdess", "--component", "handcrafted",
                                                   "--limit", "-5"])
        XCTAssertNotEqual(extract.status, 0)
        XCTAssertTrue(extract.output.contains("--limit must be a positive number of items, got -5"), extract.output)
        let spec = TestRepository.path("docs/pipelines/study-a-1-one-branch-mlp.json")
        let run = try TestRepository.run(emo, ["run", spec, "--max-per-class", "-3"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.output.contains("--max-per-class must be a positive number of items, got -3"), run.output)
    }
}
