import EmoCore
import Foundation

/// Turns any common audio or video file into a `Clip`: 16 kHz mono Float32 with provenance and content hashes.
///
/// ```swift
/// let decoder = try MediaDecoder(options: DecodeOptions(duration: 8, alignment: .centre, normalise: true))
/// let clip = try decoder.decode(path: "/data/meld/train/dia0_utt0.mp4")
/// print(clip.samples.count, clip.pcmHash, clip.provenance.format)
/// ```
/// The container is sniffed from the first bytes, never the file name: WAV/AIFF/FLAC/Ogg/CAF go to libsndfile,
/// everything else (mp3, m4a, mp4, mkv, webm, ...) to libavformat. Each decode is independent; one decoder may be
/// shared by several threads.
public struct MediaDecoder: Sendable {
    /// What happens after decoding.
    public let options: DecodeOptions

    /// Creates a decoder; throws when an option is out of range.
    public init(options: DecodeOptions = DecodeOptions()) throws(MediaError) {
        try options.validate()
        self.options = options
    }

    /// Decodes, downmixes, resamples and shapes `path` according to `options`.
    public func decode(path: String) throws(MediaError) -> Clip {
        try decode(path: path, file: MediaDecoder.loadFile(path))
    }

    /// Decodes a file whose bytes were already read with `loadFile` (so they are read and hashed once).
    public func decode(path: String, file: LoadedFile) throws(MediaError) -> Clip {
        let (samples, raw) = try whole(path: path, file: file)
        return try shape(samples, raw: raw, path: path, file: file)
    }

    /// Decodes `path` as `decode(path:)` does, first handing `inspect` the whole clip as decoded and resampled,
    /// before any trimming, cropping, normalisation or padding (what a check for speech must see: a 0.5 s crop of a
    /// word can look as steady as a tone). An error `inspect` throws stops the decode.
    public func decode(path: String, inspectingWholeClip inspect: ([Float]) throws -> Void) throws -> Clip {
        let file = try MediaDecoder.loadFile(path)
        let (samples, raw) = try whole(path: path, file: file)
        try inspect(samples)
        return try shape(samples, raw: raw, path: path, file: file)
    }

    /// Mono samples at `options.sampleRate`, unshaped, and what the container held.
    private func whole(path: String, file: LoadedFile) throws(MediaError) -> ([Float], DecodedAudio) {
        let raw = try MediaDecoder.decodeNative(path: path, bytes: file.bytes)
        var samples = raw.samples
        if raw.sampleRate != options.sampleRate {
            samples = try Resampler(inputRate: raw.sampleRate, outputRate: options.sampleRate).process(samples)
        }
        return (samples, raw)
    }

    /// Trims, crops, normalises and pads `samples` as `options` say, and makes the clip.
    private func shape(_ input: [Float], raw: DecodedAudio, path: String, file: LoadedFile) throws(MediaError) -> Clip {
        var samples = input
        if let topDB = options.trimSilenceTopDB {
            samples = ClipProcessing.trimSilence(samples, topDB: topDB)
            if samples.isEmpty { throw .emptyAudio(path: path) }
        }
        var target: Int? = nil
        if let d = options.duration {
            let n = Int((d * Double(options.sampleRate)).rounded())
            samples = ClipProcessing.crop(samples, to: n, alignment: options.alignment)
            target = n
        }
        if options.normalise { samples = ClipProcessing.meanVarianceNormalise(samples) }
        if let n = target { samples = ClipProcessing.pad(samples, to: n, alignment: options.alignment) }
        let provenance = Provenance(path: path, format: raw.format, originalSampleRate: raw.sampleRate,
                                    originalChannels: raw.channels, fileHash: file.sha256)
        return Clip(samples: samples, sampleRate: options.sampleRate, pcmHash: SHA256.hex(ofSamples: samples),
                    provenance: provenance)
    }

    /// Decodes `path` to mono at its stored rate (no resampling), sniffing the container from its bytes.
    public static func decodeNative(path: String) throws(MediaError) -> DecodedAudio {
        try decodeNative(path: path, bytes: readFile(path))
    }

    /// The container `path`'s first bytes announce.
    public static func sniff(path: String) throws(MediaError) -> ContainerKind {
        ContainerSniffer.kind(of: Array(try readFile(path).prefix(64)))
    }

    /// SHA-256 (hex) of a file's bytes.
    public static func fileHash(path: String) throws(MediaError) -> String {
        try loadFile(path).sha256
    }

    /// A file's bytes and their SHA-256, read once.
    public struct LoadedFile: Sendable {
        /// The whole file.
        public let bytes: Data
        /// SHA-256 (hex) of `bytes`.
        public let sha256: String
    }

    /// Reads a file, telling apart missing, unreadable and empty files, and hashes it.
    public static func loadFile(_ path: String) throws(MediaError) -> LoadedFile {
        let bytes = try readFile(path)
        return LoadedFile(bytes: bytes, sha256: SHA256.hash(data: bytes).hex)
    }

    /// Sample rates a file may declare. Outside them the header is damaged or hostile: resampling 2 GHz to 16 kHz
    /// needs a filter table of gigabytes (a fuzzed Wave64 header asked for 12.6 GB), and 1 Hz turns each sample into
    /// 16 000.
    public static let storedSampleRates = 1_000...768_000

    /// `libavformat: false` leaves out the libavformat decoder (Fuzz/'s `media` target: ffmpeg is not EmoKit's parser).
    static func decodeNative(path: String, bytes: Data, libavformat: Bool = true) throws(MediaError) -> DecodedAudio {
        let head = Array(bytes.prefix(64 * 1024))
        let kind = ContainerSniffer.kind(of: head)
        if let problem = ContainerSniffer.truncation(of: head, kind: kind, fileSize: bytes.count) {
            throw .truncated(path: path, detail: problem)
        }
        let audio: DecodedAudio
        if kind.isSndfileContainer {
            do {
                audio = try SndfileDecoder.decode(path: path)
            } catch {
                // libsndfile lacks some codecs inside these containers (e.g. MP3-in-WAV); libav may have them.
                guard libavformat, case .decodeFailed = error, let other = try? FFmpegDecoder.decode(path: path) else { throw error }
                audio = other
            }
        } else {
            guard libavformat else {
                throw .unrecognisedFormat(path: path, firstBytes: ContainerSniffer.hexPrefix(head), reason: "not a libsndfile container")
            }
            do {
                audio = try FFmpegDecoder.decode(path: path)
            } catch {
                if kind == .unknown, case .decodeFailed(_, _, let message) = error {
                    throw .unrecognisedFormat(path: path, firstBytes: ContainerSniffer.hexPrefix(head),
                                              reason: "libavformat: \(message)")
                }
                throw error
            }
        }
        guard storedSampleRates.contains(audio.sampleRate) else { throw .unsupportedSampleRate(path: path, rate: audio.sampleRate) }
        if audio.samples.isEmpty { throw .emptyAudio(path: path) }
        return audio
    }

    /// The whole file, with the error cases told apart (missing, unreadable, empty).
    static func readFile(_ path: String) throws(MediaError) -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: path)
        }
        if isDirectory.boolValue { throw .unreadable(path: path, reason: "it is a directory") }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
        } catch {
            if !FileManager.default.fileExists(atPath: path) { throw .fileNotFound(path: path) }
            throw .unreadable(path: path, reason: error.localizedDescription)
        }
        if data.isEmpty { throw .emptyFile(path: path) }
        return data
    }
}
