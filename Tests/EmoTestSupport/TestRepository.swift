import Foundation
import XCTest

/// Paths every test target needs: the repository root, the shared speech data beside it, temporary folders.
///
/// One copy for all test targets (linked only into tests).
public enum TestRepository {
    /// The folder containing Package.swift, found by walking up from this file.
    public static let root: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir = dir.deletingLastPathComponent()
        }
        return dir
    }()

    /// `root/relative`.
    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// `../shared/data` beside the repository, or a skip saying where it was looked for.
    public static func sharedData() throws -> URL {
        let url = root.deletingLastPathComponent().appendingPathComponent("shared/data").standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.appendingPathComponent("README.md").path) else {
            throw XCTSkip("real speech data not found at \(url.path) (expected ../shared/data beside the repository)")
        }
        return url
    }

    /// A fresh temporary folder removed by the test's teardown.
    public static func temporaryFolder(_ test: XCTestCase, prefix: String = "emokit") throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// Runs a program to completion: its exit status and its standard output (with standard error appended to it
    /// when `includeStandardError`, else discarded).
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], cwd: String? = nil,
                           environment: [String: String]? = nil, includeStandardError: Bool = true) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        if let environment { p.environment = environment }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = includeStandardError ? pipe : FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The `emo` executable built beside the test bundle (or in `.build/debug`), or a skip saying to build it.
    public static func emoExecutable() throws -> URL {
        var candidates = [URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
                          Bundle.main.bundleURL.deletingLastPathComponent(),
                          root.appendingPathComponent(".build/debug")]
        candidates += candidates.map { $0.deletingLastPathComponent() }
        for dir in candidates {
            let exe = dir.appendingPathComponent("emo")
            if FileManager.default.isExecutableFile(atPath: exe.path) { return exe }
        }
        throw XCTSkip("the emo executable was not found beside the test bundle; run `swift build` first")
    }

    /// Runs the ffmpeg CLI quietly, or skips when it is not installed or fails.
    public static func ffmpeg(_ arguments: [String]) throws {
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
/// `declaredDataBytes` overrides the data chunk's size field (to make truncated or inconsistent files).
public func writeWAV(_ samples: [Float], rate: Int, channels: Int = 1, to url: URL, declaredDataBytes: Int? = nil) throws {
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
