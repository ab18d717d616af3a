/// The register file of an R x C weight-stationary array: per PE a weight register
/// (and a shadow weight for double buffering), an activation register, a
/// partial-sum register, their valid bits, and the static FAP bypass bit.
///
/// Registers live in row-major planes. Valid bits and the per-PE "computes" /
/// "bypassed" conditions are 32-bit masks (0 or all ones) so the datapath kernel
/// is branch-free and vectorises. The activation planes are double-buffered
/// (old -> new each edge) so that column slices can be stepped by different
/// threads without one overwriting what its neighbour still has to read.
public final class PEArray<A: PEArithmetic>: ArrayStateView {
    public let rows: Int
    public let cols: Int
    public let stuckAt: StuckAtFault?

    let w: UnsafeMutablePointer<A.Lane>
    let wv: UnsafeMutablePointer<UInt32>
    let ws: UnsafeMutablePointer<A.Lane>
    let wsv: UnsafeMutablePointer<UInt32>
    let notBypass: UnsafeMutablePointer<UInt32>
    /// wv & !bypass: the PE multiplies when a valid activation arrives.
    let macEnable: UnsafeMutablePointer<UInt32>
    /// wv & bypass: the PE would have multiplied but its FAP mux passes the sum through.
    let bypassEnable: UnsafeMutablePointer<UInt32>
    let act: (UnsafeMutablePointer<A.Lane>, UnsafeMutablePointer<A.Lane>)
    let actValid: (UnsafeMutablePointer<UInt32>, UnsafeMutablePointer<UInt32>)
    let p: UnsafeMutablePointer<A.Lane>
    let pv: UnsafeMutablePointer<UInt32>
    /// Which activation plane holds the current registers (flips every edge); each
    /// slice keeps its own, this one is what observers see on a single thread.
    var parity = 0

    public init(rows: Int, cols: Int, faults: FaultMap?, stuckAt: StuckAtFault?) {
        self.rows = rows
        self.cols = cols
        self.stuckAt = stuckAt
        let n = rows * cols
        func plane<T>(_ v: T) -> UnsafeMutablePointer<T> {
            let ptr = UnsafeMutablePointer<T>.allocate(capacity: n)
            ptr.initialize(repeating: v, count: n)
            return ptr
        }
        w = plane(A.zero); wv = plane(0); ws = plane(A.zero); wsv = plane(0)
        notBypass = plane(~0)
        if let faults {
            precondition(faults.rows == rows && faults.cols == cols)
            for i in 0..<n where faults.bits[i] != 0 { notBypass[i] = 0 }
        }
        macEnable = plane(0); bypassEnable = plane(0)
        act = (plane(A.zero), plane(A.zero))
        actValid = (plane(0), plane(0))
        p = plane(A.zero); pv = plane(0)
    }

    deinit {
        for ptr in [wv, wsv, notBypass, macEnable, bypassEnable, actValid.0, actValid.1, pv] { ptr.deallocate() }
        for ptr in [w, ws, act.0, act.1, p] { ptr.deallocate() }
    }

    /// One clock edge of the datapath for columns [j0, j1): every PE's partial sum,
    /// activation and valid bits take their next values from the pre-edge registers.
    /// Rows are visited bottom-up so the row above still holds its pre-edge partial
    /// sum when a row reads it. Returns (MACs performed, MACs bypassed).
    /// `leftIn`/`leftValid` are, per row, what enters column j0 from the left: the
    /// feeder's values for the slice at column 0, otherwise the pre-edge activation
    /// registers of column j0 - 1 (handed over by the neighbouring slice).
    @inline(__always)
    func stepDatapath(j0: Int, j1: Int, parity: Int, leftIn feed: UnsafePointer<A.Lane>,
                      leftValid feedValid: UnsafePointer<UInt32>) -> (Int, Int) {
        let aOld = parity == 0 ? act.0 : act.1
        let aNew = parity == 0 ? act.1 : act.0
        let avOld = parity == 0 ? actValid.0 : actValid.1
        let avNew = parity == 0 ? actValid.1 : actValid.0
        let c = cols
        var performed: UInt32 = 0
        var bypassed: UInt32 = 0
        var totalPerformed = 0
        var totalBypassed = 0
        let jStart = j0 + 1
        var i = rows - 1
        while i >= 0 {
            let base = i * c
            // Column j0 takes the slice's left input; the others the left neighbour's pre-edge register.
            do {
                let a = feed[i], av = feedValid[i], x = base + j0
                let mm = av & macEnable[x], bm = av & bypassEnable[x]
                p[x] = A.mac(i == 0 ? A.zero : p[x - c], w[x], a, mm)
                pv[x] = i == 0 ? (mm | bm) : pv[x - c]
                aNew[x] = a
                avNew[x] = mm | bm
                performed &+= mm & 1
                bypassed &+= bm & 1
            }
            if i == 0 {
                for j in jStart..<j1 {
                    let a = aOld[base + j - 1], av = avOld[base + j - 1]
                    let mm = av & macEnable[base + j], bm = av & bypassEnable[base + j]
                    p[base + j] = A.mac(A.zero, w[base + j], a, mm)
                    pv[base + j] = mm | bm
                    aNew[base + j] = a
                    avNew[base + j] = mm | bm
                    performed &+= mm & 1
                    bypassed &+= bm & 1
                }
            } else {
                let above = base - c
                for j in jStart..<j1 {
                    let a = aOld[base + j - 1], av = avOld[base + j - 1]
                    let mm = av & macEnable[base + j], bm = av & bypassEnable[base + j]
                    p[base + j] = A.mac(p[above + j], w[base + j], a, mm)
                    pv[base + j] = pv[above + j]
                    aNew[base + j] = a
                    avNew[base + j] = mm | bm
                    performed &+= mm & 1
                    bypassed &+= bm & 1
                }
            }
            if let s = stuckAt, s.row == i, s.col >= j0, s.col < j1 {
                // The defect acts only when this PE really computed on this edge.
                let idx = base + s.col
                let av = s.col == j0 ? feedValid[i] : avOld[idx - 1]
                if av & macEnable[idx] != 0 { p[idx] = A.lane(bits: s.apply(bits: A.bits(p[idx]))) }
            }
            // Flush the 32-bit lane counters well before they could wrap.
            totalPerformed += Int(performed); performed = 0
            totalBypassed += Int(bypassed); bypassed = 0
            i -= 1
        }
        return (totalPerformed, totalBypassed)
    }

    /// One edge of the weight shift chain for columns [j0, j1): every row takes the
    /// row above's weight, row 0 takes `weightIn`. Double-buffered arrays shift the
    /// shadow chain instead of the active weights.
    @inline(__always)
    func shiftWeights(j0: Int, j1: Int, weightIn: UnsafePointer<A.Lane>, validIn: UnsafePointer<UInt32>, shadow: Bool) {
        let (dst, dv) = shadow ? (ws, wsv) : (w, wv)
        var i = rows - 1
        while i > 0 {
            let base = i * cols, above = base - cols
            for j in j0..<j1 {
                dst[base + j] = dst[above + j]
                dv[base + j] = dv[above + j]
            }
            i -= 1
        }
        for j in j0..<j1 {
            dst[j] = weightIn[j]
            dv[j] = validIn[j]
        }
        if !shadow { refreshEnables(j0: j0, j1: j1) }
    }

    /// Double-buffered: all PEs of the slice copy shadow into active weights.
    @inline(__always)
    func swapWeights(j0: Int, j1: Int) {
        for i in 0..<rows {
            let base = i * cols
            for j in j0..<j1 {
                w[base + j] = ws[base + j]
                wv[base + j] = wsv[base + j]
            }
        }
        refreshEnables(j0: j0, j1: j1)
    }

    private func refreshEnables(j0: Int, j1: Int) {
        for i in 0..<rows {
            let base = i * cols
            for j in j0..<j1 {
                macEnable[base + j] = wv[base + j] & notBypass[base + j]
                bypassEnable[base + j] = wv[base + j] & ~notBypass[base + j]
            }
        }
    }

    // MARK: ArrayStateView

    private var curAct: UnsafeMutablePointer<A.Lane> { parity == 0 ? act.0 : act.1 }
    private var curActValid: UnsafeMutablePointer<UInt32> { parity == 0 ? actValid.0 : actValid.1 }

    public func weight(_ i: Int, _ j: Int) -> Double { A.double(w[i * cols + j]) }
    public func weightValid(_ i: Int, _ j: Int) -> Bool { wv[i * cols + j] != 0 }
    public func shadowWeight(_ i: Int, _ j: Int) -> Double { A.double(ws[i * cols + j]) }
    public func activation(_ i: Int, _ j: Int) -> Double { A.double(curAct[i * cols + j]) }
    public func activationValid(_ i: Int, _ j: Int) -> Bool { curActValid[i * cols + j] != 0 }
    public func psum(_ i: Int, _ j: Int) -> Double { A.double(p[i * cols + j]) }
    public func psumBits(_ i: Int, _ j: Int) -> UInt32 { A.bits(p[i * cols + j]) }
    public func psumValid(_ i: Int, _ j: Int) -> Bool { pv[i * cols + j] != 0 }
    public func bypass(_ i: Int, _ j: Int) -> Bool { notBypass[i * cols + j] == 0 }
}
