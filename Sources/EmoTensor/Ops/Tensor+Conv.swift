// Conv1d and group norm as recorded ops (PyTorch layout [B, C, T]).

extension Tensor {
    /// Conv1d: self `[B, Cin, Tin]`, weight `[Cout, Cin/G, K]`, bias `[Cout]` → `[B, Cout, Tout]` (`nn.Conv1d`).
    public func conv1d(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
                       groups: Int = 1) throws -> Tensor {
        guard rank == 3, weight.rank == 3 else {
            throw TensorError.shapeMismatch("conv1d: expected input [B, Cin, T] and weight [Cout, Cin/G, K], got \(shape) and \(weight.shape)")
        }
        let g = Conv1dGeometry(inChannels: shape[1], outChannels: weight.shape[0], kernelSize: weight.shape[2],
                               stride: stride, padding: padding, dilation: dilation, groups: groups)
        try g.validate(inputLength: shape[2])
        guard weight.shape[1] * groups == shape[1] else {
            throw TensorError.shapeMismatch("conv1d: weight \(weight.shape) expects \(weight.shape[1] * groups) input channels, input has \(shape[1])")
        }
        if let bias, bias.shape != [g.outChannels] {
            throw TensorError.shapeMismatch("conv1d: bias \(bias.shape) vs \(g.outChannels) output channels")
        }
        let batch = shape[0], tIn = shape[2], tOut = g.outputLength(inputLength: tIn)
        let out = Tensor(shape: [batch, g.outChannels, tOut],
                         storage: TensorStorage(uninitializedCount: batch * g.outChannels * tOut))
        let work = TensorStorage(uninitializedCount: g.workspaceCount(inputLength: tIn))
        Kernels.conv1d(g, batch: batch, inputLength: tIn, x: pointer, weight: weight.pointer, bias: bias?.pointer,
                       y: out.storage.pointer, workspace: work.pointer)
        guard let tape = Tape.active(self, weight, bias) else { return out }
        let (x, w) = (detached, weight.detached)
        let needX = isRecorded, needW = weight.isRecorded, needB = bias?.isRecorded ?? false
        return tape.record(out, inputs: [self, weight, bias]) { dy in
            let gx = needX ? Tensor(shape: x.shape, storage: TensorStorage(uninitializedCount: x.count)) : nil
            let gw = needW ? Tensor(shape: w.shape, storage: TensorStorage(uninitializedCount: w.count)) : nil
            let gb = needB ? Tensor(shape: [g.outChannels]) : nil
            let ws = TensorStorage(uninitializedCount: Kernels.conv1dBackwardWorkspaceCount(g, inputLength: tIn))
            Kernels.conv1dBackward(g, batch: batch, inputLength: tIn, x: x.pointer, weight: w.pointer,
                                   gradOutput: dy.pointer, gradInput: gx?.storage.pointer,
                                   gradWeight: gw?.storage.pointer, gradBias: gb?.storage.pointer,
                                   workspace: ws.pointer)
            return [gx, gw, gb]
        }
    }

    /// Group norm: self `[B, C, T]` (or `[B, C]`), statistics per (batch, group) (`nn.GroupNorm(G, C)`).
    public func groupNorm(groups: Int, gamma: Tensor?, beta: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        guard rank == 2 || rank == 3 else {
            throw TensorError.shapeMismatch("groupNorm: expected [B, C, T] or [B, C], got \(shape)")
        }
        let batch = shape[0], c = shape[1], t = rank == 3 ? shape[2] : 1
        guard groups > 0, c % groups == 0 else {
            throw TensorError.invalidArgument("groupNorm: \(groups) groups must divide \(c) channels")
        }
        guard gamma.map({ $0.count == c }) ?? true, beta.map({ $0.count == c }) ?? true else {
            throw TensorError.shapeMismatch("groupNorm: gamma/beta must have \(c) elements")
        }
        let out = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: count))
        let mean = Tensor(shape: [batch, groups]), rstd = Tensor(shape: [batch, groups])
        Kernels.groupNorm(x: pointer, batch: batch, channels: c, length: t, groups: groups, gamma: gamma?.pointer,
                          beta: beta?.pointer, eps: eps, y: out.storage.pointer, mean: mean.storage.pointer,
                          rstd: rstd.storage.pointer)
        guard let tape = Tape.active(self, gamma, beta) else { return out }
        let x = detached, gammaValues = gamma?.detached
        return tape.record(out, inputs: [self, gamma, beta]) { dy in
            let gx = Tensor(shape: x.shape, storage: TensorStorage(uninitializedCount: x.count))
            let gGamma = Tensor(shape: [c]), gBeta = Tensor(shape: [c])
            Kernels.groupNormBackward(x: x.pointer, gradOutput: dy.pointer, batch: batch, channels: c, length: t,
                                      groups: groups, gamma: gammaValues?.pointer, mean: mean.pointer,
                                      rstd: rstd.pointer, gradInput: gx.storage.pointer,
                                      gradGamma: gGamma.storage.pointer, gradBeta: gBeta.storage.pointer)
            return [gx, gGamma, gBeta]
        }
    }

    /// Conv1d channels-last: self `[B, Tin, Cin]`, packedWeight `[Cout, K, Cin/G]`
    /// (`Kernels.packConv1dWeightChannelsLast`), bias `[Cout]` → `[B, Tout, Cout]`. Gradients for the packed weight
    /// come back in the packed order.
    public func conv1dChannelsLast(packedWeight: Tensor, bias: Tensor? = nil, geometry g: Conv1dGeometry) throws -> Tensor {
        guard rank == 3, shape[2] == g.inChannels, packedWeight.count == g.weightCount else {
            throw TensorError.shapeMismatch("conv1dChannelsLast: input \(shape) / weight \(packedWeight.shape) do not fit \(g)")
        }
        try g.validate(inputLength: shape[1])
        if let bias, bias.count != g.outChannels {
            throw TensorError.shapeMismatch("conv1dChannelsLast: bias \(bias.shape) vs \(g.outChannels) output channels")
        }
        let batch = shape[0], tIn = shape[1], tOut = g.outputLength(inputLength: tIn)
        let out = Tensor(shape: [batch, tOut, g.outChannels],
                         storage: TensorStorage(uninitializedCount: batch * tOut * g.outChannels))
        let work = TensorStorage(uninitializedCount: Kernels.conv1dChannelsLastWorkspaceCount(g, inputLength: tIn))
        Kernels.conv1dChannelsLast(g, batch: batch, inputLength: tIn, x: pointer, packedWeight: packedWeight.pointer,
                                   bias: bias?.pointer, y: out.storage.pointer, workspace: work.pointer)
        guard let tape = Tape.active(self, packedWeight, bias) else { return out }
        let (x, w) = (detached, packedWeight.detached)
        let needX = isRecorded, needW = packedWeight.isRecorded, needB = bias?.isRecorded ?? false
        return tape.record(out, inputs: [self, packedWeight, bias]) { dy in
            let gx = needX ? Tensor(shape: x.shape, storage: TensorStorage(uninitializedCount: x.count)) : nil
            let gw = needW ? Tensor(shape: w.shape, storage: TensorStorage(uninitializedCount: w.count)) : nil
            let gb = needB ? Tensor(shape: [g.outChannels]) : nil
            let ws = TensorStorage(uninitializedCount: Kernels.conv1dChannelsLastBackwardWorkspaceCount(g, inputLength: tIn))
            Kernels.conv1dChannelsLastBackward(g, batch: batch, inputLength: tIn, x: x.pointer, packedWeight: w.pointer,
                                               gradOutput: dy.pointer, gradInput: gx?.storage.pointer,
                                               gradPackedWeight: gw?.storage.pointer, gradBias: gb?.storage.pointer,
                                               workspace: ws.pointer)
            return [gx, gw, gb]
        }
    }

    /// Group norm channels-last: self `[B, T, C]`, statistics per (batch, group) over T × C/G values.
    public func groupNormChannelsLast(groups: Int, gamma: Tensor?, beta: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        guard rank == 3 else { throw TensorError.shapeMismatch("groupNormChannelsLast: expected [B, T, C], got \(shape)") }
        let batch = shape[0], t = shape[1], c = shape[2]
        guard groups > 0, c % groups == 0 else {
            throw TensorError.invalidArgument("groupNormChannelsLast: \(groups) groups must divide \(c) channels")
        }
        guard gamma.map({ $0.count == c }) ?? true, beta.map({ $0.count == c }) ?? true else {
            throw TensorError.shapeMismatch("groupNormChannelsLast: gamma/beta must have \(c) elements")
        }
        let out = Tensor(shape: shape, storage: TensorStorage(uninitializedCount: count))
        let mean = Tensor(shape: [batch, groups]), rstd = Tensor(shape: [batch, groups])
        Kernels.groupNormChannelsLast(x: pointer, batch: batch, length: t, channels: c, groups: groups,
                                      gamma: gamma?.pointer, beta: beta?.pointer, eps: eps, y: out.storage.pointer,
                                      mean: mean.storage.pointer, rstd: rstd.storage.pointer)
        guard let tape = Tape.active(self, gamma, beta) else { return out }
        let x = detached, gammaValues = gamma?.detached
        return tape.record(out, inputs: [self, gamma, beta]) { dy in
            let gx = Tensor(shape: x.shape, storage: TensorStorage(uninitializedCount: x.count))
            let gGamma = Tensor(shape: [c]), gBeta = Tensor(shape: [c])
            Kernels.groupNormChannelsLastBackward(x: x.pointer, gradOutput: dy.pointer, batch: batch, length: t,
                                                  channels: c, groups: groups, gamma: gammaValues?.pointer,
                                                  mean: mean.pointer, rstd: rstd.pointer,
                                                  gradInput: gx.storage.pointer, gradGamma: gGamma.storage.pointer,
                                                  gradBeta: gBeta.storage.pointer)
            return [gx, gGamma, gBeta]
        }
    }
}
