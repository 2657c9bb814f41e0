import EmoTestSupport
import EmoModels
import Foundation
import XCTest

/// Locates the repo root (the folder holding Package.swift) from this file's path, and the encoder fixtures.
enum Fixtures {
    static var repoRoot: URL { TestRepository.root }

    /// `Tests/EmoModelsTests/Fixtures/encoders/<name>`.
    static func encoder(_ name: String) -> URL {
        repoRoot.appendingPathComponent("Tests/EmoModelsTests/Fixtures/encoders/\(name)")
    }

    /// A fresh temporary directory.
    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emomodels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Largest |a - b| over two equally long arrays (infinity when lengths differ).
func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    var m: Float = 0
    for i in 0..<a.count { m = max(m, abs(a[i] - b[i])) }
    return m
}

/// Largest |x|.
func maxAbs(_ a: [Float]) -> Float { a.reduce(0) { max($0, abs($1)) } }
