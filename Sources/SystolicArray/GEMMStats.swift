/// Cycle and MAC accounting of one fold. Cycle terms are the cycles this fold
/// *exposes* on the array's timeline (what overlaps with a neighbouring fold is
/// charged once), so the folds' totals add up to the GEMM's cycles.
public struct FoldStats: Sendable, Equatable {
    /// Position in execution order.
    public var index: Int
    public var kFold: Int
    public var nFold: Int
    /// Rows (K) and columns (N) of the array this fold uses.
    public var rowsUsed: Int
    public var colsUsed: Int
    /// Exposed weight-load cycles: shifting weights in (and, double-buffered, the
    /// swap edge and any wait for the shadow chain).
    public var weightLoadCycles = 0
    /// From the first MAC until the far used PE (rowsUsed-1, colsUsed-1) gets its first activation.
    public var fillCycles = 0
    /// M cycles in which the far used PE receives the M activation vectors.
    public var steadyCycles = 0
    /// Partial sums travelling through the unused rows into the accumulators; exposed
    /// only after the GEMM's last fold (earlier drains overlap the next fold).
    public var drainCycles = 0
    public var macsPerformed = 0
    public var macsBypassed = 0

    public init(index: Int, kFold: Int, nFold: Int, rowsUsed: Int, colsUsed: Int) {
        self.index = index
        self.kFold = kFold
        self.nFold = nFold
        self.rowsUsed = rowsUsed
        self.colsUsed = colsUsed
    }

    public var cycles: Int { weightLoadCycles + fillCycles + steadyCycles + drainCycles }
}

/// Accounting of one GEMM Out[M x N] = A[M x K] x W[K x N] on an R x C array.
public struct GEMMStats: Sendable, Equatable {
    public var m: Int
    public var k: Int
    public var n: Int
    public var rows: Int
    public var cols: Int
    public var perFold: [FoldStats]

    public init(m: Int, k: Int, n: Int, rows: Int, cols: Int, perFold: [FoldStats]) {
        self.m = m
        self.k = k
        self.n = n
        self.rows = rows
        self.cols = cols
        self.perFold = perFold
    }

    public var folds: Int { perFold.count }
    public var cycles: Int { perFold.reduce(0) { $0 + $1.cycles } }
    public var weightLoadCycles: Int { perFold.reduce(0) { $0 + $1.weightLoadCycles } }
    public var fillCycles: Int { perFold.reduce(0) { $0 + $1.fillCycles } }
    public var steadyCycles: Int { perFold.reduce(0) { $0 + $1.steadyCycles } }
    public var drainCycles: Int { perFold.reduce(0) { $0 + $1.drainCycles } }
    public var macsPerformed: Int { perFold.reduce(0) { $0 + $1.macsPerformed } }
    public var macsBypassed: Int { perFold.reduce(0) { $0 + $1.macsBypassed } }
    /// PE-cycles in which a PE neither performed nor bypassed a MAC.
    public var idlePECycles: Int { rows * cols * cycles - macsPerformed - macsBypassed }
    /// Performed MACs over PE-cycles (R x C x cycles).
    public var utilization: Double {
        cycles == 0 ? 0 : Double(macsPerformed) / (Double(rows) * Double(cols) * Double(cycles))
    }
    /// PE-cycle updates the register-level model executes for this GEMM.
    public var peCycles: Int { rows * cols * cycles }
}
