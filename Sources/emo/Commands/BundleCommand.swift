import ArgumentParser
import EmoCore
import EmoPipeline
import EmoRuntime
import Foundation

/// `emo bundle ...`: check a trained bundle on this machine.
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Check that a trained bundle runs here as it was evaluated, or pack it into one file.",
        subcommands: [Verify.self, Pack.self])

    /// `emo bundle pack BUNDLE [--out FILE]`.
    struct Pack: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pack",
            abstract: "Write a bundle folder as one file that emo predict, serve, verify, demo and explain accept.",
            discussion: """
            The file is a POSIX tar archive of the bundle's four files under bundle/ (`tar -tf` lists it).             Default name: the folder's path with .emobundle appended.
              emo bundle pack emo-runs/study-a/bundle --out study-a.emobundle
            """)

        @Argument(help: "Bundle folder.")
        var bundle: String

        @Option(help: "Archive to write (default: BUNDLE.emobundle).")
        var out: String?

        func run() throws {
            let loaded = try PipelineBundle.load(bundle)  // refuse to pack a bundle that would not load
            let target = out ?? (bundle.hasSuffix("/") ? String(bundle.dropLast()) : bundle) + ".emobundle"
            try BundleArchive.pack(bundle, to: target)
            let size = (try? FileManager.default.attributesOfItem(atPath: target)[.size] as? Int) ?? 0
            print("wrote \(target) (\(loaded.manifest.name), \(size) bytes)")
        }
    }

    /// `emo bundle verify BUNDLE`.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Compare a bundle's recorded components, checkpoints and reference prediction with this machine.",
            discussion: """
            A bundle written by `emo run` records the EmoKit version, every component's plugin, version and library \
            SHA-256, each model checkpoint's content hash, and the probabilities it gave for a fixed reference input. \
            verify builds the pipeline from this machine's plugins and models, says what differs, and re-runs the \
            reference input: exit status 0 when the predictions are reproduced (max |Δp| ≤ 1e-4), 1 when they \
            would change or a component is missing.
              emo bundle verify emo-runs/study-a/bundle
            """)

        @Argument(help: "Bundle folder.")
        var bundle: String

        @Flag(help: "Print the findings as JSON.")
        var json = false

        func run() throws {
            let loaded = try PipelineBundle.load(bundle)
            let report = BundleVerification.verify(bundle: loaded, host: PluginHost.standard())
            if json {
                let object: JSONValue = [
                    "bundle": .string(bundle), "predictions_reproduced": .bool(report.predictionsReproduced),
                    "max_probability_difference": report.maxProbabilityDifference.map { .number($0) } ?? .null,
                    "findings": .array(report.findings.map { ["status": .string($0.status), "subject": .string($0.subject), "detail": .string($0.detail)] }),
                ]
                print(object.serialized(pretty: true))
            } else {
                print("\(loaded.manifest.name): \(loaded.manifest.evaluation)")
                for f in report.findings { print("  \(f.status.padding(toLength: 8, withPad: " ", startingAt: 0)) \(f.subject): \(f.detail)") }
            }
            if !report.predictionsReproduced || report.findings.contains(where: { $0.status == "missing" && $0.subject != "provenance" }) {
                throw ExitCode(1)
            }
        }
    }
}
