import COpenBLAS
import SystolicArray
import FapsimSupport

/// The fast functional path: Out = A x (W ⊙ mask) with the FAP mask of a fault
/// map under a `WeightMapping` (docs/conventions.md §2), through OpenBLAS. Training and sweeps use it; tests prove it equals
/// the register-level array (bit-exactly for int8, to a stated bound for float32).
public enum MaskedGEMM {
    /// Row-major C[m x n] = alpha * A[m x k] * B[k x n] + beta * C.
    /// `transA`/`transB` take A as [k x m] or B as [n x k] in memory.
    @inline(__always)
    public static func sgemm(m: Int, n: Int, k: Int,
                             a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                             b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                             c: UnsafeMutablePointer<Float>, ldc: Int,
                             alpha: Float = 1, beta: Float = 0) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            // BLAS leaves C untouched when k == 0 only for beta == 1; make it exact.
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            return
        }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// W ⊙ mask for a K x N weight matrix under `faults` (nil = fault-free) and
    /// `mapping` (nil = the default mapping).
    public static func maskedWeights(_ w: [Float], k: Int, n: Int, faults: FaultMap?,
                                     mapping: WeightMapping? = nil) -> [Float] {
        precondition(w.count == k * n)
        guard let faults else { return w }
        var out = w
        applyMask(&out, k: k, n: n, faults: faults, mapping: mapping)
        return out
    }

    /// Zeroes, in place, every weight that `mapping` (nil = the default one) puts
    /// on a faulty PE.
    public static func applyMask(_ w: inout [Float], k: Int, n: Int, faults: FaultMap, mapping: WeightMapping? = nil) {
        precondition(w.count == k * n)
        let map = resolved(mapping, k: k, n: n, faults: faults)
        w.withUnsafeMutableBufferPointer { wp in map.forEachPruned(faults: faults) { wp[$0] = 0 } }
    }

    /// The mapping to mask with: the given one, checked against the GEMM's shape, or the default.
    static func resolved(_ mapping: WeightMapping?, k: Int, n: Int, faults: FaultMap) -> WeightMapping {
        guard let mapping else { return WeightMapping(k: k, n: n, rows: faults.rows, cols: faults.cols) }
        precondition(mapping.k == k && mapping.n == n, "mapping for K=\(mapping.k) N=\(mapping.n) used on K=\(k) N=\(n)")
        return mapping
    }

    /// Out[M x N] = A[M x K] x (W ⊙ mask)[K x N], float32, all row-major.
    public static func forward(a: [Float], m: Int, k: Int, w: [Float], n: Int, faults: FaultMap?,
                               mapping: WeightMapping? = nil) -> [Float] {
        precondition(a.count == m * k && w.count == k * n)
        let wm = maskedWeights(w, k: k, n: n, faults: faults, mapping: mapping)
        var out = [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { ap in
            wm.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { op in
                    sgemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: wp.baseAddress!, ldb: n,
                          c: op.baseAddress!, ldc: n)
                }
            }
        }
        return out
    }

    /// Integer path: int8 x int8 products summed into int32 with two's-complement
    /// wrap-around. Modular addition is associative, so any summation order gives
    /// the array's exact bits.
    public static func forwardInt8(a: [Int8], m: Int, k: Int, w: [Int8], n: Int, faults: FaultMap?,
                                   mapping: WeightMapping? = nil) -> [Int32] {
        precondition(a.count == m * k && w.count == k * n)
        var wm = w
        if let faults {
            resolved(mapping, k: k, n: n, faults: faults).forEachPruned(faults: faults) { wm[$0] = 0 }
        }
        var out = [Int32](repeating: 0, count: m * n)
        for i in 0..<m {
            for kk in 0..<k {
                let av = Int32(a[i * k + kk])
                if av == 0 { continue }
                let wb = kk * n, ob = i * n
                for j in 0..<n { out[ob + j] = out[ob + j] &+ av &* Int32(wm[wb + j]) }
            }
        }
        return out
    }

    /// OpenBLAS's process-wide thread count.
    public static var blasThreads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}
