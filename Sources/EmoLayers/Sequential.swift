import EmoCore
import EmoTensor

/// Layers applied in order, like PyTorch's `nn.Sequential`: parameter names are `prefix.<index>.<name>`, so a
/// network built the same way in PyTorch has the same state_dict keys.
public final class Sequential {
    /// The layers, first to last.
    public let layers: [Layer]
    /// Width of each input row.
    public let inFeatures: Int
    /// Width of each output row.
    public let outFeatures: Int
    private let input = FloatBuffer()  // [B, inFeatures]: a copy of the caller's input, alive until backward
    private var lastBatch = 0

    /// Chains `layers` (each one's input width must equal the previous one's output width) and names their
    /// parameters `prefix.<index>.<name>`.
    public init(_ layers: [Layer], inFeatures: Int, prefix: String) {
        self.layers = layers
        self.inFeatures = inFeatures
        self.outFeatures = layers.last?.outFeatures ?? inFeatures
        for (i, layer) in layers.enumerated() { layer.setNamePrefix(prefix.isEmpty ? "\(i)" : "\(prefix).\(i)") }
    }

    /// Every layer's parameters in order.
    public var parameters: [ParameterStorage] { layers.flatMap(\.parameters) }

    /// The random streams of several networks, concatenated in order (a component's part of its saved state).
    public static func randomState(of nets: [Sequential]) -> [UInt64] { nets.flatMap(\.randomState) }

    /// Hands `state` (from `randomState(of:)` over the same networks) back to `nets`, in order.
    public static func setRandomState(_ state: [UInt64], of nets: [Sequential]) {
        var offset = 0
        for net in nets {
            let n = net.randomState.count
            guard offset + n <= state.count else { return }
            net.randomState = Array(state[offset..<(offset + n)])
            offset += n
        }
    }

    /// Every layer's random stream (dropout masks), concatenated in layer order.
    public var randomState: [UInt64] {
        get { layers.flatMap(\.randomState) }
        set {
            var offset = 0
            for layer in layers {
                let n = layer.randomState.count
                guard n > 0, offset + n <= newValue.count else { continue }
                layer.randomState = Array(newValue[offset..<(offset + n)])
                offset += n
            }
        }
    }

    /// Runs the chain on `x` `[B, inFeatures]` (copied); returns `[B, outFeatures]` owned by the last layer.
    public func forward(_ x: UnsafePointer<Float>, batch: Int, training: Bool) throws -> UnsafePointer<Float> {
        let n = batch * inFeatures
        let own = input.reserve(n)
        own.update(from: x, count: n)
        var h = UnsafePointer(own)
        for layer in layers { h = try layer.forward(h, batch: batch, training: training) }
        lastBatch = batch
        return h
    }

    /// Backward through every layer in reverse; returns dx `[B, inFeatures]`.
    public func backward(_ dy: UnsafePointer<Float>, batch: Int) throws -> UnsafePointer<Float> {
        var g = dy
        for layer in layers.reversed() { g = try layer.backward(g, batch: batch) }
        return g
    }

    /// `forward` on an `NDArray` `[B, inFeatures]`, returning a copy `[B, outFeatures]`.
    public func forward(_ x: NDArray, training: Bool, component: String) throws -> NDArray {
        guard x.rank == 2, x.shape[1] == inFeatures else {
            throw ComponentError.invalidInput(component: component, message: "expected a [B, \(inFeatures)] float array, got shape \(x.shape)")
        }
        let b = x.shape[0]
        var out = NDArray(zeros: [b, outFeatures])
        guard b > 0 else { return out }
        let y = try x.data.withUnsafeBufferPointer { p in
            try forward(try base(p, component), batch: b, training: training)
        }
        out.data.withUnsafeMutableBufferPointer { $0.baseAddress?.update(from: y, count: b * outFeatures) }
        return out
    }

    /// `backward` on an `NDArray` `[B, outFeatures]`, returning a copy of dx `[B, inFeatures]`.
    public func backward(_ dy: NDArray, component: String) throws -> NDArray {
        guard dy.rank == 2, dy.shape[1] == outFeatures, dy.shape[0] == lastBatch else {
            throw ComponentError.invalidInput(component: component,
                                message: "backward expected a [\(lastBatch), \(outFeatures)] gradient (after a forward of \(lastBatch) rows), got shape \(dy.shape)")
        }
        let b = dy.shape[0]
        var out = NDArray(zeros: [b, inFeatures])
        guard b > 0 else { return out }
        let dx = try dy.data.withUnsafeBufferPointer { p in
            try backward(try base(p, component), batch: b)
        }
        out.data.withUnsafeMutableBufferPointer { $0.baseAddress?.update(from: dx, count: b * inFeatures) }
        return out
    }

    /// A multilayer perceptron: for each hidden width `Linear → [BatchNorm1d] → activation → [Dropout]` (or
    /// `Linear → activation → BatchNorm1d → [Dropout]` with `normAfterActivation`, the Keras habit), then an
    /// optional output `Linear` (no activation: logits). Weights are drawn from one generator seeded with
    /// `seed`, layer by layer; each dropout layer gets its own mask stream derived from `seed`.
    ///
    /// - Parameters:
    ///   - dropout: one probability per hidden layer (0 = no dropout layer).
    ///   - l2: one L2 coefficient per Linear layer, hidden layers first then the output layer.
    public static func mlp(inFeatures: Int, hidden: [Int], batchNorm: Bool, normAfterActivation: Bool = false,
                           dropout: [Float], l2: [Float], activation: ActivationLayer.Kind = .relu, output: Int?,
                           seed: UInt64, prefix: String) -> Sequential {
        var generator = SeededGenerator(seed: seed)
        var layers: [Layer] = []
        var width = inFeatures
        for (i, h) in hidden.enumerated() {
            layers.append(LinearLayer(width, h, l2: i < l2.count ? l2[i] : 0, generator: &generator))
            if batchNorm && !normAfterActivation { layers.append(BatchNormLayer(h)) }
            layers.append(ActivationLayer(activation, features: h))
            if batchNorm && normAfterActivation { layers.append(BatchNormLayer(h)) }
            let p = i < dropout.count ? dropout[i] : 0
            if p > 0 { layers.append(DropoutLayer(p, features: h, seed: seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(i + 1))) }
            width = h
        }
        if let output {
            let l = hidden.count < l2.count ? l2[hidden.count] : 0
            layers.append(LinearLayer(width, output, l2: l, generator: &generator))
        }
        return Sequential(layers, inFeatures: inFeatures, prefix: prefix)
    }
}

/// The base address of a buffer the caller knows is non-empty.
public func base(_ p: UnsafeBufferPointer<Float>, _ component: String) throws -> UnsafePointer<Float> {
    guard let a = p.baseAddress else {
        throw ComponentError.invalidInput(component: component, message: "empty array where rows were expected")
    }
    return a
}

/// Where batch norm sits in a hidden layer of `Sequential.mlp`: before the activation (Linear → BN → ReLU, the
/// PyTorch habit) or after it (Linear → ReLU → BN, the Keras habit).
public enum BatchNormPosition: String, CaseIterable, Sendable {
    /// Linear → BN → activation.
    case beforeActivation = "before-activation"
    /// Linear → activation → BN.
    case afterActivation = "after-activation"
}
