/// What the first bytes of a file say it is, regardless of its name.
public enum ContainerKind: String, Sendable, Equatable {
    /// RIFF/WAVE (also RF64 and Wave64).
    case wav
    /// FORM/AIFF or FORM/AIFC.
    case aiff
    /// Native FLAC (`fLaC`).
    case flac
    /// Ogg (Vorbis, Opus, FLAC in Ogg).
    case ogg
    /// Core Audio Format.
    case caf
    /// MPEG audio: ID3 tag or an MPEG frame sync.
    case mp3
    /// ISO base media (mp4, m4a, mov, 3gp): an `ftyp` box.
    case mp4
    /// Matroska or WebM (EBML header).
    case matroska
    /// Nothing recognised: left to libavformat's own probe.
    case unknown

    /// True when libsndfile reads this container.
    var isSndfileContainer: Bool {
        switch self {
        case .wav, .aiff, .flac, .ogg, .caf: return true
        default: return false
        }
    }
}

/// Identifies containers from their magic numbers and checks RIFF/AIFF headers against the file length.
enum ContainerSniffer {
    /// The container `bytes` (the start of a file) belong to.
    static func kind(of bytes: [UInt8]) -> ContainerKind {
        func tag(_ at: Int, _ s: String) -> Bool {
            let t = Array(s.utf8)
            return bytes.count >= at + t.count && Array(bytes[at..<at + t.count]) == t
        }
        if (tag(0, "RIFF") || tag(0, "RF64")) && tag(8, "WAVE") { return .wav }
        if tag(0, "riff") { return .wav }  // Wave64 GUID starts with "riff"
        if tag(0, "FORM") && (tag(8, "AIFF") || tag(8, "AIFC")) { return .aiff }
        if tag(0, "fLaC") { return .flac }
        if tag(0, "OggS") { return .ogg }
        if tag(0, "caff") { return .caf }
        if tag(4, "ftyp") { return .mp4 }
        if bytes.count >= 4 && bytes[0] == 0x1A && bytes[1] == 0x45 && bytes[2] == 0xDF && bytes[3] == 0xA3 { return .matroska }
        if tag(0, "ID3") { return .mp3 }
        if bytes.count >= 2 && bytes[0] == 0xFF && (bytes[1] & 0xE0) == 0xE0 && (bytes[1] & 0x06) != 0 { return .mp3 }
        return .unknown
    }

    /// A description of how a RIFF/WAVE or AIFF file is shorter than its header says, or nil when it is whole
    /// (or when the header does not say: streaming writers leave sizes 0 or 0xFFFFFFFF).
    static func truncation(of bytes: [UInt8], kind: ContainerKind, fileSize: Int) -> String? {
        switch kind {
        case .wav:
            guard bytes.count >= 12, bytes[0] == UInt8(ascii: "R"), bytes[1] == UInt8(ascii: "I") else { return nil }
            return walkChunks(bytes, start: 12, fileSize: fileSize, dataTag: "data", bigEndian: false)
        case .aiff:
            return walkChunks(bytes, start: 12, fileSize: fileSize, dataTag: "SSND", bigEndian: true)
        default:
            return nil
        }
    }

    /// Walks chunk headers in `bytes` (the file's first bytes) until the audio data chunk and compares its declared
    /// size with what the file holds.
    private static func walkChunks(_ bytes: [UInt8], start: Int, fileSize: Int, dataTag: String,
                                   bigEndian: Bool) -> String? {
        let target = Array(dataTag.utf8)
        var at = start
        while at + 8 <= bytes.count {
            let id = Array(bytes[at..<at + 4])
            let b = bytes[(at + 4)..<(at + 8)].map(UInt32.init)
            let size = bigEndian ? (b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]) : (b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0])
            if id == target {
                if size == 0 || size == 0xFFFF_FFFF { return nil }
                let available = fileSize - (at + 8)
                if Int(size) > available {
                    return "the \(dataTag) chunk declares \(size) bytes of audio but only \(max(available, 0)) follow it"
                }
                return nil
            }
            at += 8 + Int(size) + Int(size & 1)
            if at > fileSize {
                return "the '\(String(decoding: id, as: UTF8.self))' chunk runs past the end of the file before any audio data"
            }
        }
        if at + 8 > fileSize && fileSize < 64 * 1024 {
            return "the file ends after \(fileSize) bytes, before the \(dataTag) chunk that holds the audio"
        }
        return nil
    }

    /// `"52 49 46 46 ..."` for error messages.
    static func hexPrefix(_ bytes: [UInt8], count: Int = 12) -> String {
        bytes.prefix(count).map { b in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: " ")
    }
}
