import FapsimSupport

/// Where one weight of a GEMM sits on the array: the fold that loads it and the
/// PE of that fold.
public struct PEPlacement: Sendable, Equatable {
    public var kFold: Int
    public var nFold: Int
    public var row: Int
    public var col: Int
}

/// The mapping of one GEMM's K x N weight matrix onto the R x C array: for every
/// W[k][n], the fold, row and column that hold it (docs/conventions.md §2).
///
/// A mapping places input channel k in a K *slot* and output channel n in an N
/// slot, on an array whose usable rows and columns are two *lane lists*
/// (`rowLanes`, `colLanes`: physical rows and columns, ascending). With r = |rowLanes|
/// and c = |colLanes|, K slot s lands in fold s div r on lane s mod r, which is
/// physical row rowLanes[s mod r]; N slots likewise on the column lanes. The
/// default mapping uses every row and column and puts every channel in its own
/// slot, which is the rule W[k][n] on PE(k mod R, n mod C) in fold
/// (k div R, n div C). Fault-aware mapping permutes the slots; row/column bypass
/// (`Mitigation.rowcol`) shortens the lane lists, so folds are r x c wide and the
/// rows and columns left out pass data straight through (their PEs are bypassed
/// like faulty ones under FAP, docs/hardware-model.md). The fold structure depends
/// only on K, N and the lane lists, never on the slot permutation.
///
/// Every path that needs to know where a weight is asks this type: the
/// register-level array's feeder, weight chain and accumulator addresses, the
/// closed-form timing, the masked GEMM (float and int8), the trainer's prune
/// masks and the pruned-share metric. "Is this weight pruned?" is
/// `isPruned(k:n:faults:)` and nothing else.
public struct WeightMapping: Sendable, Equatable {
    public let k: Int
    public let n: Int
    /// The physical array.
    public let rows: Int
    public let cols: Int
    /// The array rows and columns weights may sit on, ascending (all of them by default).
    public let rowLanes: [Int]
    public let colLanes: [Int]
    /// Lane of each physical row and column (-1: switched off).
    public let laneOfRow: [Int]
    public let laneOfCol: [Int]
    /// Slot of input channel k (a permutation of 0..<K).
    public let kSlot: [Int]
    /// Slot of output channel n (a permutation of 0..<N).
    public let nSlot: [Int]
    /// Inverse of `kSlot`: the input channel in slot s.
    public let kAtSlot: [Int]
    /// Inverse of `nSlot`: the output channel in slot s.
    public let nAtSlot: [Int]
    /// PE row of input channel k and PE column of output channel n: derived from
    /// the slots once, because the masking loops read them per weight.
    public let peRow: [Int]
    public let peCol: [Int]

    /// The default mapping: channel k in K slot k, channel n in N slot n.
    public init(k: Int, n: Int, rows: Int, cols: Int) {
        precondition(k > 0 && n > 0 && rows > 0 && cols > 0, "mapping of an empty GEMM or array")
        self.init(unchecked: k, n: n, rows: rows, cols: cols, rowLanes: Array(0..<rows), colLanes: Array(0..<cols),
                  kSlot: Array(0..<k), nSlot: Array(0..<n))
    }

    /// Channel k in K slot k and channel n in N slot n, on the array rows
    /// `lanes.rows` and columns `lanes.cols` only (row/column bypass).
    public init(k: Int, n: Int, rows: Int, cols: Int, lanes: ArrayLanes) throws {
        try self.init(k: k, n: n, rows: rows, cols: cols, lanes: lanes, kSlot: Array(0..<max(0, k)), nSlot: Array(0..<max(0, n)))
    }

    /// The default mapping of a K x N GEMM on `config`'s array.
    public init(config: HardwareConfig, k: Int, n: Int) {
        self.init(k: k, n: n, rows: config.rows, cols: config.cols)
    }

    /// A mapping that puts input channel k in K slot `kSlot[k]` and output channel n
    /// in N slot `nSlot[n]`; each must be a permutation of its channels.
    public init(k: Int, n: Int, rows: Int, cols: Int, kSlot: [Int], nSlot: [Int]) throws {
        try self.init(k: k, n: n, rows: rows, cols: cols, lanes: nil, kSlot: kSlot, nSlot: nSlot)
    }

    /// Slots as above on the lanes `lanes` (nil: every row and column).
    public init(k: Int, n: Int, rows: Int, cols: Int, lanes: ArrayLanes?, kSlot: [Int], nSlot: [Int]) throws {
        guard k > 0, n > 0, rows > 0, cols > 0 else {
            throw FapsimError("weight mapping: expected positive K, N, rows and columns, got K=\(k) N=\(n) on \(rows)x\(cols)")
        }
        for (name, slots, count) in [("input-channel slots", kSlot, k), ("output-channel slots", nSlot, n)] {
            guard slots.count == count, Set(slots).count == count, slots.allSatisfy({ $0 >= 0 && $0 < count }) else {
                throw FapsimError("weight mapping \(name): expected a permutation of 0..<\(count), got \(slots.count) entries")
            }
        }
        let lanes = lanes ?? ArrayLanes.all(rows: rows, cols: cols)
        try lanes.check(rows: rows, cols: cols)
        self.init(unchecked: k, n: n, rows: rows, cols: cols, rowLanes: lanes.rows, colLanes: lanes.cols,
                  kSlot: kSlot, nSlot: nSlot)
    }

    private init(unchecked k: Int, n: Int, rows: Int, cols: Int, rowLanes: [Int], colLanes: [Int],
                 kSlot: [Int], nSlot: [Int]) {
        self.k = k
        self.n = n
        self.rows = rows
        self.cols = cols
        self.rowLanes = rowLanes
        self.colLanes = colLanes
        var lr = [Int](repeating: -1, count: rows), lc = [Int](repeating: -1, count: cols)
        for (lane, r) in rowLanes.enumerated() { lr[r] = lane }
        for (lane, c) in colLanes.enumerated() { lc[c] = lane }
        laneOfRow = lr
        laneOfCol = lc
        self.kSlot = kSlot
        self.nSlot = nSlot
        var kAt = [Int](repeating: 0, count: k), nAt = [Int](repeating: 0, count: n)
        for (c, s) in kSlot.enumerated() { kAt[s] = c }
        for (c, s) in nSlot.enumerated() { nAt[s] = c }
        kAtSlot = kAt
        nAtSlot = nAt
        peRow = kSlot.map { rowLanes[WeightMapping.split($0, rowLanes.count).lane] }
        peCol = nSlot.map { colLanes[WeightMapping.split($0, colLanes.count).lane] }
    }

    /// The one place the modulo rule lives: slot s of a dimension whose folds are
    /// `width` lanes wide lies in fold s div width, on lane s mod width.
    @inline(__always)
    static func split(_ slot: Int, _ width: Int) -> (fold: Int, lane: Int) {
        (slot / width, slot % width)
    }

    /// True for the default mapping.
    public var isDefault: Bool { kSlot.elementsEqual(0..<k) && nSlot.elementsEqual(0..<n) && usesEveryLane }

    /// Whether every row and column of the array is a lane (no row/column bypass).
    public var usesEveryLane: Bool { rowLanes.count == rows && colLanes.count == cols }

    /// The lane lists as one value.
    public var lanes: ArrayLanes { ArrayLanes(uncheckedRows: rowLanes, cols: colLanes) }

    // MARK: fold structure (the same for every slot permutation of this shape and these lanes)

    /// Folds along K and along N.
    public var kFolds: Int { (k + rowLanes.count - 1) / rowLanes.count }
    public var nFolds: Int { (n + colLanes.count - 1) / colLanes.count }
    /// Row lanes fold `kFold` uses, and column lanes fold `nFold` uses.
    public func rowsUsed(kFold: Int) -> Int { min(rowLanes.count, k - kFold * rowLanes.count) }
    public func colsUsed(nFold: Int) -> Int { min(colLanes.count, n - nFold * colLanes.count) }
    /// Physical rows (columns) a fold spans: up to and including its last lane's.
    /// The skew and the weight chain run through every row and column of the span,
    /// switched-off ones included, so the timing follows the span.
    public func rowSpan(kFold: Int) -> Int { rowLanes[rowsUsed(kFold: kFold) - 1] + 1 }
    public func colSpan(nFold: Int) -> Int { colLanes[colsUsed(nFold: nFold) - 1] + 1 }
    /// First K slot of K-fold `kFold` and first N slot of N-fold `nFold`.
    public func firstKSlot(kFold: Int) -> Int { kFold * rowLanes.count }
    public func firstNSlot(nFold: Int) -> Int { nFold * colLanes.count }

    /// The PEs the array bypasses under this mapping: the faulty ones (FAP) and
    /// every PE of a switched-off row or column (nil: none, a fault-free chip
    /// using every lane).
    public func bypassMap(faults: FaultMap?) -> FaultMap? {
        if let faults { checkArray(faults) }
        guard !usesEveryLane else { return faults }
        var map = faults ?? FaultMap.none(rows: rows, cols: cols)
        for i in 0..<rows {
            for j in 0..<cols where laneOfRow[i] < 0 || laneOfCol[j] < 0 { map.setFaulty(i, j, true) }
        }
        return map
    }

    // MARK: placement

    /// Where W[k][n] sits (row and column are physical).
    public func placement(k kk: Int, n nn: Int) -> PEPlacement {
        let (kf, row) = WeightMapping.split(kSlot[kk], rowLanes.count)
        let (nf, col) = WeightMapping.split(nSlot[nn], colLanes.count)
        return PEPlacement(kFold: kf, nFold: nf, row: rowLanes[row], col: colLanes[col])
    }

    /// The input channel that fold `kFold` holds on row lane `row`, and the output
    /// channel that fold `nFold` holds in column lane `col` (the inverse per fold;
    /// a lane is the physical row or column when every lane is used).
    public func inputChannel(kFold: Int, row: Int) -> Int { kAtSlot[firstKSlot(kFold: kFold) + row] }
    public func outputChannel(nFold: Int, col: Int) -> Int { nAtSlot[firstNSlot(nFold: nFold) + col] }

    // MARK: pruning

    /// Whether W[k][n] sits on a faulty PE (and so is bypassed by its FAP mux).
    @inline(__always)
    public func isPruned(k kk: Int, n nn: Int, faults: FaultMap) -> Bool {
        faults.isFaulty(peRow[kk], peCol[nn])
    }

    /// The FAP mask of the K x N weight matrix (row-major, k major): 1 keeps, 0 prunes.
    public func pruneMask(faults: FaultMap) -> [Float] {
        checkArray(faults)
        var m = [Float](repeating: 1, count: k * n)
        forEachPruned(faults: faults) { m[$0] = 0 }
        return m
    }

    /// Ascending flat indices k * N + n of the pruned weights.
    public func prunedIndices(faults: FaultMap) -> [Int] {
        checkArray(faults)
        var idx: [Int] = []
        idx.reserveCapacity(prunedCount(faults: faults))
        forEachPruned(faults: faults) { idx.append($0) }
        return idx
    }

    /// Calls `body` with the flat index k * N + n of every pruned weight, ascending.
    public func forEachPruned(faults: FaultMap, _ body: (Int) -> Void) {
        checkArray(faults)
        faults.bits.withUnsafeBufferPointer { fb in
            for kk in 0..<k {
                let frow = peRow[kk] * cols
                let base = kk * n
                for nn in 0..<n where fb[frow + peCol[nn]] != 0 { body(base + nn) }
            }
        }
    }

    /// Number of weights the map prunes. Each fold puts its slots on its first
    /// rowsUsed row lanes and colsUsed column lanes (the top-left corner of the
    /// array when every lane is used), so this is the sum over folds of the faulty
    /// PEs there, whatever the permutation.
    public func prunedCount(faults: FaultMap) -> Int {
        checkArray(faults)
        let corner = FaultCorners(faults, rowLanes: rowLanes, colLanes: colLanes)
        var total = 0
        for kf in 0..<kFolds {
            for nf in 0..<nFolds { total += corner.faulty(rows: rowsUsed(kFold: kf), cols: colsUsed(nFold: nf)) }
        }
        return total
    }

    private func checkArray(_ faults: FaultMap) {
        precondition(faults.rows == rows && faults.cols == cols,
                     "fault map \(faults.rows)x\(faults.cols) used with a mapping for \(rows)x\(cols)")
    }
}

/// Faulty PEs in every top-left r x c corner of a fault map, from a 2-D prefix sum.
/// A fold that spans r rows and c columns runs on exactly that corner. Given lane
/// lists, the corners are of the map restricted to those rows and columns: the
/// faulty PEs among the first r row lanes and c column lanes.
public struct FaultCorners: Sendable {
    private let cols: Int
    private let prefix: [Int]

    public init(_ faults: FaultMap?, rows: Int? = nil, cols: Int? = nil) {
        let r = faults?.rows ?? rows ?? 0, c = faults?.cols ?? cols ?? 0
        self.cols = c
        var p = [Int](repeating: 0, count: (r + 1) * (c + 1))
        if let faults {
            for i in 0..<r {
                for j in 0..<c {
                    p[(i + 1) * (c + 1) + j + 1] = Int(faults.bits[i * c + j])
                        + p[i * (c + 1) + j + 1] + p[(i + 1) * (c + 1) + j] - p[i * (c + 1) + j]
                }
            }
        }
        prefix = p
    }

    public init(_ faults: FaultMap, rowLanes: [Int], colLanes: [Int]) {
        if rowLanes.count == faults.rows && colLanes.count == faults.cols {
            self.init(faults)
            return
        }
        var sub = [UInt8](repeating: 0, count: rowLanes.count * colLanes.count)
        for (a, i) in rowLanes.enumerated() {
            for (b, j) in colLanes.enumerated() { sub[a * colLanes.count + b] = faults.bits[i * faults.cols + j] }
        }
        self.init(FaultMap(rows: rowLanes.count, cols: colLanes.count, bits: sub))
    }

    /// Faulty PEs among rows 0..<rows and columns 0..<cols.
    public func faulty(rows r: Int, cols c: Int) -> Int { prefix[r * (cols + 1) + c] }
}
