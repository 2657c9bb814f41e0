import EmoSpeechEncoders
import EmoModels
import EmoTensor
import Foundation

extension BenchEncoders {
    /// `--positional-conv`: `encoder.pos_conv_embed` alone (conv + GELU added in place), the direct im2col path
    /// against the FFT path, on B = 4 random clips of T = 149 frames (3 s), one thread (OpenBLAS single-threaded,
    /// `Dense.serially`), after one warm-up of each (which builds the FFT path's weight spectra). Runs alternate
    /// the two paths; each is timed as this thread's CPU time, reported per clip (min, median, max over `repeats`).
    static func positionalConvRow(_ encoder: SpeechEncoder, model: String, repeats: Int) -> [String: Any] {
        let (b, t, c) = (4, 149, encoder.config.hiddenSize)
        var rng = SeededGenerator(seed: 3)
        let h0 = (0..<(b * t * c)).map { _ in rng.nextNormal() }
        let saved = BLASInfo.threadCount
        BLASInfo.setThreadCount(1)
        defer { BLASInfo.setThreadCount(saved) }
        func threadSeconds() -> Double {
            var ts = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
            return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
        }
        var outputs: [PositionalConvMethod: [Float]] = [:]
        var times: [PositionalConvMethod: [Double]] = [:]
        do {
            for round in 0...max(1, repeats) {
                for method in [PositionalConvMethod.direct, .fft] {
                    var h = h0
                    let s = threadSeconds()
                    try Dense.serially { try encoder.applyPositionalConv(&h, batch: b, frames: t, method: method) }
                    if round > 0 { times[method, default: []].append((threadSeconds() - s) * 1000 / Double(b)) } else { outputs[method] = h }
                }
            }
        } catch {
            return ["model": model, "positional_conv_missing": "\(error)"]
        }
        var row: [String: Any] = ["model": model, "batch": b, "frames": t]
        for (method, v) in times {
            let s = v.sorted()
            row["\(method.rawValue)_cpu_ms_per_clip"] = ["min": s[0], "median": s[s.count / 2], "max": s[s.count - 1]]
        }
        if let d = outputs[.direct], let f = outputs[.fft] {
            row["max_abs_diff"] = Double(zip(d, f).reduce(0) { max($0, abs($1.0 - $1.1)) })
            row["max_abs_conv"] = Double(zip(d, h0).reduce(0) { max($0, abs($1.0 - $1.1)) })
        }
        return row
    }

    /// One line of `positionalConvRow`'s numbers.
    static func positionalConvLine(_ r: [String: Any]) -> String {
        func cell(_ k: String) -> String {
            guard let m = r[k] as? [String: Double], let lo = m["min"], let med = m["median"], let hi = m["max"] else { return "-" }
            return String(format: "%.2f / %.2f / %.2f", lo, med, hi)
        }
        let model = r["model"] as? String ?? ""
        if let why = r["positional_conv_missing"] as? String { return "\(model): positional conv A/B missing (\(why))" }
        return "\(model): pos conv B=4 T=149, 1 thread, CPU ms per clip min/median/max: direct \(cell("direct_cpu_ms_per_clip")), "
            + "fft \(cell("fft_cpu_ms_per_clip")); max |fft − direct| \(String(format: "%.1e", r["max_abs_diff"] as? Double ?? .nan)) "
            + "of max |gelu(conv)| \(String(format: "%.2f", r["max_abs_conv"] as? Double ?? .nan))"
    }
}
