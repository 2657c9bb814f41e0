// Reductions: sum and mean over everything or over one axis.

extension Tensor {
    /// Sum of all elements (a scalar tensor; Double accumulation).
    public func sum() -> Tensor {
        var total = 0.0
        let p = storage.pointer
        for i in 0..<count { total += Double(p[i]) }
        let out = Tensor(scalar: Float(total))
        guard let tape = Tape.active(self) else { return out }
        let s = shape
        return tape.record(out, inputs: [self]) { g in [Tensor(shape: s, repeating: g.item)] }
    }

    /// Mean of all elements (a scalar tensor).
    public func mean() -> Tensor {
        let n = Float(Swift.max(count, 1))
        return sum().scaled(by: 1 / n)
    }

    /// Sum over `axis`; the axis is removed (or kept with size 1 when `keepDimension`).
    public func sum(axis: Int, keepDimension: Bool = false) throws -> Tensor {
        let a = try resolveAxis(axis, "sum(axis:)")
        let outer = shape[..<a].reduce(1, *), n = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        var outShape = shape
        if keepDimension { outShape[a] = 1 } else { outShape.remove(at: a) }
        let out = Tensor(shape: outShape)
        let pi = storage.pointer, po = out.storage.pointer
        for o in 0..<outer {
            for k in 0..<n {
                let src = pi + (o * n + k) * inner, dst = po + o * inner
                for j in 0..<inner { dst[j] += src[j] }
            }
        }
        guard let tape = Tape.active(self) else { return out }
        let s = shape
        return tape.record(out, inputs: [self]) { g in
            let gx = Tensor(shape: s)
            let pg = g.storage.pointer, px = gx.storage.pointer
            for o in 0..<outer { for k in 0..<n { (px + (o * n + k) * inner).update(from: pg + o * inner, count: inner) } }
            return [gx]
        }
    }

    /// Mean over `axis`.
    public func mean(axis: Int, keepDimension: Bool = false) throws -> Tensor {
        let a = try resolveAxis(axis, "mean(axis:)")
        return try sum(axis: a, keepDimension: keepDimension).scaled(by: 1 / Float(Swift.max(shape[a], 1)))
    }
}
