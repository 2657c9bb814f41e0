// Input-gradient kernels for the transformer blocks (layer norm, GELU, multi-head attention), on raw pointers.
//
// They belong next to the forward kernels in EmoTensor; they live here until EmoTensor grows them. The RoBERTa
// backward test compares the whole chain with torch.autograd (Tests/Reference/make_text_fixtures.py).
import EmoTensor
import Foundation

/// Vector-Jacobian products of EmoTensor's forward kernels with respect to their inputs (no parameter gradients).
enum InputGradients {
    /// Layer norm: given `dy` `[N, C]`, the saved input `x`, its row `mean` and `rstd`, and `gamma`, writes
    /// `dx = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂))` with `dx̂ = dy · γ`, `x̂ = (x − μ) · rstd`. `dx` may be `dy`.
    static func layerNorm(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
                          rstd: UnsafePointer<Float>, gamma: UnsafePointer<Float>, rows n: Int, features c: Int,
                          dx: UnsafeMutablePointer<Float>) {
        for i in 0..<n {
            let dyr = dy + i * c, xr = x + i * c, dxr = dx + i * c
            let mu = mean[i], r = rstd[i]
            var sumG: Float = 0, sumGX: Float = 0
            for j in 0..<c {
                let g = dyr[j] * gamma[j]
                sumG += g
                sumGX += g * (xr[j] - mu) * r
            }
            let a = sumG / Float(c), b = sumGX / Float(c)
            for j in 0..<c {
                let xhat = (xr[j] - mu) * r
                dxr[j] = r * (dyr[j] * gamma[j] - a - xhat * b)
            }
        }
    }

    /// GELU: `dy[i] *= gelu'(x[i])` in place, for the exact or tanh form.
    static func gelu(dy: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count: Int, approximation: GELUApproximation) {
        switch approximation {
        case .none:
            let invSqrt2: Float = 0.70710678118654752440, invSqrt2Pi: Float = 0.39894228040143267794
            for i in 0..<count {
                let v = x[i]
                dy[i] *= 0.5 * (1 + erff(v * invSqrt2)) + v * invSqrt2Pi * expf(-0.5 * v * v)
            }
        case .tanh:
            let k0: Float = 0.79788456080286535588, k1: Float = 0.044715
            for i in 0..<count {
                let v = x[i]
                let t = tanhf(k0 * (v + k1 * v * v * v))
                dy[i] *= 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k0 * (1 + 3 * k1 * v * v)
            }
        }
    }

    /// Multi-head self-attention on a fused `qkv` `[B, T, 3C]` (q | k | v, head h in columns h·D..<(h+1)·D of each),
    /// with the saved probabilities `[B, H, T, T]`: given `dContext` `[B, T, C]`, writes `dqkv` `[B, T, 3C]`.
    ///
    /// Per (batch, head): `dP = dO · Vᵀ`, `dV = Pᵀ · dO`, `dS = P ⊙ (dP − rowsum(dP ⊙ P))`, `dQ = scale · dS · K`,
    /// `dK = scale · dSᵀ · Q`: four sgemm calls on strided views. `workspace` holds T·T floats.
    static func attention(_ g: AttentionGeometry, qkv: UnsafePointer<Float>, probabilities: UnsafePointer<Float>,
                          dContext: UnsafePointer<Float>, dqkv: UnsafeMutablePointer<Float>,
                          workspace dP: UnsafeMutablePointer<Float>) {
        let t = g.queryLength, d = g.headDim, c = g.heads * d, ld = 3 * c
        for b in 0..<g.batch {
            let q = qkv + b * t * ld, k = q + c, v = q + 2 * c
            let dq = dqkv + b * t * ld, dk = dq + c, dv = dq + 2 * c
            let dO = dContext + b * t * c
            for h in 0..<g.heads {
                let p = probabilities + (b * g.heads + h) * t * t
                let off = h * d
                // dP [T, T] = dO_h [T, D] · V_hᵀ
                Kernels.sgemm(transB: true, m: t, n: t, k: d, a: dO + off, lda: c, b: v + off, ldb: ld, c: dP, ldc: t)
                // dV_h [T, D] = Pᵀ [T, T] · dO_h
                Kernels.sgemm(transA: true, m: t, n: d, k: t, a: p, lda: t, b: dO + off, ldb: c, c: dv + off, ldc: ld)
                // dS = P ⊙ (dP − Σ_j dP ⊙ P), in place in dP
                for i in 0..<t {
                    let pr = p + i * t, dr = dP + i * t
                    var dot: Float = 0
                    for j in 0..<t { dot += pr[j] * dr[j] }
                    for j in 0..<t { dr[j] = pr[j] * (dr[j] - dot) }
                }
                // dQ_h = scale · dS · K_h ; dK_h = scale · dSᵀ · Q_h
                Kernels.sgemm(m: t, n: d, k: t, alpha: g.scale, a: dP, lda: t, b: k + off, ldb: ld, c: dq + off, ldc: ld)
                Kernels.sgemm(transA: true, m: t, n: d, k: t, alpha: g.scale, a: dP, lda: t, b: q + off, ldb: ld, c: dk + off, ldc: ld)
            }
        }
    }
}
