import EmoCore

/// What a classifier needs around its `Sequential`: the training flag, the `[.array([B, D])]` → `[.array([B, K])]`
/// calling convention, parameter export and state. Components hold one and forward their protocol calls to it.
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

    /// One `[B, D]` float input → one `[B, K]` output.
    public func forward(_ inputs: [Value]) throws -> [Value] {
        guard inputs.count == 1, let x = inputs[0].array else {
            throw ComponentError.invalidInput(component: component,
                                              message: "expected one [B, \(net.inFeatures)] float array, got \(inputs.count) input(s)")
        }
        return [.array(try net.forward(x, training: training, component: component))]
    }

    /// d loss / d logits `[B, K]` → d loss / d input `[B, D]`.
    public func backward(_ gradOutputs: [NDArray]) throws -> [NDArray] {
        guard gradOutputs.count == 1 else {
            throw ComponentError.invalidInput(component: component, message: "backward expects one gradient, got \(gradOutputs.count)")
        }
        return [try net.backward(gradOutputs[0], component: component)]
    }

    /// The parameters as the host sees them.
    public var parameters: [ParameterBuffer] { storage.map(\.buffer) }

    /// Every parameter and buffer, by name.
    public func saveState() -> [UInt8] { ParameterState.encode(storage) }

    /// Restores `saveState`'s bytes.
    public func loadState(_ bytes: [UInt8]) throws { try ParameterState.decode(bytes, into: storage, component: component) }
}
