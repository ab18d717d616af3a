import FapsimSupport

/// The rows and columns of an array that carry weights (its *lanes*), each list
/// ascending. Row/column bypass switches the others off: their PEs pass
/// activations to the right and partial sums downwards without computing
/// (docs/mitigations.md).
public struct ArrayLanes: Sendable, Equatable {
    public let rows: [Int]
    public let cols: [Int]

    /// Lane lists for an `arrayRows` x `arrayCols` array, checked.
    public init(rows: [Int], cols: [Int], arrayRows: Int, arrayCols: Int) throws {
        self.init(uncheckedRows: rows, cols: cols)
        try check(rows: arrayRows, cols: arrayCols)
    }

    init(uncheckedRows rows: [Int], cols: [Int]) {
        self.rows = rows
        self.cols = cols
    }

    /// Every row and column: no bypass.
    public static func all(rows: Int, cols: Int) -> ArrayLanes {
        ArrayLanes(uncheckedRows: Array(0..<rows), cols: Array(0..<cols))
    }

    /// The usable sub-array's PEs.
    public var area: Int { rows.count * cols.count }

    func check(rows arrayRows: Int, cols arrayCols: Int) throws {
        for (name, lanes, size) in [("row", rows, arrayRows), ("column", cols, arrayCols)] {
            guard !lanes.isEmpty, lanes.allSatisfy({ $0 >= 0 && $0 < size }),
                  zip(lanes, lanes.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw FapsimError("weight mapping \(name) lanes: expected a non-empty ascending list of distinct \(name)s in 0..<\(size), got \(lanes.count) entries")
            }
        }
    }

    /// Whether none of the PEs on these rows and columns is faulty.
    public func isFaultFree(_ faults: FaultMap) -> Bool {
        for i in rows { for j in cols where faults.isFaulty(i, j) { return false } }
        return true
    }
}

/// Choosing the rows and columns that row/column bypass switches off: every faulty
/// PE must lie on a switched-off row or column, and what is left (|rows| x |cols|
/// fault-free PEs) should serve the GEMMs best. Two objectives (`Objective`):
/// the largest area |rows| x |cols|, or the fewest cycles of given GEMMs (a
/// network's layers) on a compact |rows| x |cols| array, closed form; ties go
/// to the choice keeping more rows, then to the first found. Even the area
/// objective is a maximum-edge-biclique problem on the healthy PEs (NP-hard in
/// general), so:
///
/// - `exact`: for each subset of the smaller dimension's lines (2^min(R, C)), the
///   other dimension keeps every line with no fault on the subset (keeping more
///   lines never costs folds); the best of all subsets. Used when
///   min(R, C) <= `exactLimit`.
/// - `greedy`: switch off, one at a time, the line holding most of the faults
///   still on the kept sub-array, a row's count weighted by a bias (rows
///   preferred at bias > 1); ties go to the line whose removal loses fewer kept
///   PEs, then rows before columns, then the lower index. Then a local
///   improvement: switch back on every line that no longer meets a kept fault
///   (rows first, then columns, and the other order). Run at the biases
///   `greedyBiases`, plus the single best row and column; the best candidate
///   under the objective is kept. Its gap to `exact` is measured in
///   docs/mitigations.md.
public enum RowColumnBypass {
    /// What a choice of lanes is judged by.
    public enum Objective: Sendable {
        /// The largest fault-free sub-array.
        case area
        /// The fewest cycles of these GEMMs on |rows| x |cols| PEs: the closed form
        /// of a compact single-buffered array of that size (the spans of
        /// switched-off lines and double buffering are left out of the ranking:
        /// second-order terms), summed over the GEMMs.
        case cycles(gemms: [GEMMSize])

        /// A cost to minimise for a sub-array of `rows` x `cols` lanes.
        func cost(rows: Int, cols: Int, cache: inout [Int: Double]) -> Double {
            switch self {
            case .area: return -Double(rows * cols)
            case .cycles(let gemms):
                let key = rows << 20 | cols
                if let c = cache[key] { return c }
                let c = gemms.reduce(0.0) { $0 + Double(RowColumnBypass.singleBufferedCycles($1, rows: rows, cols: cols)) }
                cache[key] = c
                return c
            }
        }
    }

    /// `ClosedFormTiming`'s single-buffered total on a fault-free rows x cols
    /// array, summed in closed form over the folds (sum of r_f is K, of c_f is N):
    /// per fold load r_f + fill r_f + c_f - 2 + steady M, then the drain
    /// rows - r_last + 1. `RowColumnBypassTests` checks it against `ClosedFormTiming`.
    public static func singleBufferedCycles(_ g: GEMMSize, rows: Int, cols: Int) -> Int {
        let kFolds = (g.k + rows - 1) / rows, nFolds = (g.n + cols - 1) / cols
        let rLast = g.k - (kFolds - 1) * rows
        return nFolds * 2 * g.k + kFolds * g.n + kFolds * nFolds * (g.m - 2) + rows - rLast + 1
    }

    /// One GEMM Out[M x N] = A[M x K] x W[K x N], for the cycles objective.
    public struct GEMMSize: Sendable, Equatable {
        public var m: Int, k: Int, n: Int
        public init(m: Int, k: Int, n: Int) { self.m = m; self.k = k; self.n = n }
    }

    /// Row weights of the greedy runs (1: rows and columns alike).
    public static let greedyBiases: [Double] = [0.125, 0.25, 0.5, 1, 2, 4, 8]

    /// Largest min(R, C) solved exactly by `choose` (2^16 subsets, well under a second).
    public static let exactLimit = 16

    /// The lanes row/column bypass keeps on a chip with `faults`: exact on small
    /// arrays, the greedy heuristic beyond. Throws when no fault-free row and
    /// column pair is left (every PE faulty): the chip is unusable under rowcol.
    public static func choose(faults: FaultMap, objective: Objective = .area) throws -> ArrayLanes {
        let lanes = min(faults.rows, faults.cols) <= exactLimit ? exact(faults: faults, objective: objective)
            : greedy(faults: faults, objective: objective)
        guard let lanes else {
            throw FapsimError("row/column bypass: the chip is unusable: all \(faults.rows)x\(faults.cols) PEs are faulty, so no fault-free row and column is left to map onto")
        }
        return lanes
    }

    /// The best lanes by exhaustive search over the smaller dimension; nil when
    /// every PE is faulty.
    public static func exact(faults: FaultMap, objective: Objective = .area) -> ArrayLanes? {
        let transposed = faults.rows > faults.cols
        let small = transposed ? faults.cols : faults.rows, large = transposed ? faults.rows : faults.cols
        precondition(small <= 24, "exact row/column choice on \(faults.rows)x\(faults.cols): 2^\(small) subsets is too many")
        func faulty(_ s: Int, _ l: Int) -> Bool { transposed ? faults.isFaulty(l, s) : faults.isFaulty(s, l) }
        // Per line of the small dimension, the lines of the large one it has a fault on.
        let words = (large + 63) / 64
        var conflicts = [[UInt64]](repeating: [UInt64](repeating: 0, count: words), count: small)
        for s in 0..<small { for l in 0..<large where faulty(s, l) { conflicts[s][l / 64] |= 1 << UInt64(l % 64) } }
        var best: (cost: Double, rows: Int, subset: Int)? = nil
        var cache: [Int: Double] = [:]
        var union = [UInt64](repeating: 0, count: words)
        for subset in 1..<(1 << small) {
            for w in 0..<words { union[w] = 0 }
            for s in 0..<small where subset >> s & 1 != 0 { for w in 0..<words { union[w] |= conflicts[s][w] } }
            let keptSmall = subset.nonzeroBitCount
            let keptLarge = large - union.reduce(0) { $0 + $1.nonzeroBitCount }
            guard keptSmall * keptLarge > 0 else { continue }
            let keptRows = transposed ? keptLarge : keptSmall
            let cost = objective.cost(rows: keptRows, cols: transposed ? keptSmall : keptLarge, cache: &cache)
            if best == nil || cost < best!.cost || (cost == best!.cost && keptRows > best!.rows) {
                best = (cost, keptRows, subset)
            }
        }
        guard let best else { return nil }
        let smallLanes = (0..<small).filter { best.subset >> $0 & 1 != 0 }
        let largeLanes = (0..<large).filter { l in !smallLanes.contains { faulty($0, l) } }
        return transposed ? ArrayLanes(uncheckedRows: largeLanes, cols: smallLanes)
                          : ArrayLanes(uncheckedRows: smallLanes, cols: largeLanes)
    }

    /// The greedy heuristic with its local improvement at every bias of
    /// `greedyBiases` (see the type's comment), the best under `objective`; nil
    /// when every PE is faulty.
    public static func greedy(faults: FaultMap, objective: Objective = .area) -> ArrayLanes? {
        var candidates = greedyBiases.flatMap { greedyCandidates(faults: faults, rowBias: $0) }
        let r = faults.rows, c = faults.cols
        // A single line is always a fault-free sub-array when it has a healthy PE:
        // the fallback if every greedy pass switched off a whole dimension.
        if let (i, healthy) = (0..<r).map({ i in (i, (0..<c).filter { !faults.isFaulty(i, $0) }) }).max(by: { $0.1.count < $1.1.count }),
           !healthy.isEmpty {
            candidates.append(ArrayLanes(uncheckedRows: [i], cols: healthy))
        }
        if let (j, healthy) = (0..<c).map({ j in (j, (0..<r).filter { !faults.isFaulty($0, j) }) }).max(by: { $0.1.count < $1.1.count }),
           !healthy.isEmpty {
            candidates.append(ArrayLanes(uncheckedRows: healthy, cols: [j]))
        }
        var best: (lanes: ArrayLanes, cost: Double)? = nil
        var cache: [Int: Double] = [:]
        for lanes in candidates where lanes.area > 0 {
            let cost = objective.cost(rows: lanes.rows.count, cols: lanes.cols.count, cache: &cache)
            if best == nil || cost < best!.cost || (cost == best!.cost && lanes.rows.count > best!.lanes.rows.count) {
                best = (lanes, cost)
            }
        }
        return best?.lanes
    }

    /// One greedy pass at `rowBias`, and its two local improvements.
    static func greedyCandidates(faults: FaultMap, rowBias: Double) -> [ArrayLanes] {
        let r = faults.rows, c = faults.cols
        var keptRow = [Bool](repeating: true, count: r), keptCol = [Bool](repeating: true, count: c)
        var rowFaults = [Int](repeating: 0, count: r), colFaults = [Int](repeating: 0, count: c)
        for i in 0..<r { for j in 0..<c where faults.isFaulty(i, j) { rowFaults[i] += 1; colFaults[j] += 1 } }
        var rowsLeft = r, colsLeft = c
        while true {
            // The row and the column holding most kept faults (lowest index on ties).
            var bestRow = -1, bestCol = -1
            for i in 0..<r where keptRow[i] && rowFaults[i] > 0 && (bestRow < 0 || rowFaults[i] > rowFaults[bestRow]) { bestRow = i }
            for j in 0..<c where keptCol[j] && colFaults[j] > 0 && (bestCol < 0 || colFaults[j] > colFaults[bestCol]) { bestCol = j }
            if bestRow < 0 && bestCol < 0 { break }
            let takeRow: Bool
            let rowScore = bestRow < 0 ? 0 : Double(rowFaults[bestRow]) * rowBias
            let colScore = bestCol < 0 ? 0 : Double(colFaults[bestCol])
            if bestCol < 0 { takeRow = true } else if bestRow < 0 { takeRow = false } else if rowScore != colScore {
                takeRow = rowScore > colScore
            } else {
                // Switching a row off loses colsLeft PEs, a column rowsLeft.
                takeRow = colsLeft <= rowsLeft
            }
            if takeRow {
                keptRow[bestRow] = false
                rowsLeft -= 1
                for j in 0..<c where keptCol[j] && faults.isFaulty(bestRow, j) { colFaults[j] -= 1 }
            } else {
                keptCol[bestCol] = false
                colsLeft -= 1
                for i in 0..<r where keptRow[i] && faults.isFaulty(i, bestCol) { rowFaults[i] -= 1 }
            }
        }
        func reAdd(rowsFirst: Bool) -> ArrayLanes {
            var kr = keptRow, kc = keptCol
            func addRows() {
                for i in 0..<r where !kr[i] && !(0..<c).contains(where: { kc[$0] && faults.isFaulty(i, $0) }) { kr[i] = true }
            }
            func addCols() {
                for j in 0..<c where !kc[j] && !(0..<r).contains(where: { kr[$0] && faults.isFaulty($0, j) }) { kc[j] = true }
            }
            if rowsFirst { addRows(); addCols() } else { addCols(); addRows() }
            return ArrayLanes(uncheckedRows: (0..<r).filter { kr[$0] }, cols: (0..<c).filter { kc[$0] })
        }
        return [reAdd(rowsFirst: true), reAdd(rowsFirst: false)]
    }
}
