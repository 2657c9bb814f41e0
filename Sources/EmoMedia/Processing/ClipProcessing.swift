import Foundation

/// The signal operations a clip goes through after resampling (pure functions on mono samples).
public enum ClipProcessing {
    /// Crops `samples` to `length`: the first samples (`.start`), the middle (`.centre`) or the window of highest
    /// energy (`.energy`, earliest on ties). Shorter input is returned unchanged.
    public static func crop(_ samples: [Float], to length: Int, alignment: DecodeOptions.Alignment) -> [Float] {
        guard samples.count > length else { return samples }
        let start: Int
        switch alignment {
        case .start: start = 0
        case .centre: start = (samples.count - length) / 2
        case .energy: start = maxEnergyWindowStart(samples, length: length)
        }
        return Array(samples[start..<(start + length)])
    }

    /// Zero-pads `samples` to `length`: after (`.start`, `.energy`) or split evenly before/after (`.centre`).
    public static func pad(_ samples: [Float], to length: Int, alignment: DecodeOptions.Alignment) -> [Float] {
        guard samples.count < length else { return samples }
        let missing = length - samples.count
        let before = alignment == .centre ? missing / 2 : 0
        var out = [Float](repeating: 0, count: length)
        out.replaceSubrange(before..<(before + samples.count), with: samples)
        return out
    }

    /// Start index of the `length`-sample window with the largest sum of squares (running sum in Double).
    static func maxEnergyWindowStart(_ samples: [Float], length: Int) -> Int {
        var energy = 0.0
        for i in 0..<length { energy += Double(samples[i]) * Double(samples[i]) }
        var best = energy, bestStart = 0
        var start = 1
        while start + length <= samples.count {
            let out = Double(samples[start - 1]), inn = Double(samples[start + length - 1])
            energy += inn * inn - out * out
            if energy > best + 1e-9 { best = energy; bestStart = start }
            start += 1
        }
        return bestStart
    }

    /// (x − mean) / sqrt(var + 1e-7) with the population variance, computed in Double.
    public static func meanVarianceNormalise(_ samples: [Float]) -> [Float] {
        guard !samples.isEmpty else { return samples }
        var sum = 0.0
        for s in samples { sum += Double(s) }
        let mean = sum / Double(samples.count)
        var sq = 0.0
        for s in samples { let d = Double(s) - mean; sq += d * d }
        let scale = 1 / (sq / Double(samples.count) + 1e-7).squareRoot()
        return samples.map { Float((Double($0) - mean) * scale) }
    }

    /// Drops leading and trailing frames whose RMS is more than `topDB` below the loudest frame's
    /// (librosa.effects.trim: frame 2048, hop 512, centred frames). All-silent input gives an empty array.
    public static func trimSilence(_ samples: [Float], topDB: Double, frameLength: Int = 2048, hop: Int = 512) -> [Float] {
        guard !samples.isEmpty else { return samples }
        let frames = 1 + samples.count / hop
        var rms = [Double](repeating: 0, count: frames)
        for f in 0..<frames {
            let centre = f * hop
            let lo = max(0, centre - frameLength / 2), hi = min(samples.count, centre + frameLength / 2)
            var acc = 0.0
            if hi > lo { for i in lo..<hi { acc += Double(samples[i]) * Double(samples[i]) } }
            rms[f] = (acc / Double(frameLength)).squareRoot()
        }
        guard let peak = rms.max(), peak > 0 else { return [] }
        let threshold = peak * pow(10, -topDB / 20)
        guard let first = rms.firstIndex(where: { $0 > threshold }),
              let last = rms.lastIndex(where: { $0 > threshold }) else { return [] }
        let start = min(samples.count, first * hop)
        let end = min(samples.count, (last + 1) * hop)
        return start < end ? Array(samples[start..<end]) : []
    }
}
