import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 server on 127.0.0.1 (POSIX sockets, one thread, one request per connection) that serves
/// repositories in the Hugging Face hub's layout: `GET /api/models/ORG/NAME/tree/REV` (a JSON listing) and
/// `GET /ORG/NAME/resolve/REV/PATH` (the bytes, with `Range` support). Faults are injected per file.
final class LocalHubServer: @unchecked Sendable {
    /// One served repository file.
    struct File {
        var path: String
        var bytes: [UInt8]
        /// Listed as an LFS file with this SHA-256 (nil: a plain git file).
        var listedSHA256: String?
        /// The first full (non-Range) response sends only this many bytes, then closes the connection.
        var cutFirstResponseAt: Int?
    }

    /// Repositories by `ORG/NAME`.
    var repositories: [String: [File]] = [:]
    /// Repositories that answer 401 unless the request carries `Authorization: Bearer TOKEN`.
    var gated: [String: String] = [:]
    /// Every request line with its Range header, in arrival order.
    private(set) var requests: [String] = []
    private var cutDone: Set<String> = []
    private let lock = NSLock()
    private var fd: Int32 = -1
    /// The bound port.
    private(set) var port: Int = 0

    /// `http://127.0.0.1:PORT`.
    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// Binds an ephemeral port and starts serving on a background thread.
    func start() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NSError(domain: "LocalHubServer", code: 1) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 16) == 0 else { throw NSError(domain: "LocalHubServer", code: 2) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        let listener = fd
        Thread.detachNewThread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 { return }
                handle(client)
                close(client)
            }
        }
    }

    /// Stops accepting.
    func stop() {
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)); close(fd); fd = -1 }
    }

    deinit { stop() }

    /// The request log.
    var log: [String] { lock.lock(); defer { lock.unlock() }; return requests }

    private func handle(_ client: Int32) {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !data.containsHeaderEnd {
            let n = read(client, &buffer, buffer.count)
            if n <= 0 { return }
            data += buffer[0..<n]
        }
        let head = String(decoding: data, as: UTF8.self).components(separatedBy: "\r\n")
        let parts = (head.first ?? "").split(separator: " ")
        guard parts.count >= 2 else { return }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let target = String(parts[1])
        lock.lock()
        requests.append("\(parts[0]) \(target)\(headers["range"].map { " Range: \($0)" } ?? "")")
        lock.unlock()
        let path = target.split(separator: "?").first.map(String.init) ?? target
        let segments = path.split(separator: "/").map(String.init)
        // Gated repositories need the token.
        let repoKey = segments.count >= 2 ? (segments[0] == "api" && segments.count >= 4 ? "\(segments[2])/\(segments[3])" : "\(segments[0])/\(segments[1])") : ""
        if let token = gated[repoKey], headers["authorization"] != "Bearer \(token)" {
            return send(client, status: 401, body: Array("{\"error\":\"gated\"}".utf8))
        }
        if segments.count >= 6, segments[0] == "api", segments[1] == "models", segments[4] == "tree" {
            guard let files = repositories[repoKey] else { return send(client, status: 404, body: Array("{\"error\":\"Repository not found\"}".utf8)) }
            let listing: [[String: Any]] = files.map { f in
                var e: [String: Any] = ["type": "file", "path": f.path, "size": f.bytes.count, "oid": "0000"]
                if let sha = f.listedSHA256 { e["lfs"] = ["oid": sha, "size": f.bytes.count, "pointerSize": 134] }
                return e
            }
            let json = (try? JSONSerialization.data(withJSONObject: listing)) ?? Data()
            return send(client, status: 200, body: [UInt8](json))
        }
        guard segments.count >= 5, segments[2] == "resolve", let files = repositories[repoKey],
              let file = files.first(where: { $0.path == segments[4...].joined(separator: "/") }) else {
            return send(client, status: 404, body: Array("Entry not found".utf8))
        }
        if let range = headers["range"], range.hasPrefix("bytes="), let start = Int(range.dropFirst(6).split(separator: "-").first ?? "") {
            guard start < file.bytes.count else { return send(client, status: 416, body: []) }
            return send(client, status: 206, body: Array(file.bytes[start...]),
                        extra: "Content-Range: bytes \(start)-\(file.bytes.count - 1)/\(file.bytes.count)\r\n")
        }
        lock.lock()
        let cut = file.cutFirstResponseAt.flatMap { cutDone.contains(file.path) ? nil : $0 }
        if cut != nil { cutDone.insert(file.path) }
        lock.unlock()
        send(client, status: 200, body: file.bytes, sendOnly: cut)
    }

    private func send(_ client: Int32, status: Int, body: [UInt8], extra: String = "", sendOnly: Int? = nil) {
        let reason = [200: "OK", 206: "Partial Content", 401: "Unauthorized", 404: "Not Found", 416: "Range Not Satisfiable"][status] ?? "Status"
        let head = "HTTP/1.1 \(status) \(reason)\r\nContent-Length: \(body.count)\r\n\(extra)Connection: close\r\n\r\n"
        let out = Array(head.utf8) + body.prefix(sendOnly ?? body.count)
        var sent = 0
        while sent < out.count {
            let n = out.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return -1 }
                return write(client, base + sent, out.count - sent)
            }
            if n <= 0 { return }
            sent += n
        }
    }
}

private extension Array where Element == UInt8 {
    var containsHeaderEnd: Bool {
        guard count >= 4 else { return false }
        for i in 0...(count - 4) where self[i] == 13 && self[i + 1] == 10 && self[i + 2] == 13 && self[i + 3] == 10 { return true }
        return false
    }
}
