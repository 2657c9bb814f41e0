import ArgumentParser
import EmoCore
import EmoRuntime
import Foundation

/// `emo bench plugins`: how long discovering and loading every registered plugin takes.
struct BenchPlugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "Time discovering and loading every registered plugin (warm: the probe cache already filled).",
        discussion: """
        Runs one scan first to fill the probe cache, then measures --repeat warm rounds of: read registries and \
        cache, stat every library, dlopen it and validate its descriptor. Target: under 100 ms for all in-tree plugins. \
        dlopen happens once per process, so rounds after the first measure the discovery part only; the first \
        round's load time is reported separately.
        """)

    @Option(help: "Warm discovery rounds to time.")
    var `repeat` = 20

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() async throws {
        _ = PluginHost.standard()  // fill the cache (may probe)
        let t0 = DispatchTime.now().uptimeNanoseconds
        let host = PluginHost.standard()
        let t1 = DispatchTime.now().uptimeNanoseconds
        var loaded = 0
        for lib in host.libraries where lib.error == nil {
            _ = try host.open(lib.path)
            loaded += 1
        }
        let t2 = DispatchTime.now().uptimeNanoseconds
        var rounds: [Double] = []
        for _ in 0..<max(1, `repeat`) {
            let s = DispatchTime.now().uptimeNanoseconds
            _ = PluginHost.standard()
            rounds.append(Double(DispatchTime.now().uptimeNanoseconds - s) / 1e6)
        }
        rounds.sort()
        let discovery = Double(t1 - t0) / 1e6
        let load = Double(t2 - t1) / 1e6
        let median = rounds[rounds.count / 2]
        if json {
            let out: JSONValue = ["libraries": .number(Double(loaded)), "components": .number(Double(host.components.count)),
                                  "first_discovery_ms": .number(discovery), "first_dlopen_ms": .number(load),
                                  "first_total_ms": .number(discovery + load), "warm_discovery_median_ms": .number(median),
                                  "probed_during_measurement": .number(Double(host.probedCount)), "target_ms": 100]
            print(out.serialized(pretty: true))
            return
        }
        print("libraries loaded:          \(loaded) (\(host.components.count) components)")
        print(String(format: "first discovery (cached):  %.2f ms", discovery))
        print(String(format: "first dlopen + validate:   %.2f ms", load))
        print(String(format: "total warm load:           %.2f ms (target < 100 ms)", discovery + load))
        print(String(format: "warm discovery, median of %d: %.2f ms", rounds.count, median))
    }
}
