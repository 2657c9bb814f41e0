/// Takes tensors out of a checkpoint by their Hugging Face names, checking shapes, and remembers which were
/// used so that unexpected leftovers can be reported by name.
///
/// ```swift
/// let r = WeightReader(file: try SafeTensorsFile(path: p), prefix: "wav2vec2.")
/// let w = try r.take("encoder.layer_norm.weight", shape: [768])
/// try r.finish(ignoring: ["quantizer.", "project_"])
/// ```
public final class WeightReader {
    /// The checkpoint file.
    public let file: any TensorArchive
    /// Prepended to every name passed to `take` (e.g. `"wav2vec2."` for a `Wav2Vec2ForPreTraining` checkpoint).
    public let prefix: String
    private var used: Set<String> = []

    /// Reads from `file`, with names under `prefix`.
    public init(file: any TensorArchive, prefix: String = "") {
        self.file = file
        self.prefix = prefix
    }

    /// True when the checkpoint holds `name` (under the prefix).
    public func has(_ name: String) -> Bool { file.shape(of: prefix + name) != nil }

    /// The stored shape of `name`, if present.
    public func shape(_ name: String) -> [Int]? { file.shape(of: prefix + name) }

    /// The tensor `name` as Float32, after checking that its shape is `shape` and its values finite.
    public func take(_ name: String, shape: [Int]) throws -> [Float] {
        let full = prefix + name
        guard let found = file.shape(of: full) else { throw CheckpointError.missingTensor(path: file.path, name: full) }
        guard found == shape else {
            throw CheckpointError.wrongShape(path: file.path, name: full, expected: shape, found: found)
        }
        used.insert(full)
        let values = try file.floats(full)
        try CheckpointError.requireFinite(values, path: file.path, name: full)
        return values
    }

    /// Like `take`, but nil when the tensor is absent.
    public func takeIfPresent(_ name: String, shape: [Int]) throws -> [Float]? {
        has(name) ? try take(name, shape: shape) : nil
    }

    /// Throws `unexpectedTensors` naming every tensor under the prefix that was not taken, except names starting
    /// with one of `ignoring` (after the prefix). Tensors outside the prefix (heads of a task model) are ignored.
    public func finish(ignoring: [String] = []) throws {
        let left = file.names.filter { name in
            guard name.hasPrefix(prefix), !used.contains(name) else { return false }
            let rest = name.dropFirst(prefix.count)
            return !ignoring.contains { rest.hasPrefix($0) }
        }
        if !left.isEmpty { throw CheckpointError.unexpectedTensors(path: file.path, names: left) }
    }
}
