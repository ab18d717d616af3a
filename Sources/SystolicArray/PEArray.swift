/// The register file of an R x C weight-stationary array: per PE a weight register
/// (and a shadow weight for double buffering), an activation register, a
/// partial-sum register, their valid bits, and the static FAP bypass bit.
///
/// Registers live in row-major planes. Valid bits and the bypass bit are byte
/// masks (0 or 0xFF), widened to 32-bit lane masks inside the kernel, so the
/// datapath is branch-free, vectorises, and moves few bytes per PE. The activation planes are double-buffered
/// (old -> new each edge) so that column slices can be stepped by different
/// threads without one overwriting what its neighbour still has to read.
///
/// The weight shift chains (active and shadow) are rings of rows: on a shift
/// edge every PE takes the weight of the PE above, which is the same as row 0
/// taking a new value while every other row keeps its storage and the rows are
/// renumbered. So a shift writes one row (C registers) and moves the ring's
/// offset, where copying the chain down would move R x C registers per edge
/// (R edges per fold; it was 12-14% of `simulate --images 1`). Logical row i of a
/// column's chain lives in physical row (offset + i) mod R; every reader
/// (`stepDatapath`, the accessors below) goes through `chainRow`. Offsets are
/// kept per column because column strips shift their columns at different
/// moments; the columns of one strip always share theirs.
public final class PEArray<A: PEArithmetic>: ArrayStateView {
    public let rows: Int
    public let cols: Int
    /// Unmitigated stuck-at faults on partial-sum outputs, at most one per PE.
    public let stuckAt: [StuckAtFault]
    /// `stuckAt` by row, so each row's pass of the datapath finds its own.
    private let stuckByRow: [[StuckAtFault]]

    /// Active weights and their valid bits, physical rows of the ring (`chainRow`).
    let w: UnsafeMutablePointer<A.Lane>
    let wv: UnsafeMutablePointer<UInt8>
    /// Shadow weights (double buffering), physical rows of their own ring.
    let ws: UnsafeMutablePointer<A.Lane>
    let wsv: UnsafeMutablePointer<UInt8>
    /// Per column, the physical row holding logical row 0 of the active chain
    /// and of the shadow chain.
    let activeTop: UnsafeMutablePointer<Int>
    let shadowTop: UnsafeMutablePointer<Int>
    /// All ones where the PE works, 0 where its FAP mux bypasses it. A PE multiplies
    /// when it holds a valid weight, gets a valid activation and is not bypassed.
    let notBypass: UnsafeMutablePointer<UInt8>
    let act: (UnsafeMutablePointer<A.Lane>, UnsafeMutablePointer<A.Lane>)
    let actValid: (UnsafeMutablePointer<UInt8>, UnsafeMutablePointer<UInt8>)
    let p: UnsafeMutablePointer<A.Lane>
    let pv: UnsafeMutablePointer<UInt8>
    /// Which activation plane holds the current registers (flips every edge); each
    /// slice keeps its own, this one is what observers see on a single thread.
    var parity = 0

    public init(rows: Int, cols: Int, faults: FaultMap?, stuckAt: [StuckAtFault]) {
        self.rows = rows
        self.cols = cols
        self.stuckAt = stuckAt
        var byRow = [[StuckAtFault]](repeating: [], count: rows)
        for s in stuckAt { byRow[s.row].append(s) }
        stuckByRow = byRow
        let n = rows * cols
        // Cache-line aligned, so strips whose boundary falls on a multiple of 64
        // bytes never share a line (threads would otherwise fight over one line
        // per row per plane on every edge).
        func plane<T>(_ v: T) -> UnsafeMutablePointer<T> {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: max(1, n) * MemoryLayout<T>.stride, alignment: 64)
            let ptr = raw.bindMemory(to: T.self, capacity: n)
            ptr.initialize(repeating: v, count: n)
            return ptr
        }
        w = plane(A.zero); wv = plane(0); ws = plane(A.zero); wsv = plane(0)
        activeTop = .allocate(capacity: max(1, cols))
        activeTop.initialize(repeating: 0, count: max(1, cols))
        shadowTop = .allocate(capacity: max(1, cols))
        shadowTop.initialize(repeating: 0, count: max(1, cols))
        notBypass = plane(0xFF)
        if let faults {
            precondition(faults.rows == rows && faults.cols == cols)
            for i in 0..<n where faults.bits[i] != 0 { notBypass[i] = 0 }
        }
        act = (plane(A.zero), plane(A.zero))
        actValid = (plane(0), plane(0))
        p = plane(A.zero); pv = plane(0)
    }

    deinit {
        for ptr in [wv, wsv, notBypass, actValid.0, actValid.1, pv] { UnsafeMutableRawPointer(ptr).deallocate() }
        for ptr in [w, ws, act.0, act.1, p] { UnsafeMutableRawPointer(ptr).deallocate() }
        activeTop.deallocate()
        shadowTop.deallocate()
    }

    /// The physical row of the ring whose top is physical row `top` that holds
    /// logical row `i` (both < rows, so one conditional subtraction wraps).
    @inline(__always)
    func chainRow(_ i: Int, top: Int) -> Int {
        let r = top + i
        return r >= rows ? r - rows : r
    }

    /// One clock edge of the datapath for columns [j0, j1): every PE's partial sum,
    /// activation and valid bits take their next values from the pre-edge registers.
    /// Rows are visited bottom-up so the row above still holds its pre-edge partial
    /// sum when a row reads it. Returns (MACs performed, MACs bypassed).
    /// `leftIn`/`leftValid` are, per row, what enters column j0 from the left: the
    /// feeder's values for the slice at column 0, otherwise the pre-edge activation
    /// registers of column j0 - 1 (handed over by the neighbouring slice).
    ///
    /// `window` (nil: every PE) limits row i to columns [window[2i], window[2i+1])
    /// (rounded out to whole blocks of eight PEs inside [j0, j1)): the caller
    /// promises that every PE left out would take the values it already holds, in
    /// both activation planes, and has no valid activation input (`IdleSkipping`),
    /// so stepping some of them anyway changes nothing. `activity` (nil: not
    /// tracked), per computed row, receives 4 column bounds: the [lo, hi) of the
    /// PEs whose registers changed on this edge, and of those whose activation is
    /// now valid (empty: lo >= hi), in blocks of 8 (a superset is always safe).
    @inline(__always)
    func stepDatapath(j0: Int, j1: Int, parity: Int, leftIn feed: UnsafePointer<A.Lane>,
                      leftValid feedValid: UnsafePointer<UInt8>, window: UnsafePointer<Int>? = nil,
                      activity: UnsafeMutablePointer<Int>? = nil) -> (Int, Int) {
        let aOld = parity == 0 ? act.0 : act.1
        let aNew = parity == 0 ? act.1 : act.0
        let avOld = parity == 0 ? actValid.0 : actValid.1
        let avNew = parity == 0 ? actValid.1 : actValid.0
        let c = cols
        var totalPerformed = 0
        var totalBypassed = 0
        let one = SIMD8<UInt32>(repeating: 1)
        let track = activity != nil
        // Every column of a strip shifts on the same edges, so the strip's chain
        // offset is its first column's.
        let chainTop = activeTop[j0]
        assert((j0..<j1).allSatisfy { activeTop[$0] == chainTop }, "columns of one strip share their weight chain's offset")
        var i = rows - 1
        while i >= 0 {
            let lo = window.map { max(j0, $0[2 * i]) } ?? j0
            let hi = window.map { min(j1, $0[2 * i + 1]) } ?? j1
            var changedLo = Int.max, changedHi = Int.min, validLo = Int.max, validHi = Int.min
            let row = i
            defer {
                if let activity {
                    activity[4 * row] = changedLo; activity[4 * row + 1] = changedHi
                    activity[4 * row + 2] = validLo; activity[4 * row + 3] = validHi
                }
            }
            if lo >= hi { i -= 1; continue }
            let base = i * c
            // This row's weights: the ring's physical row for logical row i.
            let wRow = chainRow(i, top: chainTop) * c
            var performed = 0, bypassed = 0
            // One PE in scalar form: column j0 takes the strip's left input, the
            // others their left neighbour's pre-edge register.
            @inline(__always) func scalarPE(_ j: Int, a: A.Lane, av: UInt8) {
                let x = base + j
                let v = av & wv[wRow + j], mm = v & notBypass[x]
                let pIn = i == 0 ? A.zero : p[x - c]
                let pNew = A.mac(pIn, w[wRow + j], a, widen(mm))
                let pvNew = i == 0 ? v : pv[x - c]
                if track {
                    if A.bits(pNew) != A.bits(p[x]) || pvNew != pv[x] || A.bits(a) != A.bits(aOld[x]) || v != avOld[x] {
                        changedLo = min(changedLo, j); changedHi = max(changedHi, j + 1)
                    }
                    if v != 0 { validLo = min(validLo, j); validHi = max(validHi, j + 1) }
                }
                p[x] = pNew
                pv[x] = pvNew
                aNew[x] = a
                avNew[x] = v
                performed += Int(mm & 1)
                bypassed += Int(v & ~notBypass[x] & 1)
            }
            var j = lo
            if j == j0 {
                scalarPE(j0, a: feed[i], av: feedValid[i])
                j += 1
            }
            do {
                // Eight PEs at a time; the activation loads are the left neighbours'
                // registers, one lane to the left of the PEs they feed. Row 0 takes
                // zero partial sums from above and starts their valid bits.
                // A block is stepped when any of its PEs is in the window and it
                // fits in the strip: PEs of the block outside the window take the
                // values they hold (the window's promise) and multiply nothing (a
                // valid activation input puts a PE in the window), so stepping them
                // is exact, and it keeps narrow wavefront windows off the scalar path.
                let above = base - c
                let firstRow = i == 0
                let zero8 = SIMD8<A.Lane>(repeating: A.zero)
                var perf8 = SIMD8<UInt32>(repeating: 0), byp8 = SIMD8<UInt32>(repeating: 0)
                while j < hi && j + 8 <= j1 {
                    let x = base + j
                    let a = load8(aOld + x - 1)
                    let v = load8(avOld + x - 1) & load8(wv + wRow + j), nb = load8(notBypass + x)
                    let mm = widen8(v & nb), bm = widen8(v & ~nb)
                    let pNew = A.mac8(firstRow ? zero8 : load8(p + above + j), load8(w + wRow + j), a, mm)
                    let pvNew = firstRow ? v : load8(pv + above + j)
                    if track {
                        // Non-zero where a register's bits changed (a byte difference stays non-zero widened).
                        let diff = (A.bits8(pNew) ^ A.bits8(load8(p + x))) | (A.bits8(a) ^ A.bits8(load8(aOld + x)))
                            | widen8((pvNew ^ load8(pv + x)) | (v ^ load8(avOld + x)))
                        if anyNonZero(diff) { changedLo = min(changedLo, j); changedHi = max(changedHi, j + 8) }
                        if unsafeBitCast(v, to: UInt64.self) != 0 { validLo = min(validLo, j); validHi = max(validHi, j + 8) }
                    }
                    store8(pNew, p + x)
                    store8(pvNew, pv + x)
                    store8(a, aNew + x)
                    store8(v, avNew + x)
                    perf8 &+= mm & one
                    byp8 &+= bm & one
                    j += 8
                }
                performed += Int(perf8.wrappedSum())
                bypassed += Int(byp8.wrappedSum())
            }
            while j < hi {
                scalarPE(j, a: aOld[base + j - 1], av: avOld[base + j - 1])
                j += 1
            }
            for s in stuckByRow[i] where s.col >= j0 && s.col < j1 {
                // The defect acts only when this PE really computed on this edge
                // (idle skipping is off with a stuck-at fault, so it was stepped).
                let idx = base + s.col
                let av = s.col == j0 ? feedValid[i] : avOld[idx - 1]
                if av & wv[wRow + s.col] & notBypass[idx] != 0 { p[idx] = A.lane(bits: s.apply(bits: A.bits(p[idx]))) }
            }
            totalPerformed += performed
            totalBypassed += bypassed
            i -= 1
        }
        return (totalPerformed, totalBypassed)
    }

    /// One edge of the weight shift chain for columns [j0, j1): every row takes the
    /// row above's weight, row 0 takes `weightIn`. Double-buffered arrays shift the
    /// shadow chain instead of the active weights. On the ring the bottom row's
    /// storage becomes the new row 0: one row is written, the offset moves up.
    @inline(__always)
    func shiftWeights(j0: Int, j1: Int, weightIn: UnsafePointer<A.Lane>, validIn: UnsafePointer<UInt8>, shadow: Bool) {
        let (dst, dv, tops) = shadow ? (ws, wsv, shadowTop) : (w, wv, activeTop)
        let old = tops[j0]
        let top = old == 0 ? rows - 1 : old - 1
        let base = top * cols + j0
        (dst + base).update(from: weightIn + j0, count: j1 - j0)
        (dv + base).update(from: validIn + j0, count: j1 - j0)
        (tops + j0).update(repeating: top, count: j1 - j0)
    }

    /// Double-buffered: all PEs of the slice copy shadow into active weights. The
    /// shadow keeps its values (the next fold shifts in over them, and observers
    /// see them), so the active ring becomes a copy of the shadow ring, offset
    /// included, rather than trading places with it.
    @inline(__always)
    func swapWeights(j0: Int, j1: Int) {
        if j0 == 0 && j1 == cols {
            w.update(from: ws, count: rows * cols)
            wv.update(from: wsv, count: rows * cols)
        } else {
            for i in 0..<rows {
                let base = i * cols + j0
                (w + base).update(from: ws + base, count: j1 - j0)
                (wv + base).update(from: wsv + base, count: j1 - j0)
            }
        }
        (activeTop + j0).update(from: shadowTop + j0, count: j1 - j0)
    }

    // MARK: ArrayStateView

    private var curAct: UnsafeMutablePointer<A.Lane> { parity == 0 ? act.0 : act.1 }
    private var curActValid: UnsafeMutablePointer<UInt8> { parity == 0 ? actValid.0 : actValid.1 }

    public func weight(_ i: Int, _ j: Int) -> Double { A.double(w[chainRow(i, top: activeTop[j]) * cols + j]) }
    public func weightValid(_ i: Int, _ j: Int) -> Bool { wv[chainRow(i, top: activeTop[j]) * cols + j] != 0 }
    public func shadowWeight(_ i: Int, _ j: Int) -> Double { A.double(ws[chainRow(i, top: shadowTop[j]) * cols + j]) }
    public func activation(_ i: Int, _ j: Int) -> Double { A.double(curAct[i * cols + j]) }
    public func activationValid(_ i: Int, _ j: Int) -> Bool { curActValid[i * cols + j] != 0 }
    public func psum(_ i: Int, _ j: Int) -> Double { A.double(p[i * cols + j]) }
    public func psumBits(_ i: Int, _ j: Int) -> UInt32 { A.bits(p[i * cols + j]) }
    public func psumValid(_ i: Int, _ j: Int) -> Bool { pv[i * cols + j] != 0 }
    public func bypass(_ i: Int, _ j: Int) -> Bool { notBypass[i * cols + j] == 0 }
}

@inline(__always) func load8<T: SIMDScalar>(_ ptr: UnsafeMutablePointer<T>) -> SIMD8<T> {
    UnsafeRawPointer(ptr).loadUnaligned(as: SIMD8<T>.self)
}

@inline(__always) func store8<T: SIMDScalar>(_ v: SIMD8<T>, _ ptr: UnsafeMutablePointer<T>) {
    UnsafeMutableRawPointer(ptr).storeBytes(of: v, as: SIMD8<T>.self)
}

/// Whether any lane is non-zero (an OR of two 64-bit halves: the generic
/// `any(mask)` reduction was not inlined and cost a tenth of the kernel).
@inline(__always) func anyNonZero(_ v: SIMD8<UInt32>) -> Bool {
    let q = unsafeBitCast(v, to: SIMD4<UInt64>.self)
    return (q[0] | q[1] | q[2] | q[3]) != 0
}

/// A byte mask (0 or 0xFF) as a 32-bit lane mask (0 or all ones).
@inline(__always) func widen(_ b: UInt8) -> UInt32 { UInt32(bitPattern: Int32(Int8(bitPattern: b))) }

/// Sign extension lane by lane: the generic `SIMD8<Int32>(truncatingIfNeeded:)`
/// was not inlined and cost 6% of `simulate --images 1`; this compiles to one
/// vector sign extension.
@inline(__always) func widen8(_ v: SIMD8<UInt8>) -> SIMD8<UInt32> {
    let b = unsafeBitCast(v, to: SIMD8<Int8>.self)
    let wide = SIMD8<Int32>(Int32(b[0]), Int32(b[1]), Int32(b[2]), Int32(b[3]),
                            Int32(b[4]), Int32(b[5]), Int32(b[6]), Int32(b[7]))
    return unsafeBitCast(wide, to: SIMD8<UInt32>.self)
}
