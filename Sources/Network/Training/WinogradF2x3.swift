/// The transforms of Winograd's minimal filtering algorithm F(2x2, 3x3)
/// (Lavin & Gray 2016) for the stride-1, padding-1 3x3 convolutions of VGG11,
/// and their transposes for the backward pass.
///
/// Why: the three GEMMs of a training step (forward, input gradient, weight
/// gradient) are nearly all of its time, and OpenBLAS already runs them close
/// to the machine's peak. F(2x2, 3x3) computes a 2x2 output tile from a 4x4
/// input tile with 16 multiplies per (input, output) channel pair instead of 36,
/// so each of the three GEMMs shrinks 2.25 times. The transforms only add and
/// halve, so they cost a few passes over the activations, less than im2col and
/// col2im, which they replace.
///
/// Forward, per output tile (d: the 4x4 padded-input tile, g: one 3x3 filter):
///     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
/// Y is bilinear in (g, d), so the backward pass is its exact transpose:
///     dd = B [ (G g Gᵀ) ⊙ (A dY Aᵀ) ] Bᵀ      (added onto the input, tiles overlap)
///     dg = Gᵀ [ (A dY Aᵀ) ⊙ (Bᵀ d B) ] G
/// In exact arithmetic Y is the convolution and dd, dg its gradients, so the
/// masked network trained this way is the one the faulty array computes; in
/// float the sums are ordered differently and the transforms add roundings
/// (bounded in `WinogradTests`).
///
/// Layouts (T = batch * (H/2) * (W/2) tiles, t = (b * H/2 + ty) * W/2 + tx):
/// - transformed weights U[16][Cin][Cout], from W[K][Cout] with k = c * 9 + kh * 3 + kw
///   (both contiguous in the output channel, so the weight transforms run 8 channels a vector);
/// - transformed inputs V[16][Cin][T], transformed output gradients [16][Cout][T];
/// - activations CNHW, as everywhere in the Network module.
/// Position ξ = 4 * row + column of the 4x4 transformed tile indexes the 16 planes.
/// Every routine splits its work by channel, one thread per output element,
/// so results do not depend on the thread count.
///
/// The activation transforms move 8 consecutive tiles at a time between the 16
/// planes and a small per-thread staging block: one 32-byte store or load per
/// plane instead of 8 scalar ones scattered over 16 planes megabytes apart
/// (the scalar form ran at about 100 cycles per tile, stalled on the stores).
public enum WinogradF2x3 {
    /// Transformed-domain positions per tile (4 x 4).
    public static let positions = 16

    /// Whether a convolution can run through these transforms: 3x3, stride 1,
    /// padding 1, even height and width (whole 2x2 output tiles).
    public static func supports(_ spec: ConvSpec) -> Bool {
        spec.kernel == 3 && spec.padding == 1 && spec.height % 2 == 0 && spec.width % 2 == 0
    }

    /// Number of 2x2 output tiles of a batch.
    public static func tiles(batch: Int, height: Int, width: Int) -> Int { batch * (height / 2) * (width / 2) }

    // MARK: weights

    /// Calls `body(c, j, n)` for every input channel c and every block of
    /// n <= 8 output channels j ..< j + n, the input channels split over
    /// `Parallel`'s workers (both weight layouts are contiguous in j).
    @inline(__always)
    static func forEachFilterVector(inChannels cin: Int, outChannels cout: Int, _ body: (Int, Int, Int) -> Void) {
        Parallel.forRanges(cin, minChunk: max(1, 4096 / max(1, cout))) { range in
            for c in range {
                var j = 0
                while j < cout {
                    body(c, j, min(8, cout - j))
                    j += 8
                }
            }
        }
    }

    /// U[ξ][c][j] = (G g Gᵀ)[ξ] for the filter g of input channel c, output channel j.
    public static func transformWeights(_ w: UnsafePointer<Float>, inChannels: Int, outChannels: Int,
                                        dst u: UnsafeMutablePointer<Float>) {
        let cin = inChannels, cout = outChannels
        let plane = cout * cin
        forEachFilterVector(inChannels: cin, outChannels: cout) { c, j, n in
            let g = w + c * 9 * cout + j
            @inline(__always) func tap(_ r: Int, _ s: Int) -> SIMD8<Float> { load8(g + (r * 3 + s) * cout, n) }
            // Rows of G g (3 taps each), then each row times Gᵀ.
            let half = SIMD8<Float>(repeating: 0.5)
            let o = u + c * cout + j
            @inline(__always) func storeRow(_ i: Int, _ a: SIMD8<Float>, _ b: SIMD8<Float>, _ cc: SIMD8<Float>) {
                store8(a, o + (4 * i) * plane, n)
                store8(half * (a + b + cc), o + (4 * i + 1) * plane, n)
                store8(half * (a - b + cc), o + (4 * i + 2) * plane, n)
                store8(cc, o + (4 * i + 3) * plane, n)
            }
            let g00 = tap(0, 0), g01 = tap(0, 1), g02 = tap(0, 2)
            let g10 = tap(1, 0), g11 = tap(1, 1), g12 = tap(1, 2)
            let g20 = tap(2, 0), g21 = tap(2, 1), g22 = tap(2, 2)
            storeRow(0, g00, g01, g02)
            storeRow(1, half * (g00 + g10 + g20), half * (g01 + g11 + g21), half * (g02 + g12 + g22))
            storeRow(2, half * (g00 - g10 + g20), half * (g01 - g11 + g21), half * (g02 - g12 + g22))
            storeRow(3, g20, g21, g22)
        }
    }

    /// dW[k][j] = (Gᵀ X G)[kh][kw] for X = dU[·][c][j], k = c * 9 + kh * 3 + kw (overwrites).
    public static func weightGradient(_ du: UnsafePointer<Float>, inChannels: Int, outChannels: Int,
                                      dst dw: UnsafeMutablePointer<Float>) {
        let cin = inChannels, cout = outChannels
        let plane = cout * cin
        forEachFilterVector(inChannels: cin, outChannels: cout) { c, j, n in
            let x = du + c * cout + j
            let half = SIMD8<Float>(repeating: 0.5)
            // Gᵀ X: three rows of 4 (vectors over 8 output channels).
            @inline(__always) func column(_ col: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
                let x0 = load8(x + col * plane, n), x1 = load8(x + (4 + col) * plane, n)
                let x2 = load8(x + (8 + col) * plane, n), x3 = load8(x + (12 + col) * plane, n)
                return (x0 + half * (x1 + x2), half * (x1 - x2), half * (x1 + x2) + x3)
            }
            let k0 = column(0), k1 = column(1), k2 = column(2), k3 = column(3)
            let d = dw + c * 9 * cout + j
            @inline(__always) func storeRow(_ kh: Int, _ a: SIMD8<Float>, _ b: SIMD8<Float>,
                                            _ cc: SIMD8<Float>, _ e: SIMD8<Float>) {
                store8(a + half * (b + cc), d + (kh * 3) * cout, n)
                store8(half * (b - cc), d + (kh * 3 + 1) * cout, n)
                store8(half * (b + cc) + e, d + (kh * 3 + 2) * cout, n)
            }
            storeRow(0, k0.0, k1.0, k2.0, k3.0)
            storeRow(1, k0.1, k1.1, k2.1, k3.1)
            storeRow(2, k0.2, k1.2, k2.2, k3.2)
        }
    }

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>, _ n: Int) -> SIMD8<Float> {
        if n >= 8 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
        var v = SIMD8<Float>()
        for l in 0..<n { v[l] = p[l] }
        return v
    }

    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
        if n >= 8 {
            UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
        } else {
            for l in 0..<n { p[l] = v[l] }
        }
    }

    @inline(__always)
    static func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
    }

    // MARK: activations

    /// Tiles moved per staging block.
    static let lanes = 8

    /// The tiling of one CNHW activation tensor (channels x batch x height x width).
    struct TileGrid {
        let channels, batch, height, width: Int
        var th: Int { height / 2 }
        var tw: Int { width / 2 }
        /// Tiles per channel: batch * (H/2) * (W/2).
        var tiles: Int { batch * th * tw }
        /// Distance between two positions' planes in a [16][channels][tiles] array.
        var stride: Int { channels * tiles }
        var plane: Int { height * width }
        /// A padded plane is (H + 2) x (W + 2): the zero ring of the padding.
        var paddedPlane: Int { (height + 2) * (width + 2) }

        /// Runs `body(c, stage, padded)` for every channel, the channels split
        /// over `Parallel`'s workers. Each worker has its own staging block
        /// (16 x lanes, zeroed once) and, when `padded`, a stack of `batch`
        /// padded planes (zeroed once; `body` keeps the ring at zero).
        func forEachChannel(padded: Bool,
                            _ body: (Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
            Parallel.forRanges(channels, minChunk: max(1, 8192 / max(1, batch * plane))) { range in
                let stage = UnsafeMutablePointer<Float>.allocate(capacity: 16 * lanes)
                stage.initialize(repeating: 0, count: 16 * lanes)
                let stack = UnsafeMutablePointer<Float>.allocate(capacity: padded ? batch * paddedPlane : 1)
                stack.initialize(repeating: 0, count: padded ? batch * paddedPlane : 1)
                defer { stage.deallocate(); stack.deallocate() }
                for c in range { body(c, stage, stack) }
            }
        }

        /// Walks the tiles of one channel in blocks of `lanes`: calls `body(t0,
        /// n, offsets)` with the first tile, the block's size and, per tile, the
        /// flat offset of its top-left element in a [batch][rows][cols] plane
        /// stack (tile (b, ty, tx) at b * rows * cols + 2ty * cols + 2tx).
        @inline(__always)
        func forEachTileBlock(padded: Bool, _ body: (Int, Int, UnsafePointer<Int>) -> Void) {
            let rows = padded ? height + 2 : height, cols = padded ? width + 2 : width
            var offsets = (0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &offsets) { raw in
                let off = raw.baseAddress!.assumingMemoryBound(to: Int.self)
                var b = 0, ty = 0, tx = 0
                var t0 = 0
                while t0 < tiles {
                    let n = min(lanes, tiles - t0)
                    for l in 0..<n {
                        off[l] = b * rows * cols + 2 * ty * cols + 2 * tx
                        tx += 1
                        if tx == tw { tx = 0; ty += 1; if ty == th { ty = 0; b += 1 } }
                    }
                    body(t0, n, UnsafePointer(off))
                    t0 += n
                }
            }
        }
    }

    /// V[ξ][c][t] = (Bᵀ d B)[ξ] for the 4x4 tile d of the zero-padded input at
    /// rows 2ty-1 ..< 2ty+3, columns 2tx-1 ..< 2tx+3.
    public static func transformInput(_ x: UnsafePointer<Float>, channels: Int, batch: Int, height: Int, width: Int,
                                      dst v: UnsafeMutablePointer<Float>) {
        let g = TileGrid(channels: channels, batch: batch, height: height, width: width)
        let pw = width + 2
        g.forEachChannel(padded: true) { c, stage, padded in
            // Zero-bordered copies of the channel's planes, so the tile loop has no edge cases.
            for b in 0..<batch {
                let src = x + (c * batch + b) * g.plane
                let dst = padded + b * g.paddedPlane + pw + 1
                for y in 0..<height { (dst + y * pw).update(from: src + y * width, count: width) }
            }
            let out = v + c * g.tiles
            g.forEachTileBlock(padded: true) { t0, n, off in
                for l in 0..<n {
                    let r0 = UnsafePointer(padded + off[l])
                    let d0 = load4(r0), d1 = load4(r0 + pw), d2 = load4(r0 + 2 * pw), d3 = load4(r0 + 3 * pw)
                    // Bᵀ d: rows combined elementwise over the 4 columns; then each row times B.
                    stageRowBt(d0 - d2, stage + l, 0)
                    stageRowBt(d1 + d2, stage + l, 4)
                    stageRowBt(d2 - d1, stage + l, 8)
                    stageRowBt(d1 - d3, stage + l, 12)
                }
                stageOut(stage, out, stride: g.stride, t0: t0, n: n)
            }
        }
    }

    /// One row of (Bᵀ d) times B, into staging rows base ..< base + 4.
    @inline(__always)
    static func stageRowBt(_ t: SIMD4<Float>, _ o: UnsafeMutablePointer<Float>, _ base: Int) {
        o[(base + 0) * lanes] = t[0] - t[2]
        o[(base + 1) * lanes] = t[1] + t[2]
        o[(base + 2) * lanes] = t[2] - t[1]
        o[(base + 3) * lanes] = t[1] - t[3]
    }

    /// Copies tiles t0 ..< t0 + n of the 16 planes into the staging block.
    @inline(__always)
    static func stageIn(_ src: UnsafePointer<Float>, stride: Int, t0: Int, n: Int, _ stage: UnsafeMutablePointer<Float>) {
        for xi in 0..<16 { store8(load8(src + xi * stride + t0, n), stage + xi * lanes, lanes) }
    }

    /// Copies the staging block out to tiles t0 ..< t0 + n of the 16 planes.
    @inline(__always)
    static func stageOut(_ stage: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, stride: Int, t0: Int, n: Int) {
        for xi in 0..<16 { store8(load8(stage + xi * lanes, lanes), dst + xi * stride + t0, n) }
    }

    /// Row i of the staged 4x4 tile in lane l.
    @inline(__always)
    static func stagedRow(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD4<Float> {
        SIMD4(p[(4 * i) * lanes], p[(4 * i + 1) * lanes], p[(4 * i + 2) * lanes], p[(4 * i + 3) * lanes])
    }

    /// out (CNHW) = Aᵀ M A per tile, for M[ξ][j][t] (overwrites).
    public static func inverseOutput(_ m: UnsafePointer<Float>, channels: Int, batch: Int, height: Int, width: Int,
                                     dst out: UnsafeMutablePointer<Float>) {
        let g = TileGrid(channels: channels, batch: batch, height: height, width: width)
        g.forEachChannel(padded: false) { j, stage, _ in
            let dst = out + j * batch * g.plane
            g.forEachTileBlock(padded: false) { t0, n, off in
                stageIn(m + j * g.tiles, stride: g.stride, t0: t0, n: n, stage)
                for l in 0..<n {
                    let p = UnsafePointer(stage + l)
                    let m0 = stagedRow(p, 0), m1 = stagedRow(p, 1), m2 = stagedRow(p, 2), m3 = stagedRow(p, 3)
                    // Aᵀ M: two rows of 4, then each times A.
                    let a0 = m0 + m1 + m2, a1 = m1 - m2 - m3
                    let y0 = dst + off[l], y1 = y0 + width
                    y0[0] = a0[0] + a0[1] + a0[2]
                    y0[1] = a0[1] - a0[2] - a0[3]
                    y1[0] = a1[0] + a1[1] + a1[2]
                    y1[1] = a1[1] - a1[2] - a1[3]
                }
            }
        }
    }

    /// E[ξ][j][t] = (A dY Aᵀ)[ξ] for the 2x2 output-gradient tile dY (CNHW in).
    public static func transformOutputGradient(_ dy: UnsafePointer<Float>, channels: Int, batch: Int,
                                               height: Int, width: Int, dst e: UnsafeMutablePointer<Float>) {
        let g = TileGrid(channels: channels, batch: batch, height: height, width: width)
        g.forEachChannel(padded: false) { j, stage, _ in
            let src = dy + j * batch * g.plane
            let out = e + j * g.tiles
            g.forEachTileBlock(padded: false) { t0, n, off in
                for l in 0..<n {
                    let g0 = src + off[l], g1 = g0 + width
                    // A dY: rows (g0, g0 + g1, g0 - g1, -g1), each of 2; then each row times Aᵀ.
                    let a = g0[0], b = g0[1], c = g1[0], d = g1[1]
                    let p = stage + l
                    @inline(__always) func stageRow(_ i: Int, _ r0: Float, _ r1: Float) {
                        p[(4 * i) * lanes] = r0
                        p[(4 * i + 1) * lanes] = r0 + r1
                        p[(4 * i + 2) * lanes] = r0 - r1
                        p[(4 * i + 3) * lanes] = -r1
                    }
                    stageRow(0, a, b)
                    stageRow(1, a + c, b + d)
                    stageRow(2, a - c, b - d)
                    stageRow(3, -c, -d)
                }
                stageOut(stage, out, stride: g.stride, t0: t0, n: n)
            }
        }
    }

    /// dX (CNHW, overwritten) = the sum over tiles of B X Bᵀ placed at the
    /// tile's 4x4 window of the padded input, for X = dV[·][c][t]; the padding
    /// ring is dropped.
    public static func inputGradient(_ dv: UnsafePointer<Float>, channels: Int, batch: Int, height: Int, width: Int,
                                     dst dx: UnsafeMutablePointer<Float>) {
        let g = TileGrid(channels: channels, batch: batch, height: height, width: width)
        let pw = width + 2
        g.forEachChannel(padded: true) { c, stage, padded in
            padded.update(repeating: 0, count: batch * g.paddedPlane)
            g.forEachTileBlock(padded: true) { t0, n, off in
                stageIn(dv + c * g.tiles, stride: g.stride, t0: t0, n: n, stage)
                for l in 0..<n {
                    let p = UnsafePointer(stage + l)
                    let x0 = stagedRow(p, 0), x1 = stagedRow(p, 1), x2 = stagedRow(p, 2), x3 = stagedRow(p, 3)
                    // B X: rows (X0, X1 - X2 + X3, -X0 + X1 + X2, -X3); then each row times Bᵀ.
                    let q0 = padded + off[l]
                    addRowB(x0, q0)
                    addRowB(x1 - x2 + x3, q0 + pw)
                    addRowB(x1 + x2 - x0, q0 + 2 * pw)
                    addRowB(-x3, q0 + 3 * pw)
                }
            }
            for b in 0..<batch {
                let src = padded + b * g.paddedPlane + pw + 1
                let dst = dx + (c * batch + b) * g.plane
                for y in 0..<height { (dst + y * width).update(from: src + y * pw, count: width) }
            }
        }
    }

    /// Adds one row of (B X) Bᵀ onto 4 consecutive padded-plane entries.
    @inline(__always)
    static func addRowB(_ r: SIMD4<Float>, _ q: UnsafeMutablePointer<Float>) {
        let v = SIMD4<Float>(r[0], r[1] - r[2] + r[3], r[1] + r[2] - r[0], -r[3])
        let raw = UnsafeMutableRawPointer(q)
        raw.storeBytes(of: raw.loadUnaligned(as: SIMD4<Float>.self) + v, as: SIMD4<Float>.self)
    }
}
