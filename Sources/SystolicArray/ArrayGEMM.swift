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
    /// Float32 datapath: Out[M x N] = A[M x K] x W[K x N], row-major. `stepEveryPE`
    /// turns idle skipping (`IdleSkipping`) off, for measuring what it saves: the
    /// results are the same. `mapping`
    /// (nil: the default one) says which PE holds each weight: the feeder, the
    /// weight chain and the accumulators address A, W and Out through it, so A, W
    /// and Out stay in channel order whatever the mapping.
    public static func run(config: HardwareConfig, faults: FaultMap?, a: [Float], m: Int, k: Int,
                           w: [Float], n: Int, mapping: WeightMapping? = nil, stuckAt: StuckAtFault? = nil,
                           threads: Int? = nil, stripWidth: Int? = nil, observer: ArrayObserver? = nil,
                           stepEveryPE: Bool = false) throws -> GEMMRun {
        try run(config: config, faults: faults, a: a, m: m, k: k, w: w, n: n, mapping: mapping,
                stuckAt: stuckAt.map { [$0] } ?? [],
                threads: threads, stripWidth: stripWidth, observer: observer, streamTailAdjust: 0, skipIdle: !stepEveryPE)
    }

    /// `streamTailAdjust` (tests only) shortens every fold's stream, to show what
    /// the controller's fold boundary protects. `skipIdle` false (tests only)
    /// steps every PE on every edge, the reference idle skipping is checked against.
    static func run(config: HardwareConfig, faults: FaultMap?, a: [Float], m: Int, k: Int,
                    w: [Float], n: Int, mapping: WeightMapping? = nil, stuckAt: [StuckAtFault], threads: Int?,
                    stripWidth: Int?, observer: ArrayObserver?, streamTailAdjust: Int, skipIdle: Bool = true) throws -> GEMMRun {
        let plan = try check(config: config, faults: faults, aCount: a.count, m: m, k: k, wCount: w.count, n: n,
                             mapping: mapping, stuckAt: stuckAt)
        guard w.allSatisfy(\.isFinite) else {
            throw FapsimError("GEMM weights: expected finite values (a NaN or infinite weight cannot be pruned by a pass-through)")
        }
        let (out, stats) = simulate(Float32PE.self, config: config, plan: plan, faults: faults, a: a, w: w,
                                    stuckAt: stuckAt, threads: threads, stripWidth: stripWidth, observer: observer,
                                    streamTailAdjust: streamTailAdjust, skipIdle: skipIdle)
        return GEMMRun(output: out, stats: stats)
    }

    /// Int8 datapath: int8 A and W, int32 partial sums and accumulators with wrap-around.
    /// `stuckAt` is one unmitigated fault, `stuckAtFaults` any number (one per PE);
    /// the two lists are joined.
    public static func runInt8(config: HardwareConfig, faults: FaultMap?, a: [Int8], m: Int, k: Int,
                               w: [Int8], n: Int, mapping: WeightMapping? = nil, stuckAt: StuckAtFault? = nil,
                               stuckAtFaults: [StuckAtFault] = [],
                               threads: Int? = nil, stripWidth: Int? = nil,
                               observer: ArrayObserver? = nil) throws -> (output: [Int32], stats: GEMMStats) {
        try runInt8(config: config, faults: faults, a: a, m: m, k: k, w: w, n: n, mapping: mapping,
                    stuckAt: (stuckAt.map { [$0] } ?? []) + stuckAtFaults,
                    threads: threads, stripWidth: stripWidth, observer: observer, skipIdle: true)
    }

    static func runInt8(config: HardwareConfig, faults: FaultMap?, a: [Int8], m: Int, k: Int,
                        w: [Int8], n: Int, mapping: WeightMapping? = nil, stuckAt: [StuckAtFault] = [],
                        threads: Int? = nil, stripWidth: Int? = nil,
                        observer: ArrayObserver? = nil, skipIdle: Bool) throws -> (output: [Int32], stats: GEMMStats) {
        let plan = try check(config: config, faults: faults, aCount: a.count, m: m, k: k, wCount: w.count, n: n,
                             mapping: mapping, stuckAt: stuckAt)
        return simulate(Int8PE.self, config: config, plan: plan, faults: faults, a: a.map(Int32.init),
                        w: w.map(Int32.init), stuckAt: stuckAt, threads: threads, stripWidth: stripWidth, observer: observer,
                        streamTailAdjust: 0, skipIdle: skipIdle)
    }

    /// Validates the operands and returns the GEMM's fold plan under `mapping`.
    static func check(config: HardwareConfig, faults: FaultMap?, aCount: Int, m: Int, k: Int, wCount: Int, n: Int,
                      mapping: WeightMapping?, stuckAt: [StuckAtFault]) throws -> FoldPlan {
        try FoldPlan.validate(m: m, k: k, n: n)
        if let mapping, mapping.k != k || mapping.n != n {
            throw FapsimError("weight mapping is for a K=\(mapping.k) N=\(mapping.n) GEMM, not K=\(k) N=\(n)")
        }
        guard aCount == m * k else { throw FapsimError("GEMM operand A: expected \(m)x\(k) = \(m * k) values, got \(aCount)") }
        guard wCount == k * n else { throw FapsimError("GEMM operand W: expected \(k)x\(n) = \(k * n) values, got \(wCount)") }
        if let faults, faults.rows != config.rows || faults.cols != config.cols {
            throw FapsimError("fault map is \(faults.rows)x\(faults.cols) but the array (\(config.name)) is \(config.rows)x\(config.cols)")
        }
        try StuckAtFault.validate(stuckAt, rows: config.rows, cols: config.cols)
        return try mapping.map { try FoldPlan(config: config, m: m, mapping: $0) } ?? FoldPlan(config: config, m: m, k: k, n: n)
    }

    /// Threads used when the caller does not say: one. Column strips on two
    /// threads were slower than one thread (0.2-0.9e9 against 1.7e9 PE-cycles/s
    /// stepping every PE; cause not found, docs/performance.md), and strips step
    /// every PE: idle skipping needs the whole row in one strip. The second core
    /// is used by a second simulation instead (batch workers of `evaluate
    /// --engine array` and `simulate`); `threads:` still selects strips.
    static func defaultThreads(rows: Int, cols: Int) -> Int { 1 }

    // Columns per strip (`stripWidth`, default: one strip per thread). A thread
    // clocks its strips in turn for a block of edges each; narrow strips keep their
    // registers in cache but pay per-edge overhead per strip, and on VGG11's
    // 512->512 layer one strip per core was fastest. Any width gives bit-identical
    // results (tested).
    /// Edges a strip is clocked for before the next strip takes its turn.
    static let blockEdges = 64

    static func simulate<A: PEArithmetic>(_: A.Type, config: HardwareConfig, plan: FoldPlan, faults: FaultMap?, a: [A.Lane],
                                          w: [A.Lane], stuckAt: [StuckAtFault], threads: Int?, stripWidth: Int?,
                                          observer: ArrayObserver?, streamTailAdjust: Int, skipIdle: Bool) -> ([A.Lane], GEMMStats) {
        let m = plan.m, k = plan.k, n = plan.n
        // Switched-off rows and columns (row/column bypass) are PEs bypassed like
        // faulty ones: the same FAP mux passes their data through.
        let array = PEArray<A>(rows: config.rows, cols: config.cols, faults: plan.mapping.bypassMap(faults: faults),
                               stuckAt: stuckAt)
        var acc = [A.Lane](repeating: A.zero, count: m * n)
        let cols = config.cols
        // Observers see the whole array after every edge: one strip, one thread.
        let wanted = observer != nil ? 1 : max(1, min(threads ?? defaultThreads(rows: config.rows, cols: cols), cols))
        // Default: one strip per thread, boundaries on multiples of 64 columns (a
        // cache line of the byte planes, four of the 32-bit ones) on wide arrays.
        let even = (cols + wanted - 1) / wanted
        let width = max(1, stripWidth ?? (wanted > 1 && cols >= 128 ? (even + 63) / 64 * 64 : even))
        let nStrips = observer != nil ? 1 : max(1, (cols + width - 1) / width)
        let nThreads = min(wanted, nStrips)
        let block = observer != nil ? 1 : blockEdges
        let bounds = (0...nStrips).map { min(cols, $0 * width) }
        let stripBounds = nStrips == 1 ? [0, cols] : bounds
        let progress = (0..<nStrips).map { _ in SliceProgress() }
        let handoffs = (0..<nStrips).map { _ in SliceHandoff<A.Lane>(rows: config.rows, depth: 4 * block + 2, zero: A.zero) }
        var results = [SliceResult](repeating: SliceResult(), count: nStrips)
        a.withUnsafeBufferPointer { ap in
            w.withUnsafeBufferPointer { wp in
                acc.withUnsafeMutableBufferPointer { accp in
                    results.withUnsafeMutableBufferPointer { res in
                        nonisolated(unsafe) let resultsBase = res.baseAddress!
                        let shared = StripShared(plan: plan, policy: config.weightLoad, array: array, a: ap, w: wp, acc: accp,
                                                 progress: progress, handoffs: handoffs, observer: observer,
                                                 streamTailAdjust: streamTailAdjust,
                                                 skipIdle: skipIdle && nStrips == 1 && stuckAt.isEmpty)
                        // Thread t clocks strips [first, last) in blocks of edges, left to right.
                        let work: @Sendable (Int) -> Void = { t in
                            let first = nStrips * t / nThreads, last = nStrips * (t + 1) / nThreads
                            let strips = (first..<last).map {
                                StripRunner(shared: shared, index: $0, j0: stripBounds[$0], j1: stripBounds[$0 + 1], strips: nStrips)
                            }
                            var limit = 0
                            while strips.contains(where: { !$0.stopped }) {
                                limit += block
                                for s in strips where !s.stopped { s.advance(until: limit) }
                            }
                            for s in strips { resultsBase[s.index] = s.result }
                        }
                        if nThreads == 1 {
                            work(0)
                        } else {
                            let group = DispatchGroup()
                            for t in 1..<nThreads {
                                group.enter()
                                let thread = Thread {
                                    work(t)
                                    group.leave()
                                }
                                thread.stackSize = 1 << 20
                                thread.start()
                            }
                            work(0)
                            group.wait()
                        }
                    }
                }
            }
        }
        // The GEMM ends on the last edge any strip needed; strips that ran on only
        // to feed a neighbour do not count. Every strip ran the same controller, so
        // strip 0's phase tally is the array's, except that its drain is what the
        // total leaves over.
        let total = results.map(\.lastEdge).max()! + 1
        var folds = results[0].folds
        for t in 1..<nStrips {
            for f in folds.indices {
                folds[f].macsPerformed += results[t].folds[f].macsPerformed
                folds[f].macsBypassed += results[t].folds[f].macsBypassed
            }
        }
        let beforeDrain = folds.reduce(0) { $0 + $1.weightLoadCycles + $1.fillCycles + $1.steadyCycles }
        folds[folds.count - 1].drainCycles = total - beforeDrain
        return (acc, GEMMStats(m: m, k: k, n: n, rows: config.rows, cols: config.cols, perFold: folds))
    }
}

struct SliceResult {
    var folds: [FoldStats] = []
    /// The edge on which this strip captured its last output (or the controller
    /// finished streaming, if later).
    var lastEdge = 0
}

/// What all strips of one GEMM share (read-only, or written in disjoint columns).
struct StripShared<A: PEArithmetic>: @unchecked Sendable {
    let plan: FoldPlan
    let policy: WeightLoadPolicy
    let array: PEArray<A>
    let a: UnsafeBufferPointer<A.Lane>
    let w: UnsafeBufferPointer<A.Lane>
    let acc: UnsafeMutableBufferPointer<A.Lane>
    let progress: [SliceProgress]
    let handoffs: [SliceHandoff<A.Lane>]
    let observer: ArrayObserver?
    let streamTailAdjust: Int
    /// Step only the PEs whose registers can change (`IdleSkipping`): one strip,
    /// no stuck-at fault.
    let skipIdle: Bool
}

/// One column strip of the array, clocked edge by edge and resumable, so a thread
/// can clock several strips in turn for a block of edges each (their registers stay
/// in cache). Each strip runs its own copy of the deterministic controller and
/// writes only its own columns; strips exchange only the activations crossing a
/// strip boundary, through a `SliceHandoff` ring.
final class StripRunner<A: PEArithmetic> {
    let shared: StripShared<A>
    let index: Int
    let j0: Int
    let j1: Int
    private let strips: Int
    private var ctrl: Controller
    private var folds: [FoldStats]
    private let feed: UnsafeMutablePointer<A.Lane>
    private let feedValid: UnsafeMutablePointer<UInt8>
    private let weightIn: UnsafeMutablePointer<A.Lane>
    private let weightValidIn: UnsafeMutablePointer<UInt8>
    // Accumulator address generators, one per column of the strip: which fold the
    // column's next valid output belongs to, and which of its M rows.
    private var colFold: [Int]
    private var colRow: [Int]
    private var capturesLeft = 0
    private var edge = 0
    private var parity = 0
    private var lastFeedFold = -1
    private var finishedAt = -1
    private(set) var stopped = false
    /// Idle skipping: the columns each row computes on the next edge, and what
    /// the last edge changed (nil: every PE is stepped).
    private var skipping: IdleSkipping?

    init(shared: StripShared<A>, index: Int, j0: Int, j1: Int, strips: Int) {
        self.shared = shared
        self.index = index
        self.j0 = j0
        self.j1 = j1
        self.strips = strips
        let plan = shared.plan
        ctrl = Controller(plan: plan, policy: shared.policy)
        ctrl.streamTailAdjust = shared.streamTailAdjust
        folds = plan.folds.enumerated().map {
            FoldStats(index: $0.offset, kFold: $0.element.kFold, nFold: $0.element.nFold,
                      rowsUsed: $0.element.rowsUsed, colsUsed: $0.element.colsUsed)
        }
        feed = .allocate(capacity: plan.rows)
        feedValid = .allocate(capacity: plan.rows)
        weightIn = .allocate(capacity: plan.cols)
        weightValidIn = .allocate(capacity: plan.cols)
        feed.initialize(repeating: A.zero, count: plan.rows)
        feedValid.initialize(repeating: 0, count: plan.rows)
        weightIn.initialize(repeating: A.zero, count: plan.cols)
        weightValidIn.initialize(repeating: 0, count: plan.cols)
        if shared.skipIdle { skipping = IdleSkipping(rows: plan.rows, cols: plan.cols) }
        colFold = [Int](repeating: 0, count: j1 - j0)
        colRow = [Int](repeating: 0, count: j1 - j0)
        for j in j0..<j1 {
            colFold[j - j0] = nextFold(after: 0, column: j)
            for f in plan.folds where f.colSpan > j { capturesLeft += plan.m }
        }
    }

    deinit {
        feed.deallocate(); feedValid.deallocate(); weightIn.deallocate(); weightValidIn.deallocate()
    }

    var result: SliceResult { SliceResult(folds: folds, lastEdge: finishedAt) }

    /// The next fold, from `f` on, whose span covers column j (and so sends it
    /// M valid partial sums).
    private func nextFold(after f: Int, column j: Int) -> Int {
        var g = f
        while g < shared.plan.folds.count && shared.plan.folds[g].colSpan <= j { g += 1 }
        return g
    }

    /// The flat index into W of the weight fold `fold` shifts into array row `row`,
    /// column j, on a column the fold spans; -1 where a switched-off row or column
    /// takes a valid zero (its PE is bypassed, but the valid bit must flow: it
    /// carries the activations on and starts the partial sums).
    @inline(__always)
    private func weightIndex(_ fold: Fold, row: Int, col j: Int) -> Int {
        let mapping = shared.plan.mapping
        let rowLane = mapping.laneOfRow[row], colLane = mapping.laneOfCol[j]
        guard rowLane >= 0, colLane >= 0 else { return -1 }
        return mapping.kAtSlot[fold.k0 + rowLane] * shared.plan.n + mapping.nAtSlot[fold.n0 + colLane]
    }

    /// Clocks edges until `limit` or until the strip may stop: it has captured all
    /// its outputs and the strip to its right no longer needs its activations.
    func advance(until limit: Int) {
        let plan = shared.plan, array = shared.array, a = shared.a, w = shared.w, acc = shared.acc
        let rows = plan.rows, cols = plan.cols, m = plan.m, k = plan.k, n = plan.n
        // Slot -> channel: the address generators read A and W, and write Out, in
        // channel order through the mapping.
        let kAt = plan.mapping.kAtSlot, nAt = plan.mapping.nAtSlot
        let laneOfRow = plan.mapping.laneOfRow, laneOfCol = plan.mapping.laneOfCol
        let bottom = (rows - 1) * cols
        let me = shared.progress[index]
        let producer: SliceProgress? = index > 0 ? shared.progress[index - 1] : nil
        let left: SliceHandoff<A.Lane>? = index > 0 ? shared.handoffs[index] : nil
        let right: (SliceHandoff<A.Lane>, SliceProgress)? = index + 1 < strips
            ? (shared.handoffs[index + 1], shared.progress[index + 1]) : nil
        // Synchronise once per block, not once per edge: wait until the left strip
        // has finished the whole block this strip is about to clock, and the right
        // strip has read far enough that the ring has room for it. Strips on
        // different threads then run a block apart, without stalls in between.
        if index > 0, !stopped {
            let producer = shared.progress[index - 1]
            waitUntil { producer.completed.load(ordering: .acquiring) >= limit - 1 || producer.stopped.load(ordering: .acquiring) }
        }
        if let (ring, consumer) = right, !stopped {
            waitUntil {
                consumer.stopped.load(ordering: .acquiring)
                    || consumer.completed.load(ordering: .acquiring) >= limit - ring.depth + 1
            }
        }
        while edge < limit && !stopped {
            let c = ctrl.next()
            // 1. Accumulators capture the bottom row's pre-edge partial sums.
            if capturesLeft > 0 {
                // Eight bottom-row valid bits at a time: most edges capture in a
                // few columns or none.
                var j = j0
                while j < j1 {
                    if j + 8 <= j1 && UnsafeRawPointer(array.pv + bottom + j).loadUnaligned(as: UInt64.self) == 0 {
                        j += 8
                        continue
                    }
                    defer { j += 1 }
                    if array.pv[bottom + j] == 0 { continue }
                    let f = colFold[j - j0]
                    let fold = plan.folds[f]
                    // A switched-off column's sums are dropped: it is no lane.
                    if laneOfCol[j] >= 0 {
                        let idx = colRow[j - j0] * n + nAt[fold.n0 + laneOfCol[j]]
                        acc[idx] = A.add(acc[idx], array.p[bottom + j])
                    }
                    colRow[j - j0] += 1
                    capturesLeft -= 1
                    if colRow[j - j0] == m {
                        colRow[j - j0] = 0
                        colFold[j - j0] = nextFold(after: f + 1, column: j)
                    }
                }
            }
            // 2. What enters the strip from the left: the feeder (row i gets item
            //    tau - i of the streaming fold), or the left strip's edge column.
            var leftIn = UnsafePointer(feed), leftValid = UnsafePointer(feedValid)
            var feederDrove = false
            if let left, let producer {
                let e = edge
                waitUntil { producer.completed.load(ordering: .acquiring) >= e }
                if edge > 0 {
                    leftIn = UnsafePointer(left.values + left.slot(edge - 1))
                    leftValid = UnsafePointer(left.valid + left.slot(edge - 1))
                }
            } else if c.streamFold >= 0 {
                let fold = plan.folds[c.streamFold]
                let changed = skipping?.feedChanged
                for i in 0..<rows {
                    let item = c.tau - i
                    let value: A.Lane, valid: UInt8
                    if i < fold.rowSpan && item >= 0 && item < m {
                        // A switched-off row is fed valid zeros: its PEs bypass them.
                        value = laneOfRow[i] >= 0 ? a[item * k + kAt[fold.k0 + laneOfRow[i]]] : A.zero
                        valid = 0xFF
                    } else {
                        value = A.zero
                        valid = 0
                    }
                    // A valid feed is a MAC even when it repeats the last value.
                    changed?[i] = valid != 0 || A.bits(value) != A.bits(feed[i]) || valid != feedValid[i]
                    feed[i] = value
                    feedValid[i] = valid
                }
                feederDrove = true
                lastFeedFold = c.streamFold
            } else if lastFeedFold != -2 {
                let changed = skipping?.feedChanged
                for i in 0..<rows {
                    changed?[i] = A.bits(feed[i]) != A.bits(A.zero) || feedValid[i] != 0
                    feed[i] = A.zero; feedValid[i] = 0
                }
                feederDrove = true
                lastFeedFold = -2
            }
            // 3. Clock the datapath (with idle skipping, only the PEs that can change).
            let performed: Int, bypassed: Int
            if let skipping {
                // Column 0 of the rows whose feeder value changed on this edge.
                skipping.planEdge(feederDrove: feederDrove)
                (performed, bypassed) = array.stepDatapath(j0: j0, j1: j1, parity: parity, leftIn: leftIn, leftValid: leftValid,
                                                           window: skipping.window, activity: skipping.activity)
            } else {
                (performed, bypassed) = array.stepDatapath(j0: j0, j1: j1, parity: parity, leftIn: leftIn, leftValid: leftValid)
            }
            if c.streamFold >= 0 {
                folds[c.streamFold].macsPerformed += performed
                folds[c.streamFold].macsBypassed += bypassed
            }
            // 4. Weight chain and swap on the same edge (they use pre-edge values too).
            if c.swap { array.swapWeights(j0: j0, j1: j1) }
            if c.shiftFold >= 0 {
                let fold = plan.folds[c.shiftFold]
                let row = fold.rowSpan - 1 - c.shiftStep
                for j in j0..<j1 {
                    if j < fold.colSpan {
                        let index = weightIndex(fold, row: row, col: j)
                        weightIn[j] = index >= 0 ? w[index] : A.zero
                        weightValidIn[j] = 0xFF
                    } else {
                        weightIn[j] = A.zero
                        weightValidIn[j] = 0
                    }
                }
                array.shiftWeights(j0: j0, j1: j1, weightIn: weightIn, validIn: weightValidIn,
                                   shadow: shared.policy == .doubleBuffered)
            }
            switch c.phase {
            case .weightLoad: folds[c.accountFold].weightLoadCycles += 1
            case .fill: folds[c.accountFold].fillCycles += 1
            case .steady: folds[c.accountFold].steadyCycles += 1
            case .drain: break   // derived from the GEMM's total once every strip is done
            }
            // 5. Hand the strip's right-edge activations to the next strip, once it
            //    has read what the ring slot held `depth` edges ago.
            if let (ring, consumer) = right {
                let e = edge
                waitUntil {
                    consumer.stopped.load(ordering: .acquiring)
                        || consumer.completed.load(ordering: .acquiring) >= e - ring.depth + 2
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
            if let observer = shared.observer {
                array.parity = parity
                observer.edge(edge, inputs: inputs(c, feed: feed, feedValid: feedValid), state: array)
            }
            if finishedAt < 0 && capturesLeft == 0 && ctrl.streamsDone { finishedAt = edge }
            edge += 1
            // A strip keeps clocking while the strip to its right still needs its activations.
            if finishedAt >= 0 && (right == nil || right!.1.stopped.load(ordering: .acquiring)) {
                stopped = true
                me.stopped.store(true, ordering: .releasing)
            }
        }
    }

    /// The control and data inputs of one edge, for observers.
    private func inputs(_ c: EdgeControl, feed: UnsafeMutablePointer<A.Lane>, feedValid: UnsafeMutablePointer<UInt8>) -> EdgeInputs {
        let plan = shared.plan, w = shared.w
        let rows = plan.rows, cols = plan.cols
        var e = EdgeInputs(weightIn: [Double](repeating: 0, count: cols), weightValidIn: [Bool](repeating: false, count: cols),
                           feed: (0..<rows).map { A.double(feed[$0]) }, feedValid: (0..<rows).map { feedValid[$0] != 0 })
        e.swap = c.swap
        if c.shiftFold >= 0 {
            e.shiftWeights = true
            let fold = plan.folds[c.shiftFold]
            for j in 0..<min(cols, fold.colSpan) {
                let index = weightIndex(fold, row: fold.rowSpan - 1 - c.shiftStep, col: j)
                e.weightIn[j] = index >= 0 ? A.double(w[index]) : 0
                e.weightValidIn[j] = true
            }
        }
        return e
    }
}

/// Skipping what cannot change. A PE's next registers are a function of its
/// inputs alone (the left neighbour's activation and valid bit, or the feeder's
/// at column 0; the partial sum and valid bit above; its own weight, which only
/// matters when its activation input is valid; its bypass bit, which is fixed),
/// never of its own registers. So a PE whose inputs did not change on the last
/// edge takes the values it already holds; and when it also did not change on
/// the last edge, both activation planes already hold them. Outside the stream's
/// diagonal wavefront, in unused rows and columns of partial folds, and during
/// weight loads, nearly every PE is such a PE.
///
/// Per row, the edge's window is the smallest column range holding every PE that
/// may change: those that changed on the last edge (so both planes get the new
/// values), their right neighbours (activations move right), the PEs below the
/// last edge's changes in the row above (partial sums move down), the PEs right
/// of a valid activation (a weight or valid bit may meet it: they multiply, and
/// their MACs are counted), and column 0 where the feed is valid or changed. Everything
/// outside is left as it is: registers, statistics, observers and VCDs are those
/// of stepping every PE (`IdleSkippingTests` compares every register on every edge).
final class IdleSkipping {
    let rows: Int
    let cols: Int
    /// Per row [lo, hi): the columns the next edge computes.
    let window: UnsafeMutablePointer<Int>
    /// Per row, written by `PEArray.stepDatapath`: changed [lo, hi), valid [lo, hi).
    let activity: UnsafeMutablePointer<Int>
    /// Per row, set by the feeder on the edges it drives: whether column 0 must be
    /// stepped (its feed is valid, or its value or valid bit differs from the last edge's).
    let feedChanged: UnsafeMutablePointer<Bool>
    private var first = true

    init(rows: Int, cols: Int) {
        self.rows = rows
        self.cols = cols
        window = .allocate(capacity: 2 * rows)
        activity = .allocate(capacity: 4 * rows)
        activity.initialize(repeating: 0, count: 4 * rows)
        feedChanged = .allocate(capacity: rows)
        feedChanged.initialize(repeating: false, count: rows)
        // The first edge steps every PE (nothing is known yet about the registers).
        for i in 0..<rows { window[2 * i] = 0; window[2 * i + 1] = cols }
    }

    deinit {
        window.deallocate()
        activity.deallocate()
        feedChanged.deallocate()
    }

    /// Sets the window of the coming edge from the last edge's activity and, when
    /// the feeder drove this edge, from which rows' feeder values changed.
    @inline(__always)
    func planEdge(feederDrove: Bool) {
        if first {
            first = false
            return
        }
        for i in 0..<rows {
            var lo = Int.max, hi = Int.min
            let changedLo = activity[4 * i], changedHi = activity[4 * i + 1]
            if changedLo < changedHi { lo = changedLo; hi = changedHi + 1 }
            let validLo = activity[4 * i + 2], validHi = activity[4 * i + 3]
            if validLo < validHi { lo = min(lo, validLo + 1); hi = max(hi, validHi + 1) }
            if i > 0 {
                let aboveLo = activity[4 * (i - 1)], aboveHi = activity[4 * (i - 1) + 1]
                if aboveLo < aboveHi { lo = min(lo, aboveLo); hi = max(hi, aboveHi) }
            }
            if feederDrove && feedChanged[i] { lo = 0; hi = max(hi, 1) }
            window[2 * i] = lo == Int.max ? 0 : lo
            window[2 * i + 1] = lo == Int.max ? 0 : min(cols, hi)
        }
    }
}
