import FapsimSupport
import SystolicArray

/// FAM's `lanes` method: each layer on the healthiest array rows and columns it
/// needs, with its channel order chosen on those lines.
///
/// A GEMM that does not fill the array (the first conv's 27 rows and 64 columns
/// on 256x256, the second conv's 128 columns, a partial K or N fold) runs in
/// folds of |rows| x |cols| lanes. The number of folds along K is fixed by K and
/// R alone (ceil(K / R)), and folds of ceil(K / folds) lanes need no more of them,
/// so the layer may sit on any ceil(K / folds) of the R rows (and likewise
/// columns) at no cost in folds; only the fold's span, up to its last lane,
/// grows (docs/hardware-model.md, "Fault-aware mapping on chosen lanes").
///
/// The lines and the orders are chosen together, each step exact given the
/// others, so the saliency on faulty PEs never rises from step to step:
/// - columns: with one N fold, an exact rectangular assignment of the N output
///   channels to all C physical columns (which columns, and which channel on
///   each); with several, the ascending column lanes by dynamic programming for
///   the channels in their slots, then the exact square assignment of channels
///   to slots on those lanes;
/// - rows: the K slots the layer before induces stay (they are how that layer
///   stores its outputs), and the ascending row lanes are chosen for them by
///   dynamic programming; the first layer's input rows are free (the host lays
///   out the image's im2col), so there the rows are an exact rectangular
///   assignment too when K fits one fold.
/// The classifier's columns are free as well (the host reads logits by column).
/// Every layer keeps the `columns` mapping on every lane unless the chosen
/// lanes lose strictly less saliency, so no layer is worse than the first
/// lanes give it, given the rows it inherits.
extension FaultAwareMapping {
    /// Rounds of alternating column and row choices per starting point; it stops
    /// early when a round lowers nothing.
    static let laneRounds = 4

    /// Every GEMM layer's mapping under `lanes`, layer after layer.
    static func onChosenLanes(layers: [GEMMLayer], scores: [String: [Double]], faults: FaultMap) -> [String: WeightMapping] {
        var out: [String: WeightMapping] = [:]
        var previous: [Int]?
        for (i, layer) in layers.enumerated() {
            let m = placeOnLanes(saliency: scores[layer.name]!, k: layer.k, n: layer.n,
                                 kSlot: inducedInputSlots(k: layer.k, channelSlots: previous),
                                 freeInputOrder: i == 0, faults: faults)
            out[layer.name] = m
            previous = m.nSlot
        }
        return out
    }

    /// Lanes a dimension of `size` channels needs on `lines` array lines for the
    /// same number of folds as all of them: ceil(size / ceil(size / lines)).
    public static func laneCount(_ size: Int, lines: Int) -> Int {
        let folds = (size + lines - 1) / lines
        return (size + folds - 1) / folds
    }

    /// Total saliency of the weights `mapping` puts on faulty PEs.
    public static func prunedSaliency(_ mapping: WeightMapping, saliency s: [Double], faults: FaultMap) -> Double {
        var total = 0.0
        mapping.forEachPruned(faults: faults) { total += s[$0] }
        return total
    }

    /// One layer under `lanes`: its K slots `kSlot` as inherited (free to
    /// permute when `freeInputOrder`), the N slots and both lane lists chosen.
    public static func placeOnLanes(saliency s: [Double], k: Int, n: Int, kSlot inherited: [Int], freeInputOrder: Bool,
                                    faults: FaultMap) -> WeightMapping {
        let rows = faults.rows, cols = faults.cols
        let baseline = try! WeightMapping(k: k, n: n, rows: rows, cols: cols, kSlot: inherited,
                                          nSlot: assignOutputs(saliency: s, k: k, n: n, kSlot: inherited, faults: faults))
        let r = laneCount(k, lines: rows), c = laneCount(n, lines: cols)
        guard r < rows || c < cols || freeInputOrder else { return baseline }
        var best = baseline, bestCost = prunedSaliency(baseline, saliency: s, faults: faults)
        // Two starts: the first lanes, and the lines with the fewest faulty PEs.
        // The alternation finds a local optimum; the second start often finds a
        // better one on the first layer, whose lines are most free to move.
        let starts = [(Array(0..<r), Array(0..<c)),
                      (healthiest(r, of: rows) { i in (0..<cols).reduce(0) { $0 + Int(faults.bits[i * cols + $1]) } },
                       healthiest(c, of: cols) { j in (0..<rows).reduce(0) { $0 + Int(faults.bits[$1 * cols + j]) } })]
        for (startRows, startCols) in starts {
            var state = try! WeightMapping(k: k, n: n, rows: rows, cols: cols,
                                           lanes: ArrayLanes(rows: startRows, cols: startCols, arrayRows: rows, arrayCols: cols),
                                           kSlot: inherited, nSlot: Array(0..<n))
            var cost = Double.infinity, kept = state
            for _ in 0..<laneRounds {
                state = chooseColumns(state, saliency: s, faults: faults)
                state = chooseRows(state, saliency: s, freeOrder: freeInputOrder, faults: faults)
                let now = prunedSaliency(state, saliency: s, faults: faults)
                guard now < cost else { break }
                cost = now
                kept = state
            }
            if cost < bestCost { best = kept; bestCost = cost }
        }
        return best
    }

    /// The `count` lines of `lines` with the fewest `faulty(line)`, ascending (ties to the lower line).
    static func healthiest(_ count: Int, of lines: Int, faulty: (Int) -> Int) -> [Int] {
        let f = (0..<lines).map(faulty)
        return (0..<lines).sorted { (f[$0], $0) < (f[$1], $1) }.prefix(count).sorted()
    }

    /// `m` with its output channels' columns chosen for the rows it has: the
    /// N slots and column lanes minimising the saliency on faulty PEs.
    static func chooseColumns(_ m: WeightMapping, saliency s: [Double], faults: FaultMap) -> WeightMapping {
        let rows = faults.rows, cols = faults.cols, k = m.k, n = m.n, c = m.colLanes.count
        // t[i][n]: saliency of channel n's weights on physical row i (every K fold).
        var t = [Double](repeating: 0, count: rows * n)
        for kk in 0..<k {
            let base = m.peRow[kk] * n
            for nn in 0..<n { t[base + nn] += s[kk * n + nn] }
        }
        // cost[n][j]: what channel n loses in physical column j.
        var cost = [Double](repeating: 0, count: n * cols)
        for i in 0..<rows {
            for j in 0..<cols where faults.isFaulty(i, j) {
                for nn in 0..<n { cost[nn * cols + j] += t[i * n + nn] }
            }
        }
        let lanes: [Int], nSlot: [Int]
        if m.nFolds == 1 {
            // One fold: slot = lane, so any injection of channels into columns
            // is a mapping (sorted lanes, each channel's slot its column's rank).
            let column = Assignment.minimumCost(cost, rows: n, cols: cols)
            lanes = column.sorted()
            let rank = Dictionary(uniqueKeysWithValues: lanes.enumerated().map { ($1, $0) })
            nSlot = column.map { rank[$0]! }
        } else {
            var laneCost = [Double](repeating: 0, count: c * cols)
            for slot in 0..<n {
                let ch = m.nAtSlot[slot], lane = slot % c
                for j in 0..<cols { laneCost[lane * cols + j] += cost[ch * cols + j] }
            }
            lanes = Assignment.ascendingLanes(laneCost, lanes: c, lines: cols)
            var square = [Double](repeating: 0, count: n * n)
            for nn in 0..<n { for slot in 0..<n { square[nn * n + slot] = cost[nn * cols + lanes[slot % c]] } }
            nSlot = Assignment.minimumCost(square, size: n)
        }
        return try! WeightMapping(k: k, n: n, rows: rows, cols: cols,
                                  lanes: ArrayLanes(rows: m.rowLanes, cols: lanes, arrayRows: rows, arrayCols: cols),
                                  kSlot: m.kSlot, nSlot: nSlot)
    }

    /// `m` with its input rows chosen for the columns it has: the row lanes
    /// for its K slots, and with `freeOrder` the K slots too.
    static func chooseRows(_ m: WeightMapping, saliency s: [Double], freeOrder: Bool, faults: FaultMap) -> WeightMapping {
        let rows = faults.rows, cols = faults.cols, k = m.k, n = m.n, r = m.rowLanes.count
        guard r < rows || freeOrder else { return m }
        // g[k][i]: what row k of W loses on physical row i, given the columns.
        var g = [Double](repeating: 0, count: k * rows)
        for i in 0..<rows {
            let faulty = (0..<n).filter { faults.isFaulty(i, m.peCol[$0]) }
            guard !faulty.isEmpty else { continue }
            for kk in 0..<k {
                var acc = 0.0
                for nn in faulty { acc += s[kk * n + nn] }
                g[kk * rows + i] = acc
            }
        }
        let lanes: [Int], kSlot: [Int]
        if freeOrder && m.kFolds == 1 {
            let row = Assignment.minimumCost(g, rows: k, cols: rows)
            lanes = row.sorted()
            let rank = Dictionary(uniqueKeysWithValues: lanes.enumerated().map { ($1, $0) })
            kSlot = row.map { rank[$0]! }
        } else {
            var laneCost = [Double](repeating: 0, count: r * rows)
            for slot in 0..<k {
                let ch = m.kAtSlot[slot], lane = slot % r
                for i in 0..<rows { laneCost[lane * rows + i] += g[ch * rows + i] }
            }
            lanes = Assignment.ascendingLanes(laneCost, lanes: r, lines: rows)
            if freeOrder {
                var square = [Double](repeating: 0, count: k * k)
                for kk in 0..<k { for slot in 0..<k { square[kk * k + slot] = g[kk * rows + lanes[slot % r]] } }
                kSlot = Assignment.minimumCost(square, size: k)
            } else {
                kSlot = m.kSlot
            }
        }
        return try! WeightMapping(k: k, n: n, rows: rows, cols: cols,
                                  lanes: ArrayLanes(rows: lanes, cols: m.colLanes, arrayRows: rows, arrayCols: cols),
                                  kSlot: kSlot, nSlot: m.nSlot)
    }
}

extension Assignment {
    /// For a rows x cols cost matrix (rows <= cols, row-major), the distinct
    /// column assigned to each row such that the total cost is minimal: the
    /// square problem with cols - rows zero-cost rows added, which take the
    /// columns left over.
    public static func minimumCost(_ cost: [Double], rows: Int, cols: Int) -> [Int] {
        precondition(rows <= cols && cost.count == rows * cols)
        if rows == cols { return minimumCost(cost, size: cols) }
        var square = cost
        square.append(contentsOf: repeatElement(0, count: (cols - rows) * cols))
        return Array(minimumCost(square, size: cols).prefix(rows))
    }

    /// The ascending lines l_0 < ... < l_(lanes-1) of 0..<lines minimising
    /// sum_a cost[a][l_a] (cost row-major, lanes x lines), exactly, by dynamic
    /// programming over (lane, line); ties go to the lower lines, so equal costs
    /// keep the first lanes.
    public static func ascendingLanes(_ cost: [Double], lanes: Int, lines: Int) -> [Int] {
        precondition(lanes > 0 && lanes <= lines && cost.count == lanes * lines)
        // best[a][i]: lanes 0...a placed on lines 0...i.
        var best = [Double](repeating: .infinity, count: lanes * lines)
        for a in 0..<lanes {
            for i in a..<lines {
                let take = (a == 0 ? 0 : best[(a - 1) * lines + i - 1]) + cost[a * lines + i]
                let skip = i > a ? best[a * lines + i - 1] : .infinity
                best[a * lines + i] = min(take, skip)
            }
        }
        var picked = [Int](repeating: 0, count: lanes)
        var i = lines - 1
        for a in stride(from: lanes - 1, through: 0, by: -1) {
            // Skipping down to a lower line while that is as good keeps lanes low.
            while i > a && best[a * lines + i - 1] == best[a * lines + i] { i -= 1 }
            picked[a] = i
            i -= 1
        }
        return picked
    }
}
