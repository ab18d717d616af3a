import MaskedGEMM

/// 3x3, stride-1, padding-1 convolution as im2col + GEMM (docs/conventions.md §2).
public enum Conv2D {
    /// Out^T[N][M] = W^T x At through OpenBLAS, where W is K x N (GEMM layout)
    /// and At is the K x M im2col matrix; the result is CNHW.
    public static func gemm(weights w: UnsafePointer<Float>, k: Int, n: Int,
                            columns at: UnsafePointer<Float>, m: Int, out: UnsafeMutablePointer<Float>) {
        MaskedGEMM.sgemm(m: n, n: m, k: k, a: w, lda: n, transA: true, b: at, ldb: m, c: out, ldc: m)
    }

    /// Adds a per-channel bias to CNHW data ([channels][count]).
    public static func addBias(_ data: UnsafeMutablePointer<Float>, channels: Int, count: Int, bias: UnsafePointer<Float>) {
        Parallel.forRanges(channels, minChunk: max(1, 65536 / max(1, count))) { range in
            for c in range {
                let b = bias[c]
                let row = data + c * count
                for i in 0..<count { row[i] += b }
            }
        }
    }

    /// Whole functional forward of one conv on a CNHW input (weights W[K][N],
    /// already FAP-masked if wanted). Returns CNHW [Cout][B][H][W]. Allocates;
    /// the network executor uses the pointer routines with reused buffers instead.
    public static func forward(input: [Float], batch: Int, spec: ConvSpec, weights: [Float], bias: [Float]) -> [Float] {
        let plane = spec.height * spec.width
        let m = batch * plane
        precondition(input.count == spec.inChannels * m && weights.count == spec.k * spec.outChannels
                     && bias.count == spec.outChannels)
        let cols = Im2Col.columns(input, channels: spec.inChannels, batch: batch, height: spec.height, width: spec.width,
                                  kernel: spec.kernel, padding: spec.padding)
        var out = [Float](repeating: 0, count: spec.outChannels * m)
        cols.withUnsafeBufferPointer { c in
            weights.withUnsafeBufferPointer { w in
                bias.withUnsafeBufferPointer { b in
                    out.withUnsafeMutableBufferPointer { o in
                        gemm(weights: w.baseAddress!, k: spec.k, n: spec.outChannels, columns: c.baseAddress!, m: m,
                             out: o.baseAddress!)
                        addBias(o.baseAddress!, channels: spec.outChannels, count: m, bias: b.baseAddress!)
                    }
                }
            }
        }
        return out
    }
}
