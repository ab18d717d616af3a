import Foundation
import FapsimSupport

/// Result of one GEMM on the register-level array.
public struct GEMMRun: Sendable {
    public var output: [Float]
    public var stats: GEMMStats
}

/// Runs GEMMs fold by fold on the register-level array: the controller sequences
/// weight loads and the skewed activation feed, the PE array is clocked edge by
/// edge, and accumulators outside the array (addressed per column by a counter of
/// valid outputs, which is how they de-skew) add the partial sums of successive
/// K folds. The GEMM ends on the edge that captures its last output; nothing in
/// the cycle count comes from a formula.
public enum ArrayGEMM {
    /// Float32 datapath: Out[M x N] = A[M x K] x W[K x N], row-major.
    public static func run(config: HardwareConfig, faults: FaultMap?, a: [Float], m: Int, k: Int,
                           w: [Float], n: Int, stuckAt: StuckAtFault? = nil, threads: Int? = nil,
                           observer: ArrayObserver? = nil, streamTailAdjust: Int = 0) throws -> GEMMRun {
        try check(config: config, faults: faults, aCount: a.count, m: m, k: k, wCount: w.count, n: n, stuckAt: stuckAt)
        guard w.allSatisfy(\.isFinite) else {
            throw FapsimError("GEMM weights: expected finite values (a NaN or infinite weight cannot be pruned by a pass-through)")
        }
        let (out, stats) = simulate(Float32PE.self, config: config, faults: faults, a: a, m: m, k: k, w: w, n: n,
                                    stuckAt: stuckAt, threads: threads, observer: observer, streamTailAdjust: streamTailAdjust)
        return GEMMRun(output: out, stats: stats)
    }

    /// Int8 datapath: int8 A and W, int32 partial sums and accumulators with wrap-around.
    public static func runInt8(config: HardwareConfig, faults: FaultMap?, a: [Int8], m: Int, k: Int,
                               w: [Int8], n: Int, stuckAt: StuckAtFault? = nil, threads: Int? = nil,
                               observer: ArrayObserver? = nil) throws -> (output: [Int32], stats: GEMMStats) {
        try check(config: config, faults: faults, aCount: a.count, m: m, k: k, wCount: w.count, n: n, stuckAt: stuckAt)
        return simulate(Int8PE.self, config: config, faults: faults, a: a.map(Int32.init), m: m, k: k,
                        w: w.map(Int32.init), n: n, stuckAt: stuckAt, threads: threads, observer: observer,
                        streamTailAdjust: 0)
    }

    static func check(config: HardwareConfig, faults: FaultMap?, aCount: Int, m: Int, k: Int, wCount: Int, n: Int,
                      stuckAt: StuckAtFault?) throws {
        try FoldPlan.validate(m: m, k: k, n: n)
        guard aCount == m * k else { throw FapsimError("GEMM operand A: expected \(m)x\(k) = \(m * k) values, got \(aCount)") }
        guard wCount == k * n else { throw FapsimError("GEMM operand W: expected \(k)x\(n) = \(k * n) values, got \(wCount)") }
        if let faults, faults.rows != config.rows || faults.cols != config.cols {
            throw FapsimError("fault map is \(faults.rows)x\(faults.cols) but the array (\(config.name)) is \(config.rows)x\(config.cols)")
        }
        try stuckAt?.validate(rows: config.rows, cols: config.cols)
    }

    /// Threads used when the caller does not say: one per core, but only for arrays
    /// wide enough that a per-edge barrier is cheap next to an edge's work.
    static func defaultThreads(rows: Int, cols: Int) -> Int {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return rows * cols >= 128 * 128 ? max(1, min(cores, cols / 32)) : 1
    }

    static func simulate<A: PEArithmetic>(_: A.Type, config: HardwareConfig, faults: FaultMap?, a: [A.Lane], m: Int, k: Int,
                                          w: [A.Lane], n: Int, stuckAt: StuckAtFault?, threads: Int?,
                                          observer: ArrayObserver?, streamTailAdjust: Int) -> ([A.Lane], GEMMStats) {
        let plan = try! FoldPlan(config: config, m: m, k: k, n: n)
        let array = PEArray<A>(rows: config.rows, cols: config.cols, faults: faults, stuckAt: stuckAt)
        var acc = [A.Lane](repeating: A.zero, count: m * n)
        let nThreads = observer != nil ? 1 : max(1, min(threads ?? defaultThreads(rows: config.rows, cols: config.cols), config.cols))
        var perThread = [SliceResult](repeating: SliceResult(), count: nThreads)
        let progress = (0..<nThreads).map { _ in SliceProgress() }
        let handoffs = (0..<nThreads).map { _ in SliceHandoff<A.Lane>(rows: config.rows, depth: 1024, zero: A.zero) }
        a.withUnsafeBufferPointer { ap in
            w.withUnsafeBufferPointer { wp in
                acc.withUnsafeMutableBufferPointer { accp in
                    perThread.withUnsafeMutableBufferPointer { results in
                        let job = SliceJob(plan: plan, policy: config.weightLoad, array: array, a: ap, w: wp, acc: accp,
                                           progress: progress, handoffs: handoffs, threads: nThreads, observer: observer,
                                           streamTailAdjust: streamTailAdjust)
                        if nThreads == 1 {
                            results[0] = job.run(slice: 0)
                        } else {
                            let group = DispatchGroup()
                            nonisolated(unsafe) let resultsBase = results.baseAddress!
                            for t in 1..<nThreads {
                                group.enter()
                                let thread = Thread {
                                    resultsBase[t] = job.run(slice: t)
                                    group.leave()
                                }
                                thread.stackSize = 1 << 20
                                thread.start()
                            }
                            resultsBase[0] = job.run(slice: 0)
                            group.wait()
                        }
                    }
                }
            }
        }
        // The GEMM ends on the last edge any slice needed; slices that ran on only
        // to feed a neighbour do not count. Every slice ran the same controller, so
        // slice 0's phase tally is the array's, except that its drain is what the
        // total leaves over.
        let total = perThread.map(\.lastEdge).max()! + 1
        var folds = perThread[0].folds
        for t in 1..<nThreads {
            for f in folds.indices {
                folds[f].macsPerformed += perThread[t].folds[f].macsPerformed
                folds[f].macsBypassed += perThread[t].folds[f].macsBypassed
            }
        }
        let beforeDrain = folds.reduce(0) { $0 + $1.weightLoadCycles + $1.fillCycles + $1.steadyCycles }
        folds[folds.count - 1].drainCycles = total - beforeDrain
        return (acc, GEMMStats(m: m, k: k, n: n, rows: config.rows, cols: config.cols, perFold: folds))
    }
}

struct SliceResult {
    var folds: [FoldStats] = []
    /// The edge on which this slice captured its last output (or the controller
    /// finished streaming, if later).
    var lastEdge = 0
}

/// Everything one thread needs to clock its column slice through the whole GEMM.
/// Each thread runs its own copy of the (deterministic) controller and writes
/// only its own columns; the one thing slices exchange is the activations that
/// cross from one slice into the next, through a `SliceHandoff` ring.
struct SliceJob<A: PEArithmetic>: @unchecked Sendable {
    let plan: FoldPlan
    let policy: WeightLoadPolicy
    let array: PEArray<A>
    let a: UnsafeBufferPointer<A.Lane>
    let w: UnsafeBufferPointer<A.Lane>
    let acc: UnsafeMutableBufferPointer<A.Lane>
    let progress: [SliceProgress]
    let handoffs: [SliceHandoff<A.Lane>]
    let threads: Int
    let observer: ArrayObserver?
    let streamTailAdjust: Int

    func run(slice t: Int) -> SliceResult {
        let rows = plan.rows, cols = plan.cols, m = plan.m, k = plan.k, n = plan.n
        let j0 = cols * t / threads, j1 = cols * (t + 1) / threads
        var ctrl = Controller(plan: plan, policy: policy)
        ctrl.streamTailAdjust = streamTailAdjust
        var folds = plan.folds.enumerated().map {
            FoldStats(index: $0.offset, kFold: $0.element.kFold, nFold: $0.element.nFold,
                      rowsUsed: $0.element.rowsUsed, colsUsed: $0.element.colsUsed)
        }
        let feed = UnsafeMutablePointer<A.Lane>.allocate(capacity: rows)
        let feedValid = UnsafeMutablePointer<UInt32>.allocate(capacity: rows)
        let weightIn = UnsafeMutablePointer<A.Lane>.allocate(capacity: cols)
        let weightValidIn = UnsafeMutablePointer<UInt32>.allocate(capacity: cols)
        feed.initialize(repeating: A.zero, count: rows)
        feedValid.initialize(repeating: 0, count: rows)
        weightIn.initialize(repeating: A.zero, count: cols)
        weightValidIn.initialize(repeating: 0, count: cols)
        defer { feed.deallocate(); feedValid.deallocate(); weightIn.deallocate(); weightValidIn.deallocate() }

        // Accumulator address generators, one per column of the slice: which fold
        // the column's next valid output belongs to, and which of its M rows.
        var colFold = [Int](repeating: 0, count: j1 - j0)
        var colRow = [Int](repeating: 0, count: j1 - j0)
        func nextFold(after f: Int, column j: Int) -> Int {
            var g = f
            while g < plan.folds.count && plan.folds[g].colsUsed <= j { g += 1 }
            return g
        }
        var capturesLeft = 0
        for j in j0..<j1 {
            colFold[j - j0] = nextFold(after: 0, column: j)
            for f in plan.folds where f.colsUsed > j { capturesLeft += m }
        }
        let bottom = (rows - 1) * cols
        var edge = 0
        var parity = 0
        var lastFeedFold = -1
        var finishedAt = -1
        let me = progress[t]
        let left: SliceHandoff<A.Lane>? = t > 0 ? handoffs[t] : nil
        let right: (SliceHandoff<A.Lane>, SliceProgress)? = t + 1 < threads ? (handoffs[t + 1], progress[t + 1]) : nil
        while true {
            let c = ctrl.next()
            // 1. Accumulators capture the bottom row's pre-edge partial sums.
            if capturesLeft > 0 {
                for j in j0..<j1 where array.pv[bottom + j] != 0 {
                    let f = colFold[j - j0]
                    let fold = plan.folds[f]
                    let idx = colRow[j - j0] * n + fold.n0 + j
                    acc[idx] = A.add(acc[idx], array.p[bottom + j])
                    colRow[j - j0] += 1
                    capturesLeft -= 1
                    if colRow[j - j0] == m {
                        colRow[j - j0] = 0
                        colFold[j - j0] = nextFold(after: f + 1, column: j)
                    }
                }
            }
            // 2. What enters the slice from the left: the feeder (row i gets item
            //    tau - i of the streaming fold), or the left slice's edge column.
            var leftIn = UnsafePointer(feed), leftValid = UnsafePointer(feedValid)
            if let left {
                let producer = progress[t - 1]
                waitUntil { producer.completed.load(ordering: .acquiring) >= edge }
                if edge > 0 {
                    leftIn = UnsafePointer(left.values + left.slot(edge - 1))
                    leftValid = UnsafePointer(left.valid + left.slot(edge - 1))
                }
            } else if c.streamFold >= 0 {
                let fold = plan.folds[c.streamFold]
                for i in 0..<rows {
                    let item = c.tau - i
                    if i < fold.rowsUsed && item >= 0 && item < m {
                        feed[i] = a[item * k + fold.k0 + i]
                        feedValid[i] = ~0
                    } else {
                        feed[i] = A.zero
                        feedValid[i] = 0
                    }
                }
                lastFeedFold = c.streamFold
            } else if lastFeedFold != -2 {
                for i in 0..<rows { feed[i] = A.zero; feedValid[i] = 0 }
                lastFeedFold = -2
            }
            // 3. Clock the datapath.
            let (performed, bypassed) = array.stepDatapath(j0: j0, j1: j1, parity: parity, leftIn: leftIn, leftValid: leftValid)
            if c.streamFold >= 0 {
                folds[c.streamFold].macsPerformed += performed
                folds[c.streamFold].macsBypassed += bypassed
            }
            // 4. Weight chain and swap on the same edge (they use pre-edge values too).
            if c.swap { array.swapWeights(j0: j0, j1: j1) }
            if c.shiftFold >= 0 {
                let fold = plan.folds[c.shiftFold]
                let kk = fold.k0 + fold.rowsUsed - 1 - c.shiftStep
                for j in j0..<j1 {
                    if j < fold.colsUsed {
                        weightIn[j] = w[kk * n + fold.n0 + j]
                        weightValidIn[j] = ~0
                    } else {
                        weightIn[j] = A.zero
                        weightValidIn[j] = 0
                    }
                }
                array.shiftWeights(j0: j0, j1: j1, weightIn: weightIn, validIn: weightValidIn,
                                   shadow: policy == .doubleBuffered)
            }
            switch c.phase {
            case .weightLoad: folds[c.accountFold].weightLoadCycles += 1
            case .fill: folds[c.accountFold].fillCycles += 1
            case .steady: folds[c.accountFold].steadyCycles += 1
            case .drain: break   // derived from the GEMM's total once every slice is done
            }
            // 5. Hand the slice's right-edge activations to the next slice, once it
            //    has read what the ring slot held `depth` edges ago.
            if let (ring, consumer) = right {
                waitUntil {
                    consumer.stopped.load(ordering: .acquiring)
                        || consumer.completed.load(ordering: .acquiring) >= edge - ring.depth + 2
                }
                let aNew = parity == 0 ? array.act.1 : array.act.0
                let avNew = parity == 0 ? array.actValid.1 : array.actValid.0
                let s = ring.slot(edge)
                for i in 0..<rows {
                    ring.values[s + i] = aNew[i * cols + j1 - 1]
                    ring.valid[s + i] = avNew[i * cols + j1 - 1]
                }
            }
            parity ^= 1
            me.completed.store(edge + 1, ordering: .releasing)
            if let observer {
                array.parity = parity
                observer.edge(edge, inputs: inputs(c, feed: feed, feedValid: feedValid), state: array)
            }
            if finishedAt < 0 && capturesLeft == 0 && ctrl.streamsDone { finishedAt = edge }
            // A slice keeps clocking while the slice to its right still needs its activations.
            if finishedAt >= 0 && (right == nil || right!.1.stopped.load(ordering: .acquiring)) { break }
            edge += 1
        }
        me.stopped.store(true, ordering: .releasing)
        return SliceResult(folds: folds, lastEdge: finishedAt)
    }
    /// The control and data inputs of one edge, for observers.
    private func inputs(_ c: EdgeControl, feed: UnsafeMutablePointer<A.Lane>, feedValid: UnsafeMutablePointer<UInt32>) -> EdgeInputs {
        let rows = plan.rows, cols = plan.cols
        var e = EdgeInputs(weightIn: [Double](repeating: 0, count: cols), weightValidIn: [Bool](repeating: false, count: cols),
                           feed: (0..<rows).map { A.double(feed[$0]) }, feedValid: (0..<rows).map { feedValid[$0] != 0 })
        e.swap = c.swap
        if c.shiftFold >= 0 {
            e.shiftWeights = true
            let fold = plan.folds[c.shiftFold]
            let kk = fold.k0 + fold.rowsUsed - 1 - c.shiftStep
            for j in 0..<min(cols, fold.colsUsed) {
                e.weightIn[j] = A.double(w[kk * plan.n + fold.n0 + j])
                e.weightValidIn[j] = true
            }
        }
        return e
    }
}
