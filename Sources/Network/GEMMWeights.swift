/// The GEMM weight layout shared by both engines and the array: W[k][n],
/// row-major K x N, the transpose of PyTorch's [Cout, Cin*KH*KW] (or [out, in])
/// view. A layer's `WeightMapping` places W[k][n] on a PE, so the FAP mask and the
/// array's folds are defined on this layout.
public enum GEMMWeights {
    /// PyTorch [N][K] (weight.view(N, -1)) -> W[K][N].
    public static func fromPyTorch(_ w: [Float], n: Int, k: Int) -> [Float] {
        precondition(w.count == n * k)
        var out = [Float](repeating: 0, count: n * k)
        w.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                Layout.transpose(src: s.baseAddress!, rows: n, cols: k, dst: d.baseAddress!)
            }
        }
        return out
    }

    /// W[K][N] -> PyTorch [N][K], for writing weights back out.
    public static func toPyTorch(_ w: [Float], k: Int, n: Int) -> [Float] {
        fromPyTorch(w, n: k, k: n)
    }
}
