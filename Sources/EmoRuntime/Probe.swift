import EmoCore
import Foundation

/// Probes a library in a child process (`emo-probe`), so a plugin that crashes or hangs while loading
/// cannot take the host down.
public struct Prober: Sendable {
    /// Path of the `emo-probe` executable.
    public var executable: String
    /// Seconds to wait for an answer.
    public var timeout: Double

    /// Creates a prober.
    public init(executable: String, timeout: Double) {
        self.executable = executable
        self.timeout = timeout
    }

    /// The standard prober: `EMO_PROBE` or `emo-probe` beside the running executable; `EMO_PROBE_TIMEOUT` seconds (10).
    public static func standard(hostDirectory: String,
                                environment: [String: String] = ProcessInfo.processInfo.environment) -> Prober {
        let exe = environment["EMO_PROBE"] ?? (hostDirectory as NSString).appendingPathComponent("emo-probe")
        let timeout = environment["EMO_PROBE_TIMEOUT"].flatMap(Double.init) ?? 10
        return Prober(executable: exe, timeout: timeout)
    }

    /// Runs the probe on `library` and returns what it declares, or the typed reason it failed.
    public func probe(_ library: String) throws(RuntimeError) -> PluginDescription {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw .probeUnavailable(reason: "\(executable) is missing or not executable")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [library]
        // A crash in the child is expected and reported by us; skip the Swift runtime's slow backtrace.
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        // Drain stdout on another thread so a large manifest cannot fill the pipe and look like a hang.
        let collected = OutputCollector()
        let reader = Thread { collected.data = out.fileHandleForReading.readDataToEndOfFile(); collected.finished.signal() }
        do { try process.run() } catch {
            throw .probeUnavailable(reason: "cannot start \(executable): \(error.localizedDescription)")
        }
        reader.start()
        if done.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw .probeTimedOut(path: library, seconds: timeout)
        }
        _ = collected.finished.wait(timeout: .now() + 5)
        if process.terminationReason == .uncaughtSignal {
            let sig = process.terminationStatus
            throw .probeCrashed(path: library, detail: "signal \(sig)\(Prober.signalName(sig).map { " (\($0))" } ?? "")")
        }
        return try ProbeReport.decode(collected.data, library: library, exitStatus: process.terminationStatus)
    }

    static func signalName(_ sig: Int32) -> String? {
        [4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV"][sig]
    }
}

private final class OutputCollector: @unchecked Sendable {
    var data = Data()
    let finished = DispatchSemaphore(value: 0)
}

/// What `emo-probe` prints: `{"description": {...}}` or `{"error": {"code": ..., "args": [...]}}`.
public enum ProbeReport {
    /// The JSON line for a successful probe.
    public static func encode(_ description: PluginDescription) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(description)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        return "{\"description\":\(body)}"
    }

    /// The JSON line for a failed probe.
    public static func encode(_ error: RuntimeError) -> String {
        let (code, args) = error.codeAndArguments
        return JSONValue.object(["error": .object(["code": .string(code), "args": .array(args.map { .string($0) })])]).serialized()
    }

    static func decode(_ data: Data, library: String, exitStatus: Int32) throws(RuntimeError) -> PluginDescription {
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard let json = try? JSONValue.parse(line) else {
            throw .probeCrashed(path: library, detail: "exit status \(exitStatus) without a report")
        }
        if let err = json["error"], let code = err["code"]?.stringValue {
            let args = err["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
            throw RuntimeError(code: code, arguments: args)
                ?? .probeCrashed(path: library, detail: "unrecognised error \(code)")
        }
        guard let desc = json["description"],
              let decoded = try? JSONDecoder().decode(PluginDescription.self, from: Data(desc.serialized().utf8)) else {
            throw .probeCrashed(path: library, detail: "unreadable report")
        }
        return decoded
    }
}

extension RuntimeError {
    /// A stable code and string arguments, for crossing the probe's process boundary.
    var codeAndArguments: (String, [String]) {
        switch self {
        case .malformedRegistry(let p, let r): return ("malformed-registry", [p, r])
        case .missingLibrary(let p, let r): return ("missing-library", [p, r])
        case .loadFailed(let p, let r): return ("load-failed", [p, r])
        case .missingEntrySymbol(let p): return ("missing-entry", [p])
        case .badDescriptor(let p, let r): return ("bad-descriptor", [p, r])
        case .abiMajorMismatch(let p, let a, let b): return ("abi-major", [p, a, b])
        case .abiMinorTooNew(let p, let a, let b): return ("abi-minor", [p, a, b])
        case .checksumMismatch(let p, let a, let b): return ("checksum", [p, a, b])
        case .probeCrashed(let p, let d): return ("probe-crashed", [p, d])
        case .probeTimedOut(let p, let s): return ("probe-timeout", [p, String(s)])
        case .probeUnavailable(let r): return ("probe-unavailable", [r])
        case .duplicateComponent(let i, let a, let b): return ("duplicate", [i, a, b])
        case .unknownComponent(let i, let k): return ("unknown", [i] + k)
        case .componentFailed(let i, let c, let m): return ("component-failed", [i, c, m])
        }
    }

    /// Rebuilds an error from `codeAndArguments`.
    init?(code: String, arguments a: [String]) {
        func arg(_ i: Int) -> String { i < a.count ? a[i] : "" }
        switch code {
        case "malformed-registry": self = .malformedRegistry(path: arg(0), reason: arg(1))
        case "missing-library": self = .missingLibrary(path: arg(0), registry: arg(1))
        case "load-failed": self = .loadFailed(path: arg(0), reason: arg(1))
        case "missing-entry": self = .missingEntrySymbol(path: arg(0))
        case "bad-descriptor": self = .badDescriptor(path: arg(0), reason: arg(1))
        case "abi-major": self = .abiMajorMismatch(path: arg(0), plugin: arg(1), host: arg(2))
        case "abi-minor": self = .abiMinorTooNew(path: arg(0), plugin: arg(1), host: arg(2))
        case "checksum": self = .checksumMismatch(path: arg(0), expected: arg(1), actual: arg(2))
        case "probe-crashed": self = .probeCrashed(path: arg(0), detail: arg(1))
        case "probe-timeout": self = .probeTimedOut(path: arg(0), seconds: Double(arg(1)) ?? 0)
        case "probe-unavailable": self = .probeUnavailable(reason: arg(0))
        case "duplicate": self = .duplicateComponent(id: arg(0), first: arg(1), second: arg(2))
        case "unknown": self = .unknownComponent(id: arg(0), known: Array(a.dropFirst()))
        case "component-failed": self = .componentFailed(id: arg(0), call: arg(1), message: arg(2))
        default: return nil
        }
    }
}
