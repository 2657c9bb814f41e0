// Inverted dropout with a seeded generator (same seed, same mask, on every machine).

extension Tensor {
    /// Zeroes each element with probability `probability` and scales the rest by 1/(1 − p) when `training`;
    /// returns `self` unchanged otherwise. The mask comes from `generator`, so runs are reproducible.
    public func dropout(probability p: Float, training: Bool, generator: inout SeededGenerator) throws -> Tensor {
        guard p >= 0, p < 1 else {
            throw TensorError.invalidArgument("dropout: probability must be in [0, 1), got \(p)")
        }
        guard training, p > 0 else { return self }
        let mask = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: count))
        let scale = 1 / (1 - p), pm = mask.storage.pointer
        for i in 0..<count { pm[i] = generator.nextUniform() < p ? 0 : scale }
        let out = zipMap(mask) { $0 * $1 }
        guard let tape = Tape.active(self) else { return out }
        return tape.record(out, inputs: [self]) { g in [g.zipMap(mask) { $0 * $1 }] }
    }
}
