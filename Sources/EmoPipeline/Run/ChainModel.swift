import EmoCore
import EmoRuntime

/// A trained fusion + classifier chain seen as an `ExplainableModel` over scaled feature rows `[B, ΣC_g]`.
///
/// Scores are the softmax probabilities (`output: .probabilities`, Captum's usual target for a classifier
/// wrapped in `softmax`) or the raw logits. Gradients come from the chain's backward, through the plugin ABI,
/// so any chain whose components implement backward can be explained with Integrated Gradients.
public final class ChainModel: ExplainableModel {
    /// What the scores are.
    public enum Output: String, Sendable {
        /// Softmax probabilities.
        case probabilities
        /// Raw logits.
        case logits
    }

    private let chain: TrainingChain
    private let layout: FeatureLayout
    /// K.
    public let numClasses: Int
    /// What the scores are.
    public let output: Output

    /// Wraps `chain` (put in evaluation mode) over columns laid out as `layout`.
    public init(chain: TrainingChain, layout: FeatureLayout, classes: Int, output: Output = .probabilities) {
        self.chain = chain
        self.layout = layout
        self.numClasses = classes
        self.output = output
        chain.setTraining(false)
    }

    /// True when every component of the chain implements backward.
    public var isDifferentiable: Bool {
        allDifferentiable(chain.components)
    }

    /// Scores `[B, K]`.
    public func scores(_ inputs: NDArray) throws -> NDArray {
        let logits = try chain.forward(splitColumns(inputs, layout: layout))
        return output == .probabilities ? softmaxRows(logits) : logits
    }

    /// d score[b, targets[b]] / d inputs `[B, ΣC_g]`.
    public func gradient(_ inputs: NDArray, targets: [Int]) throws -> NDArray {
        let logits = try chain.forward(splitColumns(inputs, layout: layout))
        let b = logits.shape[0]
        let dLogits = scoreGradient(logits: logits, targets: targets, output: output)  // [B, K]
        let groups = try chain.backward(dLogits)
        var out = NDArray(zeros: inputs.shape)
        let total = layout.width
        for (g, r) in layout.ranges.enumerated() where g < groups.count {
            let c = r.columns.count
            for row in 0..<b {
                for j in 0..<c { out.data[row * total + r.columns.lowerBound + j] = groups[g].data[row * c + j] }
            }
        }
        return out
    }
}

/// True when every component implements backward (in-process components do by their protocol; loaded plugins
/// say so through the ABI).
func allDifferentiable(_ components: [any Component]) -> Bool {
    components.allSatisfy { ($0 as? LoadedComponent)?.isDifferentiable ?? true }
}

/// d score[b, t_b] / d logits `[B, K]`: one-hot for logits, the softmax Jacobian row p_t (δ_tj − p_j) for
/// probabilities.
func scoreGradient(logits: NDArray, targets: [Int], output: ChainModel.Output) -> NDArray {
    let b = logits.shape[0], k = logits.shape[1]
    var d = NDArray(zeros: [b, k])
    let p = softmaxRows(logits)
    for r in 0..<b {
        let t = targets[r]
        for j in 0..<k {
            switch output {
            case .logits: d.data[r * k + j] = j == t ? 1 : 0
            case .probabilities: d.data[r * k + j] = p.data[r * k + t] * ((j == t ? 1 : 0) - p.data[r * k + j])
            }
        }
    }
    return d
}
