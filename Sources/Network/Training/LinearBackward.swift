import MaskedGEMM

/// Backward of the fully connected layer logits[B][N] = (W^T x At)^T + bias, with
/// At[K][B] the flattened input and W[K][N] (GEMM layout, effective weights):
///   dW[K][N]  = At[K][B] x dLogits[B][N]
///   dAt[K][B] = W[K][N] x dLogits^T
///   db[n]     = sum over b of dLogits[b][n]
public enum LinearBackward {
    public static func backward(flatInput at: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                                logitsGradient g: UnsafePointer<Float>, k: Int, n: Int, batch: Int,
                                weightGradient dW: UnsafeMutablePointer<Float>,
                                biasGradient db: UnsafeMutablePointer<Float>,
                                flatInputGradient dAt: UnsafeMutablePointer<Float>?) {
        MaskedGEMM.sgemm(m: k, n: n, k: batch, a: at, lda: batch, b: g, ldb: n, c: dW, ldc: n)
        for j in 0..<n { db[j] = 0 }
        for b in 0..<batch {
            for j in 0..<n { db[j] += g[b * n + j] }
        }
        if let dAt {
            MaskedGEMM.sgemm(m: k, n: batch, k: n, a: weights, lda: n, b: g, ldb: n, transB: true, c: dAt, ldc: batch)
        }
    }
}

/// Backward of `Flatten.forward`: At[K][B] (k = (c * H + y) * W + x) back to CNHW.
public enum FlattenBackward {
    public static func backward(flatGradient src: UnsafePointer<Float>, channels: Int, batch: Int,
                                height: Int, width: Int, dst: UnsafeMutablePointer<Float>) {
        let plane = height * width
        if plane == 1 {
            dst.update(from: src, count: channels * batch)
            return
        }
        for c in 0..<channels {
            for b in 0..<batch {
                let d = dst + (c * batch + b) * plane
                for p in 0..<plane { d[p] = src[(c * plane + p) * batch + b] }
            }
        }
    }
}
