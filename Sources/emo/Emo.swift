import ArgumentParser
import EmoCore

/// `emo`: the EmoKit command line. Each command group lives in `Commands/` (one file each), benchmarks in `Bench/`.
@main
struct Emo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emo",
        abstract: "EmoKit: recognise emotion in speech from the voice and the transcript, and explain each prediction.",
        discussion: """
        Every component (extractor, encoder, fusion, classifier, explainer) is a plugin library listed in
        registry.json. Start with `emo demo`, then `emo plugins list` to see what is installed.
        """,
        version: EmoVersion.string,
        subcommands: [
            DemoCommand.self,
            PluginsCommand.self,
            FeaturesCommand.self,
            RunCommand.self,
            RunsCommand.self,
            ExplainCommand.self,
            CorpusCommand.self,
            ExtractCommand.self,
            BenchCommand.self,
            ModelsCommand.self,
        ]
    )
}

/// The EmoKit release this binary belongs to.
enum EmoVersion {
    static let string = "0.1.0"
}
