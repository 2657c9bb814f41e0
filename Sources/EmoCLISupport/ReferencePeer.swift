import Foundation

/// Runs a committed reference script (Tests/Reference/*.py) with the Python named by `EMO_REFERENCE_PYTHON`
/// (default `python3`) and returns the JSON object it prints last on stdout, or why there is no peer column.
///
/// The product never needs Python: only `emo bench` and the fixture generators call this.
public struct ReferencePeer {
    /// The outcome of one peer run.
    public enum Outcome {
        /// The script ran and printed this JSON object.
        case measured([String: Any])
        /// No peer column, and why (missing Python, missing torch, script failure).
        case missing(String)
    }

    /// The interpreter used for the peer side.
    public static var python: String { ProcessInfo.processInfo.environment["EMO_REFERENCE_PYTHON"] ?? "python3" }

    /// Locates `Tests/Reference/<script>` by walking up from the executable and the working directory.
    public static func script(_ name: String) -> URL? {
        var candidates: [URL] = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent())
        for start in candidates {
            var dir = start
            for _ in 0..<8 {
                let candidate = dir.appendingPathComponent("Tests/Reference/\(name)")
                if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
        }
        return nil
    }

    /// Runs `script` with `arguments`; stderr passes through so the user sees the peer's progress.
    public static func run(_ scriptName: String, arguments: [String], timeout: TimeInterval = 1800) -> Outcome {
        guard let url = script(scriptName) else {
            return .missing("reference script Tests/Reference/\(scriptName) not found (run from an EmoKit checkout)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, url.path] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        do { try process.run() } catch {
            return .missing("could not start \(python): \(error.localizedDescription); set EMO_REFERENCE_PYTHON")
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let lastLine = text.split(separator: "\n").last.map(String.init) ?? ""
        guard let obj = try? JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: Any] else {
            return .missing("\(python) \(scriptName) exited \(process.terminationStatus) without a JSON result (is torch installed there? `\(python) -m pip install -r Tests/Reference/requirements.txt`)")
        }
        if let why = obj["missing"] as? String { return .missing(why) }
        return .measured(obj)
    }
}
