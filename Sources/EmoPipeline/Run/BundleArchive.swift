import Foundation

/// A bundle as one file (`emo bundle pack`): a POSIX ustar archive of the bundle's files under `bundle/`, which
/// `tar -tf` lists and `tar -xf` unpacks. `PipelineBundle.load` reads it like the folder.
public enum BundleArchive {
    /// The files a bundle is made of.
    public static let files = ["bundle.json", "scaler.json", "fusion.state", "classifier.state"]

    /// Why an archive could not be written or read.
    public enum ArchiveError: Error, CustomStringConvertible, Equatable {
        /// A file of the bundle folder is missing or unreadable.
        case missing(String)
        /// The archive is not a well-formed ustar file.
        case malformed(path: String, message: String)
        /// It could not be written.
        case io(path: String, message: String)

        public var description: String {
            switch self {
            case .missing(let p): return "\(p): missing or unreadable; a bundle folder needs \(BundleArchive.files.joined(separator: ", "))"
            case .malformed(let p, let m): return "\(p): not a bundle archive: \(m) (make one with `emo bundle pack`)"
            case .io(let p, let m): return "\(p): \(m)"
            }
        }
    }

    /// Packs the bundle folder `directory` into `path`.
    public static func pack(_ directory: String, to path: String) throws(ArchiveError) {
        var out = Data()
        // Fine-tuned encoders' weights, named in bundle.json, travel too.
        var names = files
        if let data = FileManager.default.contents(atPath: directory + "/bundle.json"),
           let manifest = try? JSONDecoder().decode(PipelineBundle.Manifest.self, from: data) {
            names += manifest.groups.compactMap(\.weights)
        }
        for name in names {
            guard let body = FileManager.default.contents(atPath: directory + "/" + name) else { throw .missing(directory + "/" + name) }
            out += header(name: "bundle/" + name, size: body.count)
            out += body
            out += Data(count: (512 - body.count % 512) % 512)
        }
        out += Data(count: 1024)
        do { try out.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .io(path: path, message: "cannot write (\(error.localizedDescription))")
        }
    }

    /// The regular files of the ustar archive at `path`, by name without the leading `bundle/`.
    public static func read(_ path: String) throws(ArchiveError) -> [String: Data] {
        guard let data = FileManager.default.contents(atPath: path) else { throw .io(path: path, message: "missing or unreadable") }
        let bytes = [UInt8](data)
        var entries: [String: Data] = [:]
        var offset = 0
        while offset + 512 <= bytes.count {
            let block = Array(bytes[offset..<(offset + 512)])
            if block.allSatisfy({ $0 == 0 }) { return entries }
            guard Array(block[257..<262]) == Array("ustar".utf8) else {
                throw .malformed(path: path, message: "the header at byte \(offset) has no ustar magic")
            }
            var stored = 0
            for (i, b) in block.enumerated() { stored += (148..<156).contains(i) ? 32 : Int(b) }
            guard let checksum = octal(block[148..<156]), checksum == stored else {
                throw .malformed(path: path, message: "the header at byte \(offset) fails its checksum")
            }
            guard let size = octal(block[124..<136]), size >= 0, size <= bytes.count - offset - 512 else {
                throw .malformed(path: path, message: "the entry at byte \(offset) runs past the end of the file (truncated?)")
            }
            let name = String(decoding: block[0..<100].prefix { $0 != 0 }, as: UTF8.self)
            if block[156] == UInt8(ascii: "0") || block[156] == 0 {
                let short = name.hasPrefix("bundle/") ? String(name.dropFirst("bundle/".count)) : name
                entries[short] = Data(bytes[(offset + 512)..<(offset + 512 + size)])
            }
            offset += 512 + (size + 511) / 512 * 512
            guard entries.count <= 64 else { throw .malformed(path: path, message: "more than 64 entries") }
        }
        throw .malformed(path: path, message: "no end-of-archive blocks (truncated?)")
    }

    /// One 512-byte ustar header for a regular file.
    static func header(name: String, size: Int) -> Data {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, at: Int, width: Int) {
            for (i, b) in Array(s.utf8).prefix(width).enumerated() { h[at + i] = b }
        }
        func putOctal(_ v: Int, at: Int, width: Int) { put(String(v, radix: 8).leftPadded(to: width - 1), at: at, width: width - 1) }
        put(name, at: 0, width: 100)
        putOctal(0o644, at: 100, width: 8)
        putOctal(0, at: 108, width: 8)
        putOctal(0, at: 116, width: 8)
        putOctal(size, at: 124, width: 12)
        putOctal(0, at: 136, width: 12)
        h[156] = UInt8(ascii: "0")
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        for i in 148..<156 { h[i] = 32 }
        let sum = h.reduce(0) { $0 + Int($1) }
        put(String(sum, radix: 8).leftPadded(to: 6), at: 148, width: 6)
        h[154] = 0
        h[155] = 32
        return Data(h)
    }

    /// An octal number field (NUL/space padded), or nil.
    static func octal(_ field: ArraySlice<UInt8>) -> Int? {
        let digits = field.filter { $0 != 0 && $0 != 32 }
        guard !digits.isEmpty, digits.count <= 12 else { return digits.isEmpty ? 0 : nil }
        var v = 0
        for d in digits {
            guard (48...55).contains(d) else { return nil }
            v = v * 8 + Int(d - 48)
        }
        return v
    }
}

extension String {
    /// Left-padded with zeros to `width` characters.
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
