import ArgumentParser
import Foundation

/// `emo bench ...`: runs the `emo-bench` executable built beside `emo` with the same arguments.
///
/// The benchmarks live in their own executable so that `emo`, the product, links no model code (the networks are
/// reached through their plugins); `emo bench` keeps the one command line users know.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure EmoKit beside its reference implementation in the same run and print the ratio.",
        discussion: """
        Runs emo-bench (beside this executable) with the same arguments: `emo bench --help` lists the benchmarks \
        (blas, tensor, text, media, features, encoders, training, explain, plugins).
        """)

    @Argument(parsing: .captureForPassthrough, help: "The benchmark and its options (see `emo bench --help`).")
    var arguments: [String] = []

    func run() throws {
        try SiblingExecutable.exec("emo-bench", arguments: arguments, build: "swift build --product emo-bench (add -c release for timings)")
    }
}
