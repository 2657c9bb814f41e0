import EmoCore
import Foundation

/// Named pretrained checkpoints the user imported (`emo models import DIR --name NAME`), kept in a small JSON file:
/// `EMO_MODELS` if set, else `$XDG_DATA_HOME/emokit/models.json` (default `~/.local/share/emokit/models.json`).
///
/// ```json
/// {"models": {"wavlm-base-plus": {"path": "/data/wavlm-base-plus", "family": "wavlm", "parameters": 94395552}}}
/// ```
public struct ModelRegistry: Sendable {
    /// One imported checkpoint.
    public struct Entry: Sendable, Equatable {
        /// Absolute folder holding config.json and model.safetensors.
        public var path: String
        /// `model_type` of its config.
        public var family: String
        /// Number of Float32 parameters the encoder loaded.
        public var parameters: Int

        /// Creates an entry.
        public init(path: String, family: String, parameters: Int) {
            self.path = path
            self.family = family
            self.parameters = parameters
        }
    }

    /// The registry file.
    public let file: String

    /// The registry at `file`.
    public init(file: String) { self.file = file }

    /// The standard location (see the type's documentation).
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> ModelRegistry {
        if let f = environment["EMO_MODELS"], !f.isEmpty { return ModelRegistry(file: f) }
        let dataHome = environment["XDG_DATA_HOME"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.local/share")
        return ModelRegistry(file: dataHome + "/emokit/models.json")
    }

    /// All entries by name (empty when the file does not exist yet).
    public func entries() throws -> [String: Entry] {
        guard FileManager.default.fileExists(atPath: file) else { return [:] }
        let json: JSONValue
        do { json = try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: file))) } catch {
            throw CheckpointError.invalidConfig(path: file, message: "model registry is not valid JSON (\(error)); fix or delete it")
        }
        var out: [String: Entry] = [:]
        for (name, v) in json["models"]?.objectValue ?? [:] {
            guard let path = v["path"]?.stringValue else { continue }
            out[name] = Entry(path: path, family: v["family"]?.stringValue ?? "", parameters: v["parameters"]?.intValue ?? 0)
        }
        return out
    }

    /// Adds `name`, or replaces it when `replace` is true (an existing name is refused otherwise, naming where it
    /// points). Every other entry of the file is written back as it was, even one this version cannot read.
    public func register(name: String, entry: Entry, replace: Bool = false) throws {
        guard ComponentInfo.isValidID(name) else {
            throw CheckpointError.invalidConfig(path: file, message: "model name '\(name)' must match [a-z0-9-]+")
        }
        if !replace, let existing = try entries()[name] {
            throw CheckpointError.invalidConfig(path: file, message: "model '\(name)' is already registered (→ \(existing.path)); choose another name, or pass --replace to point it at \(entry.path)")
        }
        var root: [String: JSONValue] = [:]
        if let data = FileManager.default.contents(atPath: file), let old = try? JSONValue.parse(data).objectValue {
            root = old
        }
        var models = root["models"]?.objectValue ?? [:]
        models[name] = ["path": .string(entry.path), "family": .string(entry.family), "parameters": .number(Double(entry.parameters))]
        root["models"] = .object(models)
        let url = URL(fileURLWithPath: file)
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(JSONValue.object(root).serialized(pretty: true).utf8).write(to: url, options: .atomic)
        } catch {
            throw CheckpointError.io(path: file, message: "cannot write the model registry (\(error.localizedDescription))")
        }
    }

    /// The folder for `nameOrPath`: a registered name, else an existing folder path.
    public func resolve(_ nameOrPath: String) throws -> String {
        if let e = try entries()[nameOrPath] { return e.path }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: nameOrPath, isDirectory: &isDir), isDir.boolValue { return nameOrPath }
        throw CheckpointError.io(path: nameOrPath, message: "is neither a model imported into \(file) nor a checkpoint folder; run `emo models import DIR --name NAME`")
    }
}
