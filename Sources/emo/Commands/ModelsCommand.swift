import ArgumentParser
import EmoCore
import EmoModels
import EmoRuntime
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
        abstract: "Validate a checkpoint folder and register it under a name the encoders accept as `model`.",
        discussion: """
        Speech encoders (wav2vec2, HuBERT, WavLM: config.json + model.safetensors or pytorch_model.bin) are loaded
        here; RoBERTa folders (config.json with model_type roberta, model.safetensors, vocab.json, merges.txt) and
        CTranslate2 Whisper folders (model.bin, config.json, vocabulary.txt) are loaded by the plugin that will use
        them (`roberta`, `whisper-transcript`). Every tensor is read once: missing, unexpected or mis-shaped tensors
        are named. The folder is used in place (not copied). pytorch_model.bin is read directly (safe pickle
        subset); what that reader refuses (ZIP64, legacy formats) converts with
        Plugins/SpeechEncoders/convert_to_safetensors.py.
        The registry is EMO_MODELS, else $XDG_DATA_HOME/emokit/models.json.
          emo models import ~/hf/wavlm-base-plus --name wavlm-base-plus
          emo models import ~/hf/roberta-base --name roberta-base
        """)

    @Argument(help: "Checkpoint folder.")
    var directory: String

    @Option(help: "Name to register ([a-z0-9-]+), used as the encoder's `model` config.")
    var name: String

    func run() async throws {
        let dir = URL(fileURLWithPath: directory).standardizedFileURL.path
        let registry = ModelRegistry.standard()
        let entry: ModelRegistry.Entry
        switch try Self.kind(of: dir) {
        case .speech:
            let encoder: SpeechEncoder
            do { encoder = try SpeechEncoder(directory: dir) } catch let e as CheckpointError {
                throw ModelsCommandError(message: "cannot import \(dir): \(e.description)")
            }
            entry = .init(path: dir, family: encoder.config.family.rawValue, parameters: encoder.parameterCount)
            let c = encoder.config
            print("\(c.family.rawValue): \(c.numLayers) layers, hidden \(c.hiddenSize), \(encoder.parameterCount) parameters, \(c.stableLayerNorm ? "pre-LN" : "post-LN"), \(c.convLayerNorm ? "layer" : "group")-norm feature encoder")
        case .plugin(let component, let family):
            do {
                _ = try PluginHost.standard().instantiate(id: component, config: ["model": .string(dir)])
            } catch {
                throw ModelsCommandError(message: "cannot import \(dir): the \(component) plugin refused it: \(error)")
            }
            entry = .init(path: dir, family: family, parameters: Self.safetensorsParameters(dir))
            print("\(family): loaded by the \(component) plugin\(entry.parameters > 0 ? ", \(entry.parameters) parameters" : "")")
        }
        try registry.register(name: name, entry: entry)
        print("registered \(name) → \(dir)")
        print("registry: \(registry.file)")
    }

    /// Which loader validates a folder.
    enum Kind: Equatable {
        /// A wav2vec2-family checkpoint, loaded by EmoModels' `SpeechEncoder`.
        case speech
        /// A folder one plugin component loads (component id, family name for the registry).
        case plugin(String, String)
    }

    /// Tells the kind from the folder's files and `config.json`'s `model_type`.
    static func kind(of dir: String) throws -> Kind {
        let fm = FileManager.default
        if fm.fileExists(atPath: dir + "/model.bin") && fm.fileExists(atPath: dir + "/vocabulary.txt") {
            return .plugin("whisper-transcript", "whisper-ct2")
        }
        guard let data = fm.contents(atPath: dir + "/config.json") else {
            throw ModelsCommandError(message: "cannot import \(dir): no config.json (a Hugging Face checkpoint folder has config.json and model.safetensors; a CTranslate2 Whisper folder has model.bin and vocabulary.txt)")
        }
        let type = (try? JSONValue.parse(data))?["model_type"]?.stringValue ?? ""
        switch type {
        case "roberta", "xlm-roberta": return .plugin("roberta", "roberta")
        case "wav2vec2", "hubert", "wavlm", "": return .speech
        default:
            throw ModelsCommandError(message: "cannot import \(dir): model_type '\(type)' is not one EmoKit loads (wav2vec2, hubert, wavlm, roberta, or a CTranslate2 Whisper folder)")
        }
    }

    /// Σ element counts of `model.safetensors`' tensors (0 when there is none).
    static func safetensorsParameters(_ dir: String) -> Int {
        guard let file = try? SafeTensorsFile(path: dir + "/model.safetensors") else { return 0 }
        return file.tensors.values.reduce(0) { $0 + $1.count }
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
