import Dispatch
import MaskedGEMM
import Synchronization

/// One conv block of the functional engine (conv, its BN + ReLU, and the 2x2
/// max-pool when one follows) computed on tiles of whole images: each worker
/// takes the next tile, builds that tile's im2col matrix, multiplies it by the
/// FAP-masked weights in one single-threaded OpenBLAS call, applies BN + ReLU
/// and pools, while the tile is still in its core's cache.
///
/// Why tiles. Layer by layer, a batch of 500 images makes im2col matrices of up
/// to 295 MB (conv2: K = 576 x M = 128,000) and pre-pool outputs of up to 131 MB;
/// a tile's matrix is a few MB, and the workers meet once per block instead of
/// once per pass. What it buys is memory (`bench infer --batch 500` peaks at
/// 185 MB instead of 539 MB); the speed is the same within the noise, because
/// the GEMM kernel is three quarters of the time (docs/performance.md §1).
///
/// Why the bits are those of the layer-wide GEMM. Output column m of a GEMM is
/// W^T x (column m of the im2col matrix) whatever other columns are in the
/// call: OpenBLAS's blocked path cuts K by a rule of K alone and computes each
/// output element from its own column, so cutting M into tiles changes which
/// call computes a column, never how (`FunctionalEngine.tileProduct`). One
/// exception: OpenBLAS 0.3.21 on AVX-512 hands calls of M x N x K <= 10^6
/// multiply-adds to a small-matrix kernel with its own summation order. So
/// every tile stays above `blockedPathMACs`, and a layer is tiled only when
/// the two halves the layer-wide call is cut into (`TrainerGEMMs`) do too;
/// otherwise (a deep layer on a few images) it runs layer-wide as before.
/// BN + ReLU and the pool are the same elementwise expressions in the same
/// order. `TiledConvBlockTests` checks the logits bit for bit against the
/// layer-by-layer reference.
struct TiledConvBlock {
    /// The conv and what follows it.
    let conv: ConvSpec
    let affine: (scale: [Float], shift: [Float])
    let relu: Bool
    let pool: Bool

    /// The tiling rule: a tile's im2col matrix aims at `targetBytes` (a few MB:
    /// it and the tile's output stay in the 2 MB L2 and the shared L3 of the
    /// machine measured, docs/performance.md §1) but holds at least
    /// `minColumns` output pixels, because every call repacks the layer's
    /// weights (up to 9.4 MB for K = 4608, N = 512) and a narrower tile would
    /// spend that copy on too few multiplies. Whole images, spread evenly; the
    /// tile count a multiple of the workers where the floor allows, so no
    /// worker is left with a short last share.
    struct Tiling: Equatable {
        var targetBytes: Int
        var minColumns: Int
        static let standard = Tiling(targetBytes: 4 << 20, minColumns: 1024)

        /// Multiply-adds every tile's GEMM keeps above: twice the 10^6 under
        /// which OpenBLAS switches to its small-matrix kernel (see above).
        static let blockedPathMACs = 1 << 21

        /// How many tiles conv `c` on `batch` images is cut into over `workers`
        /// workers, or nil when the layer runs layer-wide (too few multiply-adds
        /// for two tiles on OpenBLAS's blocked path).
        func tiles(_ c: ConvSpec, batch: Int, workers: Int) -> Int? {
            let plane = c.height * c.width
            let macsPerColumn = c.k * c.outChannels
            // The smaller half of the layer-wide call must be on the blocked path too.
            guard (batch * plane / 2) * macsPerColumn > Self.blockedPathMACs else { return nil }
            let floorColumns = Self.blockedPathMACs / macsPerColumn + 1
            let columns = max(minColumns, floorColumns, targetBytes / (4 * c.k))
            let wanted = max(1, min(batch, (columns + plane - 1) / plane))
            let w = max(1, workers)
            var tiles = ((batch + wanted - 1) / wanted + w - 1) / w * w
            // Even spreading gives every tile at least batch / tiles images.
            while tiles > 1 && (batch / tiles) * plane < floorColumns { tiles -= 1 }
            return tiles > 1 || w == 1 ? tiles : nil
        }

        /// Images of tile t of `tiles` (sizes differ by one at most).
        static func images(tile t: Int, of tiles: Int, batch: Int) -> Range<Int> {
            (t * batch / tiles)..<((t + 1) * batch / tiles)
        }
    }

    /// Floats of one worker's scratch for this block: its tile's im2col matrix,
    /// and the tile's output before pooling (with a pool only; without one the
    /// GEMM writes straight into the layer's output).
    static func scratch(_ c: ConvSpec, tileImages: Int) -> (columns: Int, output: Int) {
        let m = tileImages * c.height * c.width
        return (c.k * m, c.outChannels * m)
    }

    /// Phases a worker spends its time in, for `ForwardProfile`.
    enum Phase: Int, CaseIterable {
        case im2col, gemm, bnReLU, maxpool
        var name: String { ["im2col", "gemm", "bn_relu", "maxpool"][rawValue] }
    }

    /// Runs the block on `batch` CNHW images from `input` into `output` (CNHW,
    /// pooled if `pool`) in `tiles` tiles. `scratch[w]` is worker w's
    /// (`columns`, `output`) pair, each as large as `scratch(_:tileImages:)`
    /// says for the largest tile.
    /// Returns each phase's seconds summed over the workers when `timed`.
    func run(input: UnsafePointer<Float>, batch: Int, weights: UnsafePointer<Float>, tiles: Int,
             scratch: [(columns: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>)],
             output: UnsafeMutablePointer<Float>, timed: Bool) -> [Double] {
        let c = conv
        let plane = c.height * c.width
        let m = batch * plane
        let workers = min(scratch.count, tiles)
        let queue = TileQueue()
        var seconds = [[Double]](repeating: [Double](repeating: 0, count: Phase.allCases.count), count: workers)
        nonisolated(unsafe) let input = input, weights = weights, output = output, scratch = scratch
        seconds.withUnsafeMutableBufferPointer { secondsPerWorker in
            nonisolated(unsafe) let secondsPerWorker = secondsPerWorker
            let work: (Int) -> Void = { w in
                var clock = PhaseClock(timed: timed)
                let (cols, tileOut) = scratch[w]
                while true {
                    // Tiles go to whichever worker is free: on a shared machine a
                    // delayed worker then costs its tile, not half the layer. The
                    // result does not depend on who computes a tile.
                    let tile = queue.next.add(1, ordering: .relaxed).oldValue
                    if tile >= tiles { break }
                    let range = Tiling.images(tile: tile, of: tiles, batch: batch)
                    let first = range.lowerBound, images = range.count
                    let tm = images * plane
                    clock.time(.im2col) {
                        Im2Col.columns(src: input, channels: c.inChannels, batch: batch, images: range,
                                       height: c.height, width: c.width, kernel: c.kernel, padding: c.padding, dst: cols)
                    }
                    // Without a pool the GEMM writes its columns of the layer's output in place.
                    let out = pool ? tileOut : output + first * plane
                    let ldOut = pool ? tm : m
                    clock.time(.gemm) {
                        FunctionalEngine.tileProduct(weights: weights, k: c.k, n: c.outChannels, columns: cols, m: tm,
                                                     out: out, ldOut: ldOut)
                    }
                    clock.time(.bnReLU) {
                        affine.scale.withUnsafeBufferPointer { s in
                            affine.shift.withUnsafeBufferPointer { t in
                                for ch in 0..<c.outChannels {
                                    BatchNorm.affineRow(out + ch * ldOut, count: tm, scale: s[ch], shift: t[ch], relu: relu)
                                }
                            }
                        }
                    }
                    if pool {
                        clock.time(.maxpool) {
                            let pooled = plane / 4
                            for ch in 0..<c.outChannels {
                                for j in 0..<images {
                                    MaxPool2x2.plane(src: tileOut + (ch * images + j) * plane,
                                                     height: c.height, width: c.width,
                                                     dst: output + (ch * batch + first + j) * pooled)
                                }
                            }
                        }
                    }
                }
                secondsPerWorker[w] = clock.seconds
            }
            // Every OpenBLAS call single-threaded: the workers are the parallelism (TrainerGEMMs: why).
            TrainerGEMMs.singleThreadedBLAS {
                if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
            }
        }
        return (0..<Phase.allCases.count).map { p in seconds.reduce(0) { $0 + $1[p] } }
    }
}

/// The next tile to take, shared by a block's workers.
private final class TileQueue: Sendable {
    let next = Atomic<Int>(0)
}

/// Per-worker phase times (two clock reads per phase and tile: negligible).
private struct PhaseClock {
    let timed: Bool
    var seconds = [Double](repeating: 0, count: TiledConvBlock.Phase.allCases.count)

    @inline(__always) mutating func time(_ phase: TiledConvBlock.Phase, _ body: () -> Void) {
        guard timed else { return body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        seconds[phase.rawValue] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }
}
