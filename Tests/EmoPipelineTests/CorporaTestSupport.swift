import Foundation
import XCTest

/// Paths and helpers for the corpus and extraction tests.
enum CorporaTestPaths {
    /// The folder containing Package.swift.
    static var repoRoot: URL {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }

    /// `../shared/data`, or a skip saying why.
    static func sharedData() throws -> URL {
        let url = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data").standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("README.md").path) else {
            throw XCTSkip("real speech data not found at \(url.path) (expected ../shared/data beside the repository)")
        }
        return url
    }

    /// A temporary folder removed at teardown.
    static func temporaryFolder(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("emopipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Runs the ffmpeg CLI quietly, or skips.
    static func ffmpeg(_ arguments: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg") else {
            throw XCTSkip("the ffmpeg CLI is not installed; it is needed to make test mp4 files")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-y", "-hide_banner", "-loglevel", "error"] + arguments
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("ffmpeg \(arguments) failed (\(p.terminationStatus))") }
    }
}
