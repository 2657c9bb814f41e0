import EmoTensor
import Foundation

/// Whisper's log-mel front end (`whisper/audio.py: log_mel_spectrogram` with `padding=N_SAMPLES`), for one 30 s
/// window: 16 kHz audio → `[80, 3000]` features.
///
/// Steps: append 30 s of zeros; centred STFT (reflect padding, `n_fft` 400, hop 160, periodic Hann); power
/// `|X|²`, last frame dropped; librosa's Slaney mel filters (80 bands, 0–8 kHz); `log10(max(·, 1e-10))`; floor at
/// the maximum − 8; `(x + 4) / 4`. The DFT is one sgemm of the windowed frames `[3000, 400]` with a cos|sin basis
/// `[400, 402]`. Audio longer than 30 s is cut to its first 30 s (one window; long-form seeking is not done).
public struct WhisperLogMel: Sendable {
    /// Samples per second.
    public static let sampleRate = 16_000
    /// FFT size (25 ms).
    public static let nFFT = 400
    /// Hop (10 ms).
    public static let hop = 160
    /// Mel bands.
    public let melCount: Int
    /// Frames per window (30 s).
    public static let frames = 3000
    /// Frequency bins of the one-sided spectrum (`nFFT / 2 + 1`).
    static let bins = nFFT / 2 + 1

    /// Slaney-normalised triangular filters `[melCount, bins]` (librosa.filters.mel, htk=False, norm="slaney").
    let filters: [Float]
    /// `[nFFT, 2·bins]`: column k = window[n]·cos(2πkn/nFFT), column bins + k = window[n]·sin(2πkn/nFFT).
    let basis: [Float]

    /// Builds the filters and the windowed DFT basis (80 mels for Whisper tiny … large-v2, 128 for large-v3).
    public init(melCount: Int = 80) {
        self.melCount = melCount
        filters = Self.melFilters(melCount: melCount)
        let n = Self.nFFT, bins = Self.bins
        var basis = [Float](repeating: 0, count: n * 2 * bins)
        for i in 0..<n {
            let w = 0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(n))  // periodic Hann (torch.hann_window)
            for k in 0..<bins {
                let phase = 2 * Double.pi * Double((k * i) % n) / Double(n)
                basis[i * 2 * bins + k] = Float(w * cos(phase))
                basis[i * 2 * bins + bins + k] = Float(w * sin(phase))
            }
        }
        self.basis = basis
    }

    /// Same as `features(_:)`.
    public func callAsFunction(_ samples: [Float]) -> [Float] { features(samples) }

    /// `[melCount, frames]` log-mel features of `samples` (16 kHz mono), row-major.
    ///
    /// `frames` = 3000 is Whisper's 30 s window. Fewer frames give the first columns of that window's features (the
    /// padded signal and the maximum the floor is taken from are the same, unless the clip is silent): the
    /// `whisper-encoder`'s clip-length mode.
    public func features(_ samples: [Float], frames: Int = Self.frames) -> [Float] {
        features(samples, frames: frames, record: nil)
    }

    /// What `featuresBackward` needs from a forward: the spectrum, the mel power before the log, the floor's maximum.
    final class Record {
        /// Samples used (the clip, cut to 30 s).
        var samples = 0
        /// Frames.
        var frames = 0
        /// `[frames, 2·bins]` re | im.
        var spectrum: [Float] = []
        /// `[M, frames]` filters · power, before the log.
        var melPower: [Float] = []
        /// The maximum of log10(max(melPower, 1e-10)) (the floor is this − 8), and where it is.
        var top: Float = 0
        var topIndex = 0
    }

    /// The forward, recording what the backward needs when `record` is given.
    func features(_ samples: [Float], frames: Int, record: Record?) -> [Float] {
        let n = Self.nFFT, hop = Self.hop, bins = Self.bins, half = n / 2
        let frames = max(1, min(frames, Self.frames))
        let audio = Array(samples.prefix(Self.sampleRate * 30))
        // Frame t covers padded[t·hop ..< t·hop + n], padded = reflect(half) + audio + zeros(30 s) + …
        func sample(_ j: Int) -> Float {   // j indexes the unpadded signal (audio followed by zeros)
            var j = j
            if j < 0 { j = -j }             // reflect padding at the start (numpy "reflect": no edge repeat)
            return j < audio.count ? audio[j] : 0
        }
        var framed = [Float](repeating: 0, count: frames * n)  // [frames, 400]
        for t in 0..<frames {
            let start = t * hop - half
            for i in 0..<n { framed[t * n + i] = sample(start + i) }
        }
        var spectrum = [Float](repeating: 0, count: frames * 2 * bins)  // [frames, 2·201] re | im
        framed.withUnsafeBufferPointer { a in
            basis.withUnsafeBufferPointer { b in
                spectrum.withUnsafeMutableBufferPointer { c in
                    guard let a = a.baseAddress, let b = b.baseAddress, let c = c.baseAddress else { return }
                    Kernels.sgemm(m: frames, n: 2 * bins, k: n, a: a, lda: n, b: b, ldb: 2 * bins, c: c, ldc: 2 * bins)
                }
            }
        }
        var power = [Float](repeating: 0, count: frames * bins)  // [frames, 201]
        for t in 0..<frames {
            for k in 0..<bins {
                let re = spectrum[t * 2 * bins + k], im = spectrum[t * 2 * bins + bins + k]
                power[t * bins + k] = re * re + im * im
            }
        }
        var mel = [Float](repeating: 0, count: melCount * frames)  // [80, frames] = filters [80, 201] · powerᵀ
        filters.withUnsafeBufferPointer { a in
            power.withUnsafeBufferPointer { b in
                mel.withUnsafeMutableBufferPointer { c in
                    guard let a = a.baseAddress, let b = b.baseAddress, let c = c.baseAddress else { return }
                    Kernels.sgemm(transB: true, m: melCount, n: frames, k: bins, a: a, lda: bins, b: b, ldb: bins, c: c, ldc: frames)
                }
            }
        }
        if let record {
            record.samples = audio.count
            record.frames = frames
            record.spectrum = spectrum
            record.melPower = mel
        }
        var top = -Float.infinity, topIndex = 0
        for i in mel.indices {
            mel[i] = log10(max(mel[i], 1e-10))
            if mel[i] > top { top = mel[i]; topIndex = i }
        }
        record?.top = top
        record?.topIndex = topIndex
        for i in mel.indices { mel[i] = (max(mel[i], top - 8) + 4) / 4 }
        return mel
    }

    /// d samples `[S]` from d features `[M, frames]` of a recorded forward: through the affine map, the floor at
    /// the maximum − 8 (clamped entries pass their gradient to the maximum, as torch's `maximum` and `max` do), the
    /// log10 and its 1e-10 clamp, the mel filters, the power, the windowed DFT, and the framing (reflect padding at
    /// the start, zeros after the clip).
    func featuresBackward(_ record: Record, gradFeatures dy: [Float]) -> [Float] {
        let n = Self.nFFT, hop = Self.hop, bins = Self.bins, half = n / 2, frames = record.frames
        let floor = record.top - 8
        var dP = [Float](repeating: 0, count: melCount * frames)  // [M, frames] d melPower
        var dTop: Float = 0
        let ln10 = Float(M_LN10)
        for i in dP.indices {
            let p = record.melPower[i]
            let log = log10(max(p, 1e-10))
            let g = dy[i] / 4
            if log > floor || i == record.topIndex {
                if p > 1e-10 { dP[i] = g / (p * ln10) }
            } else {
                dTop += g
            }
        }
        let pTop = record.melPower[record.topIndex]
        if pTop > 1e-10 { dP[record.topIndex] += dTop / (pTop * ln10) }
        // power [frames, bins]: melPower = filters [M, bins] · powerᵀ  →  dpower = dPᵀ [frames, M] · filters
        var dPower = [Float](repeating: 0, count: frames * bins)
        dP.withUnsafeBufferPointer { a in
            filters.withUnsafeBufferPointer { b in
                dPower.withUnsafeMutableBufferPointer { c in
                    guard let a = a.baseAddress, let b = b.baseAddress, let c = c.baseAddress else { return }
                    Kernels.sgemm(transA: true, m: frames, n: bins, k: melCount, a: a, lda: frames, b: b, ldb: bins, c: c, ldc: bins)
                }
            }
        }
        var dSpectrum = [Float](repeating: 0, count: frames * 2 * bins)
        for t in 0..<frames {
            for k in 0..<bins {
                let g = 2 * dPower[t * bins + k]
                dSpectrum[t * 2 * bins + k] = g * record.spectrum[t * 2 * bins + k]
                dSpectrum[t * 2 * bins + bins + k] = g * record.spectrum[t * 2 * bins + bins + k]
            }
        }
        // spectrum = framed [frames, n] · basis [n, 2·bins]  →  dframed = dspectrum · basisᵀ
        var dFramed = [Float](repeating: 0, count: frames * n)
        dSpectrum.withUnsafeBufferPointer { a in
            basis.withUnsafeBufferPointer { b in
                dFramed.withUnsafeMutableBufferPointer { c in
                    guard let a = a.baseAddress, let b = b.baseAddress, let c = c.baseAddress else { return }
                    Kernels.sgemm(transB: true, m: frames, n: n, k: 2 * bins, a: a, lda: 2 * bins, b: b, ldb: 2 * bins, c: c, ldc: n)
                }
            }
        }
        var dx = [Float](repeating: 0, count: record.samples)
        for t in 0..<frames {
            let start = t * hop - half
            for i in 0..<n {
                var j = start + i
                if j < 0 { j = -j }
                if j < record.samples { dx[j] += dFramed[t * n + i] }
            }
        }
        return dx
    }

    /// librosa.filters.mel(sr=16000, n_fft=400, n_mels=melCount) in Double, rounded to Float.
    static func melFilters(melCount: Int) -> [Float] {
        let bins = Self.bins, sr = Double(Self.sampleRate)
        let fSp = 200.0 / 3, minLogHz = 1000.0, minLogMel = minLogHz / fSp, logStep = log(6.4) / 27
        func hzToMel(_ f: Double) -> Double { f >= minLogHz ? minLogMel + log(f / minLogHz) / logStep : f / fSp }
        func melToHz(_ m: Double) -> Double { m >= minLogMel ? minLogHz * exp(logStep * (m - minLogMel)) : fSp * m }
        let top = hzToMel(sr / 2)
        let melF = (0..<(melCount + 2)).map { melToHz(top * Double($0) / Double(melCount + 1)) }
        let fftFreqs = (0..<bins).map { sr / 2 * Double($0) / Double(bins - 1) }
        var weights = [Float](repeating: 0, count: melCount * bins)
        for m in 0..<melCount {
            let enorm = 2 / (melF[m + 2] - melF[m])
            for k in 0..<bins {
                let lower = (fftFreqs[k] - melF[m]) / (melF[m + 1] - melF[m])
                let upper = (melF[m + 2] - fftFreqs[k]) / (melF[m + 2] - melF[m + 1])
                weights[m * bins + k] = Float(max(0, min(lower, upper)) * enorm)
            }
        }
        return weights
    }
}
