import Testing
import FapsimSupport
import MaskedGEMM
@testable import SystolicArray

/// A random non-empty ascending subset of 0..<count (each line kept with probability `keep`).
func randomLanes(_ count: Int, keep: Double, _ rng: inout SeededRNG) -> [Int] {
    let lanes = (0..<count).filter { _ in Double(rng.nextInt(below: 1000)) < keep * 1000 }
    return lanes.isEmpty ? [rng.nextInt(below: count)] : lanes
}

/// Row/column bypass: the lane lists of `WeightMapping`, the switched-off lines
/// in the register-level array, the closed form and the functional paths, and
/// the choice of lines (`RowColumnBypass`).
@Suite struct RowColumnBypassTests {
    /// The lane lists a case runs under: the solver's (fault-free, when the chip is
    /// usable), and a random one that may keep faulty PEs (FAP then prunes them).
    static func laneChoices(_ tc: Case, faults: FaultMap, rng: inout SeededRNG) -> [ArrayLanes] {
        var out: [ArrayLanes] = []
        if let chosen = try? RowColumnBypass.choose(faults: faults) { out.append(chosen) }
        out.append(ArrayLanes(uncheckedRows: randomLanes(tc.config.rows, keep: 0.6, &rng),
                              cols: randomLanes(tc.config.cols, keep: 0.6, &rng)))
        return out
    }

    /// PE slots of every fold's span, and the bypassed ones among them, counted
    /// PE by PE (not from the closed form's prefix sums).
    static func spanPEs(_ mapping: WeightMapping, faults: FaultMap) -> (all: Int, bypassed: Int) {
        var all = 0, bypassed = 0
        for kf in 0..<mapping.kFolds {
            for nf in 0..<mapping.nFolds {
                for i in 0..<mapping.rowSpan(kFold: kf) {
                    for j in 0..<mapping.colSpan(nFold: nf) {
                        all += 1
                        if faults.isFaulty(i, j) || mapping.laneOfRow[i] < 0 || mapping.laneOfCol[j] < 0 { bypassed += 1 }
                    }
                }
            }
        }
        return (all, bypassed)
    }

    /// The 400 random cases of `EquivalenceTests` under two lane lists each:
    /// register level = closed form (every fold's cycles and MACs), float outputs
    /// within the float tolerance of the masked GEMM, int8 outputs bit-exact;
    /// every PE of a fold's span passes M activations; under the solver's lanes
    /// no weight is pruned.
    @Test(arguments: 0..<8)
    func registerLevelMatchesClosedFormAndFunctional(batch: Int) throws {
        for tc in EquivalenceTests.cases[(batch * 50)..<((batch + 1) * 50)] {
            var rng = SeededRNG(seed: tc.seed ^ 0x5017)
            let faults = try FaultMap.uniform(rows: tc.config.rows, cols: tc.config.cols, rate: tc.rate, seed: tc.seed)
            for lanes in Self.laneChoices(tc, faults: faults, rng: &rng) {
                let mapping = try WeightMapping(k: tc.k, n: tc.n, rows: tc.config.rows, cols: tc.config.cols, lanes: lanes)
                let label = "\(tc) rows \(lanes.rows) cols \(lanes.cols)"
                let a = randomFloats(tc.m * tc.k, &rng), w = randomFloats(tc.k * tc.n, &rng)
                let run = try ArrayGEMM.run(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n,
                                            mapping: mapping, threads: 1)
                let closed = try ClosedFormTiming.gemm(config: tc.config, m: tc.m, k: tc.k, n: tc.n, faults: faults, mapping: mapping)
                #expect(run.stats == closed, "\(label)")
                #expect(run.stats.folds == mapping.kFolds * mapping.nFolds, "\(label)")
                let span = Self.spanPEs(mapping, faults: faults)
                #expect(run.stats.macsPerformed + run.stats.macsBypassed == tc.m * span.all, "\(label)")
                #expect(run.stats.macsBypassed == tc.m * span.bypassed, "\(label)")
                let pruned = mapping.prunedCount(faults: faults)
                #expect(run.stats.macsPerformed == tc.m * (tc.k * tc.n - pruned), "\(label)")
                if lanes.isFaultFree(faults) { #expect(pruned == 0, "\(label)") }
                try expectFunctionalPathsAgree(tc, faults: faults, mapping: mapping, a: a, w: w, output: run.output,
                                               closed: closed, rng: &rng, label: label)
            }
        }
    }

    /// Every fault map of a 2x2 and a 2x3 array, every pair of non-empty lane
    /// lists, every K < 2R and N < 2C, both weight-load policies: with A the K x K
    /// identity and W distinct non-zero integers, Out = W ⊙ (effective mask)
    /// exactly, so each output shows whether its weight reached the sum; the mask
    /// is the mapping's, the closed form equals the clocked array, and the
    /// solver's lanes (every map but the all-faulty one) keep every weight.
    @Test(arguments: [(2, 2), (2, 3)])
    func exhaustiveSmallArrays(rows: Int, cols: Int) throws {
        func subsets(_ count: Int) -> [[Int]] {
            (1..<(1 << count)).map { s in (0..<count).filter { s >> $0 & 1 != 0 } }
        }
        var checked = 0
        for mapBits in 0..<(1 << (rows * cols)) {
            let faults = FaultMap(rows: rows, cols: cols, bits: (0..<(rows * cols)).map { UInt8((mapBits >> $0) & 1) })
            let chosen = try? RowColumnBypass.choose(faults: faults)
            #expect((chosen == nil) == (faults.faultyCount == rows * cols), "map \(mapBits)")
            if let chosen { #expect(chosen.isFaultFree(faults), "map \(mapBits)") }
            for rowLanes in subsets(rows) {
                for colLanes in subsets(cols) {
                    let lanes = try ArrayLanes(rows: rowLanes, cols: colLanes, arrayRows: rows, arrayCols: cols)
                    for k in 1..<(2 * rows) {
                        for n in 1..<(2 * cols) {
                            let a = (0..<(k * k)).map { Float($0 / k == $0 % k ? 1 : 0) }
                            let w = (0..<(k * n)).map { Float($0 + 1) }
                            let mapping = try WeightMapping(k: k, n: n, rows: rows, cols: cols, lanes: lanes)
                            for policy in WeightLoadPolicy.allCases {
                                let config = HardwareConfig(rows: rows, cols: cols, weightLoad: policy)
                                let run = try ArrayGEMM.run(config: config, faults: faults, a: a, m: k, k: k, w: w, n: n,
                                                            mapping: mapping)
                                let mask = mapping.pruneMask(faults: faults)
                                #expect(run.output == zip(w, mask).map { $0 * $1 }, "map \(mapBits) lanes \(rowLanes) \(colLanes) K\(k) N\(n)")
                                #expect(try ClosedFormTiming.gemm(config: config, m: k, k: k, n: n, faults: faults,
                                                                  mapping: mapping) == run.stats)
                                #expect(run.stats.macsPerformed == k * (k * n - mapping.prunedCount(faults: faults)))
                                if lanes == chosen { #expect(run.output == w, "map \(mapBits) K\(k) N\(n)") }
                                checked += 1
                            }
                        }
                    }
                }
            }
        }
        #expect(checked == (1 << (rows * cols)) * ((1 << rows) - 1) * ((1 << cols) - 1) * (2 * rows - 1) * (2 * cols - 1) * 2)
    }

    /// Idle skipping and column strips stay exact with switched-off lines.
    @Test func idleSkippingAndStripsAreExact() throws {
        var rng = SeededRNG(seed: 1717)
        for tc in makeCases(count: 40, seed: 1718, maxDim: 12) {
            let faults = try FaultMap.uniform(rows: tc.config.rows, cols: tc.config.cols, rate: tc.rate, seed: tc.seed)
            for lanes in Self.laneChoices(tc, faults: faults, rng: &rng) {
                let mapping = try WeightMapping(k: tc.k, n: tc.n, rows: tc.config.rows, cols: tc.config.cols, lanes: lanes)
                let a = randomFloats(tc.m * tc.k, &rng), w = randomFloats(tc.k * tc.n, &rng)
                func run(threads: Int, width: Int?, skip: Bool) throws -> GEMMRun {
                    try ArrayGEMM.run(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n, mapping: mapping,
                                      stuckAt: [], threads: threads, stripWidth: width, observer: nil, streamTailAdjust: 0,
                                      skipIdle: skip)
                }
                let reference = try run(threads: 1, width: nil, skip: false)
                for (t, width, skip) in [(1, nil, true), (2, 3, false), (3, 2, false)] as [(Int, Int?, Bool)] {
                    let other = try run(threads: t, width: width, skip: skip)
                    #expect(other.output.map(\.bitPattern) == reference.output.map(\.bitPattern), "\(tc) threads \(t)")
                    #expect(other.stats == reference.stats, "\(tc) threads \(t)")
                }
            }
        }
    }

    /// Every lane kept: the same mapping, plan, cycles and outputs as the default.
    @Test func everyLaneIsTheDefaultMapping() throws {
        let lanes = ArrayLanes.all(rows: 5, cols: 3)
        let mapping = try WeightMapping(k: 11, n: 7, rows: 5, cols: 3, lanes: lanes)
        #expect(mapping == WeightMapping(k: 11, n: 7, rows: 5, cols: 3))
        #expect(mapping.isDefault && mapping.usesEveryLane)
        let faults = try FaultMap.uniform(rows: 5, cols: 3, rate: 0.3, seed: 4)
        #expect(mapping.bypassMap(faults: faults) == faults)
    }

    /// Lanes place slot s on rowLanes[s mod |rows|], and a fold spans up to its last lane.
    @Test func lanesPlaceWeightsAndSetTheFolds() throws {
        let lanes = try ArrayLanes(rows: [0, 2, 3], cols: [1, 4], arrayRows: 4, arrayCols: 5)
        let mapping = try WeightMapping(k: 7, n: 3, rows: 4, cols: 5, lanes: lanes)
        #expect(mapping.kFolds == 3 && mapping.nFolds == 2)
        #expect(mapping.placement(k: 4, n: 2) == PEPlacement(kFold: 1, nFold: 1, row: 2, col: 1))
        #expect(mapping.placement(k: 6, n: 1) == PEPlacement(kFold: 2, nFold: 0, row: 0, col: 4))
        #expect(mapping.rowSpan(kFold: 0) == 4 && mapping.rowSpan(kFold: 2) == 1)
        #expect(mapping.colSpan(nFold: 0) == 5 && mapping.colSpan(nFold: 1) == 2)
        #expect(mapping.laneOfRow == [0, -1, 1, 2] && mapping.laneOfCol == [-1, 0, -1, -1, 1])
    }

    @Test(arguments: [
        ([Int](), [0], "weight mapping row lanes: expected a non-empty ascending list of distinct rows in 0..<4, got 0 entries"),
        ([0, 4], [0], "weight mapping row lanes: expected a non-empty ascending list of distinct rows in 0..<4, got 2 entries"),
        ([1], [2, 1], "weight mapping column lanes: expected a non-empty ascending list of distinct columns in 0..<3, got 2 entries"),
    ])
    func badLanesAreOneLineErrors(rows: [Int], cols: [Int], message: String) {
        #expect(throws: FapsimError(message)) { try ArrayLanes(rows: rows, cols: cols, arrayRows: 4, arrayCols: 3) }
    }

    /// The exact solver against brute force over every pair of row and column
    /// subsets (small arrays); the greedy heuristic gives a fault-free sub-array
    /// never larger than the exact one.
    @Test func exactSolverIsOptimalAndGreedyIsFeasible() throws {
        var rng = SeededRNG(seed: 1719)
        for trial in 0..<300 {
            let rows = 1 + rng.nextInt(below: 5), cols = 1 + rng.nextInt(below: 5)
            let rate = [0.05, 0.1, 0.2, 0.4, 0.8][trial % 5]
            let faults = try FaultMap.uniform(rows: rows, cols: cols, rate: rate, rng: &rng)
            var bestArea = 0
            for rs in 1..<(1 << rows) {
                for cs in 1..<(1 << cols) {
                    let lanes = ArrayLanes(uncheckedRows: (0..<rows).filter { rs >> $0 & 1 != 0 },
                                           cols: (0..<cols).filter { cs >> $0 & 1 != 0 })
                    if lanes.isFaultFree(faults) { bestArea = max(bestArea, lanes.area) }
                }
            }
            let exact = RowColumnBypass.exact(faults: faults), greedy = RowColumnBypass.greedy(faults: faults)
            #expect((exact?.area ?? 0) == bestArea, "\(rows)x\(cols) \(faults.bits)")
            #expect(exact.map { $0.isFaultFree(faults) } ?? true)
            #expect((greedy?.area ?? 0) <= bestArea)
            #expect((greedy == nil) == (bestArea == 0))
            if let greedy { #expect(greedy.isFaultFree(faults), "\(rows)x\(cols) \(faults.bits)") }
        }
    }

    /// The greedy heuristic on a 256x256 chip: fault-free, and a known shape: one
    /// faulty PE costs one line.
    @Test func greedyOnTheFullArray() throws {
        var one = FaultMap.none(rows: 256, cols: 256)
        one.setFaulty(17, 200, true)
        let lanes = try RowColumnBypass.choose(faults: one)
        #expect(lanes.area == 255 * 256)
        #expect(lanes.rows.count == 256 || lanes.cols.count == 256)
        let faults = try FaultMap.uniform(rows: 256, cols: 256, rate: 0.001, seed: 3)
        let chosen = try RowColumnBypass.choose(faults: faults)
        #expect(chosen.isFaultFree(faults))
        #expect(chosen.area > 0)
    }

    /// The cycles objective's closed sum equals `ClosedFormTiming` (single-buffered,
    /// fault-free) on random shapes.
    @Test func cyclesObjectiveIsTheClosedForm() throws {
        var rng = SeededRNG(seed: 1720)
        for _ in 0..<300 {
            let rows = 1 + rng.nextInt(below: 20), cols = 1 + rng.nextInt(below: 20)
            let g = RowColumnBypass.GEMMSize(m: 1 + rng.nextInt(below: 30), k: 1 + rng.nextInt(below: 100), n: 1 + rng.nextInt(below: 100))
            let config = HardwareConfig(rows: rows, cols: cols, mappingOrder: rng.nextInt(below: 2) == 0 ? .nOuter : .kOuter)
            #expect(RowColumnBypass.singleBufferedCycles(g, rows: rows, cols: cols)
                    == (try ClosedFormTiming.gemm(config: config, m: g.m, k: g.k, n: g.n, faults: nil)).cycles, "\(rows)x\(cols) \(g)")
        }
    }

    /// Under the cycles objective a few faults on a 64x64 array cost rows, not
    /// columns, when N is the array's width (a column fewer would double the N
    /// folds); the area objective may take either; both solvers agree on exactness.
    @Test func cyclesObjectiveKeepsTheWidthTheGEMMsNeed() throws {
        var faults = FaultMap.none(rows: 64, cols: 64)
        for (i, j) in [(3, 10), (20, 40), (50, 5)] { faults.setFaulty(i, j, true) }
        let gemms = [RowColumnBypass.GEMMSize(m: 16, k: 576, n: 64)]
        let lanes = try RowColumnBypass.choose(faults: faults, objective: .cycles(gemms: gemms))
        #expect(lanes.cols.count == 64 && lanes.rows.count == 61)
        #expect(lanes.isFaultFree(faults))
        // 8x8 exact under the cycles objective: never more cycles than the greedy choice.
        var rng = SeededRNG(seed: 1721)
        for _ in 0..<50 {
            let small = try FaultMap.uniform(rows: 8, cols: 8, rate: 0.1, rng: &rng)
            let g = [RowColumnBypass.GEMMSize(m: 4, k: 16, n: 8)]
            guard let e = RowColumnBypass.exact(faults: small, objective: .cycles(gemms: g)),
                  let h = RowColumnBypass.greedy(faults: small, objective: .cycles(gemms: g)) else { continue }
            #expect(e.isFaultFree(small) && h.isFaultFree(small))
            #expect(RowColumnBypass.singleBufferedCycles(g[0], rows: e.rows.count, cols: e.cols.count)
                    <= RowColumnBypass.singleBufferedCycles(g[0], rows: h.rows.count, cols: h.cols.count))
        }
    }

    /// A chip with every PE faulty is unusable under rowcol: a one-line error, no crash.
    @Test func everyPEFaultyIsUnusable() throws {
        let faults = FaultMap(rows: 3, cols: 2, bits: [UInt8](repeating: 1, count: 6))
        #expect(throws: FapsimError("row/column bypass: the chip is unusable: all 3x2 PEs are faulty, so no fault-free row and column is left to map onto")) {
            try RowColumnBypass.choose(faults: faults)
        }
        let chip = ChipDescription(faults: faults, mitigation: .rowcol)
        #expect(!chip.isUsable)
        #expect(throws: FapsimError.self) { try chip.checkUsable() }
    }

    /// A chip under rowcol: no weight pruned, the solver's lanes in every layer's
    /// mapping, and its own identity.
    @Test func chipUnderRowcol() throws {
        let faults = try FaultMap.uniform(rows: 8, cols: 8, rate: 0.05, seed: 2)
        let chip = ChipDescription(faults: faults, mitigation: .rowcol)
        try chip.checkUsable()
        let lanes = try #require(chip.lanes)
        #expect(lanes.area < 64 && lanes.isFaultFree(faults))
        #expect(chip.prunedWeights(layer: "conv3", k: 27, n: 64) == 0)
        let mapping = try #require(chip.mapping(layer: "conv3", k: 27, n: 64))
        #expect(mapping.rowLanes == lanes.rows && mapping.colLanes == lanes.cols)
        #expect(chip.checksum != ChipDescription(faults: faults, mitigation: .fap).checksum)
        #expect(chip.checksum == ChipDescription(faults: faults, mitigation: .rowcol).checksum)
    }
}
