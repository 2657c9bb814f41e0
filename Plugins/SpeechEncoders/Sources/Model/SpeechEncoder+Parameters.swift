import EmoModels
import EmoTensor
import Foundation

/// Every weight tensor of a speech encoder under its Hugging Face name (without the `wav2vec2.` / `hubert.` /
/// `wavlm.` prefix of task models), in checkpoint order, at addresses that never move.
///
/// Storage is a list of blocks allocated once; a tensor is a view into one block. Most blocks hold one tensor;
/// a layer's q, k and v projections share one (`[3C, C]` weights, `[3C]` biases), so the forward projects all three
/// with one GEMM while each keeps its own name and shape. Gradients (`SpeechEncoder.Gradients`) mirror the blocks.
final class ParameterStore: @unchecked Sendable {
    /// One named tensor: a view of `count` floats at `pointer` inside block `block`.
    struct Tensor {
        /// Hugging Face name.
        let name: String
        /// Extent of each dimension (the checkpoint's).
        let shape: [Int]
        /// First value.
        let pointer: UnsafeMutablePointer<Float>
        /// Number of values.
        let count: Int
        /// Index of the block holding it, and its offset there.
        let block: Int, offset: Int
    }

    /// The allocations (base, float count).
    private(set) var blocks: [(base: UnsafeMutablePointer<Float>, count: Int)] = []
    /// Every tensor, in the order added (the checkpoint's order for a loaded model).
    private(set) var tensors: [Tensor] = []

    /// Adds one tensor in a block of its own and returns its storage.
    @discardableResult
    func add(_ name: String, shape: [Int], values: [Float]) -> UnsafeMutablePointer<Float> {
        addBlock([(name, shape, values)])
    }

    /// Adds `parts` back to back in one block and returns the block's start (the first part's storage).
    @discardableResult
    func addBlock(_ parts: [(name: String, shape: [Int], values: [Float])]) -> UnsafeMutablePointer<Float> {
        let total = parts.reduce(0) { $0 + $1.values.count }
        let base = UnsafeMutablePointer<Float>.allocate(capacity: max(total, 1))
        base.initialize(repeating: 0, count: max(total, 1))
        var offset = 0
        for part in parts {
            part.values.withUnsafeBufferPointer { src in
                if let s = src.baseAddress { (base + offset).update(from: s, count: part.values.count) }
            }
            tensors.append(Tensor(name: part.name, shape: part.shape, pointer: base + offset, count: part.values.count,
                                  block: blocks.count, offset: offset))
            offset += part.values.count
        }
        blocks.append((base, total))
        return base
    }

    /// The tensor named `name`, if any.
    func tensor(named name: String) -> Tensor? { tensors.first { $0.name == name } }

    deinit { for b in blocks { b.base.deallocate() } }
}

extension SpeechEncoder {
    /// One weight tensor as the public API shows it: Hugging Face name, shape, and its values' stable address.
    public struct Parameter {
        /// Hugging Face name (no task-model prefix).
        public let name: String
        /// Extent of each dimension, as in the checkpoint (conv weights `[C_out, C_in, K]`).
        public let shape: [Int]
        /// The values (owned by the encoder, fixed address for its lifetime).
        public let value: UnsafeMutablePointer<Float>
        /// Number of values.
        public let count: Int
    }

    /// Which weights a fine-tuning run updates.
    ///
    /// Groups: the conv feature encoder (`feature_extractor.*`), the front end above it (`feature_projection.*`,
    /// `encoder.pos_conv_embed.*`, and `encoder.layer_norm.*` of post-LN layouts, which sits below the first
    /// layer), and the transformer layers counted from the top. A pre-LN layout's `encoder.layer_norm` sits above
    /// the last layer and is trained whenever any layer is. WavLM's shared `rel_attn_embed` belongs to layer 0
    /// (its gradient gathers the bias's use in every layer). `masked_spec_embed` (SpecAugment's replacement frame)
    /// belongs to the front end, as `transformers` trains it.
    public struct TrainableScope: Sendable, Equatable {
        /// Transformer layers trained, counted from the top (0 … L).
        public var layers: Int
        /// Whether the feature projection, the positional conv and (post-LN) the encoder layer norm are trained.
        public var frontEnd: Bool
        /// Whether the conv feature encoder is trained (false: Hugging Face's `freeze_feature_encoder()`).
        public var featureEncoder: Bool

        /// Every weight above the conv feature encoder, and the conv feature encoder too unless
        /// `freezeFeatureEncoder` (Hugging Face's usual fine-tuning freezes it).
        public static func all(_ config: SpeechEncoderConfig, freezeFeatureEncoder: Bool = true) -> TrainableScope {
            TrainableScope(layers: config.numLayers, frontEnd: true, featureEncoder: !freezeFeatureEncoder)
        }

        /// The top `k` transformer layers only (and a pre-LN layout's final `encoder.layer_norm`).
        public static func top(_ k: Int) -> TrainableScope { TrainableScope(layers: k, frontEnd: false, featureEncoder: false) }

        /// Creates a scope.
        public init(layers: Int, frontEnd: Bool, featureEncoder: Bool) {
            self.layers = layers
            self.frontEnd = frontEnd
            self.featureEncoder = featureEncoder
        }

        /// True when parameter `name` (Hugging Face, no prefix) is trained under this scope in a model of `config`.
        public func covers(_ name: String, config: SpeechEncoderConfig) -> Bool {
            if name.hasPrefix("feature_extractor.") { return featureEncoder }
            if name.hasPrefix("encoder.layers.") {
                let index = name.split(separator: ".").dropFirst(2).first.flatMap { Int($0) } ?? -1
                return index >= config.numLayers - layers
            }
            if name.hasPrefix("encoder.layer_norm.") { return config.stableLayerNorm ? layers > 0 : frontEnd }
            return frontEnd
        }
    }

    /// Every weight tensor in checkpoint order, under Hugging Face's names (`masked_spec_embed` included when the
    /// checkpoint had it).
    public var parameters: [Parameter] {
        parameterStore.tensors.map { Parameter(name: $0.name, shape: $0.shape, value: $0.pointer, count: $0.count) }
    }

    /// The weights `scope` trains, in `parameters`' order.
    public func parameters(in scope: TrainableScope) -> [Parameter] {
        parameters.filter { scope.covers($0.name, config: config) }
    }

    /// Zero-initialised gradient buffers for `scope`'s weights.
    public func makeGradients(for scope: TrainableScope) -> Gradients { Gradients(store: parameterStore, scope: scope, config: config) }

    /// d loss / d weight for the weights of one `TrainableScope`, laid out as the weights are (q|k|v blocks
    /// included); `backward(..., gradients:)` adds into them (zero them between steps with `zero()`).
    public final class Gradients: @unchecked Sendable {
        /// What is trained.
        public let scope: TrainableScope
        /// The gradient of each trained tensor, by the address of its value (what the backward looks up).
        private var byValue: [UnsafeMutablePointer<Float>: UnsafeMutablePointer<Float>] = [:]
        /// The trained tensors with their gradients, in parameter order.
        private(set) var entries: [(tensor: ParameterStore.Tensor, grad: UnsafeMutablePointer<Float>)] = []
        private var blocks: [(base: UnsafeMutablePointer<Float>, count: Int)] = []
        /// Index of the lowest trained transformer layer (L when none).
        let firstLayer: Int

        init(store: ParameterStore, scope: TrainableScope, config: SpeechEncoderConfig) {
            self.scope = scope
            firstLayer = config.numLayers - scope.layers
            var blockGrad: [Int: UnsafeMutablePointer<Float>] = [:]
            for t in store.tensors where scope.covers(t.name, config: config) {
                let base: UnsafeMutablePointer<Float>
                if let b = blockGrad[t.block] {
                    base = b
                } else {
                    let n = store.blocks[t.block].count
                    base = .allocate(capacity: max(n, 1))
                    base.initialize(repeating: 0, count: max(n, 1))
                    blocks.append((base, n))
                    blockGrad[t.block] = base
                }
                byValue[t.pointer] = base + t.offset
                entries.append((t, base + t.offset))
            }
        }

        deinit { for b in blocks { b.base.deallocate() } }

        /// The gradient buffer of the weight stored at `value` (nil: not trained, or no weight).
        func of(_ value: UnsafeMutablePointer<Float>?) -> UnsafeMutablePointer<Float>? {
            value.flatMap { byValue[$0] }
        }

        /// The trained weights' gradients as `Parameter`s (name, shape, gradient address), in parameter order.
        public var parameters: [Parameter] {
            entries.map { Parameter(name: $0.tensor.name, shape: $0.tensor.shape, value: $0.grad, count: $0.tensor.count) }
        }

        /// Sets every gradient to zero.
        public func zero() { for b in blocks { b.base.update(repeating: 0, count: b.count) } }
    }

    // MARK: - Derived weights

    /// Re-derives what the kernels read from the trained tensors: the conv layers' taps-major copies and Winograd
    /// weights, the positional conv's weight (weight norm applied, taps-major; its FFT spectra are rebuilt on next
    /// use). Call after the weights changed (an optimiser step, `load(weights:)`): training-mode forwards and
    /// `setTraining(false)` of the component do. Split-batch clones are dropped (they hold copies).
    public func refreshDerivedWeights() { refreshDerivedWeights(convLayers: true, positional: true) }

    /// Recomputes `layer.weight` (taps-major), its bias copy and its Winograd weights from `layer.source` and
    /// `layer.biasSource`.
    static func refresh(_ layer: inout ConvLayer) {
        guard let source = layer.source else { return }
        let src = Array(UnsafeBufferPointer(start: source, count: layer.cout * layer.cin * layer.kernel))
        layer.weight = tapsMajor(src, cout: layer.cout, cin: layer.cin, k: layer.kernel)
        layer.bias = layer.biasSource.map { Array(UnsafeBufferPointer(start: $0, count: layer.cout)) }
        layer.winograd = WinogradWeights(kernel: layer.kernel, stride: layer.stride, inChannels: layer.cin, outChannels: layer.cout,
                                         packedWeight: layer.weight, bias: layer.bias)
    }

    /// The positional conv's effective weight `[C, K, C/G]` (taps-major) from how the checkpoint stores it.
    static func positionalWeightTapsMajor(_ w: PositionalWeight, channels c: Int, groupWidth cg: Int, kernel kp: Int) -> [Float] {
        switch w {
        case .plain(let p):
            return tapsMajor(Array(UnsafeBufferPointer(start: p, count: c * cg * kp)), cout: c, cin: cg, k: kp)
        case .normalized(let g, let v):
            var posW = Array(UnsafeBufferPointer(start: v, count: c * cg * kp))
            for t in 0..<kp {
                var ss: Float = 0
                for o in 0..<c { for i in 0..<cg { let x = posW[(o * cg + i) * kp + t]; ss += x * x } }
                let scale = g[t] / ss.squareRoot()
                for o in 0..<c { for i in 0..<cg { posW[(o * cg + i) * kp + t] *= scale } }
            }
            return tapsMajor(posW, cout: c, cin: cg, k: kp)
        }
    }

    // MARK: - Saving and loading

    /// Every weight under the checkpoint's own names (its prefix included) with its shape and values: what
    /// `safetensors()` writes, so `transformers` (or this class) loads the trained encoder back with the original
    /// config.json.
    public func huggingFaceTensors() -> [(name: String, shape: [Int], values: [Float])] {
        huggingFaceViews().map { ($0.name, $0.shape, Array($0.values)) }
    }

    /// The same tensors read in place from the parameter store (stable addresses).
    func huggingFaceViews() -> [TensorView] {
        parameterStore.tensors.map {
            TensorView(name: checkpointPrefix + $0.name, shape: $0.shape, values: UnsafeBufferPointer(start: $0.pointer, count: $0.count))
        }
    }

    /// A safetensors file of every weight under the checkpoint's names (a task model's heads are not part of the
    /// encoder and are not written).
    /// With `randomState`, the training stream's state goes into the metadata (`EncoderState`).
    public func safetensors(randomState: [UInt64]? = nil) -> [UInt8] {
        // Read in place: no copy of the weights besides the file.
        EncoderState.serialized(views: huggingFaceViews(), randomState: randomState)
    }

    /// `safetensors(randomState:)` laid out for writing into memory the caller owns.
    public func safetensorsPlan(randomState: [UInt64]? = nil) -> SafeTensorsWriter.F32Plan {
        EncoderState.plan(views: huggingFaceViews(), randomState: randomState)
    }

    /// Overwrites every weight with the tensors of `archive` (a file `safetensors()` wrote, or any checkpoint of the
    /// same architecture stored the same way): names and shapes are checked, nothing changes unless all are present
    /// and finite. Derived weights are refreshed.
    public func load(weights archive: any TensorArchive) throws {
        let other = try SpeechEncoder(config: config, preprocessor: preprocessor, file: archive)
        let theirs = Dictionary(other.parameterStore.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for mine in parameterStore.tensors {
            guard let t = theirs[mine.name], t.count == mine.count else {
                throw CheckpointError.missingTensor(path: archive.path, name: mine.name)
            }
        }
        for mine in parameterStore.tensors {
            if let t = theirs[mine.name] { mine.pointer.update(from: t.pointer, count: mine.count) }
        }
        withExtendedLifetime(other) {}
        refreshDerivedWeights()
    }
}
