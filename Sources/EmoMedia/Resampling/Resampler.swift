import Foundation

/// Band-limited sample-rate conversion: a Kaiser-windowed sinc low-pass evaluated as a polyphase filter.
///
/// The filter (all edges are fractions of the *lower* of the two Nyquist frequencies, so one design serves
/// down- and up-sampling; for 16 kHz output that Nyquist is 8 kHz):
/// - passband edge 0.875 (7 kHz), stopband edge 1.0 (8 kHz), cutoff halfway between (7.5 kHz), -6 dB there;
/// - Kaiser window for `attenuationDB` = 100 dB stopband: β = 0.1102 (A − 8.7) = 10.06, length from Kaiser's
///   formula N = (A − 7.95) / (2.285 · 2π · Δf) with Δf the transition width in cycles per input sample
///   (48 kHz → 16 kHz: 309 taps; 44.1 kHz: 284; 96 kHz: 617; 24.4 kHz: 157);
/// - passband ripple of the window design ≈ 10^(−A/20) ≈ 1e-5 (far below 0.01 dB).
/// Coefficients are tabulated per phase of the rational ratio L/M; when L exceeds `maxPhases` (e.g. 24414 →
/// 16000 has L = 8000), 512 phases are tabulated and linearly interpolated (kernel error below -110 dB).
/// The kernel is centred on each output instant (zero phase, no delay); input outside the clip counts as zero.
/// Output length is ⌈n · out / in⌉, as in librosa/soxr.
public struct Resampler: Sendable {
    /// Input samples per second.
    public let inputRate: Int
    /// Output samples per second.
    public let outputRate: Int
    /// Stopband attenuation the window was designed for (dB).
    public let attenuationDB: Double
    /// Passband edge as a fraction of the lower Nyquist frequency.
    public static let passbandEdge = 0.875
    /// Stopband edge as a fraction of the lower Nyquist frequency.
    public static let stopbandEdge = 1.0
    /// Phases tabulated exactly up to this many; above, tabulated phases are interpolated.
    public static let maxPhases = 512

    /// Upsampling factor L of the reduced ratio out/in = L/M.
    let up: Int
    /// Downsampling factor M.
    let down: Int
    /// Rows in the coefficient table minus one (the table has `phases + 1` rows so row p+1 always exists).
    let phases: Int
    /// Taps on each side of the output instant, in input samples.
    let halfTaps: Int
    /// Row length: 2 · halfTaps rounded up to a multiple of 8 (SIMD), zero-padded.
    let rowLength: Int
    /// Coefficients `[phases + 1, rowLength]`; row p holds h(p/phases − j) for j = −halfTaps+1 ... halfTaps.
    let table: [Float]

    /// Designs the filter for `inputRate` → `outputRate`.
    public init(inputRate: Int, outputRate: Int, attenuationDB: Double = 100) throws(MediaError) {
        guard inputRate > 0, outputRate > 0 else {
            throw .invalidOption("sample rates must be positive (got \(inputRate) → \(outputRate))")
        }
        guard attenuationDB >= 40, attenuationDB <= 180 else {
            throw .invalidOption("stopband attenuation \(attenuationDB) dB is outside 40...180")
        }
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.attenuationDB = attenuationDB
        let g = Resampler.gcd(inputRate, outputRate)
        up = outputRate / g
        down = inputRate / g
        phases = min(up, Resampler.maxPhases)

        let lowerNyquist = Double(min(inputRate, outputRate)) / 2
        let cutoff = (Resampler.passbandEdge + Resampler.stopbandEdge) / 2 * lowerNyquist / Double(inputRate)  // cycles/input sample
        let transition = (Resampler.stopbandEdge - Resampler.passbandEdge) * lowerNyquist / Double(inputRate)
        let length = (attenuationDB - 7.95) / (2.285 * 2 * Double.pi * transition) + 1
        let halfWidth = length / 2  // input samples
        halfTaps = Int(halfWidth.rounded(.up))
        rowLength = (2 * halfTaps + 7) / 8 * 8
        let beta = attenuationDB > 50 ? 0.1102 * (attenuationDB - 8.7)
            : 0.5842 * pow(attenuationDB - 21, 0.4) + 0.07886 * (attenuationDB - 21)
        let i0Beta = Resampler.besselI0(beta)

        var table = [Float](repeating: 0, count: (phases + 1) * rowLength)
        for p in 0...phases {
            let phase = Double(p) / Double(phases)
            for j in 0..<(2 * halfTaps) {
                let x = phase - Double(j - halfTaps + 1)  // distance from the output instant, input samples
                guard abs(x) < halfWidth else { continue }
                let arg = 2 * cutoff * x
                let sinc = arg == 0 ? 1 : sin(Double.pi * arg) / (Double.pi * arg)
                let r = x / halfWidth
                let window = Resampler.besselI0(beta * (1 - r * r).squareRoot()) / i0Beta
                table[p * rowLength + j] = Float(2 * cutoff * sinc * window)
            }
        }
        self.table = table
    }

    /// Number of output samples for `inputCount` input samples: ⌈inputCount · L / M⌉.
    public func outputCount(for inputCount: Int) -> Int { (inputCount * up + down - 1) / down }

    /// Resamples `input`; returns it unchanged when the rates are equal.
    public func process(_ input: [Float]) -> [Float] {
        if inputRate == outputRate || input.isEmpty { return input }
        let n = outputCount(for: input.count)
        // Zero padding so every tap reads inside the buffer: halfTaps before, rowLength after.
        var padded = [Float](repeating: 0, count: halfTaps + input.count + rowLength + 1)
        padded.replaceSubrange(halfTaps..<(halfTaps + input.count), with: input)
        var output = [Float](repeating: 0, count: n)
        let exact = phases == up
        padded.withUnsafeBufferPointer { x in
            table.withUnsafeBufferPointer { h in
                output.withUnsafeMutableBufferPointer { y in
                    guard let xb = x.baseAddress, let hb = h.baseAddress else { return }
                    for i in 0..<n {
                        let position = i * down
                        let whole = position / up           // input index at or before the output instant
                        let rem = position - whole * up     // phase numerator, 0 ..< up
                        // Tap j reads input whole − halfTaps + 1 + j, i.e. padded[whole + 1 + j].
                        let xs = xb + whole + 1
                        if exact {
                            y[i] = Resampler.dot(xs, hb + rem * rowLength, rowLength)
                        } else {
                            let pos = Double(rem) * Double(phases) / Double(up)
                            let row = Int(pos)
                            let w = Float(pos - Double(row))
                            let a = Resampler.dot(xs, hb + row * rowLength, rowLength)
                            let b = Resampler.dot(xs, hb + (row + 1) * rowLength, rowLength)
                            y[i] = a + w * (b - a)
                        }
                    }
                }
            }
        }
        return output
    }

    /// Σ a[k]·b[k] for k < n (n a multiple of 8), eight lanes at a time.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD8<Float>(repeating: 0)
        var acc1 = SIMD8<Float>(repeating: 0)
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var k = 0
        while k + 16 <= n {
            acc0 += ra.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
            acc1 += ra.loadUnaligned(fromByteOffset: (k + 8) * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: (k + 8) * 4, as: SIMD8<Float>.self)
            k += 16
        }
        if k < n {
            acc0 += ra.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
                * rb.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self)
        }
        return (acc0 + acc1).sum()
    }

    /// Zeroth-order modified Bessel function of the first kind (power series; converges fast for β ≤ 20).
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0
        let q = x * x / 4
        for k in 1..<64 {
            term *= q / Double(k * k)
            sum += term
            if term < sum * 1e-17 { break }
        }
        return sum
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
