/// What the controller drives into the array on one clock edge, and how that edge
/// is accounted. The controller is a counter-based state machine, like the
/// sequencer of a real accelerator: it knows M and each fold's spanned rows and
/// columns (the used ones, and under row/column bypass the switched-off ones
/// between them) and nothing about the data.
public struct EdgeControl: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        case weightLoad, fill, steady, drain
    }

    /// Fold whose weights shift in on this edge (-1: no shift). The value shifted in
    /// is for that fold's array row `rowSpan - 1 - shiftStep`: the first value shifted
    /// ends up in the lowest row the fold spans.
    public var shiftFold = -1
    public var shiftStep = 0
    /// Double-buffered only: every PE copies its shadow weight into its active weight.
    public var swap = false
    /// Fold whose activations are being fed (-1: none); row i is fed item `tau - i`.
    public var streamFold = -1
    public var tau = 0
    /// The fold this edge is charged to, and in which phase.
    public var accountFold = 0
    public var phase: Phase = .drain
}

/// Sequences the folds of a GEMM for one weight-load policy.
///
/// Single-buffered: fold f shifts its r_f weight rows in (r_f edges), then streams:
/// row i is fed item m on stream cycle tau = m + i, and the last MAC happens at
/// PE(r_f-1, c_f-1) on tau = M + r_f + c_f - 3. The next fold's weight shift starts
/// on the following edge (its partial sums still drain below, which needs no weights).
///
/// Double-buffered: the next fold's weights shift into the shadow chain while the
/// current fold streams; all PEs swap on the first edge on which both the shadow is
/// full and the current fold's last MAC is done, and the new fold streams from the
/// edge after the swap. The shadow chain starts taking the following fold on the
/// swap edge itself.
///
/// In both policies new weights take effect no earlier than the edge after a fold's
/// last MAC; that edge is where the fold's last activation meets the first unused
/// column and dies, so a narrower fold's activations never meet the next fold's weights.
public struct Controller: Sendable {
    public let plan: FoldPlan
    public let policy: WeightLoadPolicy
    /// Test-only: shortens every stream by this many edges, to show that the
    /// schedule is tight (any earlier weight change corrupts results).
    public var streamTailAdjust = 0

    // Streamer state.
    private var streamFold = -1
    private var tau = 0
    private var nextToStream = 0
    // Loader state (which fold is shifting in, and how far).
    private var loadFold = 0
    private var loadStep = 0
    private var shadowReady = false
    public private(set) var streamsDone = false

    public init(plan: FoldPlan, policy: WeightLoadPolicy) {
        self.plan = plan
        self.policy = policy
    }

    private func streamLength(_ f: Int) -> Int {
        let fold = plan.folds[f]
        return plan.m + fold.rowSpan + fold.colSpan - 2 + streamTailAdjust
    }

    private func phaseOfStream(_ f: Int, _ t: Int) -> EdgeControl.Phase {
        let fold = plan.folds[f]
        return t < fold.rowSpan + fold.colSpan - 2 ? .fill : .steady
    }

    public mutating func next() -> EdgeControl {
        var c = EdgeControl()
        if streamsDone {
            c.accountFold = plan.folds.count - 1
            c.phase = .drain
            return c
        }
        switch policy {
        case .singleBuffered: nextSingle(&c)
        case .doubleBuffered: nextDouble(&c)
        }
        return c
    }

    private mutating func emitStream(_ c: inout EdgeControl) {
        c.streamFold = streamFold
        c.tau = tau
        c.accountFold = streamFold
        c.phase = phaseOfStream(streamFold, tau)
        tau += 1
        if tau >= streamLength(streamFold) {
            streamFold = -1
            if nextToStream == plan.folds.count { streamsDone = true }
        }
    }

    private mutating func nextSingle(_ c: inout EdgeControl) {
        if streamFold >= 0 {
            emitStream(&c)
            return
        }
        // Loading fold `nextToStream` into the active weight registers.
        let f = nextToStream
        c.shiftFold = f
        c.shiftStep = loadStep
        c.accountFold = f
        c.phase = .weightLoad
        loadStep += 1
        if loadStep == plan.folds[f].rowSpan {
            loadStep = 0
            streamFold = f
            tau = 0
            nextToStream += 1
        }
    }

    private mutating func nextDouble(_ c: inout EdgeControl) {
        let folds = plan.folds.count
        // The swap happens when the shadow holds the next fold and nothing streams.
        let swapNow = streamFold < 0 && shadowReady
        if swapNow {
            c.swap = true
            shadowReady = false
            loadStep = 0
            loadFold += 1
        }
        // The shadow chain shifts whenever it is not holding a finished fold.
        if !shadowReady && loadFold < folds {
            c.shiftFold = loadFold
            c.shiftStep = loadStep
            loadStep += 1
            if loadStep == plan.folds[loadFold].rowSpan { shadowReady = true }
        }
        if streamFold >= 0 {
            emitStream(&c)
        } else {
            // Waiting for weights (or swapping them in) is the next fold's load time.
            c.accountFold = nextToStream
            c.phase = .weightLoad
        }
        if swapNow {
            streamFold = nextToStream
            tau = 0
            nextToStream += 1
        }
    }
}
