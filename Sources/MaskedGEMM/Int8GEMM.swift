import SystolicArray
import FapsimSupport

/// The fast int8 path of the quantized network: an exact int8 x int8 -> int32 GEMM
/// through OpenBLAS's float32 GEMM, and the effect of unmitigated stuck-at faults
/// on the array's partial-sum path added on top. Together they compute bit for
/// bit what `ArrayGEMM.runInt8` computes (tested in `Int8GEMMTests`), at BLAS speed
/// for the fault-free and FAP parts.
extension MaskedGEMM {
    /// K rows per float32 GEMM chunk. Every |int8 x int8| product is at most
    /// 128 x 128 = 2^14, so any partial sum of 1024 of them is an integer below
    /// 2^24, which float32 holds exactly: whatever order and FMA use BLAS picks,
    /// each chunk's result is the exact integer sum.
    public static let exactInt8Chunk = 1024

    /// OutT[N][M] = (W[K][N])^T x At[K][M] for int8 values held in float32
    /// (the network's im2col layout), summed exactly and wrapped to int32 as the
    /// array's accumulators do. `scratch` holds N x M floats.
    public static func int8GEMMTransposed(weights w: UnsafePointer<Float>, k: Int, n: Int,
                                          columns at: UnsafePointer<Float>, m: Int,
                                          out: UnsafeMutablePointer<Int32>, scratch: UnsafeMutablePointer<Float>) {
        let count = n * m
        out.update(repeating: 0, count: count)
        var k0 = 0
        while k0 < k {
            let rows = min(exactInt8Chunk, k - k0)
            sgemm(m: n, n: m, k: rows, a: w + k0 * n, lda: n, transA: true, b: at + k0 * m, ldb: m, c: scratch, ldc: m)
            for i in 0..<count { out[i] = out[i] &+ Int32(scratch[i]) }
            k0 += rows
        }
    }

    /// Adds to OutT[N][M] what unmitigated stuck-at faults change, given OutT as
    /// the fault-free (or FAP-masked) result of the same GEMM.
    ///
    /// On the array, output channel n's fold (kFold, nFold) runs down one PE column
    /// c: the partial sum enters row 0 as 0, each working PE adds w x a, a bypassed
    /// PE passes it on, and a stuck PE forces its bit after its MAC (whatever the
    /// weight's value, since the PE computed), so the corrupted sum flows on down
    /// the column; the bottom value is added, wrapping, into the accumulator of
    /// every K fold. So per fold with a stuck PE, the sum is recomputed row by row
    /// down to the last stuck row; below it the clean and the corrupted sums gain
    /// the same terms, and the difference is what the accumulator gains.
    ///
    /// `weights` are the masked weights (zero on bypassed PEs), `bypass` the map of
    /// bypassed PEs: a PE in both is bypassed, so its stuck bit never acts.
    public static func applyStuckAt(_ stuck: [StuckAtFault], bypass: FaultMap?, mapping: WeightMapping,
                                    weights w: UnsafePointer<Float>, columns at: UnsafePointer<Float>, m: Int,
                                    outT: UnsafeMutablePointer<Int32>) {
        guard !stuck.isEmpty, m > 0 else { return }
        // Stuck-at faults are unmitigated: a chip with them runs no row/column bypass.
        precondition(mapping.usesEveryLane, "stuck-at faults on a mapping with switched-off rows or columns")
        let cols = mapping.cols, n = mapping.n
        var byColumn = [[StuckAtFault]](repeating: [], count: cols)
        for s in stuck where bypass.map({ $0.bits[s.row * cols + s.col] == 0 }) ?? true {
            byColumn[s.col].append(s)
        }
        for c in 0..<cols { byColumn[c].sort { $0.row < $1.row } }
        var clean = [Int32](repeating: 0, count: m)
        var corrupt = [Int32](repeating: 0, count: m)
        clean.withUnsafeMutableBufferPointer { cp in
            corrupt.withUnsafeMutableBufferPointer { pp in
                let cl = cp.baseAddress!, ps = pp.baseAddress!
                for nFold in 0..<mapping.nFolds {
                    for c in 0..<mapping.colsUsed(nFold: nFold) where !byColumn[c].isEmpty {
                        let channel = mapping.outputChannel(nFold: nFold, col: c)
                        let out = outT + channel * m
                        for kFold in 0..<mapping.kFolds {
                            let used = mapping.rowsUsed(kFold: kFold)
                            let faults = byColumn[c].filter { $0.row < used }
                            guard let last = faults.last?.row else { continue }
                            cl.update(repeating: 0, count: m)
                            ps.update(repeating: 0, count: m)
                            var next = 0
                            for row in 0...last {
                                let kk = mapping.inputChannel(kFold: kFold, row: row)
                                let wv = Int32(w[kk * n + channel])
                                if wv != 0 {
                                    let a = at + kk * m
                                    for i in 0..<m {
                                        let t = wv &* Int32(a[i])
                                        cl[i] = cl[i] &+ t
                                        ps[i] = ps[i] &+ t
                                    }
                                }
                                if faults[next].row == row {
                                    let f = faults[next]
                                    for i in 0..<m { ps[i] = Int32(bitPattern: f.apply(bits: UInt32(bitPattern: ps[i]))) }
                                    next += 1
                                }
                            }
                            for i in 0..<m { out[i] = out[i] &+ (ps[i] &- cl[i]) }
                        }
                    }
                }
            }
        }
    }

    /// Out[M x N] = A[M x K] x (W ⊙ mask)[K x N] with int8 operands on an array
    /// whose `faults` are bypassed and whose `stuckAt` PEs corrupt their partial
    /// sums: the fast path (`int8GEMMTransposed` + `applyStuckAt`) in the
    /// array's row-major operand layout, for tests and tools.
    public static func forwardInt8(a: [Int8], m: Int, k: Int, w: [Int8], n: Int, faults: FaultMap?,
                                   mapping: WeightMapping, stuckAt: [StuckAtFault]) -> [Int32] {
        precondition(a.count == m * k && w.count == k * n && mapping.k == k && mapping.n == n)
        var wf = w.map(Float.init)
        if let faults { applyMask(&wf, k: k, n: n, faults: faults, mapping: mapping) }
        var at = [Float](repeating: 0, count: k * m)
        for i in 0..<m { for kk in 0..<k { at[kk * m + i] = Float(a[i * k + kk]) } }
        var outT = [Int32](repeating: 0, count: n * m)
        var scratch = [Float](repeating: 0, count: max(1, n * m))
        wf.withUnsafeBufferPointer { wp in
            at.withUnsafeBufferPointer { ap in
                outT.withUnsafeMutableBufferPointer { op in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        int8GEMMTransposed(weights: wp.baseAddress!, k: k, n: n, columns: ap.baseAddress!, m: m,
                                           out: op.baseAddress!, scratch: sp.baseAddress!)
                        applyStuckAt(stuckAt, bypass: faults, mapping: mapping, weights: wp.baseAddress!,
                                     columns: ap.baseAddress!, m: m, outT: op.baseAddress!)
                    }
                }
            }
        }
        var out = [Int32](repeating: 0, count: m * n)
        for j in 0..<n { for i in 0..<m { out[i * n + j] = outT[j * m + i] } }
        return out
    }
}
