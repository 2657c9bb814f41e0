import EmoCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Headless Chromium driven through the Chrome DevTools Protocol over `--remote-debugging-pipe` (fd 3: commands in,
/// fd 4: replies and events out, each message one JSON text ended by a NUL byte), so a test can do what a user does:
/// set a file on the page's file chooser (`DOM.setFileInputFiles`, the call Puppeteer's `uploadFile` makes), click,
/// record from Chromium's fake microphone, read the DOM, take a screenshot.
///
/// Synchronous on purpose: run it off the Swift concurrency pool (the server under test runs in-process).
final class HeadlessChromium {
    /// A protocol error or a page that never reached the expected state.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let pid: pid_t
    private let commands: Int32   // our end of Chromium's fd 3
    private let replies: Int32    // our end of Chromium's fd 4
    private var nextID = 0
    private var buffer: [UInt8] = []
    private var session: String?

    /// Starts `executable` headless with a fresh profile in `profile`, the fake media devices (a beeping microphone,
    /// granted without a prompt) and the debugging pipe; `log` receives Chromium's stderr.
    init(executable: String, profile: String, log: String) throws {
        var toChrome: [Int32] = [0, 0], fromChrome: [Int32] = [0, 0]
        guard pipe(&toChrome) == 0, pipe(&fromChrome) == 0 else { throw Failure(description: "pipe() failed: errno \(errno)") }
        let arguments = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--user-data-dir=\(profile)", "--remote-debugging-pipe", "--window-size=1000,1300",
                         "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                         "--autoplay-policy=no-user-gesture-required", "about:blank"]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChrome[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromChrome[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, executable, &actions, nil, argv, environ)
        close(toChrome[0]); close(fromChrome[1])
        guard rc == 0 else {
            close(toChrome[1]); close(fromChrome[0])
            throw Failure(description: "could not start \(executable): posix_spawn \(rc)")
        }
        pid = child
        commands = toChrome[1]
        replies = fromChrome[0]
    }

    deinit {
        close(commands); close(replies)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    /// Sends one command (to the attached page once `open` has run) and returns its `result`, skipping events.
    @discardableResult
    func call(_ method: String, _ params: JSONValue = [:], timeout: TimeInterval = 60) throws -> JSONValue {
        nextID += 1
        var message: [String: JSONValue] = ["id": .number(Double(nextID)), "method": .string(method), "params": params]
        if let session, !method.hasPrefix("Target.") { message["sessionId"] = .string(session) }
        var bytes = Array(JSONValue.object(message).serialized().utf8)
        bytes.append(0)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "\(method): Chromium closed its debugging pipe") }
            sent += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let reply = try readMessage(until: deadline, waitingFor: method)
            guard reply["id"]?.intValue == nextID else { continue }
            if let error = reply["error"] { throw Failure(description: "\(method): \(error.serialized())") }
            return reply["result"] ?? .null
        }
    }

    private func readMessage(until deadline: Date, waitingFor method: String) throws -> JSONValue {
        while true {
            if let end = buffer.firstIndex(of: 0) {
                let text = Data(buffer[..<end])
                buffer.removeSubrange(...end)
                return try JSONValue.parse(text)
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw Failure(description: "\(method): no reply from Chromium in time") }
            var poller = pollfd(fd: replies, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(left, 1) * 1000)) >= 0 else { continue }
            guard poller.revents != 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(replies, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Failure(description: "\(method): Chromium exited (see its log)") }
            buffer.append(contentsOf: chunk[..<n])
        }
    }

    /// Opens `url` in a new page and attaches to it; later calls go to that page.
    func open(_ url: String) throws {
        let target = try call("Target.createTarget", ["url": .string(url)])
        guard let id = target["targetId"]?.stringValue else { throw Failure(description: "no targetId in \(target.serialized())") }
        let attached = try call("Target.attachToTarget", ["targetId": .string(id), "flatten": true])
        session = attached["sessionId"]?.stringValue
        guard session != nil else { throw Failure(description: "no sessionId in \(attached.serialized())") }
        try call("Runtime.enable")
        try call("DOM.enable")
    }

    /// Evaluates a JavaScript expression in the page and returns its value (promises awaited).
    func evaluate(_ expression: String) throws -> JSONValue {
        let result = try call("Runtime.evaluate", ["expression": .string(expression), "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] { throw Failure(description: "\(expression): \(exception.serialized())") }
        return result["result"]?["value"] ?? .null
    }

    /// Polls `expression` every 100 ms until it is true; fails after `timeout` with the value of `explain`.
    func wait(for expression: String, timeout: TimeInterval, explain: String) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? evaluate(expression))?.boolValue == true { return }
            usleep(100_000)
        }
        throw Failure(description: "timed out after \(Int(timeout)) s waiting for \(expression): \((try? evaluate(explain))?.serialized() ?? "?")")
    }

    /// Sets `files` on the `<input type=file>` matching `selector`, as a user choosing them does (input and change
    /// events fire).
    func chooseFiles(_ selector: String, _ files: [String]) throws {
        let document = try call("DOM.getDocument")
        guard let root = document["root"]?["nodeId"] else { throw Failure(description: "no document node") }
        let node = try call("DOM.querySelector", ["nodeId": root, "selector": .string(selector)])
        guard let id = node["nodeId"], id.intValue != 0 else { throw Failure(description: "no element \(selector)") }
        try call("DOM.setFileInputFiles", ["nodeId": id, "files": .array(files.map { .string($0) })])
    }

    /// A PNG of the page as it is drawn now.
    func screenshot() throws -> Data {
        let shot = try call("Page.captureScreenshot", ["format": "png", "captureBeyondViewport": true])
        guard let text = shot["data"]?.stringValue, let png = Data(base64Encoded: text) else {
            throw Failure(description: "no screenshot data")
        }
        return png
    }
}
