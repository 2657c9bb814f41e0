import EmoCore
import Foundation

/// A fully connected layer's weights `[out, in]` and bias `[out]` (PyTorch layout).
struct Dense {
    let weight: [Float]
    let bias: [Float]
    let inputs: Int
    let outputs: Int

    init(_ w: CaptumFixture.Tensor, _ b: CaptumFixture.Tensor) {
        weight = w.data
        bias = b.data
        outputs = w.shape[0]
        inputs = w.shape[1]
    }

    /// `W x + b` with double accumulation.
    func apply(_ x: ArraySlice<Float>) -> [Float] {
        let base = x.startIndex
        return (0..<outputs).map { o in
            var acc = Double(bias[o])
            for i in 0..<inputs { acc += Double(weight[o * inputs + i]) * Double(x[base + i]) }
            return Float(acc)
        }
    }
}

/// The fixture MLP in plain Swift: x [B, 60] (or [B, 6, 10]) → Linear(60, 32) → ReLU → Linear(32, 7).
struct ToyMLP: ExplainableModel {
    let fc1: Dense
    let fc2: Dense
    var numClasses: Int { fc2.outputs }
    var isDifferentiable: Bool { true }

    init(_ m: CaptumFixture.Model) throws {
        guard let w1 = m.weights["fc1.weight"], let b1 = m.weights["fc1.bias"],
              let w2 = m.weights["fc2.weight"], let b2 = m.weights["fc2.bias"] else {
            throw ShapeError(message: "fixture mlp lacks fc1/fc2 weights")
        }
        fc1 = Dense(w1, b1)
        fc2 = Dense(w2, b2)
    }

    func scores(_ inputs: NDArray) throws -> NDArray {
        let rows = inputs.shape[0], f = inputs.count / rows
        var out = [Float]()
        for b in 0..<rows {
            let pre = fc1.apply(inputs.data[(b * f)..<((b + 1) * f)])               // [32]
            out += fc2.apply(ArraySlice(pre.map { max($0, 0) }))                     // [7]
        }
        return try NDArray(shape: [rows, numClasses], data: out)
    }

    func gradient(_ inputs: NDArray, targets: [Int]) throws -> NDArray {
        let rows = inputs.shape[0], f = inputs.count / rows
        var grad = NDArray(zeros: inputs.shape)
        for b in 0..<rows {
            let pre = fc1.apply(inputs.data[(b * f)..<((b + 1) * f)])               // [32]
            let t = targets[b]
            for i in 0..<f {                                                          // W1ᵀ (W2[t] ⊙ relu')
                var acc = 0.0
                for h in 0..<fc1.outputs where pre[h] > 0 {
                    acc += Double(fc2.weight[t * fc2.inputs + h]) * Double(fc1.weight[h * fc1.inputs + i])
                }
                grad.data[b * f + i] = Float(acc)
            }
        }
        return grad
    }
}

/// The fixture conv toy in plain Swift: x [B, T] → Conv1d(1, 8, k 10, stride 5) → tanh → mean over frames
/// → Linear(8, 5).
struct ToyConv: ExplainableModel {
    let kernel: [Float]       // [C, 1, k]
    let convBias: [Float]     // [C]
    let channels: Int
    let width: Int
    let hop = 5
    let fc: Dense
    var numClasses: Int { fc.outputs }
    var isDifferentiable: Bool { true }

    init(_ m: CaptumFixture.Model) throws {
        guard let w = m.weights["conv.weight"], let b = m.weights["conv.bias"],
              let fw = m.weights["fc.weight"], let fb = m.weights["fc.bias"] else {
            throw ShapeError(message: "fixture conv lacks conv/fc weights")
        }
        kernel = w.data
        convBias = b.data
        channels = w.shape[0]
        width = w.shape[2]
        fc = Dense(fw, fb)
    }

    /// tanh activations `[C, T']` of one row.
    private func hidden(_ x: ArraySlice<Float>) -> (h: [Double], frames: Int) {
        let base = x.startIndex, frames = (x.count - width) / hop + 1
        var h = [Double](repeating: 0, count: channels * frames)
        for c in 0..<channels {
            for f in 0..<frames {
                var acc = Double(convBias[c])
                for k in 0..<width { acc += Double(kernel[c * width + k]) * Double(x[base + f * hop + k]) }
                h[c * frames + f] = Foundation.tanh(acc)
            }
        }
        return (h, frames)
    }

    func scores(_ inputs: NDArray) throws -> NDArray {
        let rows = inputs.shape[0], t = inputs.shape[1]
        var out = [Float]()
        for b in 0..<rows {
            let (h, frames) = hidden(inputs.data[(b * t)..<((b + 1) * t)])
            let pooled = (0..<channels).map { c in
                Float((0..<frames).reduce(0.0) { $0 + h[c * frames + $1] } / Double(frames))
            }
            out += fc.apply(ArraySlice(pooled))
        }
        return try NDArray(shape: [rows, numClasses], data: out)
    }

    func gradient(_ inputs: NDArray, targets: [Int]) throws -> NDArray {
        let rows = inputs.shape[0], t = inputs.shape[1]
        var grad = NDArray(zeros: inputs.shape)
        for b in 0..<rows {
            let (h, frames) = hidden(inputs.data[(b * t)..<((b + 1) * t)])
            var gx = [Double](repeating: 0, count: t)
            for c in 0..<channels {
                let gPooled = Double(fc.weight[targets[b] * fc.inputs + c]) / Double(frames)
                for f in 0..<frames {
                    let gPre = gPooled * (1 - h[c * frames + f] * h[c * frames + f])
                    for k in 0..<width { gx[f * hop + k] += gPre * Double(kernel[c * width + k]) }
                }
            }
            for i in 0..<t { grad.data[b * t + i] = Float(gx[i]) }
        }
        return grad
    }
}

/// Wraps a model and hides its gradient, as a chain with a black-box component looks to an explainer.
struct BlackBox: ExplainableModel {
    let inner: ExplainableModel
    var numClasses: Int { inner.numClasses }
    var isDifferentiable: Bool { false }
    func scores(_ inputs: NDArray) throws -> NDArray { try inner.scores(inputs) }
    func gradient(_ inputs: NDArray, targets: [Int]) throws -> NDArray {
        throw ComponentError.unsupported(component: "black-box", call: "gradient")
    }
}

/// Records the batch sizes a model is called with (to check the memory bound).
final class CallRecorder: ExplainableModel {
    let inner: ExplainableModel
    var batchElements: [Int] = []
    init(_ inner: ExplainableModel) { self.inner = inner }
    var numClasses: Int { inner.numClasses }
    var isDifferentiable: Bool { inner.isDifferentiable }
    func scores(_ inputs: NDArray) throws -> NDArray {
        batchElements.append(inputs.count)
        return try inner.scores(inputs)
    }
    func gradient(_ inputs: NDArray, targets: [Int]) throws -> NDArray {
        batchElements.append(inputs.count)
        return try inner.gradient(inputs, targets: targets)
    }
}
