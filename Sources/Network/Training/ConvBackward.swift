import MaskedGEMM

/// Backward pass of the 3x3 stride-1 conv computed as Out^T[N][M] = W^T x At
/// (`Conv2D.gemm`). Both gradients are GEMMs on the forward layouts, so no
/// transposed copies are made:
///   dW[K][N]  = At[K][M] x dOut^T        (dOut is CNHW = [N][M])
///   dAt[K][M] = W[K][N]  x dOut[N][M],   then dX = col2im(dAt)
///   db[n]     = sum over m of dOut[n][m]
/// For FAT, `weights` are the effective (masked) weights the forward pass used;
/// masking dW itself is the optimizer's job (`PruneMask`), so this routine stays
/// the plain derivative of the computed function.
public enum ConvBackward {
    /// - columns: At[K][M], the forward pass's im2col matrix of the input.
    /// - columnsGradient: K x M scratch for dAt; it may be the same buffer as
    ///   `columns` (dW is computed before it is written). Unused when `inputGradient` is nil.
    /// - inputGradient: CNHW [inChannels][M], overwritten; nil for the first layer.
    public static func backward(columns: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                                outputGradient dOut: UnsafePointer<Float>,
                                k: Int, n: Int, batch: Int, spec: ConvSpec,
                                weightGradient dW: UnsafeMutablePointer<Float>,
                                biasGradient db: UnsafeMutablePointer<Float>,
                                columnsGradient: UnsafeMutablePointer<Float>?,
                                inputGradient dX: UnsafeMutablePointer<Float>?) {
        let m = batch * spec.height * spec.width
        precondition(k == spec.k && n == spec.outChannels)
        TrainerGEMMs.sgemm(m: k, n: n, k: m, a: columns, lda: m, b: dOut, ldb: m, transB: true, c: dW, ldc: n,
                           splitRows: true)
        biasGradient(outputGradient: dOut, channels: n, count: m, dst: db)
        guard let dX else { return }
        guard let dCols = columnsGradient else { preconditionFailure("columnsGradient needed for the input gradient") }
        TrainerGEMMs.sgemm(m: k, n: m, k: n, a: weights, lda: n, b: dOut, ldb: m, c: dCols, ldc: m)
        dX.update(repeating: 0, count: spec.inChannels * m)
        Col2Im.add(columns: dCols, channels: spec.inChannels, batch: batch, height: spec.height, width: spec.width,
                   kernel: spec.kernel, padding: spec.padding, dst: dX)
    }

    /// db[n] = sum over the `count` pixels of channel n of dOut ([channels][count]).
    public static func biasGradient(outputGradient dOut: UnsafePointer<Float>, channels: Int, count m: Int,
                                    dst db: UnsafeMutablePointer<Float>) {
        Parallel.forRanges(channels, minChunk: max(1, 65536 / max(1, m))) { range in
            for j in range {
                db[j] = Float(ChannelReductions.sum(dOut + j * m, m))
            }
        }
    }

    /// Array convenience (allocates): gradients of one conv for a CNHW input.
    public static func backward(input: [Float], batch: Int, spec: ConvSpec, weights: [Float], outputGradient: [Float])
        -> (weight: [Float], bias: [Float], input: [Float]) {
        let m = batch * spec.height * spec.width
        precondition(input.count == spec.inChannels * m && weights.count == spec.k * spec.outChannels
                     && outputGradient.count == spec.outChannels * m)
        var cols = Im2Col.columns(input, channels: spec.inChannels, batch: batch, height: spec.height,
                                  width: spec.width, kernel: spec.kernel, padding: spec.padding)
        var dW = [Float](repeating: 0, count: spec.k * spec.outChannels)
        var db = [Float](repeating: 0, count: spec.outChannels)
        var dX = [Float](repeating: 0, count: input.count)
        cols.withUnsafeMutableBufferPointer { c in
            weights.withUnsafeBufferPointer { w in
                outputGradient.withUnsafeBufferPointer { g in
                    dW.withUnsafeMutableBufferPointer { dw in
                        db.withUnsafeMutableBufferPointer { dbp in
                            dX.withUnsafeMutableBufferPointer { dx in
                                backward(columns: c.baseAddress!, weights: w.baseAddress!, outputGradient: g.baseAddress!,
                                         k: spec.k, n: spec.outChannels, batch: batch, spec: spec,
                                         weightGradient: dw.baseAddress!, biasGradient: dbp.baseAddress!,
                                         columnsGradient: c.baseAddress!, inputGradient: dx.baseAddress!)
                            }
                        }
                    }
                }
            }
        }
        return (dW, db, dX)
    }
}
