import EmoModels
import EmoTensor
import Foundation

// `encoder.pos_conv_embed`: a "same"-padded grouped conv (C = 768, G = 16, K = 128 in base models) then GELU, added
// to the hidden state. The arithmetic is the kernel library's (`Kernels.conv1dSame`, `Kernels.conv1dSameFFT`,
// Kernels+Conv1dSame.swift); this file picks the path, owns the cached weight spectra and the scratch.

/// How `encoder.pos_conv_embed`'s grouped convolution is computed (both give the same values up to rounding).
public enum PositionalConvMethod: String, Sendable, CaseIterable {
    /// Per group an im2col `[B·T, K·C/G]` and one GEMM: `T·K·C·C/G` multiply-adds per clip (`Kernels.conv1dSame`).
    case direct
    /// Overlap-save FFT convolution with fixed-length blocks (`Kernels.conv1dSameFFT`): about 18× fewer
    /// multiply-adds than `direct` for base models on 3 s clips.
    case fft
}

extension SpeechEncoder {
    /// The positional conv's geometry: C → C, kernel K, G groups, stride 1, padding K/2.
    var positionalGeometry: Conv1dGeometry {
        Conv1dGeometry(inChannels: config.hiddenSize, outChannels: config.hiddenSize, kernelSize: config.posConvKernel,
                       stride: 1, padding: config.posConvKernel / 2, groups: config.posConvGroups)
    }

    /// `encoder.pos_conv_embed` for `batch` clips, added in place: `h[B, T, C] += gelu(conv(h))` (grouped conv,
    /// "same" padding per clip, the extra frame of an even kernel dropped). The pre-activation goes to `pre`
    /// `[B, T, C]` when given (the tape). Runs the FFT path when the layout allows it and it is the cheaper one for
    /// this batch (`usesFFTPositionalConv`), else the direct path.
    func positionalConv(_ h: UnsafeMutablePointer<Float>, batch: Int, frames t: Int, ws: SpeechWorkspace,
                        pre: UnsafeMutablePointer<Float>?) {
        if usesFFTPositionalConv(batch: batch, frames: t), let spectra = positionalSpectra() {
            positionalConvFFT(h, batch: batch, frames: t, spectra: spectra, ws: ws, pre: pre)
        } else {
            positionalConvDirect(h, batch: batch, frames: t, ws: ws, pre: pre)
        }
    }

    /// Adds the positional conv's input gradient (`dz [B, T, C]` at the pre-activation) into `dh [B, T, C]`, on
    /// the FFT path when `usesFFTPositionalConv` (same cost as the forward), else by im2col.
    func positionalConvBackward(_ dz: UnsafePointer<Float>, batch: Int, frames t: Int, into dh: UnsafeMutablePointer<Float>) {
        if usesFFTPositionalConv(batch: batch, frames: t), let spectra = positionalSpectra() {
            positionalConvBackwardFFT(dz, batch: batch, frames: t, spectra: spectra, ws: workspace, into: dh)
        } else {
            positionalConvBackwardDirect(dz, batch: batch, frames: t, into: dh)
        }
    }

    /// Whether `positionalConv` takes the FFT path for `batch` clips of `t` frames (`Kernels.conv1dSameFFTPays`).
    func usesFFTPositionalConv(batch: Int, frames t: Int) -> Bool {
        Kernels.conv1dSameFFTPays(positionalGeometry, batch: batch, frames: t)
    }

    /// The positional conv's weight spectra, computed on first use under a lock (nil when the layout has no FFT path).
    func positionalSpectra() -> Conv1dSameSpectra? {
        positionalSpectraCache.value {
            Conv1dSameSpectra(packedWeight: posConvWeight, channels: config.hiddenSize, groups: config.posConvGroups,
                              kernel: config.posConvKernel)
        }
    }

    /// Runs the positional conv alone on `h` `[B, T, C]` in place (`h += gelu(conv(h))`) by `method`, on this
    /// instance's workspace (not safe to call concurrently with itself or `forward`): for benchmarks and for
    /// comparing the two paths.
    public func applyPositionalConv(_ h: inout [Float], batch: Int, frames t: Int, method: PositionalConvMethod) throws {
        guard batch > 0, t > 0, h.count == batch * t * config.hiddenSize else {
            throw CheckpointError.invalidConfig(path: "positional conv", message: "h has \(h.count) values, expected B × T × C = \(batch) × \(t) × \(config.hiddenSize)")
        }
        let spectra = method == .fft ? positionalSpectra() : nil
        if method == .fft && spectra == nil {
            throw CheckpointError.invalidConfig(path: "positional conv", message: "no FFT path for hidden size \(config.hiddenSize) (needs a multiple of 16); use .direct")
        }
        h.withUnsafeMutableBufferPointer { buf in
            guard let p = buf.baseAddress else { return }
            if let spectra {
                positionalConvFFT(p, batch: batch, frames: t, spectra: spectra, ws: workspace, pre: nil)
            } else {
                positionalConvDirect(p, batch: batch, frames: t, ws: workspace, pre: nil)
            }
        }
    }

    /// The direct path: `h += gelu(conv(h) + bias)`, the pre-activation into `pre` when given.
    func positionalConvDirect(_ h: UnsafeMutablePointer<Float>, batch: Int, frames t: Int, ws: SpeechWorkspace,
                              pre: UnsafeMutablePointer<Float>?) {
        let g = positionalGeometry, rows = batch * t, c = config.hiddenSize
        let z = pre ?? ws.buffer(.posOut, rows * c)  // [B·T, C]
        let scratch = ws.buffer(.posScratch, Kernels.conv1dSameWorkspaceCount(g, batch: batch, frames: t))
        posConvWeight.withUnsafeBufferPointer { w in
            guard let w = w.baseAddress else { return }
            Kernels.conv1dSame(g, batch: batch, frames: t, x: h, packedWeight: w, bias: posConvBias, y: z, workspace: scratch)
        }
        Dense.addGelu(z, into: h, count: rows * c)
    }

    /// The FFT path: `h += gelu(conv(h) + bias)`, the pre-activation into `pre` when given.
    func positionalConvFFT(_ h: UnsafeMutablePointer<Float>, batch: Int, frames t: Int, spectra: Conv1dSameSpectra,
                           ws: SpeechWorkspace, pre: UnsafeMutablePointer<Float>?) {
        let rows = batch * t, c = spectra.channels
        let z = pre ?? ws.buffer(.posOut, rows * c)  // [B·T, C]
        let scratch = ws.buffer(.posScratch, Kernels.conv1dSameFFTScratchCount(spectra, batch: batch, frames: t))
        Kernels.conv1dSameFFT(spectra, batch: batch, frames: t, x: h, adjoint: false, bias: posConvBias,
                              accumulate: false, into: z, scratch: scratch)
        Dense.addGelu(z, into: h, count: rows * c)
    }

    /// The direct path of the backward: `dh += convT(dz)` (the adjoint of the conv without bias), by im2col.
    func positionalConvBackwardDirect(_ dz: UnsafePointer<Float>, batch: Int, frames t: Int, into dh: UnsafeMutablePointer<Float>) {
        let g = positionalGeometry
        let scratch = workspace.buffer(.bPosScratch, Kernels.conv1dSameWorkspaceCount(g, batch: batch, frames: t))
        posConvWeight.withUnsafeBufferPointer { w in
            guard let w = w.baseAddress else { return }
            Kernels.conv1dSameInputGradient(g, batch: batch, frames: t, gradOutput: dz, packedWeight: w, gradInput: dh,
                                            workspace: scratch)
        }
    }

    /// The FFT path of the backward: `dh += convT(dz)`, the same spectra read conjugate-transposed.
    func positionalConvBackwardFFT(_ dz: UnsafePointer<Float>, batch: Int, frames t: Int, spectra: Conv1dSameSpectra,
                                   ws: SpeechWorkspace, into dh: UnsafeMutablePointer<Float>) {
        let scratch = ws.buffer(.posScratch, Kernels.conv1dSameFFTScratchCount(spectra, batch: batch, frames: t))
        Kernels.conv1dSameFFT(spectra, batch: batch, frames: t, x: dz, adjoint: true, bias: nil, accumulate: true,
                              into: dh, scratch: scratch)
    }
}

/// A value built once on first use, under a lock (so concurrent forwards on per-thread workspaces share it), and
/// dropped by `reset` when what it was built from changes.
final class LazyPositionalSpectra: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Conv1dSameSpectra?

    /// The stored spectra, built by `make` if absent (`make` runs under the lock; nil results are not stored).
    func value(_ make: () -> Conv1dSameSpectra?) -> Conv1dSameSpectra? {
        lock.lock()
        defer { lock.unlock() }
        if stored == nil { stored = make() }
        return stored
    }

    /// Forgets the stored spectra (the weights changed).
    func reset() {
        lock.lock()
        stored = nil
        lock.unlock()
    }
}
