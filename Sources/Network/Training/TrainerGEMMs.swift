import MaskedGEMM

/// How the trainer runs its GEMMs: every OpenBLAS call single-threaded, with
/// the trainer spreading independent GEMMs (Winograd's 16 positions, or two
/// halves of one GEMM's output) over the cores itself.
///
/// Why: with OpenBLAS threading its own calls, its worker thread keeps
/// spinning for a while after each GEMM, and the elementwise passes that follow
/// (BN, pooling, the Winograd transforms, SGD on `Parallel`'s two workers)
/// then compete with it for the two cores. A pass whose second half waited
/// for the spinning thread cost up to 10x its time (SGD: 7 ms per step
/// usually, 70-100 ms in some runs). Single-threaded calls leave no thread
/// behind. A second gain: each result then comes from one single-threaded
/// call whose shape does not depend on the core count, so training gives the
/// same bits on any number of cores (with the same OpenBLAS kernels).
public enum TrainerGEMMs {
    /// Pieces a split GEMM is cut into: fixed, not the core count, so the
    /// calls (and their bits) are the same on every machine.
    static let pieces = 2

    /// Runs `body` with OpenBLAS pinned to one thread (restoring the count).
    public static func singleThreadedBLAS<T>(_ body: () throws -> T) rethrows -> T {
        let saved = MaskedGEMM.blasThreads
        if saved == 1 { return try body() }
        MaskedGEMM.blasThreads = 1
        defer { MaskedGEMM.blasThreads = saved }
        return try body()
    }

    /// body(i) for i in 0..<count, spread over `Parallel`'s workers, each
    /// making single-threaded BLAS calls.
    public static func each(_ count: Int, _ body: (Int) -> Void) {
        singleThreadedBLAS {
            Parallel.forRanges(count) { range in for i in range { body(i) } }
        }
    }

    /// Row-major C[m x n] = op(A) op(B) (as `MaskedGEMM.sgemm`), computed as
    /// `pieces` GEMMs over blocks of C's columns (`splitRows` false) or rows.
    public static func sgemm(m: Int, n: Int, k: Int,
                             a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                             b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                             c: UnsafeMutablePointer<Float>, ldc: Int, splitRows: Bool = false) {
        let extent = splitRows ? m : n
        let per = (extent + pieces - 1) / pieces
        each(pieces) { p in
            let lo = p * per, hi = min(extent, lo + per)
            guard lo < hi else { return }
            if splitRows {
                // Rows lo..<hi of C come from rows lo..<hi of op(A).
                MaskedGEMM.sgemm(m: hi - lo, n: n, k: k, a: a + (transA ? lo : lo * lda), lda: lda, transA: transA,
                                 b: b, ldb: ldb, transB: transB, c: c + lo * ldc, ldc: ldc)
            } else {
                // Columns lo..<hi of C come from columns lo..<hi of op(B).
                MaskedGEMM.sgemm(m: m, n: hi - lo, k: k, a: a, lda: lda, transA: transA,
                                 b: b + (transB ? lo * ldb : lo), ldb: ldb, transB: transB, c: c + lo, ldc: ldc)
            }
        }
    }
}
