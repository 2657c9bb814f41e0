import ArgumentParser
import EmoCore
import EmoPipeline
import Foundation

/// `emo corpus ...`: read a corpus folder or manifest and report what is in it.
struct CorpusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Read a corpus (RAVDESS, TESS, MELD or a manifest) and report its labels, speakers, groups and skipped files.",
        subcommands: [CorpusDescribe.self],
        defaultSubcommand: CorpusDescribe.self)
}

/// Options every command that reads a corpus shares.
struct CorpusSelection: ParsableArguments {
    @Argument(help: "Corpus folder (ravdess, tess, meld) or manifest file (.csv or .jsonl).")
    var path: String

    @Option(help: "Corpus format: ravdess, tess, meld or manifest.")
    var kind: String

    @Option(help: "RAVDESS calm: merge (into neutral), drop or keep.")
    var calm: String = "merge"

    @Option(help: "MELD classes: 7, or 5 (without disgust and fear).")
    var classes: Int = 7

    @Flag(help: "Do not leave out MELD/manifest rows whose media file is missing.")
    var noCheckFiles = false

    @Option(help: "MELD clip folder, if not beside the CSVs.")
    var mediaRoot: String?

    /// Loads the corpus the options describe.
    func load() throws -> Corpus {
        guard let k = CorpusKind(rawValue: kind) else {
            throw ValidationError("unknown corpus kind '\(kind)'; use one of: \(CorpusKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let c = CorpusOptions.CalmPolicy(rawValue: calm) else {
            throw ValidationError("--calm must be merge, drop or keep (got '\(calm)')")
        }
        let options = CorpusOptions(calm: c, meldClasses: classes, checkFiles: !noCheckFiles, mediaRoot: mediaRoot)
        return try CorpusLoader.load(kind: k, path: path, options: options)
    }
}

/// `emo corpus describe PATH --kind K`.
struct CorpusDescribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Count items per label, speaker and group, and list anything skipped and why.",
        discussion: """
        Examples:
          emo corpus describe ../shared/data/ravdess --kind ravdess
          emo corpus describe ../shared/data/meld --kind meld --classes 5 --json
        --json prints {"kind", "root", "items": Int, "labels": {}, "speakers": {}, "groups": {}, "splits": {}, \
        "skipped_count": Int, "skipped": [{"source", "reason"}]}.
        """)

    @OptionGroup var corpus: CorpusSelection

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Skipped entries to print per reason (text mode).")
    var examples: Int = 3

    func run() async throws {
        let c = try corpus.load()
        let summary = CorpusSummary(c)
        if json {
            print(summary.json(kind: c.kind, root: c.root).serialized(pretty: true))
            return
        }
        print("\(c.kind.rawValue) corpus at \(c.root)")
        print("items: \(summary.items)   skipped: \(summary.skipped.count)")
        printCounts("labels", summary.labels, limit: 50)
        if !summary.splits.isEmpty { printCounts("splits", summary.splits, limit: 10) }
        printCounts("speakers", summary.speakers, limit: 30)
        printCounts("groups", summary.groups, limit: 10)
        if !summary.skipped.isEmpty {
            print("\nskipped:")
            for (reason, count) in summary.skippedByReason {
                print("  \(count) × \(reason)")
                let matching = summary.skipped.filter { $0.reason == reason || CorpusDescribe.kindOf($0.reason) == reason }
                for s in matching.prefix(examples) { print("      \(s.source)") }
            }
        }
    }

    static func kindOf(_ reason: String) -> String {
        if reason.hasPrefix("clip ") && reason.hasSuffix(" not found") { return "clip not found" }
        if reason.hasPrefix("file ") && reason.hasSuffix(" not found") { return "file not found" }
        return reason
    }

    func printCounts(_ title: String, _ counts: [String: Int], limit: Int) {
        let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        print("\n\(title) (\(counts.count)):")
        let width = min(40, sorted.prefix(limit).map(\.key.count).max() ?? 0)
        for (k, v) in sorted.prefix(limit) {
            print("  " + k.padding(toLength: width, withPad: " ", startingAt: 0) + "  \(v)")
        }
        if sorted.count > limit { print("  ... and \(sorted.count - limit) more") }
    }
}
