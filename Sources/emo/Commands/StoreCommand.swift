import ArgumentParser
import EmoCore
import EmoStore
import Foundation

/// `emo store ...`: feature-store maintenance.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Feature-store maintenance: merge the stores of sharded extractions.",
        subcommands: [StoreMerge.self])
}

/// `emo store merge STORES… --into STORE`: several feature stores into one, in one transaction.
struct StoreMerge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge feature stores (e.g. the shards of `emo extract --shard K/N`) into one store.",
        discussion: """
        Copies clips, their sources, component configs and every (clip, component key) extraction with its outputs \
        into --into (created when missing), in one transaction. Rows the target already holds identically count as \
        already present, so merging again changes nothing. The merge is refused, with nothing written and exit \
        status 1, when the same key holds different contents (other outputs for the same clip, component version and \
        config hash; another clip for the same file and decoding; another config text for the same config hash), or when \
        the inputs hold one component under different versions or config hashes (shards run with different builds \
        or settings; --allow-mixed-keys accepts that). The inputs are only read; their run history is not copied. \
        Examples:
          emo store merge shards/shard-*.sqlite --into features.sqlite
          emo store merge a.sqlite b.sqlite --into all.sqlite --json
        """)

    @Argument(help: "Input stores (.sqlite files written by `emo extract --store`).")
    var stores: [String]

    @Option(help: "The store to merge into (created when missing; may already hold features).")
    var into: String

    @Flag(help: "Merge even when the inputs hold one component under different versions or config hashes.")
    var allowMixedKeys = false

    @Flag(help: "Print the report as one JSON object.")
    var json = false

    @Option(help: "Conflicting rows to list (text mode).")
    var examples: Int = 20

    func validate() throws {
        guard !stores.isEmpty else { throw ValidationError("give at least one input store before --into") }
    }

    func run() async throws {
        let report = try FeatureStore.merge(stores, into: into, allowMixedKeys: allowMixedKeys)
        if json {
            print(report.json.serialized())
        } else {
            print(Self.text(report, examples: examples))
        }
        if !report.committed { throw ExitCode(1) }
    }

    /// The human report: one line per input, then any refusal and its reasons.
    static func text(_ report: StoreMergeReport, examples: Int) -> String {
        var lines: [String] = []
        let width = report.inputs.map(\.path.count).max() ?? 0
        for i in report.inputs {
            lines.append("  \(i.path.padding(toLength: width, withPad: " ", startingAt: 0))  added \(i.added), already present \(i.alreadyPresent), conflicts \(i.conflicts) (clips added \(i.clipsAdded))")
        }
        if report.committed {
            lines.insert("merged \(report.inputs.count) store(s) into \(report.target): added \(report.added), already present \(report.alreadyPresent), conflicts 0", at: 0)
            if !report.keyDisagreements.isEmpty {
                lines.append("note: merged with mixed keys (--allow-mixed-keys): " + report.keyDisagreements.map(\.componentID).joined(separator: ", "))
            }
            return lines.joined(separator: "\n")
        }
        lines.insert("refused: nothing was written to \(report.target)", at: 0)
        for d in report.keyDisagreements {
            lines.append("component \(d.componentID) is held under different keys by the inputs (different builds or settings?):")
            for s in d.stores {
                let keys = s.keys.map { "\($0.key.componentVersion)#\($0.key.configHash.prefix(12)) (\($0.clips) clips)" }
                lines.append("    \(s.path): " + keys.joined(separator: ", "))
            }
        }
        if !report.keyDisagreements.isEmpty {
            lines.append("rerun the odd shards with the same build and config, or pass --allow-mixed-keys to keep them side by side")
        }
        if !report.conflicts.isEmpty {
            let byTable = Dictionary(grouping: report.conflicts, by: \.table).map { "\($0.key) \($0.value.count)" }.sorted()
            lines.append("\(report.conflicts.count) conflicting row(s) (\(byTable.joined(separator: ", "))): the same key holds different contents")
            for c in report.conflicts.prefix(max(0, examples)) {
                lines.append("    \(c.table): \(c.key) in \(c.source): \(c.detail)")
            }
            if report.conflicts.count > examples { lines.append("    ... and \(report.conflicts.count - examples) more (--json lists all)") }
            lines.append("a component that is not deterministic, or stores made by different EmoKit builds, cause this; re-extract the conflicting clips into one store")
        }
        return lines.joined(separator: "\n")
    }
}
