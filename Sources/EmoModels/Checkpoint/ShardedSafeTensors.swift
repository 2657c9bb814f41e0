import EmoCore
import Foundation

/// A checkpoint split over several safetensors files, as Hugging Face publishes every large model:
/// `model.safetensors.index.json` maps each tensor name to its shard (`{"weight_map": {"name": "model-00001-of-00002.safetensors", ...}}`).
/// Each shard is opened once, lazily; a tensor is read from the shard the index names.
public final class ShardedSafeTensors: TensorArchive, @unchecked Sendable {
    /// The index file (used in every error).
    public let path: String
    /// Tensor names, sorted.
    public let names: [String]
    private let shardOf: [String: String]
    private var shards: [String: SafeTensorsFile] = [:]
    private let lock = NSLock()

    /// Reads the index; every shard it names must exist beside it.
    public init(index: String) throws {
        path = index
        guard let data = FileManager.default.contents(atPath: index) else {
            throw CheckpointError.io(path: index, message: "not found or not readable")
        }
        guard let map = (try? JSONValue.parse(data))?["weight_map"]?.objectValue, !map.isEmpty else {
            throw CheckpointError.malformed(path: index, message: "no \"weight_map\" object (a sharded Hugging Face checkpoint's index maps tensor names to shard files)")
        }
        var shardOf: [String: String] = [:]
        let folder = (index as NSString).deletingLastPathComponent
        for (name, value) in map {
            guard let file = value.stringValue, !file.contains("/") else {
                throw CheckpointError.malformed(path: index, message: "weight_map[\"\(name)\"] must name a shard file in this folder")
            }
            let shard = (folder as NSString).appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: shard) else {
                throw CheckpointError.io(path: shard, message: "missing: the index names it for \"\(name)\"")
            }
            shardOf[name] = shard
        }
        self.shardOf = shardOf
        names = shardOf.keys.sorted()
    }

    private func shard(for name: String) throws -> SafeTensorsFile? {
        guard let file = shardOf[name] else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let open = shards[file] { return open }
        let open = try SafeTensorsFile(path: file)
        shards[file] = open
        return open
    }

    /// The stored shape of `name` (from its shard), or nil when absent or the shard does not hold it.
    public func shape(of name: String) -> [Int]? { (try? shard(for: name))?.flatMap { $0.shape(of: name) } }

    /// The tensor converted to Float32.
    public func floats(_ name: String) throws -> [Float] {
        guard let file = try shard(for: name) else { throw CheckpointError.missingTensor(path: path, name: name) }
        return try file.floats(name)
    }
}

/// Opening a Hugging Face checkpoint folder's weights, whichever way they are published.
public enum CheckpointFolder {
    /// The JSON object of a checkpoint's `config.json` at `path`; unreadable files and invalid JSON are named.
    public static func config(at path: String) throws -> JSONValue {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw CheckpointError.io(path: path, message: "cannot read config.json (\(error.localizedDescription))")
        }
        do { return try JSONValue.parse(data) } catch {
            throw CheckpointError.invalidConfig(path: path, message: "not valid JSON (\(error))")
        }
    }

    /// `model.safetensors`, else the shards of `model.safetensors.index.json`, else `pytorch_model.bin` (when
    /// `allowPickle`); an error naming what was looked for otherwise.
    public static func weights(in folder: String, allowPickle: Bool = true) throws -> any TensorArchive {
        func at(_ file: String) -> String { (folder as NSString).appendingPathComponent(file) }
        let fm = FileManager.default
        if fm.fileExists(atPath: at("model.safetensors")) { return try SafeTensorsFile(path: at("model.safetensors")) }
        if fm.fileExists(atPath: at("model.safetensors.index.json")) { return try ShardedSafeTensors(index: at("model.safetensors.index.json")) }
        let hasPickle = fm.fileExists(atPath: at("pytorch_model.bin"))
        if allowPickle && hasPickle { return try PyTorchBinFile(path: at("pytorch_model.bin")) }
        throw CheckpointError.io(path: at("model.safetensors"), message: allowPickle
            ? "missing, and no model.safetensors.index.json (sharded) or pytorch_model.bin either (EmoKit loads Hugging Face checkpoint folders)"
            : hasPickle
            ? "not found (only pytorch_model.bin is there; convert it once with transformers' save_pretrained(safe_serialization=True))"
            : "not found (download the checkpoint's model.safetensors, or its shards and model.safetensors.index.json, into this folder)")
    }
}
