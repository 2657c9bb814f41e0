import CSndFile

/// Reads WAV/AIFF/FLAC/Ogg/CAF through libsndfile, which identifies the container from its header, not its name.
enum SndfileDecoder {
    /// Decodes `path` to mono at its stored rate.
    static func decode(path: String) throws(MediaError) -> DecodedAudio {
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            let reason = String(cString: sf_strerror(nil))
            throw .decodeFailed(path: path, library: "libsndfile", message: reason)
        }
        defer { sf_close(file) }
        let channels = Int(info.channels)
        guard channels > 0, info.samplerate > 0 else {
            throw .decodeFailed(path: path, library: "libsndfile",
                                message: "header gives \(info.channels) channels at \(info.samplerate) Hz")
        }
        let declared = Int(info.frames)
        var samples: [Float] = []
        // The header's frame count only sizes the first allocation, and at most 2^22 frames of it (16 MB): a FLAC
        // STREAMINFO can declare 2^36 frames and an Ogg granule position 2^63 in a file of a few bytes, and reserving
        // that much failed (or trapped) before a single frame was read. Longer clips grow the array as they decode.
        samples.reserveCapacity(min(max(declared, 0), 1 << 22))
        let chunkFrames = 16_384
        var buffer = [Float](repeating: 0, count: chunkFrames * channels)
        var total = 0
        while true {
            let got = buffer.withUnsafeMutableBufferPointer { buf -> Int in
                guard let base = buf.baseAddress else { return 0 }
                let n = Int(sf_readf_float(file, base, sf_count_t(chunkFrames)))
                appendDownmix(UnsafeBufferPointer(buf), frames: n, channels: channels, to: &samples)
                return n
            }
            total += got
            if got < chunkFrames { break }
        }
        let err = sf_error(file)
        if err != 0 {
            throw .decodeFailed(path: path, library: "libsndfile", message: String(cString: sf_strerror(file)))
        }
        if declared > 0 && total < declared {
            throw .truncated(path: path, detail: "the header announces \(declared) frames but only \(total) could be read")
        }
        return DecodedAudio(samples: samples, sampleRate: Int(info.samplerate), channels: channels,
                            format: formatName(info.format), declaredFrames: declared > 0 ? declared : nil)
    }

    /// The major format's short name.
    private static func formatName(_ format: Int32) -> String {
        switch Int(format) & Int(SF_FORMAT_TYPEMASK) {
        case Int(SF_FORMAT_WAV): return "WAV"
        case Int(SF_FORMAT_AIFF): return "AIFF"
        case Int(SF_FORMAT_FLAC): return "FLAC"
        case Int(SF_FORMAT_OGG): return "OGG"
        case Int(SF_FORMAT_CAF): return "CAF"
        case Int(SF_FORMAT_W64): return "W64"
        case Int(SF_FORMAT_RF64): return "RF64"
        case Int(SF_FORMAT_WAVEX): return "WAVEX"
        default: return "sndfile:0x" + String(Int(format) & Int(SF_FORMAT_TYPEMASK), radix: 16)
        }
    }
}
