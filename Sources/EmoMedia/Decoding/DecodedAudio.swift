/// Audio as stored in a file, downmixed to mono but not yet resampled.
public struct DecodedAudio: Sendable {
    /// Mono samples (the mean of all channels), in [-1, 1] for integer sources.
    public var samples: [Float]
    /// The stored sample rate.
    public var sampleRate: Int
    /// The stored channel count.
    public var channels: Int
    /// Container/codec name as the decoder reported it ("WAV", "AIFF", "FLAC", "mov,mp4,m4a,3gp,3g2,mj2", ...).
    public var format: String
    /// Frames the header announced (nil when the container does not say, e.g. most mp4s).
    public var declaredFrames: Int?
}

/// Averages interleaved `[frames, channels]` samples into `out` (appends `frames` values).
@inline(__always)
func appendDownmix(_ interleaved: UnsafeBufferPointer<Float>, frames: Int, channels: Int, to out: inout [Float]) {
    guard frames > 0 else { return }
    if channels == 1 {
        out.append(contentsOf: UnsafeBufferPointer(rebasing: interleaved[0..<frames]))
        return
    }
    let scale = 1 / Float(channels)
    for f in 0..<frames {
        var sum: Float = 0
        let base = f * channels
        for c in 0..<channels { sum += interleaved[base + c] }
        out.append(sum * scale)
    }
}
