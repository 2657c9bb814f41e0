import ArgumentParser

/// `emo bench plugins`: how long discovering and loading every registered plugin takes.
struct BenchPlugins: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "Time loading every registered plugin (warm: registry cache already filled).")

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func run() async throws {
        print("not yet")
    }
}
