/// Per-channel sums for BatchNorm and bias gradients, vectorised.
///
/// A plain `for i { s += Double(x[i]) }` is one long dependency chain (the
/// compiler may not reorder floating-point adds), so it runs at one add per
/// 3-4 cycles; over VGG11's 8M-value first-layer activations that made BN
/// statistics cost as much as a mid-sized GEMM. Here eight float lanes add up
/// blocks of at most 128 values, and each block's total goes into a Double:
/// a block sums at most 16 values per lane in float (relative error ~1e-6),
/// and the Double keeps the 16k+ blocks of a channel from drifting.
enum ChannelReductions {
    static let block = 128

    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Sum of x[0..<n] and of (x[i] + shift - center)^2, in one pass each:
    /// returns (sum of x + shift, sum of squared deviations from `center`).
    /// The shift is the conv bias folded in (x + b is formed in float exactly
    /// as a separate bias pass would).
    static func sum(_ x: UnsafePointer<Float>, _ n: Int, shift: Float = 0) -> Double {
        var total = 0.0
        var i = 0
        let sv = SIMD8<Float>(repeating: shift)
        while i + 8 <= n {
            var acc = SIMD8<Float>()
            let end = min(n - 7, i + block)
            while i < end { acc += load(x + i) + sv; i += 8 }
            total += Double(acc.sum())
        }
        var tail: Float = 0
        while i < n { tail += x[i] + shift; i += 1 }
        return total + Double(tail)
    }

    static func squaredDeviations(_ x: UnsafePointer<Float>, _ n: Int, shift: Float = 0, center: Float) -> Double {
        var total = 0.0
        var i = 0
        let sv = SIMD8<Float>(repeating: shift), cv = SIMD8<Float>(repeating: center)
        while i + 8 <= n {
            var acc = SIMD8<Float>()
            let end = min(n - 7, i + block)
            while i < end { let d = load(x + i) + sv - cv; acc += d * d; i += 8 }
            total += Double(acc.sum())
        }
        var tail: Float = 0
        while i < n { let d = x[i] + shift - center; tail += d * d; i += 1 }
        return total + Double(tail)
    }

    /// (sum of g', sum of g' * h) with g' = g where `gate` > 0, else 0 (the
    /// ReLU backward folded in; no gate = plain g).
    static func gatedSums(_ g: UnsafePointer<Float>, _ h: UnsafePointer<Float>, _ n: Int,
                          gate: UnsafePointer<Float>?) -> (Double, Double) {
        guard let gate else { return sums(g, h, n, gate: g, gated: false) }
        return sums(g, h, n, gate: gate, gated: true)
    }

    @inline(__always)
    private static func sums(_ g: UnsafePointer<Float>, _ h: UnsafePointer<Float>, _ n: Int,
                             gate: UnsafePointer<Float>, gated: Bool) -> (Double, Double) {
        var s1 = 0.0, s2 = 0.0
        var i = 0
        let zero = SIMD8<Float>()
        while i + 8 <= n {
            var a1 = SIMD8<Float>(), a2 = SIMD8<Float>()
            let end = min(n - 7, i + block)
            while i < end {
                var gv = load(g + i)
                if gated { gv.replace(with: zero, where: load(gate + i) .<= zero) }
                a1 += gv
                a2 += gv * load(h + i)
                i += 8
            }
            s1 += Double(a1.sum())
            s2 += Double(a2.sum())
        }
        var t1: Float = 0, t2: Float = 0
        while i < n {
            let gi = (!gated || gate[i] > 0) ? g[i] : 0
            t1 += gi
            t2 += gi * h[i]
            i += 1
        }
        return (s1 + Double(t1), s2 + Double(t2))
    }

    /// out[i] = scale * (n * g'[i] - sb - h[i] * sg), g' gated as in gatedSums.
    /// `out` may be `g`.
    static func batchNormInputGradient(_ g: UnsafePointer<Float>, _ h: UnsafePointer<Float>, _ count: Int,
                                       gate: UnsafePointer<Float>?, scale: Float, n: Float, sb: Float, sg: Float,
                                       out: UnsafeMutablePointer<Float>) {
        let zero = SIMD8<Float>()
        let vs = SIMD8<Float>(repeating: scale), vn = SIMD8<Float>(repeating: n)
        let vb = SIMD8<Float>(repeating: sb), vg = SIMD8<Float>(repeating: sg)
        var i = 0
        while i + 8 <= count {
            var gv = load(g + i)
            if let gate { gv.replace(with: zero, where: load(gate + i) .<= zero) }
            let r = vs * (vn * gv - vb - load(h + i) * vg)
            UnsafeMutableRawPointer(out + i).storeBytes(of: r, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            let gi = (gate == nil || gate![i] > 0) ? g[i] : 0
            out[i] = scale * (n * gi - sb - h[i] * sg)
            i += 1
        }
    }
}
