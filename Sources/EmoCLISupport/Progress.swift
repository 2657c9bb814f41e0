import EmoCore
import Foundation

/// How a command talks while it works: a progress bar on stderr, nothing, or JSON for scripts.
public enum OutputMode {
    /// Progress bar (redrawn in place on a terminal, a line every 10 % otherwise); human-readable result.
    case human
    /// No progress output; the result only.
    case quiet
    /// Progress as JSON lines on stderr (at most one per second); the result as one JSON object on stdout.
    case json

    /// The mode the `--quiet` / `--json` flags select.
    public init(quiet: Bool, json: Bool) { self = json ? .json : quiet ? .quiet : .human }
}

/// A progress bar with rate and ETA for any long loop: `update(done:)` after each item, `finish()` at the end.
///
/// ```
/// extract handcrafted [##########..........]  2120/4240  50.0%  41.3/s  ETA 51s  failed 2
/// ```
public final class ProgressBar {
    public let total: Int
    public let label: String
    public let mode: OutputMode
    private let started = Date()
    private var lastDraw = Date.distantPast
    private var lastDecile = -1
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var done = 0
    private var detail = ""
    /// What the rate counts ("clips": "12.5 clips/s"; empty: "12.5/s").
    public let unit: String
    private var rateOverride: Double?
    private var etaOverride: Double??

    /// A bar for `total` items; `unit` names what the rate counts.
    public init(total: Int, label: String, mode: OutputMode, unit: String = "") {
        self.total = total
        self.label = label
        self.mode = mode
        self.unit = unit
    }

    /// Items per second so far (or the rate the caller last gave `update`).
    public var rate: Double {
        if let rateOverride { return rateOverride }
        let t = Date().timeIntervalSince(started)
        return t > 0 ? Double(done) / t : 0
    }

    /// Estimated seconds left, nil before the first item (or the estimate the caller last gave `update`).
    public var eta: Double? {
        if let etaOverride { return etaOverride }
        return rate > 0 ? Double(total - done) / rate : nil
    }

    /// Records progress and redraws when due (10 Hz on a terminal, 1 Hz for JSON, every 10 % otherwise). A caller
    /// that knows better than items-so-far over time (e.g. extraction, where cached items cost nothing) passes its
    /// own `rate` and `eta`.
    public func update(done: Int, detail: String = "", rate: Double? = nil, eta: Double?? = nil) {
        self.done = done
        self.detail = detail
        rateOverride = rate
        etaOverride = eta
        let now = Date()
        switch mode {
        case .quiet:
            return
        case .json:
            guard now.timeIntervalSince(lastDraw) >= 1 || done == total else { return }
            lastDraw = now
            emitJSON(event: "progress")
        case .human:
            if isTerminal {
                guard now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
                lastDraw = now
                write("\r" + line() + "\u{1B}[K")
            } else {
                let decile = total > 0 ? done * 10 / total : 10
                guard decile != lastDecile else { return }
                lastDecile = decile
                write(line() + "\n")
            }
        }
    }

    /// Final redraw and newline (the summary follows on stdout).
    public func finish() {
        switch mode {
        case .quiet: return
        case .json: emitJSON(event: "done")
        case .human:
            if isTerminal { write("\r" + line() + "\u{1B}[K\n") } else if lastDecile != 10 { write(line() + "\n") }
        }
    }

    /// The bar text.
    public func line() -> String {
        let width = 20
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let filled = min(width, Int(fraction * Double(width)))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let etaText = eta.map { ProgressBar.duration($0) } ?? "--"
        let pct = String(format: "%5.1f%%", fraction * 100)
        let per = unit.isEmpty ? "/s" : " \(unit)/s"
        let rateText = (rate >= 10 ? String(format: "%.0f", rate) : String(format: "%.2f", rate)) + per
        var text = "\(label) [\(bar)] \(done)/\(total) \(pct) \(rateText) ETA \(etaText)"
        if !detail.isEmpty { text += "  \(detail)" }
        return text
    }

    private func emitJSON(event: String) {
        var obj: [String: JSONValue] = ["event": .string(event), "label": .string(label),
                                        "done": .number(Double(done)), "total": .number(Double(total)),
                                        "rate": .number((rate * 100).rounded() / 100),
                                        "elapsed_s": .number((Date().timeIntervalSince(started) * 10).rounded() / 10)]
        if let eta { obj["eta_s"] = .number(eta.rounded()) }
        if !detail.isEmpty { obj["detail"] = .string(detail) }
        write(JSONValue.object(obj).serialized() + "\n")
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

    /// "1h02m", "3m05s", "42s".
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
