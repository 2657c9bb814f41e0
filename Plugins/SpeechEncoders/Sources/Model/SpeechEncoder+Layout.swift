import EmoModels
import EmoCore
import EmoTensor
import Foundation

extension SpeechEncoderConfig {
    /// Every tensor a bare `<Family>Model` checkpoint of this config holds (Hugging Face names and shapes, with
    /// the positional conv in the `parametrizations.weight.original0/1` form `transformers` saves today).
    public var checkpointTensors: [(name: String, shape: [Int])] {
        var out: [(String, [Int])] = []
        let c = hiddenSize
        var cin = 1
        for i in 0..<convDim.count {
            let p = "feature_extractor.conv_layers.\(i)."
            out.append((p + "conv.weight", [convDim[i], cin, convKernel[i]]))
            if convBias { out.append((p + "conv.bias", [convDim[i]])) }
            if convLayerNorm || i == 0 {
                out.append((p + "layer_norm.weight", [convDim[i]]))
                out.append((p + "layer_norm.bias", [convDim[i]]))
            }
            cin = convDim[i]
        }
        if featureProjectionLayerNorm {
            out.append(("feature_projection.layer_norm.weight", [convOutputDim]))
            out.append(("feature_projection.layer_norm.bias", [convOutputDim]))
        }
        out.append(("feature_projection.projection.weight", [c, convOutputDim]))
        out.append(("feature_projection.projection.bias", [c]))
        out.append(("encoder.pos_conv_embed.conv.parametrizations.weight.original0", [1, 1, posConvKernel]))
        out.append(("encoder.pos_conv_embed.conv.parametrizations.weight.original1", [c, c / posConvGroups, posConvKernel]))
        out.append(("encoder.pos_conv_embed.conv.bias", [c]))
        out.append(("encoder.layer_norm.weight", [c]))
        out.append(("encoder.layer_norm.bias", [c]))
        for i in 0..<numLayers {
            let p = "encoder.layers.\(i)."
            for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                out.append((p + "attention.\(proj).weight", [c, c]))
                out.append((p + "attention.\(proj).bias", [c]))
            }
            if family == .wavlm {
                out.append((p + "attention.gru_rel_pos_const", [1, numHeads, 1, 1]))
                out.append((p + "attention.gru_rel_pos_linear.weight", [8, headDim]))
                out.append((p + "attention.gru_rel_pos_linear.bias", [8]))
                if i == 0 { out.append((p + "attention.rel_attn_embed.weight", [numBuckets, numHeads])) }
            }
            out.append((p + "layer_norm.weight", [c]))
            out.append((p + "layer_norm.bias", [c]))
            out.append((p + "feed_forward.intermediate_dense.weight", [intermediateSize, c]))
            out.append((p + "feed_forward.intermediate_dense.bias", [intermediateSize]))
            out.append((p + "feed_forward.output_dense.weight", [c, intermediateSize]))
            out.append((p + "feed_forward.output_dense.bias", [c]))
            out.append((p + "final_layer_norm.weight", [c]))
            out.append((p + "final_layer_norm.bias", [c]))
        }
        return out
    }

    /// The published base architecture of `family` (wav2vec2-base, hubert-base-ls960, wavlm-base-plus), as the
    /// `config.json` object `transformers` writes for a default config.
    public static func baseConfigJSON(_ family: Family) -> JSONValue {
        var o: [String: JSONValue] = [
            "model_type": .string(family.rawValue), "hidden_size": 768, "num_hidden_layers": 12,
            "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
            "feat_extract_activation": "gelu", "feat_extract_norm": "group", "layer_norm_eps": 1e-5,
            "conv_dim": [512, 512, 512, 512, 512, 512, 512], "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
            "conv_stride": [5, 2, 2, 2, 2, 2, 2], "conv_bias": false, "num_conv_pos_embeddings": 128,
            "num_conv_pos_embedding_groups": 16, "do_stable_layer_norm": false,
        ]
        if family == .wavlm { o["num_buckets"] = 320; o["max_bucket_distance"] = 800 }
        return .object(o)
    }

    /// Writes a random-weight checkpoint folder of this config (config.json, model.safetensors,
    /// preprocessor_config.json): weights ~ N(0, 0.02) (convs scaled by fan-in), norms 1/0, seeded.
    public func writeRandomCheckpoint(to directory: String, configJSON: JSONValue, seed: UInt64) throws {
        let dir = URL(fileURLWithPath: directory)
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw CheckpointError.io(path: directory, message: "cannot create folder (\(error.localizedDescription))")
        }
        var rng = SeededGenerator(seed: seed)
        var writer = SafeTensorsWriter()
        for (name, shape) in checkpointTensors {
            let n = shape.reduce(1, *)
            var v = [Float](repeating: 0, count: n)
            if name.hasSuffix("norm.weight") || name.hasSuffix("original0") || name.hasSuffix("gru_rel_pos_const") {
                v = [Float](repeating: 1, count: n)
            } else if shape.count >= 2 {
                let fanIn = shape.dropFirst().reduce(1, *)
                let std: Float = name.contains("conv") ? (2 / Float(fanIn)).squareRoot() : 0.02
                for i in 0..<n { v[i] = rng.nextNormal() * std }
            }
            writer.add(name, shape: shape, values: v)
        }
        try writer.write(to: dir.appendingPathComponent("model.safetensors").path)
        let pre: JSONValue = ["feature_extractor_type": "Wav2Vec2FeatureExtractor", "do_normalize": true,
                              "sampling_rate": 16000, "feature_size": 1, "padding_value": 0.0,
                              "return_attention_mask": .bool(convLayerNorm)]
        for (file, json) in [("config.json", configJSON), ("preprocessor_config.json", pre)] {
            do { try Data(json.serialized(pretty: true).utf8).write(to: dir.appendingPathComponent(file)) } catch {
                throw CheckpointError.io(path: dir.appendingPathComponent(file).path, message: "cannot write (\(error.localizedDescription))")
            }
        }
    }
}

