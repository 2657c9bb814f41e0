import EmoModels
import Foundation

// Fine-tuning Whisper's encoder: its trainable weights under Hugging Face's names, what a run trains, the gradient
// buffers `encoderBackward` fills, and export / import of the encoder as a Hugging Face safetensors file.
//
// Dimension legend: docs/numerics.md. Used here: `M` mel bands, `T` encoder frames, `C` width, `F` feed-forward
// width, `L` layers.

extension WhisperModel {
    /// One trainable encoder tensor, named as Hugging Face's `WhisperForConditionalGeneration` names it
    /// (`model.encoder.layers.0.self_attn.q_proj.weight`, …).
    ///
    /// q, k and v are slices of the fused `[3C, C]` projection the forward runs (`q_proj` rows `0..<C`, `k_proj`
    /// `C..<2C`, `v_proj` `2C..<3C`); the fused bias's key third is the zeros Whisper's bias-less `k_proj` stands
    /// for and is no parameter. The conv weights are held packed channels-last, `[Cout, K, Cin]` (`shape` says so);
    /// `huggingFaceTensors` writes PyTorch's `[Cout, Cin, K]`.
    public struct Parameter {
        /// Hugging Face name.
        public let name: String
        /// Extent of each dimension, in the order the values are stored.
        public let shape: [Int]
        /// The storage this tensor is a slice of (owned by the model or a `WhisperEncoderGradients`).
        let buffer: FloatBuffer
        /// Where the slice starts in `buffer`.
        let offset: Int
        /// True for `conv1.weight` / `conv2.weight`: stored packed `[Cout, K, Cin]`.
        let isPackedConv: Bool
        /// The values (stable address for the owner's lifetime).
        public var value: UnsafeMutablePointer<Float> { buffer.pointer + offset }
        /// Number of values.
        public var count: Int { shape.reduce(1, *) }
    }

    /// Which encoder weights a fine-tuning run updates. The sinusoidal position table is never trained
    /// (transformers freezes it).
    public struct TrainableScope: Sendable, Equatable {
        /// Transformer layers trained, counted from the top (0 … L); the final layer norm is trained whenever
        /// `layers > 0`.
        public var layers: Int
        /// Whether the two convolutions (weights and biases) are trained.
        public var convolutions: Bool

        /// Creates a scope.
        public init(layers: Int, convolutions: Bool) {
            self.layers = layers
            self.convolutions = convolutions
        }
    }

    /// Floats the whole model holds (encoder, decoder and position tables): what `training_memory` counts as fixed.
    public var weightCount: Int {
        func linear(_ l: Linear) -> Int { l.weight.count + l.bias.count }
        func norm(_ n: Norm) -> Int { n.gamma.count + n.beta.count }
        let encoder = encoderParameters.reduce(0) { $0 + $1.count } + encoderPositions.count
            + encoderLayers.reduce(0) { $0 + $1.qkv.bias.count / 3 }  // the key bias zeros
        let decoder = tokenEmbeddings.count + decoderPositions.count + norm(decoderNorm) + decoderLayers.reduce(0) { sum, l in
            sum + norm(l.selfNorm) + linear(l.selfQKV) + linear(l.selfOut) + norm(l.crossNorm) + linear(l.crossQ)
                + linear(l.crossKV) + linear(l.crossOut) + norm(l.ffnNorm) + linear(l.ffnIn) + linear(l.ffnOut)
        }
        return encoder + decoder
    }

    /// Hugging Face's prefix of the encoder's tensors in a `WhisperForConditionalGeneration` checkpoint.
    public static let encoderPrefix = "model.encoder."

    /// Every trainable encoder weight in a fixed order: conv1, conv2, then per layer the attention (q, k, v, out),
    /// its norm, fc1, fc2 and their norm, then the final layer norm (weights before biases).
    public var encoderParameters: [Parameter] {
        Self.parameterList(conv: (conv1, conv1Bias, conv2, conv2Bias), layers: encoderLayers, norm: encoderNorm,
                           mels: melCount, width: width)
    }

    /// The weights `scope` covers, in `encoderParameters`' order.
    public func encoderParameters(in scope: TrainableScope) -> [Parameter] {
        encoderParameters.filter { Self.isCovered($0.name, by: scope, layers: encoderLayers.count) }
    }

    /// True when parameter `name` belongs to `scope`.
    static func isCovered(_ name: String, by scope: TrainableScope, layers: Int) -> Bool {
        let local = name.dropFirst(encoderPrefix.count)
        if local.hasPrefix("conv") { return scope.convolutions }
        if local.hasPrefix("layer_norm.") { return scope.layers > 0 }
        let index = local.split(separator: ".").dropFirst().first.flatMap { Int($0) } ?? -1
        return index >= layers - scope.layers
    }

    /// The list behind `encoderParameters` (and `WhisperEncoderGradients.parameters`, which has the same layout).
    static func parameterList(conv: (FloatBuffer, FloatBuffer, FloatBuffer, FloatBuffer), layers: [EncoderLayer],
                              norm: Norm, mels m: Int, width c: Int) -> [Parameter] {
        let p = encoderPrefix
        func tensor(_ name: String, _ shape: [Int], _ buffer: FloatBuffer, offset: Int = 0, packed: Bool = false) -> Parameter {
            Parameter(name: p + name, shape: shape, buffer: buffer, offset: offset, isPackedConv: packed)
        }
        var out = [tensor("conv1.weight", [c, 3, m], conv.0, packed: true), tensor("conv1.bias", [c], conv.1),
                   tensor("conv2.weight", [c, 3, c], conv.2, packed: true), tensor("conv2.bias", [c], conv.3)]
        for (i, l) in layers.enumerated() {
            let a = "layers.\(i).self_attn.", f = l.ffnIn.outFeatures
            out += [
                tensor(a + "q_proj.weight", [c, c], l.qkv.weight),
                tensor(a + "q_proj.bias", [c], l.qkv.bias),
                tensor(a + "k_proj.weight", [c, c], l.qkv.weight, offset: c * c),
                tensor(a + "v_proj.weight", [c, c], l.qkv.weight, offset: 2 * c * c),
                tensor(a + "v_proj.bias", [c], l.qkv.bias, offset: 2 * c),
                tensor(a + "out_proj.weight", [c, c], l.attnOut.weight),
                tensor(a + "out_proj.bias", [c], l.attnOut.bias),
                tensor("layers.\(i).self_attn_layer_norm.weight", [c], l.attnNorm.gamma),
                tensor("layers.\(i).self_attn_layer_norm.bias", [c], l.attnNorm.beta),
                tensor("layers.\(i).fc1.weight", [f, c], l.ffnIn.weight),
                tensor("layers.\(i).fc1.bias", [f], l.ffnIn.bias),
                tensor("layers.\(i).fc2.weight", [c, f], l.ffnOut.weight),
                tensor("layers.\(i).fc2.bias", [c], l.ffnOut.bias),
                tensor("layers.\(i).final_layer_norm.weight", [c], l.ffnNorm.gamma),
                tensor("layers.\(i).final_layer_norm.bias", [c], l.ffnNorm.beta),
            ]
        }
        out += [tensor("layer_norm.weight", [c], norm.gamma), tensor("layer_norm.bias", [c], norm.beta)]
        return out
    }

    /// `parameters`' values as Hugging Face stores them (conv weights unpacked to PyTorch's `[Cout, Cin, K]`).
    static func huggingFaceTensors(_ parameters: [Parameter]) -> [(name: String, shape: [Int], values: [Float])] {
        parameters.map { p in
            let values = Array(UnsafeBufferPointer(start: p.value, count: p.count))
            guard p.isPackedConv else { return (p.name, p.shape, values) }
            let (cout, k, cin) = (p.shape[0], p.shape[1], p.shape[2])
            var torch = [Float](repeating: 0, count: values.count)  // [Cout, Cin, K]
            for o in 0..<cout { for i in 0..<cin { for j in 0..<k { torch[(o * cin + i) * k + j] = values[(o * k + j) * cin + i] } } }
            return (p.name, [cout, cin, k], torch)
        }
    }

    /// The encoder's tensors under Hugging Face's `WhisperForConditionalGeneration` names (`model.encoder.…`):
    /// every trainable weight, plus the (frozen) `embed_positions.weight` `[1500, C]`, so the file is a complete
    /// encoder; no `k_proj.bias` (Whisper has none). The decoder is not exported.
    public func encoderHuggingFaceTensors() -> [(name: String, shape: [Int], values: [Float])] {
        Self.huggingFaceTensors(encoderParameters)
            + [(Self.encoderPrefix + "embed_positions.weight", [encoderFrames, width],
                Array(UnsafeBufferPointer(start: encoderPositions.readOnly, count: encoderFrames * width)))]
    }

    /// `encoderHuggingFaceTensors` as a safetensors file (`format: pt`; `EncoderState`).
    public func encoderSafetensors() -> [UInt8] { EncoderState.serialized(encoderHuggingFaceTensors()) }

    /// Overwrites the encoder's weights with the tensors of `archive` (`encoderSafetensors`' file, or any
    /// `WhisperForConditionalGeneration` / `WhisperModel` checkpoint of the same size: `model.encoder.` or
    /// `encoder.` prefix). Every trainable weight must be present with its shape and finite, else nothing changes;
    /// `embed_positions.weight` is taken when present.
    public func loadEncoder(weights archive: any TensorArchive) throws {
        let prefix = archive.shape(of: Self.encoderPrefix + "conv1.weight") != nil ? Self.encoderPrefix : "encoder."
        var staged: [(Parameter, [Float])] = []
        func read(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let found = archive.shape(of: name) else { throw CheckpointError.missingTensor(path: archive.path, name: name) }
            guard found == shape else { throw CheckpointError.wrongShape(path: archive.path, name: name, expected: shape, found: found) }
            let values = try archive.floats(name)
            try CheckpointError.requireFinite(values, path: archive.path, name: name)
            return values
        }
        for p in encoderParameters {
            let name = prefix + p.name.dropFirst(Self.encoderPrefix.count)
            if p.isPackedConv {
                let (cout, k, cin) = (p.shape[0], p.shape[1], p.shape[2])
                let torch = try read(name, [cout, cin, k])
                var packed = [Float](repeating: 0, count: torch.count)
                for o in 0..<cout { for i in 0..<cin { for j in 0..<k { packed[(o * k + j) * cin + i] = torch[(o * cin + i) * k + j] } } }
                staged.append((p, packed))
            } else {
                staged.append((p, try read(name, p.shape)))
            }
        }
        let positionsName = prefix + "embed_positions.weight"
        let positions = archive.shape(of: positionsName) == nil ? nil : try read(positionsName, [encoderFrames, width])
        for (p, values) in staged { values.withUnsafeBufferPointer { if let s = $0.baseAddress { p.value.update(from: s, count: p.count) } } }
        positions?.withUnsafeBufferPointer { if let s = $0.baseAddress { encoderPositions.pointer.update(from: s, count: encoderFrames * width) } }
    }
}

/// d loss / d encoder weights of a Whisper fine-tuning run, in the model's own layout (`EncoderLayer` holds
/// gradients here; the fused q|k|v bias's key third collects rounding noise around its analytic zero and is no
/// parameter). Only the weights in `scope` have buffers that `encoderBackward` fills; the others are zero-sized.
/// `encoderBackward` adds into them: zero them between steps.
public final class WhisperEncoderGradients {
    /// What is trained.
    public let scope: WhisperModel.TrainableScope
    /// conv1 `[C, 3, M]` (packed), its bias `[C]`, conv2 `[C, 3, C]` (packed), its bias `[C]`.
    let conv1: FloatBuffer, conv1Bias: FloatBuffer, conv2: FloatBuffer, conv2Bias: FloatBuffer
    /// One entry per layer; layers below the scope hold empty buffers.
    let layers: [WhisperModel.EncoderLayer]
    /// The final layer norm.
    let norm: WhisperModel.Norm
    private let mels: Int, width: Int, layerCount: Int

    /// Zero gradients for `scope`'s weights of `model`.
    init(model: WhisperModel, scope: WhisperModel.TrainableScope) {
        self.scope = scope
        let c = model.width, m = model.melCount
        mels = m
        width = c
        layerCount = model.encoderLayers.count
        func zeros(_ n: Int, _ live: Bool) -> FloatBuffer { FloatBuffer(zeros: live ? n : 0) }
        conv1 = zeros(c * 3 * m, scope.convolutions)
        conv1Bias = zeros(c, scope.convolutions)
        conv2 = zeros(c * 3 * c, scope.convolutions)
        conv2Bias = zeros(c, scope.convolutions)
        let first = layerCount - scope.layers
        layers = model.encoderLayers.enumerated().map { i, w in
            let live = i >= first
            func linear(_ l: WhisperModel.Linear) -> WhisperModel.Linear {
                .init(weight: zeros(l.outFeatures * l.inFeatures, live), bias: zeros(l.outFeatures, live),
                      inFeatures: l.inFeatures, outFeatures: l.outFeatures)
            }
            func norm() -> WhisperModel.Norm { .init(gamma: zeros(c, live), beta: zeros(c, live)) }
            return .init(attnNorm: norm(), qkv: linear(w.qkv), attnOut: linear(w.attnOut), ffnNorm: norm(),
                         ffnIn: linear(w.ffnIn), ffnOut: linear(w.ffnOut))
        }
        norm = .init(gamma: zeros(c, scope.layers > 0), beta: zeros(c, scope.layers > 0))
    }

    /// Index of the lowest trained layer (L when none is).
    var firstLayer: Int { layerCount - scope.layers }

    /// The gradient buffers of the trained weights, in `WhisperModel.encoderParameters(in: scope)`'s order.
    public var parameters: [WhisperModel.Parameter] {
        WhisperModel.parameterList(conv: (conv1, conv1Bias, conv2, conv2Bias), layers: layers, norm: norm,
                                   mels: mels, width: width)
            .filter { WhisperModel.isCovered($0.name, by: scope, layers: layerCount) }
    }

    /// The gradients under Hugging Face's names and layouts (conv weights `[Cout, Cin, K]`).
    public func huggingFaceTensors() -> [(name: String, shape: [Int], values: [Float])] {
        WhisperModel.huggingFaceTensors(parameters)
    }

    /// Sets every gradient to zero (the key bias third included).
    public func zero() {
        for buffer in [conv1, conv1Bias, conv2, conv2Bias, norm.gamma, norm.beta] { buffer.pointer.update(repeating: 0, count: buffer.count) }
        for l in layers {
            for buffer in [l.attnNorm.gamma, l.attnNorm.beta, l.qkv.weight, l.qkv.bias, l.attnOut.weight, l.attnOut.bias,
                           l.ffnNorm.gamma, l.ffnNorm.beta, l.ffnIn.weight, l.ffnIn.bias, l.ffnOut.weight, l.ffnOut.bias] {
                buffer.pointer.update(repeating: 0, count: buffer.count)
            }
        }
    }
}

extension WhisperModel {
    /// Zero-initialised gradient buffers for `scope`'s encoder weights.
    public func makeEncoderGradients(for scope: TrainableScope) -> WhisperEncoderGradients {
        WhisperEncoderGradients(model: self, scope: scope)
    }
}
