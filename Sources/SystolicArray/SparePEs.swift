import FapsimSupport

/// Where an array's spare PEs sit and which faulty PEs each one can replace
/// (`spares:` in the hardware config, docs/mitigations.md). A spare takes a
/// faulty PE's place in the dataflow through reconfiguration switches, so the
/// array the GEMM sees has a healthy PE there and the same shape and timing.
///
/// Spares are indexed 0..<`spareCount(rows:cols:)`; `spares(reaching:)` lists,
/// in a fixed order, the spares whose switches reach a PE, which is all the
/// repair (`SpareRepair`) needs to know about the layout.
public enum SpareLayout: Sendable, Equatable {
    /// After Takanami & Fukushi: one spare per diagonal position d, d in
    /// 0..<max(R, C), beside PE(d, d). Its switches run along row d and column d,
    /// so it can replace one faulty PE in row d or in column d. A faulty PE(i, j)
    /// is reached by spare i (along its row) and spare j (along its column).
    case diagonal
    /// One spare column per group of `groupCols` adjacent array columns
    /// (columns g x G ..< g x (G + 1) form group G): the spare in row r of group
    /// G's spare column can replace one faulty PE in row r of that group.
    /// Spare index: G x R + r.
    case columnGroups(groupCols: Int)

    /// The `layout` name in the config.
    public var name: String {
        switch self {
        case .diagonal: return "diagonal"
        case .columnGroups: return "column-groups"
        }
    }

    /// The layout and its parameter, as one string (lot attributes, checksums).
    public var description: String {
        switch self {
        case .diagonal: return "diagonal"
        case .columnGroups(let g): return "column-groups:\(g)"
        }
    }

    /// Parses `description` ("diagonal", "column-groups:G"); nil for anything else.
    public init?(description text: String) {
        if text == "diagonal" { self = .diagonal; return }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "column-groups", let g = Int(parts[1]) else { return nil }
        self = .columnGroups(groupCols: g)
    }

    /// The layout names a config may give.
    public static let names = ["diagonal", "column-groups"]

    /// Spare PEs an R x C array carries under this layout (the area overhead in PEs).
    public func spareCount(rows: Int, cols: Int) -> Int {
        switch self {
        case .diagonal: return max(rows, cols)
        case .columnGroups(let g): return rows * (cols / g)
        }
    }

    /// Why the layout cannot be built on an R x C array, or nil when it can:
    /// a group must be 1 to C columns wide and divide C (a partial group would
    /// need a spare column of its own rule).
    public func misfit(rows: Int, cols: Int) -> String? {
        switch self {
        case .diagonal: return nil
        case .columnGroups(let g):
            guard g >= 1, g <= cols else { return "a group of 1 to \(cols) columns (the array has \(cols))" }
            guard cols % g == 0 else { return "a group width dividing the array's \(cols) columns" }
            return nil
        }
    }

    /// The spares whose switches reach PE(row, col), in the order the repair
    /// tries them (a fixed order, so the repair is deterministic).
    @inline(__always)
    public func spares(reaching row: Int, _ col: Int, rows: Int, cols: Int) -> [Int] {
        switch self {
        case .diagonal: return row == col ? [row] : [row, col]
        case .columnGroups(let g): return [(col / g) * rows + row]
        }
    }

    /// Where spare `spare` sits, for reports ("diagonal 3", "group 2 row 5").
    public func position(spare: Int, rows: Int) -> String {
        switch self {
        case .diagonal: return "diagonal \(spare)"
        case .columnGroups: return "group \(spare / rows) row \(spare % rows)"
        }
    }

    /// Parses the config's `spares:` mapping (`layout`, and `group_cols` for
    /// column-groups) and checks it fits an R x C array; every problem is one
    /// line naming the file and the field.
    public static func parse(_ fields: YAMLFields, rows: Int, cols: Int) throws -> SpareLayout {
        try fields.check([("layout", true, "diagonal or column-groups"),
                          ("group_cols", false, "array columns per spare column (column-groups)")])
        let layoutName = fields.dict["layout"].map { "\($0)" } ?? ""
        let layout: SpareLayout
        switch layoutName {
        case "diagonal":
            if fields.dict["group_cols"] != nil {
                throw FapsimError("\(fields.file): \(fields.name("group_cols")): only with layout column-groups, got layout diagonal")
            }
            layout = .diagonal
        case "column-groups":
            guard fields.dict["group_cols"] != nil else {
                throw FapsimError("\(fields.file): \(fields.name("group_cols")): missing required field (array columns per spare column, for layout column-groups)")
            }
            layout = .columnGroups(groupCols: try fields.int("group_cols"))
        default:
            throw fields.invalid("layout", expected: names.joined(separator: " or "))
        }
        if let expected = layout.misfit(rows: rows, cols: cols) {
            throw fields.invalid(layout == .diagonal ? "layout" : "group_cols", expected: expected)
        }
        return layout
    }
}

/// One faulty PE a spare replaces.
public struct SpareAssignment: Sendable, Equatable {
    public var row: Int
    public var col: Int
    public var spare: Int
}

/// The repair of one chip: a maximum matching of its faulty PEs to the spares
/// that can reach them (Hopcroft-Karp). The PEs left unrepaired fall back to FAP
/// (their weights are pruned, their bypass mux set); a repaired PE is healthy to
/// every path, so the chip's effective fault map is the faults minus the repaired.
///
/// Spare PEs are assumed fault-free: a spare drawn from the same per-PE fault
/// rate would be faulty with that rate, which at the rates where spares matter
/// (under 1%) loses under 1% of the spares; the repair counts are therefore an
/// upper bound by about the fault rate (docs/mitigations.md).
public struct SpareRepair: Sendable, Equatable {
    public let layout: SpareLayout
    /// Spare PEs on the array.
    public let spareCount: Int
    /// The faulty PEs replaced, row-major, with the spare replacing each.
    public let repaired: [SpareAssignment]
    /// The faulty PEs no spare could take, row-major (their weights are pruned).
    public let unrepaired: [(row: Int, col: Int)]
    /// The PEs FAP bypasses after the repair: faulty and not repaired.
    public let effectiveFaults: FaultMap

    /// Faulty PEs before the repair.
    public var faultCount: Int { repaired.count + unrepaired.count }
    /// Share of the faulty PEs repaired (1 for a fault-free map).
    public var repairedShare: Double { faultCount == 0 ? 1 : Double(repaired.count) / Double(faultCount) }

    public static func == (a: SpareRepair, b: SpareRepair) -> Bool {
        a.layout == b.layout && a.repaired == b.repaired && a.effectiveFaults == b.effectiveFaults
    }

    /// Repairs `faults` with the spares of `layout`, which must fit the map's
    /// array (`SpareLayout.misfit`). Deterministic: faults are taken row-major
    /// and each tries its spares in `spares(reaching:)` order, so the same map
    /// gives the same repair.
    public static func repair(faults: FaultMap, layout: SpareLayout) -> SpareRepair {
        let rows = faults.rows, cols = faults.cols
        precondition(layout.misfit(rows: rows, cols: cols) == nil, "spare layout \(layout.description) does not fit \(rows)x\(cols)")
        var faulty: [(row: Int, col: Int)] = []
        for i in 0..<rows {
            for j in 0..<cols where faults.isFaulty(i, j) { faulty.append((i, j)) }
        }
        let reach = faulty.map { layout.spares(reaching: $0.row, $0.col, rows: rows, cols: cols) }
        let spareOf = Matching.maximum(left: reach, rightCount: layout.spareCount(rows: rows, cols: cols))
        var repaired: [SpareAssignment] = [], unrepaired: [(row: Int, col: Int)] = []
        var effective = faults
        for (f, pe) in faulty.enumerated() {
            if let s = spareOf[f] {
                repaired.append(SpareAssignment(row: pe.row, col: pe.col, spare: s))
                effective.setFaulty(pe.row, pe.col, false)
            } else {
                unrepaired.append(pe)
            }
        }
        return SpareRepair(layout: layout, spareCount: layout.spareCount(rows: rows, cols: cols),
                           repaired: repaired, unrepaired: unrepaired, effectiveFaults: effective)
    }
}

/// Maximum bipartite matching (Hopcroft-Karp, O(E sqrt(V))): shortest
/// augmenting paths found by a BFS from every free left vertex, then a DFS per
/// free left vertex in index order along those layers. Adjacency lists are
/// visited in their given order, so the result is a deterministic function of
/// the input.
public enum Matching {
    /// The right vertex matched to each left vertex (nil: unmatched).
    /// `left[u]` lists the right vertices (0..<rightCount) left vertex u may take.
    public static func maximum(left: [[Int]], rightCount: Int) -> [Int?] {
        let n = left.count
        var matchL = [Int](repeating: -1, count: n)
        var matchR = [Int](repeating: -1, count: rightCount)
        var dist = [Int](repeating: 0, count: n)
        let infinity = Int.max

        func bfs() -> Bool {
            var queue: [Int] = []
            queue.reserveCapacity(n)
            for u in 0..<n {
                if matchL[u] < 0 { dist[u] = 0; queue.append(u) } else { dist[u] = infinity }
            }
            var head = 0, found = false
            while head < queue.count {
                let u = queue[head]
                head += 1
                for v in left[u] {
                    let w = matchR[v]
                    if w < 0 { found = true } else if dist[w] == infinity {
                        dist[w] = dist[u] + 1
                        queue.append(w)
                    }
                }
            }
            return found
        }

        // Iterative DFS along the BFS layers (a path can be as long as the
        // matching, too deep to recurse safely on large arrays).
        var edgeAt = [Int](repeating: 0, count: n)
        func augment(from root: Int) -> Bool {
            var stack = [root]
            while let u = stack.last {
                if edgeAt[u] == left[u].count {
                    dist[u] = infinity // a dead end for the rest of this phase
                    stack.removeLast()
                    continue
                }
                let v = left[u][edgeAt[u]]
                let w = matchR[v]
                if w < 0 {
                    // Free right vertex: flip the path root -> ... -> u -> v.
                    var right = v
                    for x in stack.reversed() {
                        let previous = matchL[x]
                        matchL[x] = right
                        matchR[right] = x
                        right = previous
                    }
                    return true
                }
                if dist[w] == dist[u] + 1 {
                    stack.append(w)
                } else {
                    edgeAt[u] += 1
                }
                // When w's branch fails it is popped with dist = infinity, and u
                // then moves past v on its next turn (dist[w] no longer fits).
            }
            return false
        }

        while bfs() {
            for u in 0..<n { edgeAt[u] = 0 }
            for u in 0..<n where matchL[u] < 0 { _ = augment(from: u) }
        }
        return matchL.map { $0 < 0 ? nil : $0 }
    }
}
