import Foundation

/// BatchNorm2d in training mode on CNHW data ([channels][count], count = B * H * W).
///
/// Forward normalises with the batch mean and the biased batch variance and
/// updates the running statistics as PyTorch does: with momentum 0.1,
/// running = (1 - momentum) * running + momentum * batch statistic, where the
/// variance fed to the running average is the UNBIASED one (N / (N - 1) times the
/// biased). Per-channel sums are taken in Double so the statistics do not drift
/// with the 16k+ pixels per channel of the first VGG11 layers.
public enum BatchNormTraining {
    /// y = gamma * xhat + beta with xhat = (x - mean) * invStd; saves xhat and
    /// invStd for the backward pass. `y` may be `x` (in place).
    /// Updates `params.runningMean`, `runningVar` and `batchesTracked`.
    /// Fusions for the training executor (each saves a pass over the
    /// activations, with bit-identical results): `bias` adds the preceding
    /// conv's per-channel bias to x first; `relu` applies max(0, .) to y.
    public static func forward(x: UnsafePointer<Float>, channels: Int, count: Int,
                               params: inout BatchNormParameters,
                               y: UnsafeMutablePointer<Float>,
                               xhat: UnsafeMutablePointer<Float>, invStd: UnsafeMutablePointer<Float>,
                               bias: UnsafePointer<Float>? = nil, relu: Bool = false) {
        precondition(count > 1, "batch statistics need more than one value per channel")
        precondition(params.gamma.count == channels)
        let mom = BatchNorm.momentum, eps = BatchNorm.eps
        let n = Double(count)
        params.gamma.withUnsafeBufferPointer { g in
            params.beta.withUnsafeBufferPointer { bt in
                params.runningMean.withUnsafeMutableBufferPointer { rm in
                    params.runningVar.withUnsafeMutableBufferPointer { rv in
                        let g = g.baseAddress!, bt = bt.baseAddress!, rm = rm.baseAddress!, rv = rv.baseAddress!
                        Parallel.forRanges(channels, minChunk: max(1, 65536 / count)) { range in
                            for c in range {
                                let row = x + c * count
                                let b = bias?[c] ?? 0
                                let mean = ChannelReductions.sum(row, count, shift: b) / n
                                // Deviations from the float mean (what xhat uses);
                                // the float mean is within 1 ulp of the exact one.
                                let ss = ChannelReductions.squaredDeviations(row, count, shift: b, center: Float(mean))
                                let varBiased = ss / n
                                let inv = Float(1 / (varBiased + Double(eps)).squareRoot())
                                invStd[c] = inv
                                let meanF = Float(mean), gc = g[c], bc = bt[c]
                                let xh = xhat + c * count, out = y + c * count
                                if relu {
                                    for i in 0..<count {
                                        let v = (row[i] + b - meanF) * inv
                                        xh[i] = v
                                        out[i] = max(gc * v + bc, 0)
                                    }
                                } else {
                                    for i in 0..<count {
                                        let v = (row[i] + b - meanF) * inv
                                        xh[i] = v
                                        out[i] = gc * v + bc
                                    }
                                }
                                rm[c] = (1 - mom) * rm[c] + mom * meanF
                                rv[c] = (1 - mom) * rv[c] + mom * Float(ss / (n - 1))
                            }
                        }
                    }
                }
            }
        }
        params.batchesTracked += 1
    }

    /// Gradients of the training-mode forward. With N = count per channel:
    ///   dbeta  = sum dy,  dgamma = sum dy * xhat,
    ///   dx     = gamma * invStd / N * (N * dy - dbeta - xhat * dgamma)
    /// (the batch mean and variance depend on every x, hence the two sums).
    /// `dx` may be `dy` (in place): each element is read before it is written.
    /// `reluOutput` folds in the backward of a ReLU after the BN: dy counts as
    /// 0 wherever that ReLU's output is <= 0 (as ReLUBackward would set it).
    public static func backward(outputGradient dy: UnsafePointer<Float>, xhat: UnsafePointer<Float>,
                                invStd: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                                channels: Int, count: Int,
                                inputGradient dx: UnsafeMutablePointer<Float>,
                                gammaGradient dgamma: UnsafeMutablePointer<Float>,
                                betaGradient dbeta: UnsafeMutablePointer<Float>,
                                reluOutput: UnsafePointer<Float>? = nil) {
        let n = Float(count)
        Parallel.forRanges(channels, minChunk: max(1, 65536 / max(1, count))) { range in
            for c in range {
                let g = dy + c * count, xh = xhat + c * count
                let gate = reluOutput.map { $0 + c * count }
                let (sdy, sdyx) = ChannelReductions.gatedSums(g, xh, count, gate: gate)
                let sb = Float(sdy), sg = Float(sdyx)
                dbeta[c] = sb
                dgamma[c] = sg
                let scale = gamma[c] * invStd[c] / n
                let out = dx + c * count
                ChannelReductions.batchNormInputGradient(g, xh, count, gate: gate, scale: scale, n: n, sb: sb, sg: sg,
                                                         out: out)
            }
        }
    }
}
