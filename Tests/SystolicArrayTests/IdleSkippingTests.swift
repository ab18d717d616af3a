import Testing
import FapsimSupport
@testable import SystolicArray

/// Idle skipping (`IdleSkipping`: only the PEs whose registers can change are
/// stepped) against stepping every PE on every edge: every register of every PE
/// after every edge, the outputs and the statistics are identical, on random
/// shapes (partial folds in both dimensions, M from 1), both weight-load
/// policies, both mapping orders, fault rates up to 1, float32 and int8.
@Suite struct IdleSkippingTests {
    /// Every register of every PE after every edge, as raw bits.
    final class StateLog: ArrayObserver {
        var edges: [[UInt64]] = []
        var inputs: [[Double]] = []
        func edge(_ cycle: Int, inputs e: EdgeInputs, state s: ArrayStateView) {
            var row: [UInt64] = [UInt64(cycle)]
            row.reserveCapacity(1 + 8 * s.rows * s.cols)
            for i in 0..<s.rows {
                for j in 0..<s.cols {
                    row.append(s.weight(i, j).bitPattern)
                    row.append(s.weightValid(i, j) ? 1 : 0)
                    row.append(s.shadowWeight(i, j).bitPattern)
                    row.append(s.activation(i, j).bitPattern)
                    row.append(s.activationValid(i, j) ? 1 : 0)
                    row.append(UInt64(s.psumBits(i, j)))
                    row.append(s.psumValid(i, j) ? 1 : 0)
                    row.append(s.bypass(i, j) ? 1 : 0)
                }
            }
            edges.append(row)
            inputs.append(e.feed + e.weightIn + e.feed.indices.map { e.feedValid[$0] ? 1 : 0 })
        }
    }

    static let cases = makeCases(count: 120, seed: 1616)

    @Test(arguments: 0..<6)
    func float32RegistersEqualSteppingEveryPE(_ shard: Int) throws {
        var rng = SeededRNG(seed: 160 + UInt64(shard))
        for tc in Self.cases.enumerated().filter({ $0.offset % 6 == shard }).map(\.element) {
            let faults = try FaultMap.uniform(rows: tc.config.rows, cols: tc.config.cols, rate: tc.rate, seed: tc.seed)
            // Zeros among the activations: a valid zero must still count as a MAC.
            let a = randomFloats(tc.m * tc.k, &rng).map { rng.nextInt(below: 4) == 0 ? 0 : $0 }
            let w = randomFloats(tc.k * tc.n, &rng)
            let skipLog = StateLog(), fullLog = StateLog()
            let skip = try ArrayGEMM.run(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n,
                                         stuckAt: [], threads: 1, stripWidth: nil, observer: skipLog, streamTailAdjust: 0,
                                         skipIdle: true)
            let full = try ArrayGEMM.run(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n,
                                         stuckAt: [], threads: 1, stripWidth: nil, observer: fullLog, streamTailAdjust: 0,
                                         skipIdle: false)
            #expect(skip.output.map(\.bitPattern) == full.output.map(\.bitPattern), "\(tc)")
            #expect(skip.stats == full.stats, "\(tc)")
            #expect(skipLog.edges.count == fullLog.edges.count, "\(tc)")
            #expect(skipLog.edges == fullLog.edges, "\(tc): registers differ after edge \(firstDifference(skipLog.edges, fullLog.edges))")
            #expect(skipLog.inputs == fullLog.inputs, "\(tc)")
        }
    }

    @Test func int8RegistersEqualSteppingEveryPE() throws {
        var rng = SeededRNG(seed: 1617)
        for tc in makeCases(count: 30, seed: 1618) {
            let faults = try FaultMap.uniform(rows: tc.config.rows, cols: tc.config.cols, rate: tc.rate, seed: tc.seed)
            let a = (0..<(tc.m * tc.k)).map { _ in Int8(truncatingIfNeeded: rng.nextInt(below: 256)) }
            let w = (0..<(tc.k * tc.n)).map { _ in Int8(truncatingIfNeeded: rng.nextInt(below: 256)) }
            let skipLog = StateLog(), fullLog = StateLog()
            let skip = try ArrayGEMM.runInt8(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n,
                                             threads: 1, observer: skipLog, skipIdle: true)
            let full = try ArrayGEMM.runInt8(config: tc.config, faults: faults, a: a, m: tc.m, k: tc.k, w: w, n: tc.n,
                                             threads: 1, observer: fullLog, skipIdle: false)
            #expect(skip.output == full.output && skip.stats == full.stats, "\(tc)")
            #expect(skipLog.edges == fullLog.edges, "\(tc): registers differ after edge \(firstDifference(skipLog.edges, fullLog.edges))")
        }
    }

    /// Without an observer (blocks of edges, the fast path) on arrays wide enough
    /// for the eight-PE kernel and with partial folds: outputs and statistics equal.
    @Test(arguments: [(24, 40, WeightLoadPolicy.singleBuffered), (33, 17, .doubleBuffered), (64, 64, .singleBuffered)])
    func wideArraysEqualSteppingEveryPE(_ shape: (Int, Int, WeightLoadPolicy)) throws {
        let (rows, cols, policy) = shape
        let config = HardwareConfig(name: "t", rows: rows, cols: cols, weightLoad: policy)
        var rng = SeededRNG(seed: UInt64(rows * 1000 + cols))
        for (m, k, n) in [(1, rows + 3, cols - 5), (5, 2 * rows + 1, 2 * cols + 3), (17, rows / 2, cols + 1)] {
            let faults = try FaultMap.uniform(rows: rows, cols: cols, rate: 0.2, seed: UInt64(m))
            let a = randomFloats(m * k, &rng), w = randomFloats(k * n, &rng)
            let skip = try ArrayGEMM.run(config: config, faults: faults, a: a, m: m, k: k, w: w, n: n, stuckAt: [], threads: 1,
                                         stripWidth: nil, observer: nil, streamTailAdjust: 0, skipIdle: true)
            let full = try ArrayGEMM.run(config: config, faults: faults, a: a, m: m, k: k, w: w, n: n, stuckAt: [], threads: 1,
                                         stripWidth: nil, observer: nil, streamTailAdjust: 0, skipIdle: false)
            #expect(skip.output.map(\.bitPattern) == full.output.map(\.bitPattern), "\(rows)x\(cols) M\(m) K\(k) N\(n)")
            #expect(skip.stats == full.stats, "\(rows)x\(cols) M\(m) K\(k) N\(n)")
        }
    }

    func firstDifference(_ x: [[UInt64]], _ y: [[UInt64]]) -> Int {
        x.indices.first { $0 >= y.count || x[$0] != y[$0] } ?? x.count
    }
}
