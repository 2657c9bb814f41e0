/// Why a checkpoint (safetensors file, config.json, model folder) could not be read or used.
///
/// Every message names the file, what is wrong, and what to do about it.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// Throws `nonFinite` naming the first NaN or infinity of tensor `name`.
    public static func requireFinite(_ values: [Float], path: String, name: String) throws {
        guard let i = values.firstIndex(where: { !$0.isFinite }) else { return }
        throw CheckpointError.nonFinite(path: path, name: name, index: i, value: values[i])
    }

    /// The file could not be opened, mapped or written.
    case io(path: String, message: String)
    /// The safetensors header or layout is malformed (truncated, lying offsets, bad JSON, unknown dtype).
    case malformed(path: String, message: String)
    /// A tensor the model needs is not in the checkpoint.
    case missingTensor(path: String, name: String)
    /// Tensors the checkpoint holds that the model does not use.
    case unexpectedTensors(path: String, names: [String])
    /// A tensor has another shape than the config implies.
    case wrongShape(path: String, name: String, expected: [Int], found: [Int])
    /// The tensor's dtype cannot be converted to Float32.
    case unsupportedDType(path: String, name: String, dtype: String)
    /// config.json is missing a key, has a wrong value, or describes an unsupported architecture.
    case invalidConfig(path: String, message: String)
    /// A tensor holds NaN or infinity (a damaged file, or a training run that diverged).
    case nonFinite(path: String, name: String, index: Int, value: Float)

    public var description: String {
        switch self {
        case .io(let p, let m):
            return "\(p): \(m)"
        case .malformed(let p, let m):
            return "\(p): not a valid safetensors file: \(m) (re-download or re-export the checkpoint)"
        case .missingTensor(let p, let n):
            return "\(p): tensor '\(n)' is missing (is this checkpoint of the architecture config.json names?)"
        case .unexpectedTensors(let p, let names):
            let shown = names.prefix(8).joined(separator: ", ")
            let more = names.count > 8 ? " and \(names.count - 8) more" : ""
            return "\(p): unexpected tensors \(shown)\(more) (the checkpoint does not match config.json)"
        case .wrongShape(let p, let n, let e, let f):
            return "\(p): tensor '\(n)' has shape \(f), config.json implies \(e) (config and weights disagree)"
        case .unsupportedDType(let p, let n, let d):
            return "\(p): tensor '\(n)' has dtype \(d); only F32, F16 and BF16 convert to Float32"
        case .invalidConfig(let p, let m):
            return "\(p): \(m)"
        case .nonFinite(let p, let n, let i, let v):
            return "\(p): tensor '\(n)' holds \(v) at element \(i); a usable checkpoint has only finite weights (re-download it, or use an earlier training checkpoint)"
        }
    }
}
