import EmoCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Downloads a checkpoint the way the Hugging Face hub publishes it, into a local cache folder that
/// `emo models import` (and every encoder's `model` config) can use.
///
/// ```swift
/// let hub = HubClient(cache: "~/.cache/emokit/hub")          // HF_ENDPOINT and HF_TOKEN from the environment
/// let folder = try hub.download(try HubReference("microsoft/wavlm-base-plus@main"))
/// ```
///
/// Protocol (the hub's public HTTP API): the file list and sizes from `GET {endpoint}/api/models/{repo}/tree/{rev}`
/// (LFS files carry their SHA-256 there), each file from `GET {endpoint}/{repo}/resolve/{rev}/{path}`. Only what a
/// model needs is fetched: `config.json`, the tokenizer and feature-extractor files, and one set of weights
/// (`model.safetensors.index.json` with its shards, else `model.safetensors`, else `pytorch_model.bin`, else a
/// CTranslate2 `model.bin`). A file downloads into `NAME.incomplete` and is renamed only once its size and, for LFS
/// files, its SHA-256 match the listing; an interrupted or short download resumes with an HTTP `Range` request.
/// `HF_TOKEN` is sent as a bearer token (gated and private repositories).
public struct HubClient: Sendable {
    /// The hub's base URL (`HF_ENDPOINT`, default `https://huggingface.co`).
    public var endpoint: String
    /// Bearer token (`HF_TOKEN`), or nil.
    public var token: String?
    /// Root of the download cache; a repository lands in `cache/ORG--NAME/REVISION/`.
    public var cache: String
    /// Progress lines for people.
    public var log: @Sendable (String) -> Void
    /// Attempts per file (a short or interrupted transfer resumes from where it stopped).
    public var attempts = 3

    /// A client for `endpoint` (default: `HF_ENDPOINT`, else the public hub) with `token` (default `HF_TOKEN`).
    public init(cache: String, endpoint: String? = nil, token: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.cache = cache
        let base = endpoint ?? environment["HF_ENDPOINT"] ?? "https://huggingface.co"
        self.endpoint = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.token = token ?? environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        self.log = log
    }

    /// One file of a repository listing.
    public struct RepoFile: Sendable, Equatable {
        /// Path inside the repository.
        public var path: String
        /// Size in bytes, when listed.
        public var size: Int?
        /// SHA-256 (hex) of an LFS file's content, when listed.
        public var sha256: String?

        /// Creates a listing entry.
        public init(path: String, size: Int?, sha256: String?) {
            self.path = path
            self.size = size
            self.sha256 = sha256
        }
    }

    /// The files of `ref` (the hub's tree listing, recursive).
    public func files(_ ref: HubReference) throws(HubError) -> [RepoFile] {
        let url = "\(endpoint)/api/models/\(ref.repository)/tree/\(Self.escape(ref.revision))?recursive=true"
        let (status, body) = try request(url)
        guard status == 200 else { throw failure(status: status, url: url, body: body, ref: ref) }
        guard let entries = (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]] else {
            throw .malformed(url: url, message: "the tree listing is not a JSON array of entries")
        }
        return entries.compactMap { e in
            guard (e["type"] as? String ?? "file") == "file", let path = e["path"] as? String else { return nil }
            let lfs = e["lfs"] as? [String: Any]
            return RepoFile(path: path, size: (lfs?["size"] as? Int) ?? (e["size"] as? Int),
                            sha256: (lfs?["oid"] as? String).map { $0.replacingOccurrences(of: "sha256:", with: "") })
        }
    }

    /// Files a model folder needs besides its weights (only those the repository has).
    public static let companionFiles: Set<String> = [
        "config.json", "vocab.json", "merges.txt", "vocab.txt", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "added_tokens.json", "preprocessor_config.json", "vocabulary.txt", "vocabulary.json",
    ]

    /// What to fetch from a listing: the companion files and one set of weights (see the type's notes); the shard
    /// names of a sharded checkpoint come from its index, read by `shards`.
    public static func selection(_ files: [RepoFile], shards: (RepoFile) throws(HubError) -> [String]) throws(HubError) -> [RepoFile] {
        let byPath = Dictionary(files.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var chosen = files.filter { companionFiles.contains($0.path) }
        if let index = byPath["model.safetensors.index.json"] {
            chosen.append(index)
            for name in try shards(index) {
                guard let shard = byPath[name] else {
                    throw .incomplete(message: "model.safetensors.index.json names \(name), which the repository does not have")
                }
                chosen.append(shard)
            }
        } else if let weights = byPath["model.safetensors"] ?? byPath["pytorch_model.bin"] ?? byPath["model.bin"] {
            chosen.append(weights)
        } else {
            throw .incomplete(message: "no weights EmoKit reads (model.safetensors, model.safetensors.index.json with its shards, pytorch_model.bin, or a CTranslate2 model.bin); files: \(files.map(\.path).sorted().prefix(12).joined(separator: ", "))")
        }
        return chosen
    }

    /// Downloads what `ref`'s model needs into the cache (files already complete are kept) and returns the folder.
    public func download(_ ref: HubReference) throws(HubError) -> String {
        let listing = try files(ref)
        let folder = cache + "/" + ref.repository.replacingOccurrences(of: "/", with: "--") + "/"
            + ref.revision.replacingOccurrences(of: "/", with: "--")
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw .io(path: folder, message: "cannot create the cache folder (\(error.localizedDescription))")
        }
        let wanted = try Self.selection(listing) { (index: RepoFile) throws(HubError) -> [String] in
            try fetch(ref, index, into: folder)
            guard let data = FileManager.default.contents(atPath: folder + "/" + index.path),
                  let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                  let map = json["weight_map"] as? [String: String] else {
                throw .malformed(url: index.path, message: "model.safetensors.index.json has no weight_map")
            }
            return Array(Set(map.values)).sorted()
        }
        let total = wanted.reduce(0) { $0 + ($1.size ?? 0) }
        log("\(ref.repository)@\(ref.revision): \(wanted.count) files, \(Self.megabytes(total)) → \(folder)")
        for file in wanted { try fetch(ref, file, into: folder) }
        return folder
    }

    /// Fetches one file unless it is already complete; resumes a partial `.incomplete` copy; checks size and SHA-256.
    func fetch(_ ref: HubReference, _ file: RepoFile, into folder: String) throws(HubError) {
        guard !file.path.contains(".."), !file.path.hasPrefix("/") else {
            throw .malformed(url: file.path, message: "a repository path must stay inside the repository")
        }
        let target = folder + "/" + file.path, partial = target + ".incomplete"
        let fm = FileManager.default
        if let size = file.size, let attrs = try? fm.attributesOfItem(atPath: target), (attrs[.size] as? Int) == size {
            return  // complete from an earlier pull
        }
        do { try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true) } catch {
            throw .io(path: target, message: "cannot create its folder (\(error.localizedDescription))")
        }
        let url = "\(endpoint)/\(ref.repository)/resolve/\(Self.escape(ref.revision))/\(file.path)"
        var lastProblem = ""
        for attempt in 1...max(1, attempts) {
            let have = (try? fm.attributesOfItem(atPath: partial))?[.size] as? Int ?? 0
            if let size = file.size, have >= size { break }
            if attempt > 1 || have > 0 { log("  \(file.path): resuming at \(Self.megabytes(have))") }
            let status = try stream(url, to: partial, from: have)
            if status == 416 {  // the partial copy is not a prefix of this file: start over
                try? fm.removeItem(atPath: partial)
                lastProblem = "the server refused to resume (416)"
                continue
            }
            guard status == 200 || status == 206 else {
                try? fm.removeItem(atPath: partial)
                throw failure(status: status, url: url, body: Data(), ref: ref)
            }
            let got = (try? fm.attributesOfItem(atPath: partial))?[.size] as? Int ?? 0
            guard let size = file.size, got < size else { break }
            lastProblem = "received \(got) of \(size) bytes"
        }
        let got = (try? fm.attributesOfItem(atPath: partial))?[.size] as? Int ?? 0
        if let size = file.size, got != size {
            throw .truncated(file: file.path, expected: size, received: got, detail: lastProblem)
        }
        if let expected = file.sha256?.lowercased() {
            let actual = SHA256.hex(ofFile: partial)
            guard actual == expected else {
                try? fm.removeItem(atPath: partial)
                throw .checksum(file: file.path, expected: expected, actual: actual ?? "unreadable")
            }
        }
        try? fm.removeItem(atPath: target)
        do { try fm.moveItem(atPath: partial, toPath: target) } catch {
            throw .io(path: target, message: "cannot move the download into place (\(error.localizedDescription))")
        }
        log("  \(file.path): \(Self.megabytes(got))\(file.sha256 == nil ? "" : ", sha256 checked")")
    }

    // MARK: HTTP

    /// GET `url` into memory: (status, body).
    func request(_ url: String) throws(HubError) -> (Int, Data) {
        guard let u = URL(string: url) else { throw .malformed(url: url, message: "not a URL") }
        let sink = Sink(file: nil)
        try perform(URLRequest(url: u), sink: sink)
        return (sink.status, sink.body)
    }

    /// GET `url` appending to the file at `path` from byte `offset` (a `Range` request when > 0); returns the status.
    func stream(_ url: String, to path: String, from offset: Int) throws(HubError) -> Int {
        guard let u = URL(string: url) else { throw .malformed(url: url, message: "not a URL") }
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let handle = FileHandle(forWritingAtPath: path) else { throw .io(path: path, message: "cannot write") }
        defer { try? handle.close() }
        var req = URLRequest(url: u)
        if offset > 0 { req.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        let sink = Sink(file: handle, offset: offset)
        try perform(req, sink: sink)
        return sink.status
    }

    /// Runs one request to completion, feeding `sink`; a transport failure after some bytes arrived is not an error
    /// (the caller sees the short file and resumes).
    private func perform(_ request: URLRequest, sink: Sink) throws(HubError) {
        var request = request
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        request.setValue("emokit", forHTTPHeaderField: "User-Agent")
        request.timeoutInterval = 60
        let session = URLSession(configuration: .ephemeral, delegate: sink, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        session.dataTask(with: request).resume()
        sink.done.wait()
        if let error = sink.error, sink.status == 0 {
            throw .network(url: request.url?.absoluteString ?? "?", message: error)
        }
    }

    /// Collects one response: status, and the body in memory or appended to a file.
    private final class Sink: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let file: FileHandle?
        var status = 0, body = Data(), error: String?
        let done = DispatchSemaphore(value: 0)
        private let offset: Int

        init(file: FileHandle?, offset: Int = 0) {
            self.file = file
            self.offset = offset
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if let file {
                // 206 continues the partial copy; 200 is the whole file (the server ignored Range): start over.
                if status == 206 { _ = try? file.seekToEnd() } else { try? file.truncate(atOffset: 0) }
            }
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            guard (200..<300).contains(status) else { body.append(data); return }
            if let file { file.write(data) } else { body.append(data) }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            self.error = error.map { $0.localizedDescription }
            done.signal()
        }
    }

    /// The error for a non-success status.
    private func failure(status: Int, url: String, body: Data, ref: HubReference) -> HubError {
        switch status {
        case 401, 403:
            return .unauthorized(url: url, hasToken: token != nil)
        case 404:
            return .notFound(url: url, repository: ref.repository, revision: ref.revision)
        default:
            return .http(status: status, url: url, message: String(decoding: body.prefix(300), as: UTF8.self))
        }
    }

    /// Percent-escapes a revision (branch names may hold `/`).
    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }
}

/// `ORG/NAME[@REVISION]`: a hub repository and a revision (branch, tag or commit; default `main`).
public struct HubReference: Sendable, Equatable, CustomStringConvertible {
    /// `ORG/NAME`.
    public var repository: String
    /// Branch, tag or commit.
    public var revision: String

    /// Parses `ORG/NAME[@REVISION]`.
    public init(_ text: String) throws(HubError) {
        let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
        let repo = parts.first ?? ""
        let pieces = repo.split(separator: "/", omittingEmptySubsequences: false)
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard pieces.count == 2, pieces.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && String($0).unicodeScalars.allSatisfy(allowed.contains) }) else {
            throw .badReference(text)
        }
        repository = repo
        revision = parts.count > 1 && !parts[1].isEmpty ? parts[1] : "main"
        guard !revision.contains(".."), revision.unicodeScalars.allSatisfy({ allowed.contains($0) || $0 == "/" }) else {
            throw .badReference(text)
        }
    }

    public var description: String { "\(repository)@\(revision)" }
}

/// Why a hub download failed: what, where, and what to do.
public enum HubError: Error, CustomStringConvertible, Equatable {
    /// Not `ORG/NAME[@REVISION]`.
    case badReference(String)
    /// 404 for the repository, revision or file.
    case notFound(url: String, repository: String, revision: String)
    /// 401/403.
    case unauthorized(url: String, hasToken: Bool)
    /// Another HTTP status.
    case http(status: Int, url: String, message: String)
    /// The server could not be reached or the transfer failed before any byte.
    case network(url: String, message: String)
    /// A response that is not what the hub serves.
    case malformed(url: String, message: String)
    /// The repository lacks what a model folder needs.
    case incomplete(message: String)
    /// Fewer bytes than listed, after every attempt.
    case truncated(file: String, expected: Int, received: Int, detail: String)
    /// The content's SHA-256 is not the listed one.
    case checksum(file: String, expected: String, actual: String)
    /// A local file could not be written.
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case .badReference(let t):
            return "\"\(t)\" is not a hub repository: write ORG/NAME or ORG/NAME@REVISION (e.g. microsoft/wavlm-base-plus@main)"
        case .notFound(let url, let repo, let rev):
            return "\(url): not found (404): no repository \(repo), revision \(rev) or file there; check the name, the revision and HF_ENDPOINT"
        case .unauthorized(let url, let hasToken):
            return "\(url): access refused" + (hasToken ? " with the HF_TOKEN given (does it grant access to this repository?)" : "; a gated or private repository needs HF_TOKEN (a token from huggingface.co/settings/tokens)")
        case .http(let status, let url, let message):
            return "\(url): HTTP \(status)\(message.isEmpty ? "" : ": \(message)")"
        case .network(let url, let message):
            return "\(url): \(message) (is HF_ENDPOINT reachable from this machine?)"
        case .malformed(let url, let message):
            return "\(url): \(message)"
        case .incomplete(let message):
            return "cannot make a model folder: \(message)"
        case .truncated(let file, let expected, let received, let detail):
            return "\(file): received \(received) of \(expected) bytes after every attempt (\(detail)); run the pull again to resume"
        case .checksum(let file, let expected, let actual):
            return "\(file): SHA-256 \(actual) is not the listed \(expected); the download was discarded (run the pull again; if it repeats, the mirror serves a different file)"
        case .io(let path, let message):
            return "\(path): \(message)"
        }
    }
}
