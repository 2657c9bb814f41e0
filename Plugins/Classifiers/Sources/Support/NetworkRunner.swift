import EmoLayers
import EmoCore

/// What a classifier needs around its `Sequential`: the training flag, the `[.array([B, C])]` → `[.array([B, Y])]`
/// calling convention, parameter export and state. Components hold one and adopt `NetworkClassifier`, which
/// forwards their protocol calls to it.
public final class NetworkRunner {
    /// The network.
    public let net: Sequential
    /// Component id for error messages.
    public let component: String
    /// Dropout active and batch statistics used (set by the host through `setTraining`).
    public var training = false
    private let storage: [ParameterStorage]

    /// Wraps `net` for `component`.
    public init(_ net: Sequential, component: String) {
        self.net = net
        self.component = component
        storage = net.parameters
    }

    /// One `[B, C]` float input → one `[B, Y]` output.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        guard inputs.count == 1, let x = inputs[0].array else {
            throw ComponentError.invalidInput(component: component,
                                              message: "expected one [B, \(net.inFeatures)] float array, got \(inputs.count) input(s)")
        }
        return [.array(try net.forward(x, training: training, component: component))]
    }

    /// d loss / d logits `[B, Y]` → d loss / d input `[B, C]`.
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        guard gradOutputs.count == 1 else {
            throw ComponentError.invalidInput(component: component, message: "backward expects one gradient, got \(gradOutputs.count)")
        }
        return [try net.backward(gradOutputs[0], component: component)]
    }

    /// The parameters as the host sees them.
    public var parameters: [ParameterBuffer] { storage.map(\.buffer) }

    /// Every parameter and buffer, by name, and where the dropout streams stand.
    public func saveState() -> [UInt8] { ParameterState.encode(storage, randomState: net.randomState) }

    /// Restores `saveState`'s bytes (a state without random streams leaves them where they are).
    public func loadState(_ bytes: [UInt8]) throws {
        let random = try ParameterState.decode(bytes, into: storage, component: component)
        if !random.isEmpty { net.randomState = random }
    }
}

/// A classifier that is one `NetworkRunner`: `forward`, `backward`, `parameters`, `setTraining`, `saveState` and
/// `loadState` come from the runner (MLP and logistic regression differ only in the network they build).
public protocol NetworkClassifier: AnyObject {
    /// The runner every component call goes to.
    var runner: NetworkRunner { get }
}

extension NetworkClassifier {
    /// `[.array([B, C])]` → `[.array([B, Y])]` logits.
    public func forward(_ inputs: [Value]) throws -> [Value] { try runner.forward(inputs) }
    /// d logits → d features; accumulates the parameter gradients (with each layer's L2).
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] { try runner.backward(gradOutputs) }
    /// Weights, biases, batch-norm γ/β and running statistics (buffers), in layer order.
    public var parameters: [ParameterBuffer] { runner.parameters }
    /// Dropout and batch statistics on (training) or off.
    public func setTraining(_ training: Bool) { runner.training = training }
    /// Every tensor by name (see `ParameterState`).
    public func saveState() throws -> [UInt8] { runner.saveState() }
    /// Restores `saveState`'s bytes; a state from another config is rejected naming the tensor.
    public func loadState(_ bytes: [UInt8]) throws { try runner.loadState(bytes) }
}
