// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_).

/// Scales all gradients by `min(1, maxNorm / (‖g‖ + 1e-6))`, where ‖g‖ is the L2 norm over every gradient of
/// every parameter together. Returns ‖g‖ before clipping (as torch does). Norms accumulate in Double.
@discardableResult
public func clipGradientNorm(_ parameters: [ParameterView], maxNorm: Double) -> Double {
    var squares = 0.0
    for p in parameters {
        var s = 0.0
        for i in 0..<p.count { let g = Double(p.grad[i]); s += g * g }
        // torch takes each parameter's norm in Float32, then the norm of the norms.
        let norm = Double(Float(s.squareRoot()))
        squares += norm * norm
    }
    let total = Float(squares.squareRoot())
    let coefficient = min(Float(maxNorm) / (total + 1e-6), 1)
    for p in parameters {
        for i in 0..<p.count { p.grad[i] *= coefficient }
    }
    return Double(total)
}
