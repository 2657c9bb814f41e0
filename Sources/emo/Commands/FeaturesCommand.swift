import ArgumentParser
import EmoCore
import EmoMedia
import EmoRuntime
import Foundation

/// `emo features FILE`: one clip through one extractor or encoder plugin, printed as names and values.
struct FeaturesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Decode one audio/video file and print the feature vector an extractor or encoder plugin computes.",
        discussion: """
        The file is decoded to 16 kHz mono (any container libsndfile or libavformat reads), then passed to the \
        component. Examples:
          emo features clip.wav --extractor handcrafted --preset study-a --json
          emo features clip.flac --extractor template-stats
        """)

    @Argument(help: "Audio or video file.")
    var file: String

    @Option(help: "Component id of an extractor or encoder (see `emo plugins list`).")
    var extractor: String = "handcrafted"

    @Option(help: "Shorthand for the component config's \"preset\" (e.g. study-a, egemaps-like, egemaps-v02).")
    var preset: String?

    @Option(help: "Component config as a JSON object, merged over the defaults.")
    var config: String = "{}"

    @Flag(help: "Print {\"names\": [...], \"values\": [...]} as JSON.")
    var json = false

    func run() async throws {
        var cfg: JSONValue
        do { cfg = try JSONValue.parse(config) } catch { throw ValidationError("--config: \(error)") }
        guard cfg.objectValue != nil else { throw ValidationError("--config must be a JSON object") }
        if let preset { cfg = cfg.merging(["preset": .string(preset)]) }
        let clip = try MediaDecoder().decode(path: file)
        let host = PluginHost.standard()
        let component = try host.instantiate(id: extractor, config: cfg)
        let input: Value
        switch component.info.kind {
        case .extractor: input = .array(NDArray(vector: clip.samples))
        case .encoder: input = .array(try NDArray(shape: [1, clip.samples.count], data: clip.samples))
        default:
            throw ValidationError("\(extractor) is a \(component.info.kind), not an extractor or encoder")
        }
        let outputs = try component.forward([input])
        guard let first = outputs.first else { throw ValidationError("\(extractor) returned no output") }
        if let text = first.text {
            print(json ? JSONValue.object(["text": .string(text)]).serialized() : text)
            return
        }
        guard let values = first.array else { throw ValidationError("\(extractor) returned no float output") }
        let declared = component.resolvedDescription["outputs"]?.arrayValue?.first?["feature_names"]?.arrayValue?
            .compactMap(\.stringValue) ?? []
        let names = declared.count == values.count ? declared : (0..<values.count).map { "\(extractor)_\($0)" }
        if json {
            let out: JSONValue = ["file": .string(file), "component": .string(extractor),
                                  "version": .string(component.info.version),
                                  "names": .array(names.map { .string($0) }),
                                  "values": .array(values.data.map { $0.isFinite ? .number(Double($0)) : .null })]
            print(out.serialized())
        } else {
            let width = names.map(\.count).max() ?? 0
            for (n, v) in zip(names, values.data) {
                print(n.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(format: "%.6g", v))
            }
        }
    }
}
