import Testing
import FapsimSupport
import MaskedGEMM
@testable import SystolicArray

/// Spare PEs (`Mitigation.spares`): the layouts, the repair as a maximum
/// matching, and the repaired chip on the register-level array, the closed form
/// and the functional paths.
@Suite struct SparePEsTests {
    /// The layouts a case runs under: the diagonal, and one spare column per
    /// group of g columns for a g dividing C (drawn from the divisors).
    static func layouts(cols: Int, rng: inout SeededRNG) -> [SpareLayout] {
        let divisors = (1...cols).filter { cols % $0 == 0 }
        return [.diagonal, .columnGroups(groupCols: divisors[rng.nextInt(below: divisors.count)])]
    }

    /// A repair is a matching: every repaired PE was faulty and is reached by its
    /// spare, no spare is used twice, repaired + unrepaired are the faults, and
    /// the effective map is the faults less the repaired.
    static func checkIsAMatching(_ repair: SpareRepair, faults: FaultMap, label: String) {
        let layout = repair.layout
        var used = Set<Int>()
        var effective = faults
        for a in repair.repaired {
            #expect(faults.isFaulty(a.row, a.col), "\(label): repaired PE(\(a.row), \(a.col)) was not faulty")
            #expect(layout.spares(reaching: a.row, a.col, rows: faults.rows, cols: faults.cols).contains(a.spare), "\(label)")
            #expect(used.insert(a.spare).inserted, "\(label): spare \(a.spare) used twice")
            effective.setFaulty(a.row, a.col, false)
        }
        #expect(repair.repaired.count + repair.unrepaired.count == faults.faultyCount, "\(label)")
        for pe in repair.unrepaired { #expect(faults.isFaulty(pe.row, pe.col), "\(label)") }
        #expect(repair.effectiveFaults == effective, "\(label)")
        #expect(repair.spareCount == layout.spareCount(rows: faults.rows, cols: faults.cols))
    }

    /// The size of a maximum matching by brute force: each fault in turn takes
    /// none or one of the free spares reaching it.
    static func bruteForceMaximum(_ reach: [[Int]], spares: Int) -> Int {
        var used = [Bool](repeating: false, count: spares)
        func best(_ i: Int) -> Int {
            guard i < reach.count else { return 0 }
            var top = best(i + 1)
            for s in reach[i] where !used[s] {
                used[s] = true
                top = max(top, 1 + best(i + 1))
                used[s] = false
            }
            return top
        }
        return best(0)
    }

    /// A plain augmenting-path matching (Kuhn's algorithm), independent of the
    /// Hopcroft-Karp code, for the matching size on large maps.
    static func kuhnSize(_ reach: [[Int]], spares: Int) -> Int {
        var owner = [Int](repeating: -1, count: spares)
        var size = 0
        for u in reach.indices {
            var seen = [Bool](repeating: false, count: spares)
            func tryAugment(_ x: Int) -> Bool {
                for s in reach[x] where !seen[s] {
                    seen[s] = true
                    if owner[s] < 0 || tryAugment(owner[s]) { owner[s] = x; return true }
                }
                return false
            }
            if tryAugment(u) { size += 1 }
        }
        return size
    }

    static func reach(_ faults: FaultMap, _ layout: SpareLayout) -> [[Int]] {
        var out: [[Int]] = []
        for i in 0..<faults.rows {
            for j in 0..<faults.cols where faults.isFaulty(i, j) {
                out.append(layout.spares(reaching: i, j, rows: faults.rows, cols: faults.cols))
            }
        }
        return out
    }

    /// The 400 random cases of `EquivalenceTests` under both layouts: the chip's
    /// repair is a matching; register level = closed form on every term; the
    /// cycles are the fault-free array's (a repaired PE costs no cycle, FAP none
    /// either); MACs performed = M x the weights left unpruned, which are those
    /// off the unrepaired faults; float within the float bound of the masked GEMM
    /// on the effective map; int8 bit-exact.
    @Test(arguments: 0..<8)
    func registerLevelMatchesClosedFormAndFunctional(batch: Int) throws {
        for tc in EquivalenceTests.cases[(batch * 50)..<((batch + 1) * 50)] {
            var rng = SeededRNG(seed: tc.seed ^ 0x5EA7)
            let faults = try FaultMap.uniform(rows: tc.config.rows, cols: tc.config.cols, rate: tc.rate, seed: tc.seed)
            for layout in Self.layouts(cols: tc.config.cols, rng: &rng) {
                let label = "\(tc) spares \(layout.description)"
                let chip = ChipDescription(faults: faults, mitigation: .spares, spares: layout)
                try chip.checkUsable()
                let repair = try #require(chip.spareRepair)
                Self.checkIsAMatching(repair, faults: faults, label: label)
                let effective = try #require(chip.effectiveFaults)
                let mapping = chip.mapping(layer: "gemm", k: tc.k, n: tc.n, rows: tc.config.rows, cols: tc.config.cols)
                #expect(mapping.isDefault, "\(label)")
                let a = randomFloats(tc.m * tc.k, &rng), w = randomFloats(tc.k * tc.n, &rng)
                let run = try ArrayGEMM.run(config: tc.config, faults: effective, a: a, m: tc.m, k: tc.k, w: w, n: tc.n,
                                            mapping: mapping, threads: 1)
                let closed = try ClosedFormTiming.gemm(config: tc.config, m: tc.m, k: tc.k, n: tc.n, faults: effective, mapping: mapping)
                #expect(run.stats == closed, "\(label)")
                let faultFree = try ClosedFormTiming.gemm(config: tc.config, m: tc.m, k: tc.k, n: tc.n, faults: nil)
                #expect(run.stats.cycles == faultFree.cycles, "\(label)")
                // Pruned weights counted weight by weight against the unrepaired list.
                let unrepaired = Set(repair.unrepaired.map { $0.row * tc.config.cols + $0.col })
                var pruned = 0
                for kk in 0..<tc.k {
                    for nn in 0..<tc.n where unrepaired.contains((kk % tc.config.rows) * tc.config.cols + nn % tc.config.cols) {
                        pruned += 1
                    }
                }
                #expect(chip.prunedWeights(layer: "gemm", k: tc.k, n: tc.n) == pruned, "\(label)")
                #expect(run.stats.macsPerformed == tc.m * (tc.k * tc.n - pruned), "\(label)")
                try expectFunctionalPathsAgree(tc, faults: effective, mapping: mapping, a: a, w: w, output: run.output,
                                               closed: closed, rng: &rng, label: label)
            }
        }
    }

    /// Every fault map of small arrays under small layouts (3x3 and 3x2 on the
    /// diagonal, 2x4 in groups of 2 and of 4): the repair is a matching of the
    /// brute-force maximum size; then every K < 2R and N < 2C under both
    /// policies, with A the identity so each output shows whether its weight
    /// reached the sum: a weight on an unrepaired fault is pruned (0), every other
    /// weight, on a repaired PE too, arrives; the closed form equals the array.
    @Test(arguments: [(3, 3, SpareLayout.diagonal), (3, 2, .diagonal), (2, 4, .columnGroups(groupCols: 2)),
                      (2, 4, .columnGroups(groupCols: 4))])
    func exhaustiveSmallArrays(rows: Int, cols: Int, layout: SpareLayout) throws {
        var gemms = 0, repairedSomewhere = false
        for mapBits in 0..<(1 << (rows * cols)) {
            let faults = FaultMap(rows: rows, cols: cols, bits: (0..<(rows * cols)).map { UInt8((mapBits >> $0) & 1) })
            let chip = ChipDescription(faults: faults, mitigation: .spares, spares: layout)
            let repair = try #require(chip.spareRepair)
            Self.checkIsAMatching(repair, faults: faults, label: "map \(mapBits)")
            #expect(repair.repaired.count == Self.bruteForceMaximum(Self.reach(faults, layout), spares: repair.spareCount),
                    "map \(mapBits): the matching is not maximum")
            if !repair.repaired.isEmpty { repairedSomewhere = true }
            let unrepaired = Set(repair.unrepaired.map { $0.row * cols + $0.col })
            let effective = try #require(chip.effectiveFaults)
            for k in 1..<(2 * rows) {
                for n in 1..<(2 * cols) {
                    let a = (0..<(k * k)).map { Float($0 / k == $0 % k ? 1 : 0) }
                    let w = (0..<(k * n)).map { Float($0 + 1) }
                    let expected = (0..<(k * n)).map { idx -> Float in
                        unrepaired.contains((idx / n % rows) * cols + idx % n % cols) ? 0 : w[idx]
                    }
                    let mapping = chip.mapping(layer: "gemm", k: k, n: n, rows: rows, cols: cols)
                    for policy in WeightLoadPolicy.allCases {
                        let config = HardwareConfig(rows: rows, cols: cols, weightLoad: policy)
                        let run = try ArrayGEMM.run(config: config, faults: effective, a: a, m: k, k: k, w: w, n: n, mapping: mapping)
                        #expect(run.output == expected, "map \(mapBits) K\(k) N\(n) \(policy)")
                        #expect(try ClosedFormTiming.gemm(config: config, m: k, k: k, n: n, faults: effective, mapping: mapping) == run.stats)
                        gemms += 1
                    }
                }
            }
        }
        #expect(repairedSomewhere)
        #expect(gemms == (1 << (rows * cols)) * (2 * rows - 1) * (2 * cols - 1) * 2)
    }

    /// Hopcroft-Karp against an independent augmenting-path matching on 256x256
    /// maps (uniform, 0.01% to 10%), both layouts; and the same map gives the
    /// same repair (deterministic).
    @Test func matchingIsMaximumOnTheFullArray() throws {
        for (i, rate) in [0.0001, 0.001, 0.01, 0.05, 0.1].enumerated() {
            let faults = try FaultMap.uniform(rows: 256, cols: 256, rate: rate, seed: UInt64(40 + i))
            for layout in [SpareLayout.diagonal, .columnGroups(groupCols: 32), .columnGroups(groupCols: 256)] {
                let repair = SpareRepair.repair(faults: faults, layout: layout)
                Self.checkIsAMatching(repair, faults: faults, label: "\(rate) \(layout.description)")
                #expect(repair.repaired.count == Self.kuhnSize(Self.reach(faults, layout), spares: repair.spareCount),
                        "\(rate) \(layout.description)")
                #expect(SpareRepair.repair(faults: faults, layout: layout) == repair)
            }
        }
    }

    /// Known answers: on the diagonal a row of faults is repaired by the row's own
    /// spare and the columns' spares; a spare column repairs one fault per row of
    /// its group.
    @Test func knownRepairs() throws {
        var row = FaultMap.none(rows: 4, cols: 4)
        for j in 0..<4 { row.setFaulty(1, j, true) }
        // PE(1, j) reaches spares 1 and j: all four are repaired (spare 1 takes one of them).
        #expect(SpareRepair.repair(faults: row, layout: .diagonal).repaired.count == 4)
        var block = FaultMap.none(rows: 4, cols: 4)
        for i in 0..<2 { for j in 0..<2 { block.setFaulty(i, j, true) } }
        // Four faults in rows/columns 0-1 reach only spares 0 and 1.
        let diag = SpareRepair.repair(faults: block, layout: .diagonal)
        #expect(diag.repaired.count == 2 && diag.unrepaired.count == 2)
        // One spare column per 2 columns: group 0 holds all four, one per row: two repaired.
        let groups = SpareRepair.repair(faults: block, layout: .columnGroups(groupCols: 2))
        #expect(groups.repaired.map(\.spare).sorted() == [0, 1])
        #expect(groups.effectiveFaults.faultyCount == 2)
        #expect(SpareRepair.repair(faults: .none(rows: 4, cols: 4), layout: .diagonal).repairedShare == 1)
    }

    /// The area overhead in PEs the config states.
    @Test func overheadInPEs() throws {
        let base = "rows: 256\ncols: 256\nweight_load: single-buffered\nclock_mhz: 700\n"
        let diagonal = try HardwareConfig.parse(yaml: base + "spares:\n  layout: diagonal\n", file: "d.yaml")
        #expect(diagonal.spares == .diagonal && diagonal.sparePEs == 256 && diagonal.spareShare == 256.0 / 65536)
        let groups = try HardwareConfig.parse(yaml: base + "spares:\n  layout: column-groups\n  group_cols: 32\n", file: "g.yaml")
        #expect(groups.spares == .columnGroups(groupCols: 32) && groups.sparePEs == 2048)
        #expect(try HardwareConfig.parse(yaml: base, file: "n.yaml").sparePEs == 0)
        #expect(SpareLayout.diagonal.spareCount(rows: 3, cols: 5) == 5)
        #expect(SpareLayout(description: "column-groups:32") == .columnGroups(groupCols: 32))
        #expect(SpareLayout(description: "diagonal") == .diagonal && SpareLayout(description: "rows") == nil)
    }

    /// A layout that does not fit the array, or a malformed one: one line naming
    /// the file and the field.
    @Test(arguments: [
        ("spares:\n  layout: column-groups\n  group_cols: 3\n", "c.yaml: spares.group_cols: expected a group width dividing the array's 8 columns, got 3"),
        ("spares:\n  layout: column-groups\n  group_cols: 0\n", "c.yaml: spares.group_cols: expected a group of 1 to 8 columns (the array has 8), got 0"),
        ("spares:\n  layout: column-groups\n  group_cols: 16\n", "c.yaml: spares.group_cols: expected a group of 1 to 8 columns (the array has 8), got 16"),
        ("spares:\n  layout: column-groups\n", "c.yaml: spares.group_cols: missing required field (array columns per spare column, for layout column-groups)"),
        ("spares:\n  layout: diagonal\n  group_cols: 2\n", "c.yaml: spares.group_cols: only with layout column-groups, got layout diagonal"),
        ("spares:\n  layout: rows\n", "c.yaml: spares.layout: expected diagonal or column-groups, got rows"),
        ("spares:\n  layuot: diagonal\n", "c.yaml: spares.layuot: unknown field; expected one of layout, group_cols"),
        ("spares: diagonal\n", "c.yaml: spares: expected a mapping of fields, got diagonal"),
    ])
    func layoutErrorsAreOneLine(extra: String, message: String) {
        let base = "rows: 8\ncols: 8\nweight_load: single-buffered\nclock_mhz: 700\n"
        #expect(throws: FapsimError(message)) { try HardwareConfig.parse(yaml: base + extra, file: "c.yaml") }
    }

    /// The chip under spares: the effective map is the faults less the repaired;
    /// pruned weights count only unrepaired faults; the identity differs from
    /// FAP's and between layouts; no layout (a config without spares) or one not
    /// fitting the map is unusable in one line.
    @Test func chipUnderSpares() throws {
        let faults = try FaultMap.uniform(rows: 8, cols: 8, rate: 0.1, seed: 9)
        let chip = ChipDescription(faults: faults, mitigation: .spares, spares: .diagonal)
        try chip.checkUsable()
        let repair = try #require(chip.spareRepair)
        #expect(repair.repaired.count > 0)
        #expect(chip.faults == faults)
        #expect(chip.effectiveFaults?.faultyCount == faults.faultyCount - repair.repaired.count)
        let fap = ChipDescription(faults: faults)
        #expect(chip.prunedWeights(layer: "l", k: 64, n: 64) == fap.prunedWeights(layer: "l", k: 64, n: 64) - 64 * repair.repaired.count)
        #expect(chip.checksum != fap.checksum)
        #expect(chip.checksum == ChipDescription(faults: faults, mitigation: .spares, spares: .diagonal).checksum)
        #expect(chip.checksum != ChipDescription(faults: faults, mitigation: .spares, spares: .columnGroups(groupCols: 4)).checksum)
        #expect(ChipDescription(faults: faults, mitigation: .fap, spares: .diagonal).effectiveFaults == faults)
        let bare = ChipDescription(faults: faults, mitigation: .spares)
        #expect(!bare.isUsable)
        #expect(throws: FapsimError("--mitigation spares: the hardware config has no spare PEs; expected a spares: mapping (layout: diagonal or column-groups, docs/mitigations.md)")) {
            try bare.checkUsable()
        }
        let misfit = ChipDescription(faults: faults, mitigation: .spares, spares: .columnGroups(groupCols: 3))
        #expect(throws: FapsimError("spares: the spare layout column-groups:3 does not fit the chip's 8x8 array: expected a group width dividing the array's 8 columns")) {
            try misfit.checkUsable()
        }
        let config = HardwareConfig(rows: 8, cols: 8)
        #expect(throws: FapsimError("x.yaml: spares: expected a spare layout for --mitigation spares (spares: {layout: diagonal} or {layout: column-groups, group_cols: G}), got none")) {
            _ = try config.spares(for: .spares, path: "x.yaml")
        }
        #expect(try config.spares(for: .fap, path: "x.yaml") == nil)
    }
}
