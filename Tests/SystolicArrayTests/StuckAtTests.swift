import Testing
import FapsimSupport
import MaskedGEMM
@testable import SystolicArray

/// What an unmitigated stuck-at bit does, and that FAP bypass of the same PE
/// turns it into pruning.
@Suite struct StuckAtTests {
    /// Reference: each output's partial-sum chain down its column, with the bit
    /// forced after the faulty PE's MAC, then the folds' partial sums added.
    func reference(a: [Int8], w: [Int8], m: Int, k: Int, n: Int, rows: Int, cols: Int, stuck: StuckAtFault) -> [Int32] {
        var out = [Int32](repeating: 0, count: m * n)
        for mm in 0..<m {
            for nn in 0..<n {
                var total: Int32 = 0
                for kf in 0..<((k + rows - 1) / rows) {
                    var p: Int32 = 0
                    for i in 0..<min(rows, k - kf * rows) {
                        let kk = kf * rows + i
                        p = p &+ Int32(a[mm * k + kk]) &* Int32(w[kk * n + nn])
                        if i == stuck.row && nn % cols == stuck.col {
                            p = Int32(bitPattern: stuck.apply(bits: UInt32(bitPattern: p)))
                        }
                    }
                    total = total &+ p
                }
                out[mm * n + nn] = total
            }
        }
        return out
    }

    @Test(arguments: [(1, 2, 5, 1), (0, 0, 31, 1), (3, 1, 0, 0), (2, 3, 12, 0)])
    func stuckAtCorruptsExactlyItsColumnAndBypassPrunesIt(row: Int, col: Int, bit: Int, value: Int) throws {
        let cfg = HardwareConfig(rows: 4, cols: 4, datapath: .int8)
        let (m, k, n) = (5, 10, 7)
        var rng = SeededRNG(seed: UInt64(row * 1000 + col * 100 + bit))
        let a = (0..<(m * k)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
        let w = (0..<(k * n)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
        let stuck = StuckAtFault(row: row, col: col, bit: bit, value: value)
        let clean = try ArrayGEMM.runInt8(config: cfg, faults: nil, a: a, m: m, k: k, w: w, n: n).output
        let corrupt = try ArrayGEMM.runInt8(config: cfg, faults: nil, a: a, m: m, k: k, w: w, n: n, stuckAt: stuck).output
        #expect(corrupt == reference(a: a, w: w, m: m, k: k, n: n, rows: 4, cols: 4, stuck: stuck))
        // Only outputs mapped to the faulty PE's column can change, and some do.
        var changed = 0
        for mm in 0..<m {
            for nn in 0..<n where corrupt[mm * n + nn] != clean[mm * n + nn] {
                #expect(nn % 4 == col)
                changed += 1
            }
        }
        #expect(changed > 0)
        // The same PE marked faulty: its bypass mux skips the defect, the weight is pruned.
        var faults = FaultMap.none(rows: 4, cols: 4)
        faults.setFaulty(row, col, true)
        let bypassed = try ArrayGEMM.runInt8(config: cfg, faults: faults, a: a, m: m, k: k, w: w, n: n, stuckAt: stuck).output
        #expect(bypassed == MaskedGEMM.forwardInt8(a: a, m: m, k: k, w: w, n: n, faults: faults))
    }

    @Test func float32StuckAtIsBypassedToo() throws {
        let cfg = HardwareConfig(rows: 3, cols: 3)
        var rng = SeededRNG(seed: 11)
        let (m, k, n) = (4, 7, 5)
        let a = (0..<(m * k)).map { _ in Float(rng.nextGaussian()) }
        let w = (0..<(k * n)).map { _ in Float(rng.nextGaussian()) }
        let stuck = StuckAtFault(row: 2, col: 1, bit: 30, value: 1)   // exponent bit: large corruption
        let corrupt = try ArrayGEMM.run(config: cfg, faults: nil, a: a, m: m, k: k, w: w, n: n, stuckAt: stuck).output
        let clean = try ArrayGEMM.run(config: cfg, faults: nil, a: a, m: m, k: k, w: w, n: n).output
        #expect(zip(corrupt, clean).contains { abs($0 - $1) > 1 })
        var faults = FaultMap.none(rows: 3, cols: 3)
        faults.setFaulty(2, 1, true)
        let pruned = try ArrayGEMM.run(config: cfg, faults: faults, a: a, m: m, k: k, w: w, n: n, stuckAt: stuck).output
        let reference = try ArrayGEMM.run(config: cfg, faults: faults, a: a, m: m, k: k, w: w, n: n).output
        #expect(pruned.map(\.bitPattern) == reference.map(\.bitPattern))
    }

    /// The bypass is a mux, not an adder of zero: a -0 made by a stuck sign bit
    /// passes a bypassed PE's register with its bits unchanged.
    @Test func bypassPassesBitsUnchanged() throws {
        final class BottomBits: ArrayObserver {
            var bits: [UInt32] = []
            func edge(_ cycle: Int, inputs: EdgeInputs, state: ArrayStateView) {
                if state.psumValid(1, 0) { bits.append(state.psumBits(1, 0)) }
            }
        }
        let cfg = HardwareConfig(rows: 2, cols: 1)
        var faults = FaultMap.none(rows: 2, cols: 1)
        faults.setFaulty(1, 0, true)
        let stuck = StuckAtFault(row: 0, col: 0, bit: 31, value: 1)
        let seen = BottomBits()
        _ = try ArrayGEMM.run(config: cfg, faults: faults, a: [0, 5], m: 1, k: 2, w: [3, 7], n: 1, stuckAt: stuck, observer: seen)
        #expect(seen.bits == [0x8000_0000])   // 0*3 = +0, sign forced to -0; PE(1,0) bypassed keeps it
    }

    @Test func badStuckAtSpecsAreRejected() {
        #expect(throws: FapsimError.self) { try StuckAtFault(parsing: "1,2,3", rows: 4, cols: 4) }
        #expect(throws: FapsimError.self) { try StuckAtFault(parsing: "4,0,0,1", rows: 4, cols: 4) }
        #expect(throws: FapsimError.self) { try StuckAtFault(parsing: "0,0,32,1", rows: 4, cols: 4) }
        #expect(throws: FapsimError.self) { try StuckAtFault(parsing: "0,0,3,2", rows: 4, cols: 4) }
    }
}
