// Elementwise arithmetic with NumPy/PyTorch broadcasting (shapes aligned from the right; size-1 dims stretch).

extension Tensor {
    /// The broadcast shape of `a` and `b`, or a shape-mismatch error naming `op`.
    static func broadcastShape(_ a: [Int], _ b: [Int], _ op: String) throws -> [Int] {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard da == db || da == 1 || db == 1 else {
                throw TensorError.shapeMismatch("\(op): shapes \(a) and \(b) do not broadcast (dimension \(i))")
            }
            out[i] = da == 1 ? db : da
        }
        return out
    }

    /// Element strides of a tensor of `shape` read as `out` (0 on broadcast dimensions).
    static func broadcastStrides(_ shape: [Int], to out: [Int]) -> [Int] {
        var strides = [Int](repeating: 0, count: out.count)
        var step = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            let o = i + out.count - shape.count
            strides[o] = shape[i] == 1 ? 0 : step
            step *= shape[i]
        }
        return strides
    }

    /// Calls `body(outIndex, aOffset, bOffset)` for every element of `out` in row-major order.
    @inline(__always)
    static func forEachBroadcast(_ out: [Int], _ sa: [Int], _ sb: [Int], _ body: (Int, Int, Int) -> Void) {
        let rank = out.count
        let total = out.reduce(1, *)
        if total == 0 { return }
        if rank == 0 { body(0, 0, 0); return }
        var index = [Int](repeating: 0, count: rank)
        var oa = 0, ob = 0
        let inner = out[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1]
        var i = 0
        while i < total {
            for j in 0..<inner { body(i + j, oa + j * ia, ob + j * ib) }
            i += inner
            // Advance the odometer over the outer dimensions.
            var d = rank - 2
            while d >= 0 {
                index[d] += 1
                oa += sa[d]; ob += sb[d]
                if index[d] < out[d] { break }
                oa -= sa[d] * out[d]; ob -= sb[d] * out[d]
                index[d] = 0
                d -= 1
            }
        }
    }

    /// `f(a, b)` elementwise with broadcasting, not recorded.
    @inline(__always)
    static func broadcastApply(_ a: Tensor, _ b: Tensor, _ op: String, _ f: (Float, Float) -> Float) throws -> Tensor {
        let pa = a.storage.pointer, pb = b.storage.pointer
        if a.shape == b.shape {
            let out = Tensor(shape: a.shape, storage: TensorStorage(uninitializedCount: a.count))
            let po = out.storage.pointer
            for i in 0..<a.count { po[i] = f(pa[i], pb[i]) }
            return out
        }
        let shape = try broadcastShape(a.shape, b.shape, op)
        let out = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: shape.reduce(1, *)))
        let po = out.storage.pointer
        if b.count == 1 && shape == a.shape {
            let s = pb[0]
            for i in 0..<a.count { po[i] = f(pa[i], s) }
            return out
        }
        forEachBroadcast(shape, broadcastStrides(a.shape, to: shape), broadcastStrides(b.shape, to: shape)) { i, ia, ib in
            po[i] = f(pa[ia], pb[ib])
        }
        return out
    }

    /// Sums this tensor (of a broadcast shape) down to `target`, the shape it was broadcast from. Not recorded.
    func sumTo(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let out = Tensor(shape: target)
        let po = out.storage.pointer, pg = storage.pointer
        let st = Tensor.broadcastStrides(target, to: shape)
        Tensor.forEachBroadcast(shape, st, st) { i, it, _ in po[it] += pg[i] }
        return out
    }

    /// `self + other` with broadcasting.
    public func add(_ other: Tensor) throws -> Tensor {
        let out = try Tensor.broadcastApply(self, other, "add") { $0 + $1 }
        guard let tape = Tape.active(self, other) else { return out }
        let (sa, sb) = (shape, other.shape)
        return tape.record(out, inputs: [self, other]) { g in [g.sumTo(sa), g.sumTo(sb)] }
    }

    /// `self − other` with broadcasting.
    public func sub(_ other: Tensor) throws -> Tensor {
        let out = try Tensor.broadcastApply(self, other, "sub") { $0 - $1 }
        guard let tape = Tape.active(self, other) else { return out }
        let (sa, sb) = (shape, other.shape)
        return tape.record(out, inputs: [self, other]) { g in [g.sumTo(sa), g.scaled(by: -1).sumTo(sb)] }
    }

    /// `self · other` elementwise with broadcasting.
    public func mul(_ other: Tensor) throws -> Tensor {
        let out = try Tensor.broadcastApply(self, other, "mul") { $0 * $1 }
        guard let tape = Tape.active(self, other) else { return out }
        let (a, b) = (detached, other.detached)
        return tape.record(out, inputs: [self, other]) { g in
            [try Tensor.broadcastApply(g, b, "mul backward") { $0 * $1 }.sumTo(a.shape),
             try Tensor.broadcastApply(g, a, "mul backward") { $0 * $1 }.sumTo(b.shape)]
        }
    }

    /// `self / other` elementwise with broadcasting.
    public func div(_ other: Tensor) throws -> Tensor {
        let out = try Tensor.broadcastApply(self, other, "div") { $0 / $1 }
        guard let tape = Tape.active(self, other) else { return out }
        let (b, o) = (other.detached, out.detached)
        let sa = shape
        return tape.record(out, inputs: [self, other]) { g in
            // d(a/b)/da = 1/b;  d(a/b)/db = −(a/b)/b
            let gb = try Tensor.broadcastApply(g, o, "div backward") { $0 * $1 }
            return [try Tensor.broadcastApply(g, b, "div backward") { $0 / $1 }.sumTo(sa),
                    try Tensor.broadcastApply(gb, b, "div backward") { -$0 / $1 }.sumTo(b.shape)]
        }
    }

    /// `self · s` for a scalar s.
    public func scaled(by s: Float) -> Tensor {
        let out = map { $0 * s }
        guard let tape = Tape.active(self) else { return out }
        return tape.record(out, inputs: [self]) { g in [g.map { $0 * s }] }
    }

    /// `self + s` for a scalar s.
    public func adding(scalar s: Float) -> Tensor {
        let out = map { $0 + s }
        guard let tape = Tape.active(self) else { return out }
        return tape.record(out, inputs: [self]) { g in [g.detached] }
    }

    /// `self²` elementwise.
    public func squared() -> Tensor {
        let out = map { $0 * $0 }
        guard let tape = Tape.active(self) else { return out }
        let x = detached
        return tape.record(out, inputs: [self]) { g in [g.zipMap(x) { 2 * $0 * $1 }] }
    }

    /// `f` applied to every element, not recorded.
    @inline(__always)
    func map(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: count))
        let pi = storage.pointer, po = out.storage.pointer
        for i in 0..<count { po[i] = f(pi[i]) }
        return out
    }

    /// `f(self[i], other[i])` for two same-count tensors, not recorded (shape of self).
    @inline(__always)
    func zipMap(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        let out = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: count))
        let pa = storage.pointer, pb = other.storage.pointer, po = out.storage.pointer
        for i in 0..<count { po[i] = f(pa[i], pb[i]) }
        return out
    }

    /// Broadcasting sum (see `add`).
    public static func + (a: Tensor, b: Tensor) throws -> Tensor { try a.add(b) }
    /// Broadcasting difference (see `sub`).
    public static func - (a: Tensor, b: Tensor) throws -> Tensor { try a.sub(b) }
    /// Broadcasting product (see `mul`).
    public static func * (a: Tensor, b: Tensor) throws -> Tensor { try a.mul(b) }
    /// Broadcasting quotient (see `div`).
    public static func / (a: Tensor, b: Tensor) throws -> Tensor { try a.div(b) }
}
