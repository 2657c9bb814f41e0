import EmoModels
import EmoTensor
import Foundation

// The conv feature encoder's stride-2, kernel-3 layers (wav2vec2-base's layers 1–4: a third of a forward's
// multiply-adds) run by Winograd F(3, 2): `Kernels.conv1dWinogradStride2` (the kernel library, with the
// algorithm's derivation and its naive twin).

extension SpeechEncoder {
    /// The transformed weights of a stride-2, kernel-3 conv layer.
    typealias WinogradWeights = Kernels.Conv1dWinogradWeights

    /// Below this many output frames a layer runs direct (the transforms would not pay).
    static var winogradMinFrames: Int { Kernels.conv1dWinogradMinFrames }

    /// Floats of scratch `convolveWinograd` needs for a layer of `frames` outputs.
    static func winogradScratchCount(frames: Int, cin: Int, cout: Int) -> Int {
        Kernels.conv1dWinogradScratchCount(frames: frames, inChannels: cin, outChannels: cout)
    }

    /// `dst[T_out, C_out] = conv(src[T_in, C_in]) + bias` for a stride-2, kernel-3 layer by Winograd F(3, 2)
    /// (frames-major, as `convolve`); `scratch` holds `winogradScratchCount` floats.
    func convolveWinograd(_ cl: ConvLayer, _ wino: WinogradWeights, _ src: UnsafePointer<Float>, frames tOut: Int,
                          into dst: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        cl.weight.withUnsafeBufferPointer { w in
            guard let w = w.baseAddress else { return }
            Kernels.conv1dWinogradStride2(inChannels: cl.cin, outChannels: cl.cout, weights: wino, packedWeight: w, input: src,
                                          outputFrames: tOut, output: dst, scratch: scratch)
        }
    }
}
