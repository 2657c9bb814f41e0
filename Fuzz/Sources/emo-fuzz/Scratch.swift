import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files the targets write each input to, in one folder per process (entry points that read files get a real file).
enum Scratch {
    /// `$TMPDIR/emo-fuzz-<pid>`.
    nonisolated(unsafe) static var folder = ""

    /// Creates the folder.
    static func prepare() {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        folder = "\(base)/emo-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: folder + "/bundle", withIntermediateDirectories: true)
        try? FileManager.default.createDirectory(atPath: folder + "/meld", withIntermediateDirectories: true)
    }

    /// Writes `bytes` to `name` in the folder (replacing it) and returns its path.
    @discardableResult
    static func write(_ name: String, _ bytes: Data) -> String {
        let path = folder + "/" + name
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { fatalError("emo-fuzz: cannot write \(path)") }
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count, let base = raw.baseAddress {
                let n = Glibc.write(fd, base + done, raw.count - done)
                if n <= 0 { break }
                done += n
            }
        }
        close(fd)
        return path
    }

    /// Removes `name` from the folder if it is there.
    static func remove(_ name: String) { unlink(folder + "/" + name) }
}

/// A stored (uncompressed) ZIP as `torch.save` writes it: `archive/data.pkl` and the storages `archive/data/<key>`.
enum TorchZip {
    /// The archive bytes for `entries` (name, body), in order.
    static func archive(_ entries: [(String, [UInt8])]) -> Data {
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: Int) -> [UInt8] { u16(v & 0xFFFF) + u16(v >> 16 & 0xFFFF) }
        for (name, body) in entries {
            let offset = out.count, n = Array(name.utf8)
            out += u32(0x0403_4B50) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(body.count) + u32(body.count)
            out += u16(n.count) + u16(0) + n + body
            central += u32(0x0201_4B50) + u16(20) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(body.count)
            central += u32(body.count) + u16(n.count) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(offset) + n
        }
        let cd = out.count
        out += central + u32(0x0605_4B50) + u16(0) + u16(0) + u16(entries.count) + u16(entries.count)
        out += u32(central.count) + u32(cd) + u16(0)
        return Data(out)
    }
}
