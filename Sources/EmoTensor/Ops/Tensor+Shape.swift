// Shape ops: reshape (no copy), concat, slice, split, permute/transpose (copies).

extension Tensor {
    /// The same elements viewed with another shape of equal count (no copy). One dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var target = newShape
        if let hole = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != hole }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw TensorError.shapeMismatch("reshape: cannot infer -1 in \(newShape) for \(count) elements")
            }
            target[hole] = count / known
        }
        guard target.allSatisfy({ $0 >= 0 }), target.reduce(1, *) == count else {
            throw TensorError.shapeMismatch("reshape: \(shape) (\(count) elements) cannot become \(newShape)")
        }
        let out = Tensor(shape: target, storage: storage)
        guard let tape = Tape.active(self) else { return out }
        let original = shape
        return tape.record(out, inputs: [self]) { g in [Tensor(shape: original, storage: g.storage)] }
    }

    /// Joins `tensors` along `axis`; every other dimension must match.
    public static func concat(_ tensors: [Tensor], axis: Int) throws -> Tensor {
        guard let first = tensors.first else { throw TensorError.invalidArgument("concat: no tensors") }
        let a = try first.resolveAxis(axis, "concat")
        for t in tensors {
            guard t.rank == first.rank,
                  t.shape.enumerated().allSatisfy({ $0.offset == a || $0.element == first.shape[$0.offset] }) else {
                throw TensorError.shapeMismatch("concat: \(t.shape) does not match \(first.shape) outside axis \(axis)")
            }
        }
        let outer = first.shape[..<a].reduce(1, *), inner = first.shape[(a + 1)...].reduce(1, *)
        let sizes = tensors.map { $0.shape[a] }
        var outShape = first.shape
        outShape[a] = sizes.reduce(0, +)
        let total = outShape[a] * inner
        let out = Tensor(shape: outShape, storage: TensorStorage(uninitializedCount: outer * total))
        var offset = 0
        for (t, size) in zip(tensors, sizes) {
            let chunk = size * inner
            for o in 0..<outer { (out.storage.pointer + o * total + offset).update(from: t.pointer + o * chunk, count: chunk) }
            offset += chunk
        }
        guard let tape = Tape.active(in: tensors) else { return out }
        let shapes = tensors.map(\.shape)
        return tape.record(out, inputs: tensors) { g in
            var grads: [Tensor?] = []
            var off = 0
            for (shape, size) in zip(shapes, sizes) {
                let chunk = size * inner
                let gt = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: outer * chunk))
                for o in 0..<outer { (gt.storage.pointer + o * chunk).update(from: g.pointer + o * total + off, count: chunk) }
                grads.append(gt)
                off += chunk
            }
            return grads
        }
    }

    /// Elements `range` along `axis` (a copy). Backward scatters the gradient into zeros.
    public func slice(axis: Int, _ range: Range<Int>) throws -> Tensor {
        let a = try resolveAxis(axis, "slice")
        guard range.lowerBound >= 0, range.upperBound <= shape[a] else {
            throw TensorError.invalidArgument("slice: \(range) out of 0..<\(shape[a]) on axis \(axis) of \(shape)")
        }
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        let full = shape[a] * inner, chunk = range.count * inner, start = range.lowerBound * inner
        var outShape = shape
        outShape[a] = range.count
        let out = Tensor(shape: outShape, storage: TensorStorage(uninitializedCount: outer * chunk))
        for o in 0..<outer { (out.storage.pointer + o * chunk).update(from: pointer + o * full + start, count: chunk) }
        guard let tape = Tape.active(self) else { return out }
        let original = shape
        return tape.record(out, inputs: [self]) { g in
            let gx = Tensor(shape: original)
            for o in 0..<outer { (gx.storage.pointer + o * full + start).update(from: g.pointer + o * chunk, count: chunk) }
            return [gx]
        }
    }

    /// Consecutive pieces of the given `sizes` along `axis` (they must add up to the axis length).
    public func split(sizes: [Int], axis: Int) throws -> [Tensor] {
        let a = try resolveAxis(axis, "split")
        guard sizes.reduce(0, +) == shape[a], sizes.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument("split: sizes \(sizes) must add up to \(shape[a]) (axis \(axis) of \(shape))")
        }
        var start = 0
        return try sizes.map { size in
            defer { start += size }
            return try slice(axis: a, start..<(start + size))
        }
    }

    /// Reorders dimensions: output dimension i is input dimension `axes[i]` (a copy).
    public func permuted(_ axes: [Int]) throws -> Tensor {
        guard axes.count == rank, Set(axes) == Set(0..<rank) else {
            throw TensorError.invalidArgument("permute: \(axes) is not a permutation of 0..<\(rank)")
        }
        let outShape = axes.map { shape[$0] }
        var inStrides = [Int](repeating: 1, count: rank)
        for i in stride(from: rank - 2, through: 0, by: -1) { inStrides[i] = inStrides[i + 1] * shape[i + 1] }
        let gathered = axes.map { inStrides[$0] }
        let out = Tensor(shape: outShape, storage: TensorStorage(uninitializedCount: count))
        let pi = storage.pointer, po = out.storage.pointer
        Tensor.forEachBroadcast(outShape, gathered, gathered) { i, src, _ in po[i] = pi[src] }
        guard let tape = Tape.active(self) else { return out }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, axis) in axes.enumerated() { inverse[axis] = i }
        return tape.record(out, inputs: [self]) { g in [try g.permuted(inverse)] }
    }

    /// Swaps two dimensions (a copy).
    public func transposed(_ a: Int = -2, _ b: Int = -1) throws -> Tensor {
        let ra = try resolveAxis(a, "transpose"), rb = try resolveAxis(b, "transpose")
        var axes = Array(0..<rank)
        axes.swapAt(ra, rb)
        return try permuted(axes)
    }
}
