import Foundation

/// Backward pass (vector-Jacobian product) from the mean-pooled `last_hidden_state` to the input samples.
///
/// Each stage is recomputed from the hidden states the forward pass kept (activation checkpointing per layer), so
/// the extra memory is one layer's intermediates at a time. Gradients flow only to the input; weights are frozen.
extension SpeechEncoder {
    /// Runs the forward pass, then returns d(sum_{b,c} pooledGrad[b, c] * meanPooled[b, c]) / d input, `[B, N]`.
    ///
    /// `pooledGrad` is `[B, C]`: the gradient of the caller's loss with respect to the mean of `last_hidden_state`
    /// over each clip's real frames (the `mean` pooling of the encoder components).
    public func inputGradient(_ input: [Float], batch: Int, samples: Int, lengths: [Int]? = nil,
                              pooledGrad: [Float]) throws -> (output: SpeechEncoderOutput, gradient: [Float]) {
        let out = try forward(input, batch: batch, samples: samples, lengths: lengths)
        let (t, c, nl) = (out.frames, out.channels, config.numLayers)
        guard pooledGrad.count == batch * c else {
            throw CheckpointError.invalidConfig(path: "backward", message: "pooledGrad has \(pooledGrad.count) values, expected B × C = \(batch) × \(c)")
        }
        let rows = batch * t
        // d last_hidden_state [B, T, C]: the mean over real frames spreads each clip's gradient evenly.
        var dH = [Float](repeating: 0, count: rows * c)
        for b in 0..<batch {
            let n = out.frameLengths[b]
            guard n > 0 else { continue }
            for tt in 0..<min(n, t) { for ch in 0..<c { dH[(b * t + tt) * c + ch] = pooledGrad[b * c + ch] / Float(n) } }
        }
        let keys = lengths == nil ? Array(repeating: t, count: batch) : out.frameLengths
        let bias = relativePositionBias(frames: t, ws: workspace).map { Array(UnsafeBufferPointer(start: $0, count: config.numHeads * t * t)) }
        try out.hiddenStates.withUnsafeBufferPointer { hs in
            guard let hs = hs.baseAddress else { return }
            if config.stableLayerNorm {
                dH = Self.layerNormBackward(x: Array(UnsafeBufferPointer(start: hs + nl * rows * c, count: rows * c)),
                                            rows: rows, n: c, gamma: encoderNorm.weight, eps: config.layerNormEps, dy: dH)
            }
            for l in stride(from: nl - 1, through: 0, by: -1) {
                let hIn = Array(UnsafeBufferPointer(start: hs + l * rows * c, count: rows * c))
                dH = try layerBackward(layers[l], hIn: hIn, dOut: dH, batch: batch, frames: t, keys: keys, positionBias: bias)
            }
        }
        let dx = try frontBackward(input, batch: batch, samples: samples, frames: t, lengths: lengths,
                                   frameLengths: out.frameLengths, dHidden0: dH)
        return (out, dx)
    }

    // MARK: - Front end: conv feature encoder, projection, positional conv, first norm

    /// Recomputes the front end and back-propagates d hidden_states[0] to the input samples.
    func frontBackward(_ input: [Float], batch: Int, samples: Int, frames t: Int, lengths: [Int]?, frameLengths: [Int],
                       dHidden0: [Float]) throws -> [Float] {
        let (c, cc) = (config.hiddenSize, config.convOutputDim)
        let rows = batch * t
        let ws = workspace
        // Recompute: conv stack per clip (keeping each layer's pre-norm output), projection, masking, pos conv.
        var convTapes: [[(z: [Float], y: [Float], frames: Int)]] = []
        var feat = [Float](repeating: 0, count: rows * cc)
        for b in 0..<batch {
            var tape: [(z: [Float], y: [Float], frames: Int)] = []
            var src = Array(input[(b * samples)..<((b + 1) * samples)])
            var len = samples
            for cl in convs {
                let tOut = (len - cl.kernel) / cl.stride + 1
                var z = [Float](repeating: 0, count: tOut * cl.cout)
                src.withUnsafeBufferPointer { s in z.withUnsafeMutableBufferPointer { d in
                    if let s = s.baseAddress, let d = d.baseAddress { convolve(cl, s, frames: tOut, into: d, ws: ws) }
                } }
                var y = z
                y.withUnsafeMutableBufferPointer { if let d = $0.baseAddress { normalizeAndActivate(cl, d, frames: tOut, ws: ws) } }
                tape.append((z, y, tOut))
                src = y
                len = tOut
            }
            for i in 0..<(t * cc) { feat[b * t * cc + i] = src[i] }
            convTapes.append(tape)
        }
        var featNormed = feat
        if let norm = projectionNorm {
            Dense.layerNorm(rows: rows, n: cc, x: feat, gamma: norm.weight, beta: norm.bias, eps: config.layerNormEps, y: &featNormed)
        }
        var h0 = [Float](repeating: 0, count: rows * c)
        Dense.linear(m: rows, k: cc, n: c, x: featNormed, weight: projectionWeight, bias: projectionBias, y: &h0)
        if lengths != nil {
            for b in 0..<batch where frameLengths[b] < t {
                for i in ((b * t + frameLengths[b]) * c)..<((b + 1) * t * c) { h0[i] = 0 }
            }
        }
        // z = pos conv pre-activation per clip; hsum = h0 + gelu(z).
        var dHsum = dHidden0
        var z = [Float](repeating: 0, count: rows * c)
        for b in 0..<batch {
            var zb = Array(h0[(b * t * c)..<((b + 1) * t * c)])
            positionalConvPreActivation(&zb, frames: t)
            for i in 0..<(t * c) { z[b * t * c + i] = zb[i] }
        }
        if !config.stableLayerNorm {
            var hsum = h0
            for i in 0..<hsum.count { hsum[i] += Self.gelu(z[i]) }
            dHsum = Self.layerNormBackward(x: hsum, rows: rows, n: c, gamma: encoderNorm.weight, eps: config.layerNormEps, dy: dHidden0)
        }
        // dh0 = dHsum + convT(gelu'(z) * dHsum)
        var dz = dHsum
        for i in 0..<dz.count { dz[i] *= Self.geluDerivative(z[i]) }
        var dh0 = dHsum
        for b in 0..<batch { positionalConvBackward(dz, batchIndex: b, frames: t, into: &dh0) }
        if lengths != nil {
            for b in 0..<batch where frameLengths[b] < t {
                for i in ((b * t + frameLengths[b]) * c)..<((b + 1) * t * c) { dh0[i] = 0 }
            }
        }
        // Projection: dfeatNormed = dh0 · W [rows, C'], then the projection layer norm.
        var dFeat = [Float](repeating: 0, count: rows * cc)
        Dense.gemm(m: rows, n: cc, k: c, a: dh0, lda: c, b: projectionWeight, ldb: cc, transB: false, beta: 0, c: &dFeat, ldc: cc)
        if let norm = projectionNorm {
            dFeat = Self.layerNormBackward(x: feat, rows: rows, n: cc, gamma: norm.weight, eps: config.layerNormEps, dy: dFeat)
        }
        // Conv stack, last layer first, per clip.
        var dx = [Float](repeating: 0, count: batch * samples)
        for b in 0..<batch {
            var dY = Array(dFeat[(b * t * cc)..<((b + 1) * t * cc)])
            for i in stride(from: convs.count - 1, through: 0, by: -1) {
                let cl = convs[i]
                let tape = convTapes[b][i]
                let dZ = convNormActivationBackward(cl, z: tape.z, frames: tape.frames, dY: dY)
                let tIn = i == 0 ? samples : convTapes[b][i - 1].frames
                dY = convInputBackward(cl, dZ: dZ, framesOut: tape.frames, framesIn: tIn)
            }
            for i in 0..<samples { dx[b * samples + i] = dY[i] }
        }
        return dx
    }

    /// The positional conv's pre-activation in place: `h[T, C]` → `conv(h)` (+ bias), grouped, "same" padding.
    func positionalConvPreActivation(_ h: inout [Float], frames t: Int) {
        let (c, k, g) = (config.hiddenSize, config.posConvKernel, config.posConvGroups)
        let cg = c / g, pad = k / 2
        var padded = [Float](repeating: 0, count: (t + k) * c)
        for i in 0..<(t * c) { padded[pad * c + i] = h[i] }
        var col = [Float](repeating: 0, count: t * k * cg)
        for r in 0..<t { for cch in 0..<c { h[r * c + cch] = posConvBias[cch] } }
        for gi in 0..<g {
            for r in 0..<t { for tap in 0..<k { for i in 0..<cg { col[r * k * cg + tap * cg + i] = padded[(r + tap) * c + gi * cg + i] } } }
            posConvWeight.withUnsafeBufferPointer { w in
                h.withUnsafeMutableBufferPointer { hp in
                    guard let w = w.baseAddress, let hp = hp.baseAddress else { return }
                    Dense.gemm(m: t, n: cg, k: k * cg, a: col, lda: k * cg, b: w + gi * cg * k * cg, ldb: k * cg,
                               transB: true, beta: 1, c: hp + gi * cg, ldc: c)
                }
            }
        }
    }

    /// Adds the positional conv's input gradient for clip `b` (`dz[B, T, C]` at the pre-activation) into `dh`.
    func positionalConvBackward(_ dz: [Float], batchIndex b: Int, frames t: Int, into dh: inout [Float]) {
        let (c, k, g) = (config.hiddenSize, config.posConvKernel, config.posConvGroups)
        let cg = c / g, pad = k / 2
        var dPadded = [Float](repeating: 0, count: (t + k) * c)
        var dcol = [Float](repeating: 0, count: t * k * cg)
        for gi in 0..<g {
            dz.withUnsafeBufferPointer { dzp in
                posConvWeight.withUnsafeBufferPointer { w in
                    guard let dzp = dzp.baseAddress, let w = w.baseAddress else { return }
                    // dcol[T, K*Cg] = dz_g[T, Cg] · W_g[Cg, K*Cg]
                    Dense.gemm(m: t, n: k * cg, k: cg, a: dzp + b * t * c + gi * cg, lda: c, b: w + gi * cg * k * cg,
                               ldb: k * cg, transB: false, beta: 0, c: &dcol, ldc: k * cg)
                }
            }
            for r in 0..<t { for tap in 0..<k { for i in 0..<cg { dPadded[(r + tap) * c + gi * cg + i] += dcol[r * k * cg + tap * cg + i] } } }
        }
        for i in 0..<(t * c) { dh[b * t * c + i] += dPadded[pad * c + i] }
    }

    /// Back through GELU and the conv layer's norm: d output `[T, C_out]` → d conv output `[T, C_out]`.
    func convNormActivationBackward(_ cl: ConvLayer, z: [Float], frames tOut: Int, dY: [Float]) -> [Float] {
        let co = cl.cout
        // Recompute the normed value u (GELU's input).
        var u = z
        var d = dY
        if let norm = cl.norm {
            if cl.groupNorm {
                u = Self.columnNormForward(z, rows: tOut, cols: co, gamma: norm.weight, beta: norm.bias)
            } else {
                Dense.layerNorm(rows: tOut, n: co, x: z, gamma: norm.weight, beta: norm.bias, eps: 1e-5, y: &u)
            }
        }
        for i in 0..<d.count { d[i] *= Self.geluDerivative(u[i]) }
        guard let norm = cl.norm else { return d }
        if cl.groupNorm {
            return Self.columnNormBackward(z, rows: tOut, cols: co, gamma: norm.weight, dy: d)
        }
        return Self.layerNormBackward(x: z, rows: tOut, n: co, gamma: norm.weight, eps: 1e-5, dy: d)
    }

    /// Back through the convolution: d conv output `[T_out, C_out]` → d input `[T_in, C_in]` (col2im, no copies:
    /// each chunk of `stride` taps writes non-overlapping rows of a strided view).
    func convInputBackward(_ cl: ConvLayer, dZ: [Float], framesOut tOut: Int, framesIn tIn: Int) -> [Float] {
        var dIn = [Float](repeating: 0, count: tIn * cl.cin)
        cl.weight.withUnsafeBufferPointer { w in
            dIn.withUnsafeMutableBufferPointer { dp in
                guard let w = w.baseAddress, let dp = dp.baseAddress else { return }
                if cl.cin * cl.kernel <= 64 {
                    let kk = cl.cin * cl.kernel
                    var dcol = [Float](repeating: 0, count: tOut * kk)
                    Dense.gemm(m: tOut, n: kk, k: cl.cout, a: dZ, lda: cl.cout, b: w, ldb: kk, transB: false, beta: 0, c: &dcol, ldc: kk)
                    for r in 0..<tOut { for j in 0..<kk { dp[r * cl.stride * cl.cin + j] += dcol[r * kk + j] } }
                } else {
                    var j = 0
                    while j * cl.stride < cl.kernel {
                        let taps = min(cl.stride, cl.kernel - j * cl.stride)
                        Dense.gemm(m: tOut, n: taps * cl.cin, k: cl.cout, a: dZ, lda: cl.cout,
                                   b: w + j * cl.stride * cl.cin, ldb: cl.kernel * cl.cin, transB: false,
                                   beta: 1, c: dp + j * cl.stride * cl.cin, ldc: cl.stride * cl.cin)
                        j += 1
                    }
                }
            }
        }
        return dIn
    }

    // MARK: - Transformer layer

    /// Recomputes layer `p` from its input `hIn [B, T, C]` and returns d input given d output.
    func layerBackward(_ p: Layer, hIn: [Float], dOut: [Float], batch: Int, frames t: Int, keys: [Int],
                       positionBias: [Float]?) throws -> [Float] {
        let (c, f) = (config.hiddenSize, config.intermediateSize)
        let rows = batch * t
        let eps = config.layerNormEps
        // Forward recompute.
        var x = hIn
        if config.stableLayerNorm { Dense.layerNorm(rows: rows, n: c, x: hIn, gamma: p.norm1.weight, beta: p.norm1.bias, eps: eps, y: &x) }
        let att = attentionForward(p, x: x, batch: batch, frames: t, keys: keys, positionBias: positionBias)
        var a1 = [Float](repeating: 0, count: rows * c)
        Dense.linear(m: rows, k: c, n: c, x: att.ctx, weight: p.outWeight, bias: p.outBias, y: &a1)
        for i in 0..<a1.count { a1[i] += hIn[i] }
        var ffIn = a1  // the FFN's input: LN1(a1) (post-LN) or LN2(a1) (pre-LN)
        Dense.layerNorm(rows: rows, n: c, x: a1, gamma: config.stableLayerNorm ? p.norm2.weight : p.norm1.weight,
                        beta: config.stableLayerNorm ? p.norm2.bias : p.norm1.bias, eps: eps, y: &ffIn)
        var f1 = [Float](repeating: 0, count: rows * f)
        Dense.linear(m: rows, k: c, n: f, x: ffIn, weight: p.ffInWeight, bias: p.ffInBias, y: &f1)
        // Backward.
        var dA2 = dOut
        if !config.stableLayerNorm {
            // out = LN2(a2), a2 = ffIn + FFN(ffIn)
            var a2 = [Float](repeating: 0, count: rows * c)
            var g = f1
            for i in 0..<g.count { g[i] = Self.gelu(g[i]) }
            Dense.linear(m: rows, k: f, n: c, x: g, weight: p.ffOutWeight, bias: p.ffOutBias, y: &a2)
            for i in 0..<a2.count { a2[i] += ffIn[i] }
            dA2 = Self.layerNormBackward(x: a2, rows: rows, n: c, gamma: p.norm2.weight, eps: eps, dy: dOut)
        }
        // FFN backward: dg = dA2 · W2 [rows, F]; df1 = dg * gelu'(f1); dFfIn = df1 · W1 [rows, C].
        var dg = [Float](repeating: 0, count: rows * f)
        Dense.gemm(m: rows, n: f, k: c, a: dA2, lda: c, b: p.ffOutWeight, ldb: f, transB: false, beta: 0, c: &dg, ldc: f)
        for i in 0..<dg.count { dg[i] *= Self.geluDerivative(f1[i]) }
        var dFfIn = [Float](repeating: 0, count: rows * c)
        Dense.gemm(m: rows, n: c, k: f, a: dg, lda: f, b: p.ffInWeight, ldb: c, transB: false, beta: 0, c: &dFfIn, ldc: c)
        var dA1: [Float]
        if config.stableLayerNorm {
            // out = a1 + FFN(LN2(a1))
            dA1 = Self.layerNormBackward(x: a1, rows: rows, n: c, gamma: p.norm2.weight, eps: eps, dy: dFfIn)
            for i in 0..<dA1.count { dA1[i] += dOut[i] }
        } else {
            // a2 = ffIn + FFN(ffIn), ffIn = LN1(a1)
            for i in 0..<dFfIn.count { dFfIn[i] += dA2[i] }
            dA1 = Self.layerNormBackward(x: a1, rows: rows, n: c, gamma: p.norm1.weight, eps: eps, dy: dFfIn)
        }
        // a1 = hIn + attention(x)
        var dCtx = [Float](repeating: 0, count: rows * c)
        Dense.gemm(m: rows, n: c, k: c, a: dA1, lda: c, b: p.outWeight, ldb: c, transB: false, beta: 0, c: &dCtx, ldc: c)
        let dx = attentionBackward(p, x: x, att: att, dCtx: dCtx, batch: batch, frames: t, keys: keys, positionBias: positionBias)
        var dIn = dA1
        if config.stableLayerNorm {
            let d = Self.layerNormBackward(x: hIn, rows: rows, n: c, gamma: p.norm1.weight, eps: eps, dy: dx)
            for i in 0..<dIn.count { dIn[i] += d[i] }
        } else {
            for i in 0..<dIn.count { dIn[i] += dx[i] }
        }
        return dIn
    }

    /// What attention backward needs from the forward: q/k/v, probabilities per (clip, head), WavLM gate terms.
    struct AttentionTape {
        var qkv: [Float]     // [B, T, 3C]
        var probs: [Float]   // [B, H, T, T] (columns ≥ keys[b] are 0)
        var ctx: [Float]     // [B, T, C]
        var gateA: [Float]   // [B, T, H] sigmoid(s0) (WavLM)
        var gateB: [Float]   // [B, T, H] sigmoid(s1) (WavLM)
    }

    func attentionForward(_ p: Layer, x: [Float], batch: Int, frames t: Int, keys: [Int], positionBias: [Float]?) -> AttentionTape {
        let (c, nh, d) = (config.hiddenSize, config.numHeads, config.headDim)
        let rows = batch * t
        var tape = AttentionTape(qkv: [Float](repeating: 0, count: rows * 3 * c), probs: [Float](repeating: 0, count: batch * nh * t * t),
                                 ctx: [Float](repeating: 0, count: rows * c), gateA: [], gateB: [])
        Dense.linear(m: rows, k: c, n: 3 * c, x: x, weight: p.qkvWeight, bias: p.qkvBias, y: &tape.qkv)
        var gate = [Float](repeating: 0, count: rows * nh)
        if let g = p.gate {
            tape.gateA = [Float](repeating: 0, count: rows * nh)
            tape.gateB = tape.gateA
            for r in 0..<rows {
                for hh in 0..<nh {
                    var s0: Float = 0, s1: Float = 0
                    for o in 0..<8 {
                        var acc = g.bias[o]
                        for i in 0..<d { acc += x[r * c + hh * d + i] * g.weight[o * d + i] }
                        if o < 4 { s0 += acc } else { s1 += acc }
                    }
                    let ga = 1 / (1 + expf(-s0)), gb = 1 / (1 + expf(-s1))
                    tape.gateA[r * nh + hh] = ga
                    tape.gateB[r * nh + hh] = gb
                    gate[r * nh + hh] = ga * (gb * g.const[hh] - 1) + 2
                }
            }
        }
        let scale = 1 / Float(d).squareRoot()
        for b in 0..<batch {
            let nk = keys[b]
            for hh in 0..<nh {
                let po = (b * nh + hh) * t * t
                tape.qkv.withUnsafeBufferPointer { q in
                    tape.probs.withUnsafeMutableBufferPointer { pr in
                        tape.ctx.withUnsafeMutableBufferPointer { cx in
                            guard let q = q.baseAddress, let pr = pr.baseAddress, let cx = cx.baseAddress else { return }
                            let base = q + b * t * 3 * c
                            Dense.gemm(m: t, n: nk, k: d, alpha: scale, a: base + hh * d, lda: 3 * c, b: base + c + hh * d,
                                       ldb: 3 * c, transB: true, beta: 0, c: pr + po, ldc: t)
                            for qi in 0..<t {
                                let row = pr + po + qi * t
                                if let pb = positionBias, p.gate != nil {
                                    let gq = gate[(b * t + qi) * nh + hh]
                                    for k in 0..<nk { row[k] += gq * pb[(hh * t + qi) * t + k] }
                                }
                                Dense.softmax(row, count: nk)
                                for k in nk..<t { row[k] = 0 }
                            }
                            Dense.gemm(m: t, n: d, k: nk, a: pr + po, lda: t, b: base + 2 * c + hh * d, ldb: 3 * c,
                                       transB: false, beta: 0, c: cx + b * t * c + hh * d, ldc: c)
                        }
                    }
                }
            }
        }
        return tape
    }

    /// d attention input `[B, T, C]` from d context `[B, T, C]` (before `out_proj`).
    func attentionBackward(_ p: Layer, x: [Float], att: AttentionTape, dCtx: [Float], batch: Int, frames t: Int,
                           keys: [Int], positionBias: [Float]?) -> [Float] {
        let (c, nh, d) = (config.hiddenSize, config.numHeads, config.headDim)
        let rows = batch * t
        let scale = 1 / Float(d).squareRoot()
        var dqkv = [Float](repeating: 0, count: rows * 3 * c)
        var dGate = [Float](repeating: 0, count: rows * nh)
        var dP = [Float](repeating: 0, count: t * t)
        for b in 0..<batch {
            let nk = keys[b]
            for hh in 0..<nh {
                let po = (b * nh + hh) * t * t
                att.qkv.withUnsafeBufferPointer { q in
                    att.probs.withUnsafeBufferPointer { pr in
                        dCtx.withUnsafeBufferPointer { dc in
                            dqkv.withUnsafeMutableBufferPointer { dq in
                                dP.withUnsafeMutableBufferPointer { dp in
                                    guard let q = q.baseAddress, let pr = pr.baseAddress, let dc = dc.baseAddress,
                                          let dq = dq.baseAddress, let dp = dp.baseAddress else { return }
                                    let base = q + b * t * 3 * c, dbase = dq + b * t * 3 * c
                                    let dctx = dc + b * t * c + hh * d
                                    // dP = dctx · V^T [T, nk]; dV = P^T · dctx [nk, D]
                                    Dense.gemm(m: t, n: nk, k: d, a: dctx, lda: c, b: base + 2 * c + hh * d, ldb: 3 * c,
                                               transB: true, beta: 0, c: dp, ldc: t)
                                    Dense.gemm(m: nk, n: d, k: t, a: pr + po, lda: t, transA: true, b: dctx, ldb: c,
                                               transB: false, beta: 0, c: dbase + 2 * c + hh * d, ldc: 3 * c)
                                    // dS = P ⊙ (dP − rowsum(dP ⊙ P)); WavLM: dgate[q] = Σ_k dS[q, k] bias[h, q, k]
                                    for qi in 0..<t {
                                        let prow = pr + po + qi * t, drow = dp + qi * t
                                        var dot: Float = 0
                                        for k in 0..<nk { dot += drow[k] * prow[k] }
                                        for k in 0..<nk { drow[k] = prow[k] * (drow[k] - dot) }
                                        if let pb = positionBias, p.gate != nil {
                                            var s: Float = 0
                                            for k in 0..<nk { s += drow[k] * pb[(hh * t + qi) * t + k] }
                                            dGate[(b * t + qi) * nh + hh] = s
                                        }
                                    }
                                    // dQ = scale dS · K [T, D]; dK = scale dS^T · Q [nk, D]
                                    Dense.gemm(m: t, n: d, k: nk, alpha: scale, a: dp, lda: t, b: base + c + hh * d, ldb: 3 * c,
                                               transB: false, beta: 0, c: dbase + hh * d, ldc: 3 * c)
                                    Dense.gemm(m: nk, n: d, k: t, alpha: scale, a: dp, lda: t, transA: true, b: base + hh * d,
                                               ldb: 3 * c, transB: false, beta: 0, c: dbase + c + hh * d, ldc: 3 * c)
                                }
                            }
                        }
                    }
                }
            }
        }
        // dx = dqkv · Wqkv [rows, C]
        var dx = [Float](repeating: 0, count: rows * c)
        Dense.gemm(m: rows, n: c, k: 3 * c, a: dqkv, lda: 3 * c, b: p.qkvWeight, ldb: c, transB: false, beta: 0, c: &dx, ldc: c)
        if let g = p.gate {
            // gate = ga (gb const − 1) + 2, ga = σ(s0), gb = σ(s1), s0/s1 = sums of 4 projections of x's head slice.
            var w0 = [Float](repeating: 0, count: d), w1 = [Float](repeating: 0, count: d)
            for o in 0..<8 { for i in 0..<d { if o < 4 { w0[i] += g.weight[o * d + i] } else { w1[i] += g.weight[o * d + i] } } }
            for r in 0..<rows {
                for hh in 0..<nh {
                    let ga = att.gateA[r * nh + hh], gb = att.gateB[r * nh + hh], dg = dGate[r * nh + hh]
                    let ds0 = dg * (gb * g.const[hh] - 1) * ga * (1 - ga)
                    let ds1 = dg * ga * g.const[hh] * gb * (1 - gb)
                    for i in 0..<d { dx[r * c + hh * d + i] += ds0 * w0[i] + ds1 * w1[i] }
                }
            }
        }
        _ = x
        return dx
    }

    // MARK: - Elementwise derivatives and norms

    /// Exact GELU (scalar).
    static func gelu(_ z: Float) -> Float { 0.5 * z * (1 + erff(z * 0.70710678118654752)) }

    /// d GELU / dz = Φ(z) + z φ(z).
    static func geluDerivative(_ z: Float) -> Float {
        0.5 * (1 + erff(z * 0.70710678118654752)) + z * expf(-0.5 * z * z) * 0.3989422804014327
    }

    /// Layer-norm backward per row: `dx = rstd (dxhat − mean(dxhat) − xhat mean(dxhat xhat))`, `dxhat = dy γ`.
    static func layerNormBackward(x: [Float], rows: Int, n: Int, gamma: [Float], eps: Float, dy: [Float]) -> [Float] {
        var dx = [Float](repeating: 0, count: rows * n)
        for r in 0..<rows {
            let o = r * n
            var mean: Float = 0
            for i in 0..<n { mean += x[o + i] }
            mean /= Float(n)
            var v: Float = 0
            for i in 0..<n { let dd = x[o + i] - mean; v += dd * dd }
            let rstd = 1 / (v / Float(n) + eps).squareRoot()
            var m1: Float = 0, m2: Float = 0
            for i in 0..<n {
                let g = dy[o + i] * gamma[i], xh = (x[o + i] - mean) * rstd
                m1 += g
                m2 += g * xh
            }
            m1 /= Float(n)
            m2 /= Float(n)
            for i in 0..<n {
                let g = dy[o + i] * gamma[i], xh = (x[o + i] - mean) * rstd
                dx[o + i] = rstd * (g - m1 - xh * m2)
            }
        }
        return dx
    }

    /// Group norm with one channel per group on frames-major `[T, C]` (eps 1e-5), out of place.
    static func columnNormForward(_ z: [Float], rows: Int, cols: Int, gamma: [Float], beta: [Float]) -> [Float] {
        var u = z
        var scratch = [Float](repeating: 0, count: 2 * cols)
        u.withUnsafeMutableBufferPointer { up in
            scratch.withUnsafeMutableBufferPointer { sp in
                if let up = up.baseAddress, let sp = sp.baseAddress {
                    Dense.columnNorm(rows: rows, cols: cols, x: up, gamma: gamma, beta: beta, eps: 1e-5, scratch: sp)
                }
            }
        }
        return u
    }

    /// Backward of `columnNormForward` (the layer-norm formula along each column).
    static func columnNormBackward(_ z: [Float], rows: Int, cols: Int, gamma: [Float], dy: [Float]) -> [Float] {
        var mean = [Float](repeating: 0, count: cols), rstd = mean, m1 = mean, m2 = mean
        for r in 0..<rows { for c in 0..<cols { mean[c] += z[r * cols + c] } }
        for c in 0..<cols { mean[c] /= Float(rows) }
        for r in 0..<rows { for c in 0..<cols { let d = z[r * cols + c] - mean[c]; rstd[c] += d * d } }
        for c in 0..<cols { rstd[c] = 1 / (rstd[c] / Float(rows) + 1e-5).squareRoot() }
        for r in 0..<rows {
            for c in 0..<cols {
                let g = dy[r * cols + c] * gamma[c], xh = (z[r * cols + c] - mean[c]) * rstd[c]
                m1[c] += g
                m2[c] += g * xh
            }
        }
        var dz = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols {
                let g = dy[r * cols + c] * gamma[c], xh = (z[r * cols + c] - mean[c]) * rstd[c]
                dz[r * cols + c] = rstd[c] * (g - m1[c] / Float(rows) - xh * m2[c] / Float(rows))
            }
        }
        return dz
    }
}
