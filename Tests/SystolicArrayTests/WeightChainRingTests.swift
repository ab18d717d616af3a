import Testing
import FapsimSupport
@testable import SystolicArray

/// The weight chains are rings of rows with a moving offset (`PEArray.shiftWeights`),
/// the hardware's chains copy every register down a row on each shift edge. This
/// suite runs a straightforward model of the register file beside the array: it
/// takes each edge's controller inputs, copies the chain down row by row, swaps
/// by copying the shadow into the active weights, steps every PE from the
/// pre-edge registers, and compares every register of every PE after every edge
/// (weights, their valid bits, shadow weights, activations, partial sums, valid
/// bits). A datapath that read the wrong physical row of the ring, or a swap that
/// left the shadow different, shows up as a register difference, not only in
/// the outputs.
@Suite struct WeightChainRingTests {
    /// The register file, one plain array per register, updated the obvious way.
    final class ShiftingReference: ArrayObserver {
        let rows: Int, cols: Int
        let doubleBuffered: Bool
        let bypass: [Bool]
        /// Stuck-at faults by flat PE index.
        let stuck: [Int: StuckAtFault]
        /// One PE's multiply-accumulate on raw partial-sum bits.
        let mac: (UInt32, Double, Double) -> UInt32
        var w: [Double], wv: [Bool], ws: [Double], wsv: [Bool]
        var act: [Double], av: [Bool], p: [UInt32], pv: [Bool]
        var edges = 0
        var differences = 0
        var firstDifference: String?

        init(config: HardwareConfig, faults: FaultMap, stuckAt: [StuckAtFault], mac: @escaping (UInt32, Double, Double) -> UInt32) {
            rows = config.rows
            cols = config.cols
            doubleBuffered = config.weightLoad == .doubleBuffered
            bypass = faults.bits.map { $0 != 0 }
            stuck = Dictionary(uniqueKeysWithValues: stuckAt.map { ($0.row * config.cols + $0.col, $0) })
            self.mac = mac
            let n = rows * cols
            w = Array(repeating: 0, count: n); ws = w; act = w
            wv = Array(repeating: false, count: n); wsv = wv; av = wv; pv = wv
            p = Array(repeating: 0, count: n)
        }

        func edge(_ cycle: Int, inputs e: EdgeInputs, state s: ArrayStateView) {
            // The datapath reads the pre-edge registers, weights included.
            var nAct = act, nAv = av, nP = p, nPv = pv
            for i in 0..<rows {
                for j in 0..<cols {
                    let x = i * cols + j
                    let aIn = j == 0 ? e.feed[i] : act[x - 1]
                    let avIn = j == 0 ? e.feedValid[i] : av[x - 1]
                    let valid = avIn && wv[x]
                    let pIn: UInt32 = i == 0 ? 0 : p[x - cols]
                    var pNew = valid && !bypass[x] ? mac(pIn, w[x], aIn) : pIn
                    if valid && !bypass[x], let f = stuck[x] { pNew = f.apply(bits: pNew) }
                    nP[x] = pNew
                    nPv[x] = i == 0 ? valid : pv[x - cols]
                    nAct[x] = aIn
                    nAv[x] = valid
                }
            }
            act = nAct; av = nAv; p = nP; pv = nPv
            // The swap copies the pre-edge shadow; the shadow chain shifts on the same edge.
            if e.swap { w = ws; wv = wsv }
            if e.shiftWeights {
                if doubleBuffered { Self.shiftDown(&ws, &wsv, e, rows: rows, cols: cols) }
                else { Self.shiftDown(&w, &wv, e, rows: rows, cols: cols) }
            }
            for i in 0..<rows {
                for j in 0..<cols {
                    let x = i * cols + j
                    let same = s.weight(i, j).bitPattern == w[x].bitPattern && s.weightValid(i, j) == wv[x]
                        && s.shadowWeight(i, j).bitPattern == ws[x].bitPattern
                        && s.activation(i, j).bitPattern == act[x].bitPattern && s.activationValid(i, j) == av[x]
                        && s.psumBits(i, j) == p[x] && s.psumValid(i, j) == pv[x] && s.bypass(i, j) == bypass[x]
                    if !same {
                        differences += 1
                        if firstDifference == nil {
                            firstDifference = "edge \(cycle) PE(\(i),\(j)): weight \(s.weight(i, j)) / \(w[x]), "
                                + "valid \(s.weightValid(i, j)) / \(wv[x]), shadow \(s.shadowWeight(i, j)) / \(ws[x]), "
                                + "psum bits \(s.psumBits(i, j)) / \(p[x])"
                        }
                    }
                }
            }
            edges += 1
        }

        /// Every row takes the row above's register, row 0 the chain's input.
        static func shiftDown(_ v: inout [Double], _ valid: inout [Bool], _ e: EdgeInputs, rows: Int, cols: Int) {
            for i in stride(from: rows - 1, to: 0, by: -1) {
                for j in 0..<cols {
                    v[i * cols + j] = v[(i - 1) * cols + j]
                    valid[i * cols + j] = valid[(i - 1) * cols + j]
                }
            }
            for j in 0..<cols {
                v[j] = e.weightIn[j]
                valid[j] = e.weightValidIn[j]
            }
        }
    }

    static func floatMAC(_ p: UInt32, _ w: Double, _ a: Double) -> UInt32 {
        (Float(bitPattern: p) + Float(w) * Float(a)).bitPattern
    }

    static func int8MAC(_ p: UInt32, _ w: Double, _ a: Double) -> UInt32 {
        UInt32(bitPattern: Int32(bitPattern: p) &+ Int32(w) &* Int32(a))
    }

    /// Random stuck-at faults (at most one per PE) on about a third of the PEs.
    static func randomStuckAt(rows: Int, cols: Int, rng: inout SeededRNG) -> [StuckAtFault] {
        var faults: [StuckAtFault] = []
        for i in 0..<rows {
            for j in 0..<cols where rng.nextInt(below: 3) == 0 {
                faults.append(StuckAtFault(row: i, col: j, bit: rng.nextInt(below: 32), value: rng.nextInt(below: 2)))
            }
        }
        return faults
    }

    /// The random shapes of the equivalence tests (partial folds in both
    /// dimensions, both policies, both mapping orders) and wider arrays whose
    /// rows take the eight-PE kernel, with FAP faults; every third case also has
    /// stuck-at faults (which turn idle skipping off), the others run with and
    /// without idle skipping.
    static var cases: [Case] {
        var wide: [Case] = []
        var rng = SeededRNG(seed: 1619)
        for (r, c) in [(9, 17), (12, 24), (5, 33), (16, 9)] {
            for policy in [WeightLoadPolicy.singleBuffered, .doubleBuffered] {
                let k = [r - 1, r + 2, 2 * r + 3][rng.nextInt(below: 3)], n = [c - 3, c, c + 5][rng.nextInt(below: 3)]
                wide.append(Case(config: HardwareConfig(name: "ring", rows: r, cols: c, weightLoad: policy),
                                 m: 1 + rng.nextInt(below: 9), k: k, n: n, rate: 0.1, seed: rng.next()))
            }
        }
        return makeCases(count: 60, seed: 1620, maxDim: 7) + wide
    }

    @Test(arguments: [false, true])
    func float32RegistersEqualAShiftingChain(_ skipIdle: Bool) throws {
        var rng = SeededRNG(seed: skipIdle ? 1621 : 1622)
        for (index, tc) in Self.cases.enumerated() {
            let faults = try FaultMap.uniform(rows: tc.config.rows, cols: tc.config.cols, rate: tc.rate, seed: tc.seed)
            let stuckAt = index % 3 == 0 ? Self.randomStuckAt(rows: tc.config.rows, cols: tc.config.cols, rng: &rng) : []
            let a = randomFloats(tc.m * tc.k, &rng), w = randomFloats(tc.k * tc.n, &rng)
            let reference = ShiftingReference(config: tc.config, faults: faults, stuckAt: stuckAt, mac: Self.floatMAC)
            let run = try ArrayGEMM.run(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n,
                                        stuckAt: stuckAt, threads: 1, stripWidth: nil, observer: reference,
                                        streamTailAdjust: 0, skipIdle: skipIdle)
            #expect(reference.edges == run.stats.cycles, "\(tc)")
            #expect(reference.differences == 0, "\(tc) stuck-at \(stuckAt.count): \(reference.firstDifference ?? "")")
        }
    }

    @Test func int8RegistersEqualAShiftingChain() throws {
        var rng = SeededRNG(seed: 1623)
        for (index, tc) in Self.cases.enumerated() {
            let faults = try FaultMap.uniform(rows: tc.config.rows, cols: tc.config.cols, rate: tc.rate, seed: tc.seed)
            let stuckAt = index % 3 == 1 ? Self.randomStuckAt(rows: tc.config.rows, cols: tc.config.cols, rng: &rng) : []
            let a = (0..<(tc.m * tc.k)).map { _ in Int8(truncatingIfNeeded: rng.nextInt(below: 256)) }
            let w = (0..<(tc.k * tc.n)).map { _ in Int8(truncatingIfNeeded: rng.nextInt(below: 256)) }
            let reference = ShiftingReference(config: tc.config, faults: faults, stuckAt: stuckAt, mac: Self.int8MAC)
            let run = try ArrayGEMM.runInt8(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n,
                                            stuckAt: stuckAt, threads: 1, observer: reference, skipIdle: true)
            #expect(reference.edges == run.stats.cycles, "\(tc)")
            #expect(reference.differences == 0, "\(tc) stuck-at \(stuckAt.count): \(reference.firstDifference ?? "")")
        }
    }

    /// The array's registers as a reader that forgot the ring would see them:
    /// weights from physical row i instead of the ring's row for logical row i.
    struct PhysicalRowsView: ArrayStateView {
        let array: PEArray<Float32PE>
        var rows: Int { array.rows }
        var cols: Int { array.cols }
        func weight(_ i: Int, _ j: Int) -> Double { Double(array.w[i * cols + j]) }
        func weightValid(_ i: Int, _ j: Int) -> Bool { array.wv[i * cols + j] != 0 }
        func shadowWeight(_ i: Int, _ j: Int) -> Double { Double(array.ws[i * cols + j]) }
        func activation(_ i: Int, _ j: Int) -> Double { array.activation(i, j) }
        func activationValid(_ i: Int, _ j: Int) -> Bool { array.activationValid(i, j) }
        func psum(_ i: Int, _ j: Int) -> Double { array.psum(i, j) }
        func psumBits(_ i: Int, _ j: Int) -> UInt32 { array.psumBits(i, j) }
        func psumValid(_ i: Int, _ j: Int) -> Bool { array.psumValid(i, j) }
        func bypass(_ i: Int, _ j: Int) -> Bool { array.bypass(i, j) }
    }

    final class ThroughPhysicalRows: ArrayObserver {
        let reference: ShiftingReference
        init(_ reference: ShiftingReference) { self.reference = reference }
        func edge(_ cycle: Int, inputs: EdgeInputs, state: ArrayStateView) {
            reference.edge(cycle, inputs: inputs, state: PhysicalRowsView(array: state as! PEArray<Float32PE>))
        }
    }

    /// The comparison can fail: read without the ring's offset, the same runs'
    /// weights differ from the shifting model's (in both policies, on partial and
    /// full folds, the offset has moved on most edges of a load).
    @Test(arguments: [WeightLoadPolicy.singleBuffered, .doubleBuffered])
    func aReaderIgnoringTheRingIsCaught(_ policy: WeightLoadPolicy) throws {
        var rng = SeededRNG(seed: 1625)
        let config = HardwareConfig(name: "ring", rows: 5, cols: 4, weightLoad: policy)
        let (m, k, n) = (3, 13, 6)
        let faults = try FaultMap.uniform(rows: 5, cols: 4, rate: 0, seed: 1)
        let a = randomFloats(m * k, &rng), w = randomFloats(k * n, &rng)
        let reference = ShiftingReference(config: config, faults: faults, stuckAt: [], mac: Self.floatMAC)
        _ = try ArrayGEMM.run(config: config, faults: faults, a: a, m: m, k: k, w: w, n: n, stuckAt: [], threads: 1,
                              stripWidth: nil, observer: ThroughPhysicalRows(reference), streamTailAdjust: 0, skipIdle: true)
        #expect(reference.differences > 0)
    }

    /// Column strips shift their columns' rings at different moments (each
    /// strip runs its own controller, blocks of edges apart on two threads):
    /// each keeps its own offset. Outputs and statistics equal one strip's,
    /// on the wide shapes, with stuck-at faults on some.
    @Test func columnStripsKeepTheirOwnOffsets() throws {
        var rng = SeededRNG(seed: 1624)
        for (index, tc) in Self.cases.suffix(8).enumerated() {
            let faults = try FaultMap.uniform(rows: tc.config.rows, cols: tc.config.cols, rate: tc.rate, seed: tc.seed)
            let stuckAt = index % 2 == 0 ? Self.randomStuckAt(rows: tc.config.rows, cols: tc.config.cols, rng: &rng) : []
            let a = randomFloats(tc.m * tc.k, &rng), w = randomFloats(tc.k * tc.n, &rng)
            let reference = ShiftingReference(config: tc.config, faults: faults, stuckAt: stuckAt, mac: Self.floatMAC)
            let one = try ArrayGEMM.run(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n,
                                        stuckAt: stuckAt, threads: 1, stripWidth: nil, observer: reference,
                                        streamTailAdjust: 0, skipIdle: true)
            #expect(reference.differences == 0, "\(tc): \(reference.firstDifference ?? "")")
            for (threads, width) in [(2, 8), (2, 3), (1, 5)] {
                let strips = try ArrayGEMM.run(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n,
                                               stuckAt: stuckAt, threads: threads, stripWidth: width, observer: nil,
                                               streamTailAdjust: 0, skipIdle: true)
                #expect(strips.output.map(\.bitPattern) == one.output.map(\.bitPattern), "\(tc) threads \(threads) width \(width)")
                #expect(strips.stats == one.stats, "\(tc) threads \(threads) width \(width)")
            }
        }
    }
}
