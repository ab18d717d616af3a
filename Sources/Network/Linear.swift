import MaskedGEMM

/// Flatten and the fully connected layer.
public enum Flatten {
    /// CNHW [C][B][H][W] -> At[K][B] with k = (c * H + y) * W + x, PyTorch's
    /// flatten order of an NCHW tensor, so the linear layer's K index matches
    /// `classifier.weight`'s input index.
    public static func forward(src: UnsafePointer<Float>, channels: Int, batch: Int, height: Int, width: Int,
                               dst: UnsafeMutablePointer<Float>) {
        let plane = height * width
        if plane == 1 {
            // VGG11 on 32x32 ends at 1x1: CNHW is already [K][B].
            dst.update(from: src, count: channels * batch)
            return
        }
        for c in 0..<channels {
            for b in 0..<batch {
                let s = src + (c * batch + b) * plane
                for p in 0..<plane { dst[(c * plane + p) * batch + b] = s[p] }
            }
        }
    }
}

public enum Linear {
    /// Logits[B][N] = (W^T x At)^T + bias from the GEMM output Out^T[N][B].
    public static func finish(outT: UnsafePointer<Float>, n: Int, batch: Int, bias: UnsafePointer<Float>,
                              logits: UnsafeMutablePointer<Float>) {
        for j in 0..<n {
            for b in 0..<batch { logits[b * n + j] = outT[j * batch + b] + bias[j] }
        }
    }
}
