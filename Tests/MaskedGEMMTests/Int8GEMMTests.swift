import Testing
import FapsimSupport
import SystolicArray
@testable import MaskedGEMM

/// The fast int8 path (chunked float32 BLAS + the stuck-at correction) against
/// the register-level array, bit for bit.
@Suite struct Int8GEMMTests {
    /// 400 random cases: array shapes, GEMM shapes spanning several K and N folds,
    /// both weight-load policies, default and permuted mappings, bypassed PEs,
    /// and stuck-at faults on random PEs, bits 0-31 and values 0/1 (some on
    /// bypassed PEs, where the bypass must win).
    @Test func fastPathEqualsTheRegisterLevelArrayWithStuckAtFaults() throws {
        var rng = SeededRNG(seed: 18)
        var corrupted = 0
        for trial in 0..<400 {
            let rows = 1 + rng.nextInt(below: 6), cols = 1 + rng.nextInt(below: 6)
            let m = 1 + rng.nextInt(below: 6)
            let k = 1 + rng.nextInt(below: 3 * rows + 2), n = 1 + rng.nextInt(below: 3 * cols + 2)
            let cfg = HardwareConfig(rows: rows, cols: cols, weightLoad: trial % 2 == 0 ? .singleBuffered : .doubleBuffered,
                                     datapath: .int8)
            let a = (0..<(m * k)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            let w = (0..<(k * n)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            var bypass = FaultMap.none(rows: rows, cols: cols)
            var stuck: [StuckAtFault] = []
            for r in 0..<rows {
                for c in 0..<cols {
                    let u = rng.nextUnitDouble()
                    if u < 0.15 { bypass.setFaulty(r, c, true) }
                    if u > 0.1 && u < 0.4 {
                        stuck.append(StuckAtFault(row: r, col: c, bit: rng.nextInt(below: 32), value: rng.nextInt(below: 2)))
                    }
                }
            }
            let mapping: WeightMapping
            if trial % 3 == 2 {
                var ks = Array(0..<k), ns = Array(0..<n)
                ks.shuffle(using: &rng)
                ns.shuffle(using: &rng)
                mapping = try WeightMapping(k: k, n: n, rows: rows, cols: cols, kSlot: ks, nSlot: ns)
            } else {
                mapping = WeightMapping(k: k, n: n, rows: rows, cols: cols)
            }
            let faults: FaultMap? = trial % 5 == 4 ? nil : bypass
            let array = try ArrayGEMM.runInt8(config: cfg, faults: faults, a: a, m: m, k: k, w: w, n: n, mapping: mapping,
                                              stuckAtFaults: stuck).output
            let fast = MaskedGEMM.forwardInt8(a: a, m: m, k: k, w: w, n: n, faults: faults, mapping: mapping, stuckAt: stuck)
            #expect(fast == array, "trial \(trial): \(rows)x\(cols) array, M=\(m) K=\(k) N=\(n), \(stuck.count) stuck")
            let clean = MaskedGEMM.forwardInt8(a: a, m: m, k: k, w: w, n: n, faults: faults, mapping: mapping)
            if clean != array { corrupted += 1 }
        }
        // The stuck bits must really have acted in most cases, or the test proves little.
        #expect(corrupted > 300)
    }

    /// The network's regime above 1% faulty PEs, where nearly every PE column of
    /// every fold holds stuck PEs: 60 random cases with half to all of the PEs
    /// stuck (uniform or high bits), arrays up to 12 x 12, and M up to 100 pixels,
    /// so the correction's full 32-pixel tiles and its partial last tile both run;
    /// extreme operands in a third of them, so sums wrap through the sign bit.
    @Test func fastPathEqualsTheArrayAtHighStuckAtRatesAndOverSeveralPixelTiles() throws {
        var rng = SeededRNG(seed: 1818)
        var corrupted = 0
        for trial in 0..<60 {
            let rows = 2 + rng.nextInt(below: 11), cols = 2 + rng.nextInt(below: 11)
            let m = 1 + rng.nextInt(below: 100)
            let k = 1 + rng.nextInt(below: 2 * rows + 3), n = 1 + rng.nextInt(below: 2 * cols + 3)
            let cfg = HardwareConfig(rows: rows, cols: cols, weightLoad: .doubleBuffered, datapath: .int8)
            let extreme = trial % 3 == 0
            func operand() -> Int8 {
                extreme ? (rng.nextInt(below: 2) == 0 ? Int8.min : Int8.max) : Int8(truncatingIfNeeded: rng.next())
            }
            let a = (0..<(m * k)).map { _ in operand() }
            let w = (0..<(k * n)).map { _ in operand() }
            let stuckShare = [0.5, 0.9, 1.0][trial % 3]
            var bypass = FaultMap.none(rows: rows, cols: cols)
            var stuck: [StuckAtFault] = []
            for r in 0..<rows {
                for c in 0..<cols {
                    if rng.nextUnitDouble() < 0.05 { bypass.setFaulty(r, c, true) }
                    guard rng.nextUnitDouble() < stuckShare else { continue }
                    let bit = trial % 2 == 0 ? rng.nextInt(below: 32) : 24 + rng.nextInt(below: 8)
                    stuck.append(StuckAtFault(row: r, col: c, bit: bit, value: rng.nextInt(below: 2)))
                }
            }
            let mapping = WeightMapping(k: k, n: n, rows: rows, cols: cols)
            let array = try ArrayGEMM.runInt8(config: cfg, faults: bypass, a: a, m: m, k: k, w: w, n: n, mapping: mapping,
                                              stuckAtFaults: stuck).output
            let fast = MaskedGEMM.forwardInt8(a: a, m: m, k: k, w: w, n: n, faults: bypass, mapping: mapping, stuckAt: stuck)
            #expect(fast == array, "trial \(trial): \(rows)x\(cols) array, M=\(m) K=\(k) N=\(n), \(stuck.count) stuck")
            if MaskedGEMM.forwardInt8(a: a, m: m, k: k, w: w, n: n, faults: bypass, mapping: mapping) != array { corrupted += 1 }
        }
        #expect(corrupted > 50)
    }

    /// Exactness of the float32 chunks: the largest products over a K spanning
    /// several chunks give the same int32 sums as the integer loop.
    @Test func chunkedFloatGEMMIsExactOnExtremeValues() {
        let (m, k, n) = (3, 2 * MaskedGEMM.exactInt8Chunk + 5, 4)
        var rng = SeededRNG(seed: 7)
        let a = (0..<(m * k)).map { _ in rng.nextInt(below: 2) == 0 ? Int8.min : Int8.max }
        let w = (0..<(k * n)).map { _ in rng.nextInt(below: 2) == 0 ? Int8.min : Int8(-127) }
        let mapping = WeightMapping(k: k, n: n, rows: 8, cols: 8)
        #expect(MaskedGEMM.forwardInt8(a: a, m: m, k: k, w: w, n: n, faults: nil, mapping: mapping, stuckAt: [])
                == MaskedGEMM.forwardInt8(a: a, m: m, k: k, w: w, n: n, faults: nil))
    }

    @Test func twoStuckAtFaultsOnOnePEAreRefused() {
        let cfg = HardwareConfig(rows: 2, cols: 2, datapath: .int8)
        let twice = [StuckAtFault(row: 1, col: 0, bit: 3, value: 1), StuckAtFault(row: 1, col: 0, bit: 4, value: 0)]
        #expect(throws: FapsimError.self) {
            try ArrayGEMM.runInt8(config: cfg, faults: nil, a: [1, 2], m: 1, k: 2, w: [3, 4], n: 1, stuckAtFaults: twice)
        }
    }
}
