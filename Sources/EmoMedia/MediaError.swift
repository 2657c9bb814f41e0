/// Why a media file could not be turned into a clip. Every case names the file and says what to do.
public enum MediaError: Error, CustomStringConvertible, Equatable {
    /// The path does not exist (or vanished between listing and decoding).
    case fileNotFound(path: String)
    /// The file exists but could not be read (permissions, I/O error, a directory).
    case unreadable(path: String, reason: String)
    /// The file has zero bytes.
    case emptyFile(path: String)
    /// The bytes are not an audio or video container any decoder recognises.
    case unrecognisedFormat(path: String, firstBytes: String, reason: String)
    /// The header promises more audio than the file holds.
    case truncated(path: String, detail: String)
    /// A container without an audio stream (e.g. a video-only mp4).
    case noAudioStream(path: String, streams: String)
    /// The decoder library reported an error.
    case decodeFailed(path: String, library: String, message: String)
    /// Decoding succeeded but produced no samples.
    case emptyAudio(path: String)
    /// A decode option is out of range.
    case invalidOption(String)
    /// The header gives a sample rate outside `MediaDecoder.storedSampleRates` (1 kHz ... 768 kHz): a damaged or
    /// hostile file (resampling 2 GHz to 16 kHz needs a filter of gigabytes; 1 Hz turns each sample into 16 000).
    case unsupportedSampleRate(path: String, rate: Int)

    public var description: String {
        switch self {
        case .fileNotFound(let p):
            return "\(p): file not found (was it moved or deleted? check the path or re-list the corpus)"
        case .unreadable(let p, let r):
            return "\(p): cannot read the file: \(r) (check permissions and that it is a regular file)"
        case .emptyFile(let p):
            return "\(p): the file is empty (0 bytes); re-export or re-download it"
        case .unrecognisedFormat(let p, let b, let r):
            return "\(p): not a recognised audio or video file (first bytes: \(b)); \(r). Convert it to WAV/FLAC or check that it is not corrupt"
        case .truncated(let p, let d):
            return "\(p): the file is truncated: \(d); re-export or re-download it"
        case .noAudioStream(let p, let s):
            return "\(p): the container has no audio stream (streams: \(s)); supply a file with an audio track"
        case .decodeFailed(let p, let lib, let m):
            return "\(p): \(lib) could not decode the audio: \(m)"
        case .emptyAudio(let p):
            return "\(p): the audio stream decodes to 0 samples; the clip is empty and cannot be used"
        case .invalidOption(let m):
            return "invalid decode option: \(m)"
        case .unsupportedSampleRate(let p, let rate):
            return "\(p): the header gives a sample rate of \(rate) Hz, outside the 1000...768000 Hz EmoKit decodes (a damaged file?); re-export it at a usual rate"
        }
    }

    /// The file the error is about, when there is one.
    public var path: String? {
        switch self {
        case .fileNotFound(let p), .unreadable(let p, _), .emptyFile(let p), .unrecognisedFormat(let p, _, _),
             .truncated(let p, _), .noAudioStream(let p, _), .decodeFailed(let p, _, _), .emptyAudio(let p),
             .unsupportedSampleRate(let p, _):
            return p
        case .invalidOption: return nil
        }
    }
}
