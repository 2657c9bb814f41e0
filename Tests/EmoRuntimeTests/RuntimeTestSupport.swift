import EmoTestSupport
import EmoCore
import EmoRuntime
import Foundation
import XCTest

/// Paths and builders shared by the runtime tests.
enum RuntimeFixtures {
    /// The repository root (the folder holding Package.swift).
    static var repoRoot: URL { TestRepository.root }

    /// Where SwiftPM put the test binary, the in-tree plugin libraries and emo-probe.
    static let buildDirectory = PluginSources.executableDirectory()

    /// A fresh temporary folder.
    static func temporaryDirectory(_ name: String = #function) throws -> String {
        let dir = NSTemporaryDirectory() + "emokit-runtime-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// The C compiler used for fixture plugins.
    static func cCompiler() throws -> String {
        for candidate in ["/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang", "/opt/swift/usr/bin/clang"]
        where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        throw XCTSkip("no C compiler (cc/gcc/clang) to build the C fixture plugins")
    }

    /// Compiles Fixtures/c_plugin.c with `-DVARIANT_<variant>` into `dir/<name>.so`.
    static func buildCPlugin(_ variant: String, into dir: String, name: String? = nil,
                             componentID: String? = nil) throws -> String {
        let out = "\(dir)/lib\(name ?? variant.lowercased()).so"
        var args = ["-shared", "-fPIC", "-O1", "-DVARIANT_\(variant)",
                    "-I", repoRoot.appendingPathComponent("Sources/EmoPluginABI/include").path,
                    "-o", out, repoRoot.appendingPathComponent("Tests/EmoRuntimeTests/Fixtures/c_plugin.c").path]
        if let componentID { args.insert("-DCOMPONENT_ID=\"\(componentID)\"", at: 0) }
        let (status, output) = try run(try cCompiler(), args)
        guard status == 0 else { throw XCTSkip("C compiler failed: \(output)") }
        return out
    }

    /// Writes a registry listing `libraries` (optionally pinned) and returns its path.
    static func writeRegistry(_ dir: String, _ libraries: [(String, String?)]) throws -> String {
        let entries: [JSONValue] = libraries.map { lib, pin in
            var o: [String: JSONValue] = ["library": .string(lib)]
            if let pin { o["sha256"] = .string(pin) }
            return .object(o)
        }
        let path = dir + "/registry.json"
        try JSONValue.object(["format": 1, "plugins": .array(entries)]).serialized(pretty: true)
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A host over explicit registries with its own cache file in `dir`.
    static func host(registries: [String], folders: [String] = [], cacheIn dir: String, timeout: Double = 10,
                     forceProbe: Bool = false) -> PluginHost {
        let sources = PluginSources(registries: registries, folders: folders, hostDirectory: buildDirectory)
        return PluginHost(sources: sources,
                          prober: Prober(executable: buildDirectory + "/emo-probe", timeout: timeout),
                          cache: ProbeCache(path: dir + "/cache/plugin-cache.json"), forceProbe: forceProbe)
    }

    /// Runs a program, returning its exit status and combined output.
    @discardableResult
    static func run(_ exe: String, _ args: [String], cwd: String? = nil, environment: [String: String]? = nil) throws -> (Int32, String) {
        let r = try TestRepository.run(exe, args, cwd: cwd, environment: environment)
        return (r.status, r.output)
    }

    /// Skips unless emo-probe has been built beside the test binary.
    static func requireProbe() throws {
        guard FileManager.default.isExecutableFile(atPath: buildDirectory + "/emo-probe") else {
            throw XCTSkip("emo-probe is not built beside the tests (\(buildDirectory)); run `swift build` first")
        }
    }
}
