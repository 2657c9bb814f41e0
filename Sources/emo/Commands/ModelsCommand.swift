import ArgumentParser
import EmoModels
import Foundation

/// `emo models ...`: pretrained checkpoints (Hugging Face folders) the encoders load by name.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Import and list pretrained encoder checkpoints (Hugging Face folders).",
        subcommands: [ModelsImport.self, ModelsList.self])
}

/// `emo models import DIR --name NAME`: load every tensor once (names, shapes, dtypes checked), then register.
struct ModelsImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Validate a checkpoint folder (config.json + model.safetensors or pytorch_model.bin) and register it under a name.",
        discussion: """
        The folder is used in place (not copied). Every tensor is loaded once: missing, unexpected or mis-shaped
        tensors are named. pytorch_model.bin is read directly (safe pickle subset); what that reader refuses
        (ZIP64, legacy formats) converts with Plugins/SpeechEncoders/convert_to_safetensors.py.
        The registry is EMO_MODELS, else $XDG_DATA_HOME/emokit/models.json.
        """)

    @Argument(help: "Checkpoint folder.")
    var directory: String

    @Option(help: "Name to register ([a-z0-9-]+), used as the encoder's `model` config.")
    var name: String

    func run() async throws {
        let dir = URL(fileURLWithPath: directory).standardizedFileURL.path
        let encoder: SpeechEncoder
        do { encoder = try SpeechEncoder(directory: dir) } catch let e as CheckpointError {
            throw ModelsCommandError(message: "cannot import \(dir): \(e.description)")
        }
        let registry = ModelRegistry.standard()
        try registry.register(name: name, entry: .init(path: dir, family: encoder.config.family.rawValue,
                                                       parameters: encoder.parameterCount))
        let c = encoder.config
        print("registered \(name): \(c.family.rawValue), \(c.numLayers) layers, hidden \(c.hiddenSize), \(encoder.parameterCount) parameters, \(c.stableLayerNorm ? "pre-LN" : "post-LN"), \(c.convLayerNorm ? "layer" : "group")-norm feature encoder")
        print("registry: \(registry.file)")
    }
}

/// `emo models list`.
struct ModelsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List imported checkpoints.")

    func run() async throws {
        let registry = ModelRegistry.standard()
        let all = try registry.entries()
        if all.isEmpty { print("no models imported (registry: \(registry.file))"); return }
        for (n, e) in all.sorted(by: { $0.key < $1.key }) {
            print("\(n.padding(toLength: 24, withPad: " ", startingAt: 0)) \(e.family.padding(toLength: 10, withPad: " ", startingAt: 0)) \(e.parameters) params  \(e.path)")
        }
    }
}

/// Why `emo models` failed (printed without the usage text).
struct ModelsCommandError: Error, CustomStringConvertible {
    /// What went wrong and what to do.
    var message: String
    var description: String { message }
}
