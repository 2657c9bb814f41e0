import EmoModels
import EmoTensor
import Foundation

/// A Whisper encoder–decoder loaded from a CTranslate2 model folder (`model.bin`, `config.json`, `vocabulary.txt`,
/// as `ct2-transformers-converter` writes it) or a Hugging Face one (`config.json` with `model_type` "whisper" and
/// `model.safetensors` of a `WhisperModel` / `WhisperForConditionalGeneration`); fp32/fp16/bf16 weights are widened
/// to Float32. Any size: tiny … large-v3 (80 or 128 mel bins).
///
/// Dimension legend: docs/numerics.md. Used here: `S` samples, `M` mel bands (80), `T` encoder frames (1500 for
/// 30 s), `C` width, `H` heads, `D = C / H`, `F` feed-forward width, `L` layers, `U` decoded tokens, `V` vocabulary.
///
/// Every field names the CTranslate2 variable it holds (CTranslate2 fuses Hugging Face's q/k/v projections into
/// `linear_0`; Whisper's key projection has no bias, which CTranslate2 stores as zeros). A Hugging Face checkpoint
/// is read under the same names through `HuggingFaceWhisperVariables`.
///
/// ```swift
/// let whisper = try WhisperModel(folder: "whisper-tiny.en-ct2")
/// let text = try whisper.transcribe(samples)   // 16 kHz mono, ≤ 30 s
/// ```
public final class WhisperModel: @unchecked Sendable {
    /// A dense layer `y = x · Wᵀ + b`.
    struct Linear {
        /// `…/weight` `[out, in]`.
        let weight: FloatBuffer
        /// `…/bias` `[out]`.
        let bias: FloatBuffer
        /// in, out.
        let inFeatures: Int, outFeatures: Int
    }

    /// A layer norm.
    struct Norm {
        /// `…/gamma` and `…/beta` `[C]`.
        let gamma: FloatBuffer, beta: FloatBuffer
    }

    /// One encoder layer (`encoder/layer_{i}/…`), pre-norm.
    struct EncoderLayer {
        /// `self_attention/layer_norm`.
        let attnNorm: Norm
        /// `self_attention/linear_0` `[3C, C]` (q | k | v) and `self_attention/linear_1` `[C, C]`.
        let qkv: Linear, attnOut: Linear
        /// `ffn/layer_norm`.
        let ffnNorm: Norm
        /// `ffn/linear_0` `[F, C]`, `ffn/linear_1` `[C, F]`.
        let ffnIn: Linear, ffnOut: Linear
    }

    /// One decoder layer (`decoder/layer_{i}/…`), pre-norm.
    struct DecoderLayer {
        /// `self_attention/layer_norm`.
        let selfNorm: Norm
        /// `self_attention/linear_0` `[3C, C]`, `self_attention/linear_1` `[C, C]`.
        let selfQKV: Linear, selfOut: Linear
        /// `attention/layer_norm` (cross-attention).
        let crossNorm: Norm
        /// `attention/linear_0` `[C, C]` (q), `attention/linear_1` `[2C, C]` (k | v of the encoder output),
        /// `attention/linear_2` `[C, C]`.
        let crossQ: Linear, crossKV: Linear, crossOut: Linear
        /// `ffn/layer_norm`.
        let ffnNorm: Norm
        /// `ffn/linear_0`, `ffn/linear_1`.
        let ffnIn: Linear, ffnOut: Linear
    }

    /// M.
    public let melCount: Int
    /// C.
    public let width: Int
    /// H.
    public let heads: Int
    /// V.
    public let vocabularySize: Int
    /// Longest decoded sequence (rows of the decoder position table, 448).
    public let maxTargetPositions: Int
    /// T (rows of the encoder position table, 1500).
    public let encoderFrames: Int

    /// `encoder/conv1/weight` `[C, M, 3]` repacked channels-last `[C, 3, M]`, and its bias.
    let conv1: FloatBuffer, conv1Bias: FloatBuffer
    /// `encoder/conv2/weight` `[C, C, 3]` repacked `[C, 3, C]` (stride 2), and its bias.
    let conv2: FloatBuffer, conv2Bias: FloatBuffer
    /// `encoder/position_encodings/encodings` `[T, C]` (sinusoidal, stored).
    let encoderPositions: FloatBuffer
    /// `encoder/layer_{i}`.
    let encoderLayers: [EncoderLayer]
    /// `encoder/layer_norm`.
    let encoderNorm: Norm
    /// `decoder/embeddings/weight` `[V, C]` (also the output projection, `decoder/projection/weight` is an alias).
    let tokenEmbeddings: FloatBuffer
    /// `decoder/position_encodings/encodings` `[448, C]`.
    let decoderPositions: FloatBuffer
    /// `decoder/layer_{i}`.
    let decoderLayers: [DecoderLayer]
    /// `decoder/layer_norm`.
    let decoderNorm: Norm
    /// The front end matching `melCount`: call it on 16 kHz samples to get the `[M, 3000]` features `encode` takes.
    public let frontEnd: WhisperLogMel

    /// Loads a CTranslate2 Whisper folder (`model.bin`), or a Hugging Face one (`config.json` with `model_type`
    /// "whisper" and its safetensors weights) when there is no `model.bin`.
    public convenience init(folder: String) throws {
        let bin = (folder as NSString).appendingPathComponent("model.bin")
        let config = (folder as NSString).appendingPathComponent("config.json")
        if !FileManager.default.fileExists(atPath: bin), FileManager.default.fileExists(atPath: config) {
            let variables = try HuggingFaceWhisperVariables(folder: folder)
            try self.init(variables: variables)
            try variables.finish()
        } else {
            try self.init(variables: CTranslate2File(path: bin))
        }
    }

    /// Takes every variable from a CTranslate2 `model.bin`.
    public convenience init(file: CTranslate2File) throws { try self.init(variables: file) }

    /// Takes every variable (CTranslate2 names) from `f`, deriving the sizes from the conv and embedding shapes.
    init(variables f: some WhisperVariables) throws {
        func bad(_ m: String) -> CheckpointError { .invalidConfig(path: f.path, message: m) }
        guard f.specName == "WhisperSpec" else { throw bad("spec \(f.specName) is not WhisperSpec (convert a Whisper model)") }
        guard let conv1Shape = f.shape("encoder/conv1/weight"), conv1Shape.count == 3, conv1Shape[2] == 3 else {
            throw CheckpointError.missingTensor(path: f.path, name: "encoder/conv1/weight")
        }
        let c = conv1Shape[0], m = conv1Shape[1]
        guard let embShape = f.shape("decoder/embeddings/weight"), embShape.count == 2, embShape[1] == c else {
            throw CheckpointError.missingTensor(path: f.path, name: "decoder/embeddings/weight")
        }
        guard let heads = try f.integer("encoder/num_heads"), heads > 0, c % heads == 0 else {
            throw bad("encoder/num_heads is missing or does not divide the width \(c)")
        }
        if let dh = try f.integer("decoder/num_heads"), dh != heads { throw bad("decoder/num_heads \(dh) ≠ encoder/num_heads \(heads)") }
        if let pre = try f.integer("decoder/pre_norm"), pre != 1 { throw bad("decoder/pre_norm is off; Whisper is pre-norm") }
        if let s = try f.integer("decoder/scale_embeddings"), s != 0 { throw bad("decoder/scale_embeddings is on; Whisper does not scale") }
        if let a = try f.integer("decoder/activation"), a != 3 { throw bad("decoder/activation \(a) is not GELU (3)") }
        let ffnShape = f.shape("encoder/layer_0/ffn/linear_0/weight") ?? []
        guard ffnShape.count == 2 else { throw CheckpointError.missingTensor(path: f.path, name: "encoder/layer_0/ffn/linear_0/weight") }
        let ff = ffnShape[0]
        melCount = m
        width = c
        self.heads = heads
        vocabularySize = embShape[0]
        encoderFrames = f.shape("encoder/position_encodings/encodings")?.first ?? 0
        maxTargetPositions = f.shape("decoder/position_encodings/encodings")?.first ?? 0

        func floats(_ name: String, _ shape: [Int]) throws -> [Float] {
            let values = try f.floats(name, shape: shape)
            try CheckpointError.requireFinite(values, path: f.path, name: name)
            return values
        }
        func take(_ name: String, _ shape: [Int]) throws -> FloatBuffer { FloatBuffer(try floats(name, shape)) }
        func linear(_ name: String, _ outF: Int, _ inF: Int) throws -> Linear {
            Linear(weight: try take(name + "/weight", [outF, inF]), bias: try take(name + "/bias", [outF]),
                   inFeatures: inF, outFeatures: outF)
        }
        func norm(_ name: String) throws -> Norm { Norm(gamma: try take(name + "/gamma", [c]), beta: try take(name + "/beta", [c])) }
        func packed(_ name: String, _ g: Conv1dGeometry) throws -> FloatBuffer {
            let raw = try floats(name, [g.outChannels, g.inChannels, g.kernelSize])
            let out = FloatBuffer(raw)
            raw.withUnsafeBufferPointer { src in
                if let s = src.baseAddress { Kernels.packConv1dWeightChannelsLast(g, weight: s, into: out.pointer) }
            }
            return out
        }
        conv1 = try packed("encoder/conv1/weight", Self.conv1Geometry(mels: m, width: c))
        conv1Bias = try take("encoder/conv1/bias", [c])
        conv2 = try packed("encoder/conv2/weight", Self.conv2Geometry(width: c))
        conv2Bias = try take("encoder/conv2/bias", [c])
        encoderPositions = try take("encoder/position_encodings/encodings", [encoderFrames, c])
        var enc: [EncoderLayer] = []
        while f.shape("encoder/layer_\(enc.count)/ffn/linear_0/weight") != nil {
            let p = "encoder/layer_\(enc.count)/"
            enc.append(EncoderLayer(attnNorm: try norm(p + "self_attention/layer_norm"),
                                    qkv: try linear(p + "self_attention/linear_0", 3 * c, c),
                                    attnOut: try linear(p + "self_attention/linear_1", c, c),
                                    ffnNorm: try norm(p + "ffn/layer_norm"),
                                    ffnIn: try linear(p + "ffn/linear_0", ff, c),
                                    ffnOut: try linear(p + "ffn/linear_1", c, ff)))
        }
        encoderLayers = enc
        encoderNorm = try norm("encoder/layer_norm")
        tokenEmbeddings = try take("decoder/embeddings/weight", [vocabularySize, c])
        decoderPositions = try take("decoder/position_encodings/encodings", [maxTargetPositions, c])
        var dec: [DecoderLayer] = []
        while f.shape("decoder/layer_\(dec.count)/ffn/linear_0/weight") != nil {
            let p = "decoder/layer_\(dec.count)/"
            dec.append(DecoderLayer(selfNorm: try norm(p + "self_attention/layer_norm"),
                                    selfQKV: try linear(p + "self_attention/linear_0", 3 * c, c),
                                    selfOut: try linear(p + "self_attention/linear_1", c, c),
                                    crossNorm: try norm(p + "attention/layer_norm"),
                                    crossQ: try linear(p + "attention/linear_0", c, c),
                                    crossKV: try linear(p + "attention/linear_1", 2 * c, c),
                                    crossOut: try linear(p + "attention/linear_2", c, c),
                                    ffnNorm: try norm(p + "ffn/layer_norm"),
                                    ffnIn: try linear(p + "ffn/linear_0", ff, c),
                                    ffnOut: try linear(p + "ffn/linear_1", c, ff)))
        }
        decoderLayers = dec
        decoderNorm = try norm("decoder/layer_norm")
        guard !enc.isEmpty, !dec.isEmpty, encoderFrames * 2 == WhisperLogMel.frames, maxTargetPositions > 2 else {
            throw bad("found \(enc.count) encoder and \(dec.count) decoder layers, \(encoderFrames) encoder positions (expected 1500), \(maxTargetPositions) decoder positions")
        }
        frontEnd = WhisperLogMel(melCount: m)
    }

    /// conv1: M → C, kernel 3, padding 1.
    static func conv1Geometry(mels: Int, width: Int) -> Conv1dGeometry {
        Conv1dGeometry(inChannels: mels, outChannels: width, kernelSize: 3, stride: 1, padding: 1)
    }

    /// conv2: C → C, kernel 3, stride 2, padding 1 (halves the frame rate to 50 Hz).
    static func conv2Geometry(width: Int) -> Conv1dGeometry {
        Conv1dGeometry(inChannels: width, outChannels: width, kernelSize: 3, stride: 2, padding: 1)
    }
}

extension WhisperModel.Linear {
    /// `y[rows, out] = x[rows, in] · Wᵀ + b`, or `y += …` with `accumulate` (fused residual add).
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        Kernels.linear(x: x, rows: rows, inFeatures: inFeatures, weight: weight.readOnly, bias: bias.readOnly,
                       outFeatures: outFeatures, y: y, accumulate: accumulate)
    }
}

extension WhisperModel.Norm {
    /// Layer norm of `rows` rows of width C (eps 1e-5, as Whisper's `nn.LayerNorm`); each row's mean and 1/σ are
    /// written to `mean` / `rstd` when given (for the backward).
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, width: Int, into y: UnsafeMutablePointer<Float>,
                        mean: UnsafeMutablePointer<Float>? = nil, rstd: UnsafeMutablePointer<Float>? = nil) {
        Kernels.layerNorm(x: x, rows: rows, features: width, gamma: gamma.readOnly, beta: beta.readOnly, eps: 1e-5, y: y,
                          mean: mean, rstd: rstd)
    }
}
