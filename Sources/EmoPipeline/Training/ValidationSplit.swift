import EmoTensor

/// Stratified hold-out: for each class, `round(fraction · n_c)` of its rows (at least 1 when the class has 2 or
/// more rows) go to validation, chosen by a seeded shuffle. Pure function of (labels, fraction, seed).
public enum ValidationSplit {
    /// Training and validation row indices, each sorted ascending.
    public static func stratified(labels: [Int], classes: Int, fraction: Double, seed: UInt64) -> (train: [Int], validation: [Int]) {
        guard fraction > 0 else { return (Array(labels.indices), []) }
        var generator = SeededGenerator(seed: seed ^ 0x7A11_DA7E)
        var train: [Int] = [], validation: [Int] = []
        for c in 0..<classes {
            var rows = labels.indices.filter { labels[$0] == c }
            shuffle(&rows, &generator)
            var take = Int((fraction * Double(rows.count)).rounded())
            if rows.count >= 2 { take = min(max(take, 1), rows.count - 1) } else { take = 0 }
            validation += rows.prefix(take)
            train += rows.dropFirst(take)
        }
        return (train.sorted(), validation.sorted())
    }

    /// Fisher–Yates with this generator (the standard library's `shuffle(using:)` algorithm is not specified).
    static func shuffle(_ a: inout [Int], _ g: inout SeededGenerator) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            let j = Int(g.next() % UInt64(i + 1))
            a.swapAt(i, j)
        }
    }
}
