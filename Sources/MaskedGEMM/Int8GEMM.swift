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

    /// Pixels (columns of OutT) walked together by `applyStuckAt`: four 8-lane
    /// int32 vectors (AVX2 registers), so a fold's activations for one tile
    /// (rows x 32 x 4 bytes, 32 KB on a 256-row array) stay in L1 while every
    /// stuck PE column of the fold walks them.
    static let stuckAtTile = 32

    /// Adds to OutT[N][M] what unmitigated stuck-at faults change, given OutT as
    /// the fault-free (or FAP-masked) result of the same GEMM.
    ///
    /// On the array, output channel n's fold (kFold, nFold) runs down one PE column
    /// c: the partial sum enters row 0 as 0, each working PE adds w x a, a bypassed
    /// PE passes it on, and a stuck PE forces its bit after its MAC (whatever the
    /// weight's value, since the PE computed), so the corrupted sum flows on down
    /// the column; the bottom value is added, wrapping, into the accumulator of
    /// every K fold. So per fold with a stuck PE, the corrupted sum is walked row by
    /// row down to the last stuck row, keeping d = corrupted - clean (each stuck
    /// row adds what its forced bit changed); below the last stuck row both sums
    /// gain the same terms, so d is what the accumulator gains.
    ///
    /// Above about 1% faulty PEs nearly every column of every fold holds a stuck
    /// PE, so the walks are as long as the GEMM itself; they are laid out for
    /// speed: each walk's weights are gathered once per GEMM in row order, the
    /// activations converted to int32 once and regrouped in tiles of
    /// `stuckAtTile` pixels, and per tile every walk runs over the same cached
    /// slice in 8-lane wrapping int32 arithmetic (the array's own, so products
    /// and sums wrap exactly as `ArrayGEMM.runInt8`'s).
    ///
    /// `weights` are the masked weights (zero on bypassed PEs), `bypass` the map of
    /// bypassed PEs: a PE in both is bypassed, so its stuck bit never acts.
    public static func applyStuckAt(_ stuck: [StuckAtFault], bypass: FaultMap?, mapping: WeightMapping,
                                    weights w: UnsafePointer<Float>, columns at: UnsafePointer<Float>, m: Int,
                                    outT: UnsafeMutablePointer<Int32>) {
        guard !stuck.isEmpty, m > 0 else { return }
        // Stuck-at faults are unmitigated: a chip with them runs no row/column bypass.
        precondition(mapping.usesEveryLane, "stuck-at faults on a mapping with switched-off rows or columns")
        let cols = mapping.cols, n = mapping.n, k = mapping.k
        var byColumn = [[StuckAtFault]](repeating: [], count: cols)
        for s in stuck where bypass.map({ $0.bits[s.row * cols + s.col] == 0 }) ?? true {
            byColumn[s.col].append(s)
        }
        for c in 0..<cols { byColumn[c].sort { $0.row < $1.row } }

        // One walk per (K fold, output channel) whose PE column holds a stuck PE
        // within the fold's used rows. Flat buffers, indexed through each walk:
        // rowOffset[row] = input channel x tile (where that row's activations sit in
        // a tile), weight[row] the channel's weight on that row, and per stuck PE its
        // row and the masks that force its bit, (x & and) | or.
        struct Walk { var channel: Int; var rows: Int; var weights: Int; var faults: Int; var faultCount: Int }
        let tile = stuckAtTile
        var walks: [Walk] = []
        var rowOffset: [Int] = [], weight: [Int32] = [], stuckRow: [Int] = [], andMask: [Int32] = [], orMask: [Int32] = []
        for kFold in 0..<mapping.kFolds {
            let used = mapping.rowsUsed(kFold: kFold)
            let rowsStart = rowOffset.count
            rowOffset += (0..<used).map { mapping.inputChannel(kFold: kFold, row: $0) * tile }
            for nFold in 0..<mapping.nFolds {
                for c in 0..<mapping.colsUsed(nFold: nFold) {
                    let faults = byColumn[c].filter { $0.row < used }
                    guard let last = faults.last?.row else { continue }
                    let channel = mapping.outputChannel(nFold: nFold, col: c)
                    walks.append(Walk(channel: channel, rows: rowsStart, weights: weight.count, faults: stuckRow.count,
                                      faultCount: faults.count))
                    weight += (0...last).map { Int32(w[mapping.inputChannel(kFold: kFold, row: $0) * n + channel]) }
                    for f in faults {
                        let bit = Int32(bitPattern: 1 << UInt32(f.bit))
                        stuckRow.append(f.row)
                        andMask.append(f.value == 1 ? -1 : ~bit)
                        orMask.append(f.value == 1 ? bit : 0)
                    }
                }
            }
        }
        guard !walks.isEmpty else { return }

        let tiles = (m + tile - 1) / tile
        // aTiles[(t x k + kk) x tile + j] = a[kk][t x tile + j], zero past m.
        var aTiles = [Int32](repeating: 0, count: tiles * k * tile)
        aTiles.withUnsafeMutableBufferPointer { ap in
            for t in 0..<tiles {
                let len = min(tile, m - t * tile)
                for kk in 0..<k {
                    let src = at + kk * m + t * tile, dst = ap.baseAddress! + (t * k + kk) * tile
                    for j in 0..<len { dst[j] = Int32(src[j]) }
                }
            }
        }
        // Four 8-lane vectors rather than one SIMD32: the compiler keeps these in
        // registers, where a SIMD32 sum was spilled to the stack on every row.
        typealias V = SIMD8<Int32>
        let vb = MemoryLayout<V>.size
        aTiles.withUnsafeBufferPointer { ap in
        rowOffset.withUnsafeBufferPointer { ro in
        weight.withUnsafeBufferPointer { wt in
        stuckRow.withUnsafeBufferPointer { sr in
        andMask.withUnsafeBufferPointer { am in
        orMask.withUnsafeBufferPointer { om in
            let offsets = ro.baseAddress!, weights = wt.baseAddress!, rowsOf = sr.baseAddress!
            let ands = am.baseAddress!, ors = om.baseAddress!
            for t in 0..<tiles {
                let len = min(tile, m - t * tile)
                let slice = UnsafeRawPointer(ap.baseAddress! + t * k * tile)
                for walk in walks {
                    let offset = offsets + walk.rows, wcol = weights + walk.weights
                    var s0 = V(), s1 = V(), s2 = V(), s3 = V()
                    var d0 = V(), d1 = V(), d2 = V(), d3 = V()
                    var row = 0
                    for f in walk.faults..<(walk.faults + walk.faultCount) {
                        let stuckAt = rowsOf[f]
                        while row <= stuckAt {
                            let b = V(repeating: wcol[row]), p = slice + offset[row] * 4
                            s0 &+= b &* p.loadUnaligned(as: V.self)
                            s1 &+= b &* p.loadUnaligned(fromByteOffset: vb, as: V.self)
                            s2 &+= b &* p.loadUnaligned(fromByteOffset: 2 * vb, as: V.self)
                            s3 &+= b &* p.loadUnaligned(fromByteOffset: 3 * vb, as: V.self)
                            row += 1
                        }
                        let and = V(repeating: ands[f]), or = V(repeating: ors[f])
                        var forced = (s0 & and) | or; d0 &+= forced &- s0; s0 = forced
                        forced = (s1 & and) | or; d1 &+= forced &- s1; s1 = forced
                        forced = (s2 & and) | or; d2 &+= forced &- s2; s2 = forced
                        forced = (s3 & and) | or; d3 &+= forced &- s3; s3 = forced
                    }
                    let out = outT + walk.channel * m + t * tile
                    if len == tile {
                        let raw = UnsafeMutableRawPointer(out)
                        raw.storeBytes(of: raw.loadUnaligned(as: V.self) &+ d0, as: V.self)
                        raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: vb, as: V.self) &+ d1, toByteOffset: vb, as: V.self)
                        raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: 2 * vb, as: V.self) &+ d2, toByteOffset: 2 * vb, as: V.self)
                        raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: 3 * vb, as: V.self) &+ d3, toByteOffset: 3 * vb, as: V.self)
                    } else {
                        for j in 0..<len { out[j] = out[j] &+ [d0, d1, d2, d3][j / 8][j % 8] }
                    }
                }
            }
        }}}}}}
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
