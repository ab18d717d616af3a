import Foundation

/// BatchNorm2d parameters and running statistics of one layer (PyTorch names:
/// weight = gamma, bias = beta, running_mean, running_var, num_batches_tracked).
public struct BatchNormParameters: Sendable, Equatable {
    public var gamma: [Float]
    public var beta: [Float]
    public var runningMean: [Float]
    public var runningVar: [Float]
    public var batchesTracked: Int64

    public init(gamma: [Float], beta: [Float], runningMean: [Float], runningVar: [Float], batchesTracked: Int64 = 0) {
        self.gamma = gamma
        self.beta = beta
        self.runningMean = runningMean
        self.runningVar = runningVar
        self.batchesTracked = batchesTracked
    }

    /// PyTorch's initial state: gamma 1, beta 0, mean 0, var 1.
    public static func identity(channels: Int) -> BatchNormParameters {
        BatchNormParameters(gamma: .init(repeating: 1, count: channels), beta: .init(repeating: 0, count: channels),
                            runningMean: .init(repeating: 0, count: channels),
                            runningVar: .init(repeating: 1, count: channels))
    }
}

/// BatchNorm in inference mode and the fused per-channel affine + ReLU pass.
public enum BatchNorm {
    /// docs/conventions.md §3.
    public static let eps: Float = 1e-5
    public static let momentum: Float = 0.1

    /// y = gamma * (x + bias - mean) / sqrt(var + eps) + beta as y = x * scale + shift.
    /// Folding the conv bias and BN into one affine pass reads the activations
    /// once instead of three times; both engines run the same pass, so they stay
    /// comparable (only their GEMMs differ).
    public static func inferenceAffine(_ p: BatchNormParameters, precedingBias: [Float]?) -> (scale: [Float], shift: [Float]) {
        let c = p.gamma.count
        var scale = [Float](repeating: 0, count: c)
        var shift = [Float](repeating: 0, count: c)
        for i in 0..<c {
            let s = p.gamma[i] / (p.runningVar[i] + eps).squareRoot()
            scale[i] = s
            shift[i] = p.beta[i] + ((precedingBias?[i] ?? 0) - p.runningMean[i]) * s
        }
        return (scale, shift)
    }

    /// data[c][i] = data[c][i] * scale[c] + shift[c], then max(0, .) if `relu`; CNHW in place.
    public static func applyAffine(_ data: UnsafeMutablePointer<Float>, channels: Int, count: Int,
                                   scale: UnsafePointer<Float>, shift: UnsafePointer<Float>, relu: Bool) {
        Parallel.forRanges(channels, minChunk: max(1, 65536 / max(1, count))) { range in
            for c in range { affineRow(data + c * count, count: count, scale: scale[c], shift: shift[c], relu: relu) }
        }
    }

    /// One channel's `count` values: x * scale + shift (two roundings, no fused
    /// multiply-add, as every caller), then max(0, .) if `relu`.
    @inline(__always)
    static func affineRow(_ row: UnsafeMutablePointer<Float>, count: Int, scale s: Float, shift t: Float, relu: Bool) {
        if relu {
            for i in 0..<count { row[i] = max(row[i] * s + t, 0) }
        } else {
            for i in 0..<count { row[i] = row[i] * s + t }
        }
    }
}

/// Rectified linear unit, in place.
public enum ReLU {
    public static func apply(_ data: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forRanges(count, minChunk: 65536) { range in
            for i in range { data[i] = max(data[i], 0) }
        }
    }
}
