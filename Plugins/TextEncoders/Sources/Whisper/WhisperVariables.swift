import EmoCore
import EmoModels
import Foundation

/// What `WhisperModel` loads from: variables under CTranslate2's Whisper names (`encoder/layer_0/ffn/linear_0/weight`,
/// …). `CTranslate2File` is one; `HuggingFaceWhisperVariables` serves a Hugging Face checkpoint under the same names.
protocol WhisperVariables {
    /// The file, for errors.
    var path: String { get }
    /// CTranslate2's spec name ("WhisperSpec").
    var specName: String { get }
    /// The shape of `name`, or nil when absent.
    func shape(_ name: String) -> [Int]?
    /// `name` as Float32 after checking its shape.
    func floats(_ name: String, shape: [Int]) throws -> [Float]
    /// An integer attribute (`encoder/num_heads`, …), or nil when absent.
    func integer(_ name: String) throws -> Int?
}

extension CTranslate2File: WhisperVariables {
    func shape(_ name: String) -> [Int]? { variables[name]?.shape }
}

/// A Hugging Face Whisper checkpoint (`WhisperModel`, or `WhisperForConditionalGeneration` under `model.`) read under
/// CTranslate2's names, doing what `ct2-transformers-converter` does: q | k | v stacked into `linear_0` (the key
/// projection's missing bias as zeros), the cross-attention's k | v into `linear_1`, LayerNorm weight/bias as
/// gamma/beta, attributes from config.json.
final class HuggingFaceWhisperVariables: WhisperVariables {
    /// One stretch of a served variable: a checkpoint tensor, or zeros.
    enum Part { case tensor(String), zeros(Int) }

    let path: String
    let specName = "WhisperSpec"
    private let reader: WeightReader
    private let config: JSONValue

    /// Reads `config.json` and the safetensors weights of `folder`.
    init(folder: String) throws {
        let configPath = (folder as NSString).appendingPathComponent("config.json")
        let json = try CheckpointFolder.config(at: configPath)
        guard json["model_type"]?.stringValue == "whisper" else {
            throw CheckpointError.invalidConfig(path: configPath, message: "model_type is \(json["model_type"]?.serialized() ?? "missing"), not \"whisper\"; a Whisper folder holds model.bin (CTranslate2) or a Hugging Face Whisper checkpoint")
        }
        let weights = try CheckpointFolder.weights(in: folder, allowPickle: false)
        config = json
        path = weights.path
        let prefix = weights.shape(of: "model.encoder.conv1.weight") != nil ? "model." : ""
        reader = WeightReader(file: weights, prefix: prefix)
        guard reader.has("encoder.conv1.weight") else {
            throw CheckpointError.missingTensor(path: weights.path, name: prefix + "encoder.conv1.weight (this Whisper checkpoint has no encoder weights)")
        }
    }

    /// The checkpoint tensors (or zeros) that make up CTranslate2's variable `name`, stacked on the first axis.
    func parts(_ name: String) -> [Part]? {
        var n = name.split(separator: "/").map(String.init)
        guard let side = n.first, side == "encoder" || side == "decoder" else { return nil }
        n.removeFirst()
        let width = config["d_model"]?.intValue ?? 0
        func hf(_ s: String) -> [Part] { [.tensor(side + "." + s)] }
        func norm(_ module: String, _ leaf: String) -> [Part]? {
            leaf == "gamma" ? hf(module + ".weight") : leaf == "beta" ? hf(module + ".bias") : nil
        }
        switch n.count {
        case 2 where n[0] == "conv1" || n[0] == "conv2": return hf(n[0] + "." + n[1])
        case 2 where n[0] == "position_encodings" && n[1] == "encodings": return hf("embed_positions.weight")
        case 2 where n[0] == "embeddings" && n[1] == "weight" && side == "decoder": return hf("embed_tokens.weight")
        case 2 where n[0] == "layer_norm": return norm("layer_norm", n[1])
        default: break
        }
        guard n.count == 4 || n.count == 3, n[0].hasPrefix("layer_"), let i = Int(n[0].dropFirst(6)) else { return nil }
        let layer = "layers.\(i)."
        let block = n[1], leaf = n.last ?? ""
        let attention = block == "self_attention" ? "self_attn" : "encoder_attn"
        if n.count == 4, n[2] == "layer_norm" {
            switch block {
            case "self_attention": return norm(layer + "self_attn_layer_norm", leaf)
            case "attention": return norm(layer + "encoder_attn_layer_norm", leaf)
            case "ffn": return norm(layer + "final_layer_norm", leaf)
            default: return nil
            }
        }
        guard n.count == 4 else { return nil }
        let a = layer + attention + "."
        switch (block, n[2]) {
        case ("ffn", "linear_0"): return hf(layer + "fc1." + leaf)
        case ("ffn", "linear_1"): return hf(layer + "fc2." + leaf)
        case ("self_attention", "linear_0"):
            return leaf == "weight" ? hf(a + "q_proj.weight") + hf(a + "k_proj.weight") + hf(a + "v_proj.weight")
                                    : hf(a + "q_proj.bias") + [.zeros(width)] + hf(a + "v_proj.bias")
        case ("self_attention", "linear_1"), ("attention", "linear_2"): return hf(a + "out_proj." + leaf)
        case ("attention", "linear_0"): return hf(a + "q_proj." + leaf)
        case ("attention", "linear_1"):
            return leaf == "weight" ? hf(a + "k_proj.weight") + hf(a + "v_proj.weight") : [.zeros(width)] + hf(a + "v_proj.bias")
        default: return nil
        }
    }

    func shape(_ name: String) -> [Int]? {
        guard let parts = parts(name) else { return nil }
        var shape: [Int]?
        for part in parts {
            let s: [Int]
            switch part {
            case .tensor(let t):
                guard let found = reader.shape(t) else { return nil }
                s = found
            case .zeros(let count): s = [count]
            }
            if var acc = shape {
                guard acc.count == s.count, acc.dropFirst() == s.dropFirst() else { return nil }
                acc[0] += s[0]
                shape = acc
            } else {
                shape = s
            }
        }
        return shape
    }

    func floats(_ name: String, shape expected: [Int]) throws -> [Float] {
        guard let parts = parts(name), let found = shape(name) else {
            throw CheckpointError.missingTensor(path: path, name: "\(name) (Hugging Face: \(parts(name).map(describe) ?? "no counterpart"))")
        }
        guard found == expected else {
            throw CheckpointError.wrongShape(path: path, name: describe(parts), expected: expected, found: found)
        }
        var out: [Float] = []
        out.reserveCapacity(expected.reduce(1, *))
        for part in parts {
            switch part {
            case .tensor(let t): out += try reader.take(t, shape: reader.shape(t) ?? [])
            case .zeros(let count): out += [Float](repeating: 0, count: count)
            }
        }
        return out
    }

    /// The checkpoint name(s) of a served variable, for errors.
    private func describe(_ parts: [Part]) -> String {
        parts.map { if case .tensor(let t) = $0 { return reader.prefix + t } else { return "zeros" } }.joined(separator: " + ")
    }

    func integer(_ name: String) throws -> Int? {
        switch name {
        case "encoder/num_heads": return config["encoder_attention_heads"]?.intValue ?? 6
        case "decoder/num_heads": return config["decoder_attention_heads"]?.intValue ?? 6
        case "decoder/pre_norm": return 1
        case "decoder/scale_embeddings": return config["scale_embedding"]?.boolValue == true ? 1 : 0
        case "decoder/activation":
            let act = config["activation_function"]?.stringValue ?? "gelu"
            return act == "gelu" ? 3 : -1
        default: return nil
        }
    }

    /// Reports checkpoint tensors no variable used (the tied `proj_out` head aside).
    func finish() throws { try reader.finish(ignoring: ["proj_out.", "encoder.embed_positions._float_tensor"]) }
}
