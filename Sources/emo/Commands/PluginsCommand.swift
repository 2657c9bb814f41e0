import ArgumentParser

/// `emo plugins ...`: list, show, scan and verify plugin libraries.
struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List, inspect, scan and verify plugin libraries.",
        subcommands: [])
}
