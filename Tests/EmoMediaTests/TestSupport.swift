import Foundation
import EmoCore
import EmoMedia
import XCTest

/// Locations shared by the media tests.
enum TestPaths {
    /// The folder containing Package.swift, found by walking up from this file.
    static var repoRoot: URL {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }

    /// `../shared/data` next to the repository, or a skip.
    static func sharedData() throws -> URL {
        let url = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/data").standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("README.md").path) else {
            throw XCTSkip("real speech data not found at \(url.path) (expected ../shared/data beside the repository)")
        }
        return url
    }

    /// A fresh temporary folder removed by the test's teardown.
    static func temporaryFolder(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("emomedia-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Runs the ffmpeg CLI, or skips when it is not installed.
    static func ffmpeg(_ arguments: [String]) throws {
        let candidates = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"]
        guard let exe = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("the ffmpeg CLI is not installed; it is needed to make test mp4 files")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["-y", "-hide_banner", "-loglevel", "error"] + arguments
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw XCTSkip("ffmpeg \(arguments.joined(separator: " ")) failed with status \(p.terminationStatus)")
        }
    }
}

/// Writes a 16-bit PCM RIFF/WAVE file (test inputs; the header layout is the published WAVE format).
func writeWAV(_ samples: [Float], rate: Int, channels: Int = 1, to url: URL, declaredDataBytes: Int? = nil) throws {
    var data = Data()
    func u32(_ v: Int) { var x = UInt32(truncatingIfNeeded: v).littleEndian; data.append(Data(bytes: &x, count: 4)) }
    func u16(_ v: Int) { var x = UInt16(truncatingIfNeeded: v).littleEndian; data.append(Data(bytes: &x, count: 2)) }
    let pcmBytes = samples.count * 2
    let dataBytes = declaredDataBytes ?? pcmBytes
    data.append(contentsOf: Array("RIFF".utf8)); u32(36 + dataBytes)
    data.append(contentsOf: Array("WAVE".utf8))
    data.append(contentsOf: Array("fmt ".utf8)); u32(16); u16(1); u16(channels); u32(rate)
    u32(rate * channels * 2); u16(channels * 2); u16(16)
    data.append(contentsOf: Array("data".utf8)); u32(dataBytes)
    for s in samples {
        let v = Int16(max(-32768, min(32767, (s * 32767).rounded())))
        var le = v.littleEndian
        data.append(Data(bytes: &le, count: 2))
    }
    try data.write(to: url)
}

/// Decoded clips shared between tests (the 96 kHz and 44.1 kHz originals take seconds to resample in debug).
enum DecodedCache {
    nonisolated(unsafe) private static var clips: [String: Clip] = [:]
    private static let lock = NSLock()

    /// The default-options clip of `path`, decoded once per test run.
    static func clip(_ path: String) throws -> Clip {
        lock.lock()
        defer { lock.unlock() }
        if let c = clips[path] { return c }
        let c = try MediaDecoder().decode(path: path)
        clips[path] = c
        return c
    }
}
