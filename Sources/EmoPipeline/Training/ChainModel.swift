import EmoCore
import Foundation

/// A trained `[fusion] → classifier` chain as an `ExplainableModel`, so explainers attribute over the features.
///
/// Explainers see one input `[B, ΣC_g]`: the feature groups concatenated in the fusion's order (attributions
/// split back by the same widths). Scores are class probabilities (softmax of the logits) or the logits
/// themselves. The chain runs in evaluation mode; gradients come from the components' backward calls, which
/// also accumulate into their parameter gradients (the trainer zeroes those before training).
public final class ChainModel: ExplainableModel {
    /// What `scores` returns.
    public enum Output: String, Sendable {
        /// softmax(logits).
        case probabilities
        /// The classifier's logits.
        case logits
    }

    /// The chain explained.
    public let chain: TrainingChain
    /// C_g of each feature group, in order.
    public let groupWidths: [Int]
    /// K.
    public let numClasses: Int
    /// Probabilities or logits.
    public let output: Output

    /// Wraps `chain`, whose input groups have `groupWidths` columns and whose classifier has `classes` outputs.
    public init(chain: TrainingChain, groupWidths: [Int], classes: Int, output: Output = .probabilities) {
        self.chain = chain
        self.groupWidths = groupWidths
        self.numClasses = classes
        self.output = output
    }

    /// Every component in the chain has a backward.
    public var isDifferentiable: Bool { true }

    /// Scores `[B, K]` for concatenated features `[B, ΣC_g]`.
    public func scores(_ inputs: NDArray) throws -> NDArray {
        let logits = try forward(inputs)
        return output == .logits ? logits : Self.softmax(logits)
    }

    /// d scores[b, targets[b]] / d inputs `[B, ΣC_g]`.
    public func gradient(_ inputs: NDArray, targets: [Int]) throws -> NDArray {
        let logits = try forward(inputs)
        let b = logits.shape[0], k = logits.shape[1]
        guard targets.count == b, targets.allSatisfy({ (0..<k).contains($0) }) else {
            throw TrainingError.invalidData("gradient needs one target in 0..<\(k) per row, got \(targets.count) for \(b) rows")
        }
        var seed = NDArray(zeros: [b, k])
        let p = output == .probabilities ? Self.softmax(logits) : logits
        for r in 0..<b {
            let t = targets[r]
            if output == .logits {
                seed.data[r * k + t] = 1
            } else {
                // d p_t / d z_j = p_t (1[j = t] − p_j)
                let pt = p.data[r * k + t]
                for j in 0..<k { seed.data[r * k + j] = pt * ((j == t ? 1 : 0) - p.data[r * k + j]) }
            }
        }
        let groups = try chain.backward(seed)
        return try Self.concatenate(groups, rows: b)
    }

    private func forward(_ inputs: NDArray) throws -> NDArray {
        let total = groupWidths.reduce(0, +)
        guard inputs.rank == 2, inputs.shape[1] == total else {
            throw TrainingError.invalidData("explained input must be [B, \(total)] (groups \(groupWidths) concatenated), got \(inputs.shape)")
        }
        let b = inputs.shape[0]
        var offset = 0
        var groups: [NDArray] = []
        for w in groupWidths {
            var g = NDArray(zeros: [b, w])
            for r in 0..<b {
                g.data.replaceSubrange((r * w)..<((r + 1) * w), with: inputs.data[(r * total + offset)..<(r * total + offset + w)])
            }
            groups.append(g)
            offset += w
        }
        chain.setTraining(false)
        return try chain.forward(groups)
    }

    static func concatenate(_ groups: [NDArray], rows b: Int) throws -> NDArray {
        let widths = groups.map { $0.rank == 2 ? $0.shape[1] : 0 }
        let total = widths.reduce(0, +)
        var out = NDArray(zeros: [b, total])
        var offset = 0
        for (g, w) in zip(groups, widths) {
            guard g.shape == [b, w] else { throw TrainingError.invalidChain("a backward returned shape \(g.shape), expected [\(b), \(w)]") }
            for r in 0..<b { out.data.replaceSubrange((r * total + offset)..<(r * total + offset + w), with: g.data[(r * w)..<((r + 1) * w)]) }
            offset += w
        }
        return out
    }

    static func softmax(_ logits: NDArray) -> NDArray {
        var out = logits
        let k = logits.shape[1]
        for r in 0..<logits.shape[0] {
            let row = logits.data[(r * k)..<((r + 1) * k)]
            let m = row.max() ?? 0
            var sum: Float = 0
            for j in 0..<k { let e = Float(exp(Double(row[r * k + j] - m))); out.data[r * k + j] = e; sum += e }
            for j in 0..<k { out.data[r * k + j] /= sum }
        }
        return out
    }
}
