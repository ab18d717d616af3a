import FapsimSupport

/// Cycle counts of a GEMM from formulas, without clocking the array. Training and
/// sweeps use these; tests prove them equal, term by term, to the register-level
/// model for every shape, fault map and both weight-load policies.
///
/// For fold f spanning r_f rows and c_f columns on an R x C array (its used rows
/// and columns; under row/column bypass up to its last lane, the switched-off
/// lines between included), M rows of A:
///   fill_f   = r_f + c_f - 2       (skew until the far used PE gets item 0)
///   steady_f = M                   (the far used PE receives the M items)
///   drain    = R - r_last + 1      (last fold only: through the unused rows, plus the accumulator capture)
///   single-buffered:  load_f = r_f
///   double-buffered:  load_0 = r_0 + 1 (shift + swap), load_f = max(1, r_f - (M + r_{f-1} + c_{f-1} - 2))
/// MACs: every PE of the fold's r_f x c_f corner passes M activations; performed =
/// M x (its working PEs), bypassed = M x (its bypassed PEs: faulty ones, and those
/// of switched-off rows and columns).
public enum ClosedFormTiming {
    /// `mapping` (nil: the default one): a slot permutation moves weights between
    /// PEs but not the fold structure, so it changes no cycle count, nor the MAC
    /// split, which depends on the corner of the array each fold spans; its lane
    /// lists (row/column bypass) set the fold structure and the bypassed PEs.
    public static func gemm(config: HardwareConfig, m: Int, k: Int, n: Int, faults: FaultMap?,
                            mapping: WeightMapping? = nil) throws -> GEMMStats {
        let plan = try mapping.map { try FoldPlan(config: config, m: m, mapping: $0) }
            ?? FoldPlan(config: config, m: m, k: k, n: n)
        guard plan.k == k, plan.n == n else {
            throw FapsimError("weight mapping is for a K=\(plan.k) N=\(plan.n) GEMM, not K=\(k) N=\(n)")
        }
        if let faults, faults.rows != config.rows || faults.cols != config.cols {
            throw FapsimError("fault map is \(faults.rows)x\(faults.cols) but the array (\(config.name)) is \(config.rows)x\(config.cols)")
        }
        return stats(plan: plan, policy: config.weightLoad, faults: faults)
    }

    public static func stats(plan: FoldPlan, policy: WeightLoadPolicy, faults: FaultMap?) -> GEMMStats {
        let m = plan.m
        // A fold runs on the top-left rowSpan x colSpan corner of the array.
        let rows = plan.rows, cols = plan.cols
        let corners = FaultCorners(plan.mapping.bypassMap(faults: faults), rows: rows, cols: cols)
        var folds: [FoldStats] = []
        folds.reserveCapacity(plan.folds.count)
        for (f, fold) in plan.folds.enumerated() {
            let r = fold.rowSpan, c = fold.colSpan
            var s = FoldStats(index: f, kFold: fold.kFold, nFold: fold.nFold, rowsUsed: fold.rowsUsed, colsUsed: fold.colsUsed)
            switch policy {
            case .singleBuffered:
                s.weightLoadCycles = r
            case .doubleBuffered:
                if f == 0 {
                    s.weightLoadCycles = r + 1
                } else {
                    let prev = plan.folds[f - 1]
                    s.weightLoadCycles = max(1, r - (m + prev.rowSpan + prev.colSpan - 2))
                }
            }
            s.fillCycles = r + c - 2
            s.steadyCycles = m
            let faulty = corners.faulty(rows: r, cols: c)
            s.macsBypassed = m * faulty
            s.macsPerformed = m * (r * c - faulty)
            folds.append(s)
        }
        if var last = folds.last {
            last.drainCycles = rows - plan.folds[plan.folds.count - 1].rowSpan + 1
            folds[folds.count - 1] = last
        }
        return GEMMStats(m: m, k: plan.k, n: plan.n, rows: rows, cols: cols, perFold: folds)
    }

    /// Total cycles only (what sweeps need), without building per-fold records.
    public static func cycles(config: HardwareConfig, m: Int, k: Int, n: Int) throws -> Int {
        try gemm(config: config, m: m, k: k, n: n, faults: nil).cycles
    }
}
