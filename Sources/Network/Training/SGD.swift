/// Stochastic gradient descent with momentum, optional Nesterov momentum and L2
/// weight decay, with PyTorch's `torch.optim.SGD` semantics (dampening 0):
///   d_p = g + weightDecay * p
///   buf = d_p on the first step, else momentum * buf + d_p
///   d_p = d_p + momentum * buf (Nesterov) or buf
///   p  -= lr * d_p
///
/// FAT: with a `PruneMask`, the gradient, the weight-decay term and the momentum
/// buffer are all masked, so a pruned weight stays exactly zero and nothing can
/// leak back into it through momentum. This is done by running the unmasked
/// update and then zeroing p, buf and g at the pruned indices: for a pruned
/// weight (p = 0, buf = 0 from the start) the masked update is exactly
/// d_p = 0, buf = 0, p = 0, and the kept weights see the unmasked arithmetic
/// bit for bit. An empty mask therefore gives the same bits as no mask.
public struct SGD: Sendable {
    public var momentum: Float
    public var weightDecay: Float
    public var nesterov: Bool
    /// Momentum buffers, one per parameter slot; empty until that slot's first step.
    public private(set) var buffers: [[Float]]

    public init(slots: Int, momentum: Float = 0.9, weightDecay: Float = 5e-4, nesterov: Bool = false) {
        precondition(slots >= 0 && momentum >= 0 && weightDecay >= 0)
        precondition(!nesterov || momentum > 0, "Nesterov momentum requires a positive momentum")
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        buffers = Array(repeating: [], count: slots)
    }

    /// Restores momentum buffers (e.g. from a checkpoint); an empty buffer means "not started".
    public mutating func setBuffer(slot: Int, _ values: [Float]) {
        buffers[slot] = values
    }

    /// One update of parameter `slot`. `gradient` is read, and zeroed at pruned
    /// indices when `mask` is given. `decay: false` exempts this tensor from
    /// weight decay (e.g. BN parameters, if a caller wants that).
    public mutating func step(slot: Int, parameter: inout [Float], gradient: inout [Float], lr: Float,
                              mask: PruneMask? = nil, decay: Bool = true) {
        let count = parameter.count
        precondition(gradient.count == count, "gradient of \(gradient.count) for a parameter of \(count)")
        if count == 0 { return }
        if let mask { precondition(mask.count == count, "mask of \(mask.count) for a parameter of \(count)") }
        let wd = decay ? weightDecay : 0
        let mu = momentum, nest = nesterov
        let first = buffers[slot].isEmpty
        if mu != 0 && first { buffers[slot] = [Float](repeating: 0, count: count) }
        parameter.withUnsafeMutableBufferPointer { pp in
            gradient.withUnsafeMutableBufferPointer { gp in
                buffers[slot].withUnsafeMutableBufferPointer { bp in
                    let p = pp.baseAddress!, g = gp.baseAddress!
                    let buf = bp.baseAddress
                    Parallel.forRanges(count, minChunk: 65536) { range in
                        for i in range {
                            var d = g[i]
                            if wd != 0 { d += wd * p[i] }
                            if let buf, mu != 0 {
                                let b = first ? d : mu * buf[i] + d
                                buf[i] = b
                                d = nest ? d + mu * b : b
                            }
                            p[i] -= lr * d
                        }
                    }
                    if let mask, !mask.isEmpty {
                        mask.zero(p)
                        mask.zero(g)
                        if let buf { mask.zero(buf) }
                    }
                }
            }
        }
    }
}
