import Testing
import FapsimSupport
import MaskedGEMM
@testable import SystolicArray

/// A random permutation of 0..<count (Fisher-Yates on the seeded stream).
func randomPermutation(_ count: Int, _ rng: inout SeededRNG) -> [Int] {
    var p = Array(0..<count)
    for i in stride(from: count - 1, to: 0, by: -1) { p.swapAt(i, rng.nextInt(below: i + 1)) }
    return p
}

/// The default mapping and two random slot permutations of a K x N GEMM.
func mappings(k: Int, n: Int, rows: Int, cols: Int, rng: inout SeededRNG) throws -> [WeightMapping] {
    var maps = [WeightMapping(k: k, n: n, rows: rows, cols: cols)]
    for _ in 0..<2 {
        maps.append(try WeightMapping(k: k, n: n, rows: rows, cols: cols,
                                      kSlot: randomPermutation(k, &rng), nSlot: randomPermutation(n, &rng)))
    }
    return maps
}

@Suite struct WeightMappingTests {
    /// The mask a mapping gives must be what the register-level array really
    /// bypasses: for every fault map of a 2x2 and a 2x3 array, every K < 2R and
    /// N < 2C (one and two folds, full and partial), both weight-load policies,
    /// under the default mapping and permuted ones. With A the K x K identity and
    /// W distinct non-zero integers, Out = W ⊙ (effective mask) exactly, so each
    /// output shows whether its weight reached the sum.
    @Test(arguments: [(2, 2), (2, 3)])
    func maskIsWhatTheArrayBypasses(rows: Int, cols: Int) throws {
        var rng = SeededRNG(seed: UInt64(rows * 10 + cols))
        var checked = 0
        for mapBits in 0..<(1 << (rows * cols)) {
            let faults = FaultMap(rows: rows, cols: cols, bits: (0..<(rows * cols)).map { UInt8((mapBits >> $0) & 1) })
            for k in 1..<(2 * rows) {
                for n in 1..<(2 * cols) {
                    let a = (0..<(k * k)).map { Float($0 / k == $0 % k ? 1 : 0) }
                    let w = (0..<(k * n)).map { Float($0 + 1) }
                    for (i, mapping) in try mappings(k: k, n: n, rows: rows, cols: cols, rng: &rng).enumerated() {
                        let config = HardwareConfig(rows: rows, cols: cols,
                                                    weightLoad: i % 2 == 0 ? .singleBuffered : .doubleBuffered)
                        let run = try ArrayGEMM.run(config: config, faults: faults, a: a, m: k, k: k, w: w, n: n,
                                                    mapping: mapping)
                        let bypassed = run.output.map { $0 == 0 ? Float(0) : 1 }
                        let mask = mapping.pruneMask(faults: faults)
                        #expect(bypassed == mask, "map \(mapBits) K\(k) N\(n) mapping \(i)")
                        #expect(run.output == zip(w, mask).map { $0 * $1 })
                        for kk in 0..<k {
                            for nn in 0..<n {
                                #expect(mapping.isPruned(k: kk, n: nn, faults: faults) == (mask[kk * n + nn] == 0))
                            }
                        }
                        let pruned = mapping.prunedCount(faults: faults)
                        #expect(pruned == mask.filter { $0 == 0 }.count)
                        #expect(mapping.prunedIndices(faults: faults) == mask.indices.filter { mask[$0] == 0 })
                        #expect(run.stats.macsBypassed == k * pruned)
                        // The functional paths mask through the same mapping.
                        #expect(MaskedGEMM.forward(a: a, m: k, k: k, w: w, n: n, faults: faults, mapping: mapping)
                                == run.output)
                        // The closed form stays equal to the clocked array under any mapping.
                        #expect(try ClosedFormTiming.gemm(config: config, m: k, k: k, n: n, faults: faults,
                                                          mapping: mapping) == run.stats)
                        checked += 1
                    }
                }
            }
        }
        #expect(checked == (1 << (rows * cols)) * (2 * rows - 1) * (2 * cols - 1) * 3)
    }

    /// Int8 datapath with random operands, several folds and a permuted mapping:
    /// the array and the functional int8 GEMM agree bit for bit.
    @Test(arguments: [UInt64(1), 2, 3])
    func int8ArrayEqualsMaskedGEMMUnderPermutedMapping(seed: UInt64) throws {
        var rng = SeededRNG(seed: seed)
        let rows = 4, cols = 5, m = 7, k = 13, n = 11
        let config = HardwareConfig(rows: rows, cols: cols)
        let faults = try FaultMap.uniform(rows: rows, cols: cols, rate: 0.3, rng: &rng)
        let mapping = try WeightMapping(k: k, n: n, rows: rows, cols: cols,
                                        kSlot: randomPermutation(k, &rng), nSlot: randomPermutation(n, &rng))
        let a = (0..<(m * k)).map { _ in Int8(truncatingIfNeeded: rng.nextInt(below: 256) - 128) }
        let w = (0..<(k * n)).map { _ in Int8(truncatingIfNeeded: rng.nextInt(below: 256) - 128) }
        let array = try ArrayGEMM.runInt8(config: config, faults: faults, a: a, m: m, k: k, w: w, n: n, mapping: mapping)
        #expect(array.output == MaskedGEMM.forwardInt8(a: a, m: m, k: k, w: w, n: n, faults: faults, mapping: mapping))
        // A permutation moves weights onto other PEs, so in general it prunes other weights.
        let standard = try ArrayGEMM.runInt8(config: config, faults: faults, a: a, m: m, k: k, w: w, n: n)
        #expect(standard.output == MaskedGEMM.forwardInt8(a: a, m: m, k: k, w: w, n: n, faults: faults))
        #expect(standard.stats.cycles == array.stats.cycles)
    }

    /// The default mapping is the documented rule: W[k][n] on PE(k mod R, n mod C)
    /// in fold (k div R, n div C), and its inverse per fold gives the channel back.
    @Test func defaultMappingIsTheDocumentedRule() {
        let mapping = WeightMapping(k: 11, n: 7, rows: 4, cols: 3)
        #expect(mapping.isDefault)
        #expect(mapping.kFolds == 3 && mapping.nFolds == 3)
        #expect(mapping.rowsUsed(kFold: 2) == 3 && mapping.colsUsed(nFold: 2) == 1)
        for k in 0..<11 {
            for n in 0..<7 {
                let p = mapping.placement(k: k, n: n)
                #expect(p == PEPlacement(kFold: k / 4, nFold: n / 3, row: k % 4, col: n % 3))
                #expect(mapping.inputChannel(kFold: p.kFold, row: p.row) == k)
                #expect(mapping.outputChannel(nFold: p.nFold, col: p.col) == n)
            }
        }
    }

    @Test func permutedMappingMovesChannels() throws {
        let mapping = try WeightMapping(k: 3, n: 4, rows: 2, cols: 2, kSlot: [2, 0, 1], nSlot: [3, 2, 1, 0])
        #expect(!mapping.isDefault)
        #expect(mapping.placement(k: 0, n: 0) == PEPlacement(kFold: 1, nFold: 1, row: 0, col: 1))
        #expect(mapping.placement(k: 2, n: 3) == PEPlacement(kFold: 0, nFold: 0, row: 1, col: 0))
        #expect(mapping.inputChannel(kFold: 1, row: 0) == 0)
        #expect(mapping.outputChannel(nFold: 0, col: 0) == 3)
    }

    @Test func badMappingsAreOneLineErrors() throws {
        #expect(throws: FapsimError.self) {
            try WeightMapping(k: 3, n: 2, rows: 2, cols: 2, kSlot: [0, 0, 1], nSlot: [0, 1])
        }
        #expect(throws: FapsimError.self) {
            try WeightMapping(k: 3, n: 2, rows: 2, cols: 2, kSlot: [0, 1, 2], nSlot: [0, 2])
        }
        let config = HardwareConfig(rows: 2, cols: 2)
        let other = WeightMapping(k: 3, n: 3, rows: 2, cols: 2)
        do {
            _ = try ArrayGEMM.run(config: config, faults: nil, a: [1, 2, 3], m: 1, k: 3, w: [1, 2, 3, 4, 5, 6], n: 2,
                                  mapping: other)
            Issue.record("a mapping for another shape was accepted")
        } catch let error as FapsimError {
            #expect(error.description.contains("K=3 N=3"))
            #expect(!error.description.contains("\n"))
        }
        let wide = WeightMapping(k: 3, n: 2, rows: 2, cols: 4)
        #expect(throws: FapsimError.self) {
            try ArrayGEMM.run(config: config, faults: nil, a: [1, 2, 3], m: 1, k: 3, w: [1, 2, 3, 4, 5, 6], n: 2,
                              mapping: wide)
        }
    }
}
