import ArgumentParser
import EmoCLISupport
import EmoCore
import EmoTensor
import Foundation

/// `emo`: the EmoKit command line. Each command group lives in `Commands/` (one file each); `emo bench` and
/// `emo serve` run the separate `emo-bench` and `emo-serve` executables (Sources/emo-bench, Sources/emo-serve).
@main
struct Emo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emo",
        abstract: "EmoKit: recognise emotion in speech from the voice and the transcript, and explain each prediction.",
        discussion: """
        Every component (extractor, encoder, fusion, classifier, explainer) is a plugin library listed in \
        registry.json. Start with `emo demo`, then `emo plugins list` to see what is installed.
        """,
        version: EmoKitVersion.string,
        subcommands: [
            DemoCommand.self,
            PredictCommand.self,
            ServeCommand.self,
            BundleCommand.self,
            PluginsCommand.self,
            FeaturesCommand.self,
            RunCommand.self,
            RunsCommand.self,
            ExplainCommand.self,
            CorpusCommand.self,
            ExtractCommand.self,
            StoreCommand.self,
            BenchCommand.self,
            ModelsCommand.self,
        ]
    )

    /// Loads the BLAS before anything else runs (its CPU kernel is chosen through the environment, which is
    /// safe only while this is the only thread), answers `--version --verbose`, then parses as usual.
    static func main() async {
        await mainLoadingBLASFirst { blasError in
            let arguments = CommandLine.arguments.dropFirst()
            guard arguments.contains("--version") && (arguments.contains("--verbose") || arguments.contains("-v")) else {
                return false
            }
            print(VerboseVersion.text(blasError: blasError))
            return true
        }
    }
}

/// `emo --version --verbose`: the release, the CPU, and the BLAS kernel that runs on it and why.
enum VerboseVersion {
    /// The report, one fact a line.
    static func text(blasError: BLASLoadError?) -> String {
        var lines = ["emo \(EmoKitVersion.string)"]
        lines.append("cpu:            \(BLASInfo.cpu)")
        lines.append("cpu flags:      \(BLASInfo.cpuFlags)")
        lines.append("blas library:   \(BLASInfo.library)")
        if let blasError {
            lines.append("blas error:     \(blasError.message)")
            return lines.joined(separator: "\n")
        }
        lines.append("blas core:      \(BLASInfo.coreName) (\(BLASInfo.coreSource))")
        lines.append("rule's choice:  \(BLASInfo.chosenCore)")
        if BLASInfo.coreIsUsers && BLASInfo.coreName.lowercased() != BLASInfo.chosenCore.lowercased() {
            lines.append("note:           your OPENBLAS_CORETYPE overrides the rule's choice; `emo bench blas` shows what each core costs here")
        }
        lines.append("blas config:    \(BLASInfo.config)")
        lines.append("blas threads:   \(BLASInfo.threadCount)")
        return lines.joined(separator: "\n")
    }
}

