import ArgumentParser
import Foundation

/// `emo serve ...`: runs the `emo-serve` executable built beside `emo` with the same arguments (the HTTP server
/// lives in its own executable, so `emo` links no server code).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a trained bundle over HTTP: a web page at /, POST /v1/predict, GET /v1/model, /healthz, /metrics.",
        discussion: "Runs emo-serve (beside this executable) with the same arguments: `emo serve --help` lists its options.")

    @Argument(parsing: .captureForPassthrough, help: "The bundle and options (see `emo serve --help`).")
    var arguments: [String] = []

    func run() throws {
        try SiblingExecutable.exec("emo-serve", arguments: arguments, build: "swift build --product emo-serve")
    }
}

/// Replaces this process with an executable SwiftPM built beside `emo` (`emo bench`, `emo serve`).
enum SiblingExecutable {
    /// `execv`s `name` from emo's folder with `arguments`; throws only when it cannot.
    static func exec(_ name: String, arguments: [String], build: String) throws {
        let here = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let exe = here.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: exe) else {
            throw ValidationError("this command needs the \(name) executable beside emo (looked for \(exe)); build it with `\(build)`")
        }
        let argv = ([exe] + arguments).map { strdup($0) } + [nil]
        execv(exe, argv)
        throw ValidationError("could not run \(exe): \(String(cString: strerror(errno)))")
    }
}
