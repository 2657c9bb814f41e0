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
    ///
    /// The child runs in a process group of its own (see `run`), so a probe never outlives its timeout and leaves
    /// no process.
    public func probe(_ library: String) throws(RuntimeError) -> PluginDescription {
        let (data, code) = try run([library], library: library)
        return try ProbeReport.decode(data, library: library, exitStatus: code)
    }

    /// Creates every component of `library` that needs no config in a child process (`emo-probe --self-check`):
    /// per component, nil or why it failed; a crash or hang in `create` is the thrown probe error.
    public func selfCheck(_ library: String) throws(RuntimeError) -> [SelfCheckResult] {
        let (data, code) = try run(["--self-check", library], library: library)
        return try ProbeReport.decodeSelfCheck(data, library: library, exitStatus: code)
    }

    /// Runs emo-probe with `arguments`: its stdout and exit status, or the crash/timeout as an error. The child leads
    /// a process group of its own, and the whole group is killed when it is done: on a timeout SIGTERM, then SIGKILL
    /// after a one-second grace; after a normal exit SIGKILL to anything the library left behind (a constructor that
    /// forks, a child that ignores SIGTERM).
    private func run(_ arguments: [String], library: String) throws(RuntimeError) -> (Data, Int32) {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw .probeUnavailable(reason: "\(executable) is missing or not executable")
        }
        // A crash in the child is expected and reported by us; skip the Swift runtime's slow backtrace.
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        let child: ProbeChild
        do { child = try ProbeChild(executable: executable, arguments: arguments, environment: env) } catch {
            throw .probeUnavailable(reason: "cannot start \(executable): \(error)")
        }
        // Drain stdout on another thread so a large manifest cannot fill the pipe and look like a hang.
        let collected = OutputCollector()
        let reader = Thread { collected.data = child.readAll(); collected.finished.signal() }
        reader.start()
        let status = child.wait(timeout: timeout)
        child.killGroup()
        _ = collected.finished.wait(timeout: .now() + 5)
        guard let status else { throw .probeTimedOut(path: library, seconds: timeout) }
        if case .signaled(let sig) = status {
            throw .probeCrashed(path: library, detail: "signal \(sig)\(Prober.signalName(sig).map { " (\($0))" } ?? "")")
        }
        guard case .exited(let code) = status else { throw .probeCrashed(path: library, detail: "no exit status") }
        return (collected.data, code)
    }

    static func signalName(_ sig: Int32) -> String? {
        [4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV"][sig]
    }
}

/// A child process in its own process group with its stdout on a pipe (stderr to /dev/null).
final class ProbeChild: @unchecked Sendable {
    /// How the child ended.
    enum Status { case exited(Int32), signaled(Int32) }

    /// Why the child could not be started.
    struct SpawnError: Error, CustomStringConvertible {
        let description: String
    }

    private let pid: pid_t
    private let output: Int32

    /// Starts `executable` with `arguments` and `environment`, as the leader of a new process group.
    init(executable: String, arguments: [String], environment: [String: String]) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SpawnError(description: "pipe(): errno \(errno)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw SpawnError(description: "posix_spawn: \(String(cString: strerror(rc)))")
        }
        pid = child
        output = fds[0]
    }

    deinit { close(output) }

    /// Everything the child group writes to stdout, until every writer has exited.
    func readAll() -> Data {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if n > 0 { data.append(contentsOf: chunk[..<n]); continue }
            if n < 0 && errno == EINTR { continue }
            return data
        }
    }

    /// The child's status once it exits, or nil when `timeout` seconds pass first (the group is then sent SIGTERM,
    /// SIGKILL after a one-second grace, and the leader reaped).
    func wait(timeout: Double) -> Status? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = reap(blocking: false) { return status }
            usleep(5_000)
        }
        kill(-pid, SIGTERM)
        let grace = Date().addingTimeInterval(1)
        while Date() < grace {
            if reap(blocking: false) != nil { return nil }
            usleep(5_000)
        }
        kill(-pid, SIGKILL)
        _ = reap(blocking: true)
        return nil
    }

    /// SIGKILL to every process left in the child's group (none is normal).
    func killGroup() { kill(-pid, SIGKILL) }

    private func reap(blocking: Bool) -> Status? {
        var raw: Int32 = 0
        while true {
            let r = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
            if r == -1 && errno == EINTR { continue }
            guard r == pid else { return nil }
            // WIFEXITED / WIFSIGNALED, spelled out (the C macros are not imported).
            let low = raw & 0x7F
            return low == 0 ? .exited((raw >> 8) & 0xFF) : .signaled(low)
        }
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

    /// The JSON line for a self-check.
    public static func encode(_ results: [SelfCheckResult]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(results)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return "{\"self_check\":\(body)}"
    }

    static func decodeSelfCheck(_ data: Data, library: String, exitStatus: Int32) throws(RuntimeError) -> [SelfCheckResult] {
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        guard let json = try? JSONValue.parse(line) else {
            throw .probeCrashed(path: library, detail: "exit status \(exitStatus) without a report")
        }
        if let err = json["error"], let code = err["code"]?.stringValue {
            let args = err["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
            throw RuntimeError(code: code, arguments: args) ?? .probeCrashed(path: library, detail: "unrecognised error \(code)")
        }
        struct Report: Decodable { var self_check: [SelfCheckResult] }
        guard let report = try? JSONDecoder().decode(Report.self, from: Data(line.utf8)) else {
            throw .probeCrashed(path: library, detail: "unreadable self-check report")
        }
        return report.self_check
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
