// Reverse-mode autodiff: a tape of nodes, appended in execution order, replayed backwards.
//
// Recording is opt-in: only tensors made by `Tape.watch` (and what is computed from them) are recorded. Ops check
// `Tape.active(...)` before building a backward closure, so code without a tape (inference) records and allocates
// nothing for autodiff. Backward closures capture storages, never `Tensor`s, so a tape does not keep itself alive.

/// A recording of tensor operations for reverse-mode differentiation.
public final class Tape {
    /// One recorded value: the inputs it was computed from and how to push its gradient back to them.
    struct Node {
        let shape: [Int]
        /// Node indices of the inputs (-1 for inputs that are constants).
        let inputs: [Int]
        /// Maps the gradient of this node to the gradients of `inputs` (nil entries: no gradient).
        let backward: ((Tensor) throws -> [Tensor?])?
        /// For `watch(_: Parameter)` leaves: where the gradient accumulates.
        let parameter: Parameter?
    }

    private(set) var nodes: [Node] = []

    /// Creates an empty tape.
    public init() {}

    /// Number of recorded nodes.
    public var count: Int { nodes.count }

    /// Starts recording `tensor` as a leaf (an input whose gradient `backward` returns). Shares its storage.
    public func watch(_ tensor: Tensor) -> Tensor {
        nodes.append(Node(shape: tensor.shape, inputs: [], backward: nil, parameter: nil))
        return Tensor(shape: tensor.shape, storage: tensor.storage, tape: self, node: nodes.count - 1)
    }

    /// Starts recording a parameter: the returned tensor views `parameter.value`, and `backward` adds its
    /// gradient into `parameter.grad` (accumulates: zero the gradients between steps).
    public func watch(_ parameter: Parameter) -> Tensor {
        nodes.append(Node(shape: parameter.shape, inputs: [], backward: nil, parameter: parameter))
        return Tensor(shape: parameter.shape, storage: parameter.tensor.storage, tape: self, node: nodes.count - 1)
    }

    /// The tape recording any of `inputs`, or nil when none is recorded (then ops skip all autodiff work).
    @inlinable
    public static func active(_ inputs: Tensor?...) -> Tape? {
        for input in inputs { if let tape = input?.tape { return tape } }
        return nil
    }

    /// The tape recording any of `inputs` (array form).
    public static func active(in inputs: [Tensor]) -> Tape? {
        for input in inputs { if let tape = input.tape { return tape } }
        return nil
    }

    /// Records `output` as computed from `inputs`; `backward` maps d(loss)/d(output) to one gradient per input.
    public func record(_ output: Tensor, inputs: [Tensor?], backward: @escaping (Tensor) throws -> [Tensor?]) -> Tensor {
        let indices = inputs.map { input -> Int in
            guard let input, input.tape === self else { return -1 }
            return input.nodeIndex
        }
        nodes.append(Node(shape: output.shape, inputs: indices, backward: backward, parameter: nil))
        return Tensor(shape: output.shape, storage: output.storage, tape: self, node: nodes.count - 1)
    }

    /// Back-propagates from `output` (seed: ones of its shape, or `seed`), accumulates parameter gradients into
    /// their `grad` buffers, and returns the gradients of every recorded tensor.
    public func backward(_ output: Tensor, seed: Tensor? = nil) throws -> Gradients {
        guard output.tape === self else {
            throw TensorError.invalidArgument("Tape.backward: the output was not recorded on this tape (watch an input or parameter first)")
        }
        if let seed, seed.shape != output.shape {
            throw TensorError.shapeMismatch("Tape.backward: seed \(seed.shape) vs output \(output.shape)")
        }
        var grads = [Tensor?](repeating: nil, count: nodes.count)
        grads[output.nodeIndex] = seed?.detached ?? Tensor(shape: output.shape, repeating: 1)
        for index in stride(from: output.nodeIndex, through: 0, by: -1) {
            guard let grad = grads[index] else { continue }
            let node = nodes[index]
            if let parameter = node.parameter {
                let g = parameter.grad
                for i in 0..<grad.count { g[i] += grad.storage.pointer[i] }
            }
            guard let backward = node.backward else { continue }
            let inputGrads = try backward(grad)
            for (input, inputGrad) in zip(node.inputs, inputGrads) where input >= 0 {
                guard let inputGrad else { continue }
                if let existing = grads[input] {
                    grads[input] = existing.adding(inputGrad)
                } else {
                    grads[input] = inputGrad
                }
            }
        }
        return Gradients(tape: self, grads: grads)
    }
}

/// The result of `Tape.backward`: the gradient of the output with respect to each recorded tensor.
public struct Gradients {
    let tape: Tape
    let grads: [Tensor?]

    /// d(output)/d(tensor), or nil when no gradient reached it (or it is not on this tape).
    public subscript(_ tensor: Tensor) -> Tensor? {
        guard tensor.tape === tape, tensor.nodeIndex >= 0, tensor.nodeIndex < grads.count else { return nil }
        return grads[tensor.nodeIndex]
    }
}

extension Tensor {
    /// Elementwise sum of two same-shape tensors, not recorded (gradient accumulation).
    func adding(_ other: Tensor) -> Tensor {
        let out = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: count))
        let a = storage.pointer, b = other.storage.pointer, o = out.storage.pointer
        for i in 0..<count { o[i] = a[i] + b[i] }
        return out
    }
}
