/// im2col for stride-1 convolutions on channel-major batched activations.
///
/// Activation layout inside the Network module is CNHW: [C][B][H][W]. With it,
/// every row of the im2col matrix is, per image, a shifted copy of one input
/// plane, so building it is a sequence of short memcpys, and the GEMM output
/// Out^T[N][M] (M ordered (b, y, x)) is already CNHW for the next layer.
///
/// The matrix is stored transposed, At[K][M] with M = B * H * W, so that
/// k = (c * KH + kh) * KW + kw (docs/conventions.md §2, the order of PyTorch's
/// `weight.view(Cout, -1)`) indexes rows and output pixel m = (b * H + y) * W + x
/// indexes columns: A[m][k] = At[k][m].
public enum Im2Col {
    /// Fills `dst` (K x M, K = channels * kernel * kernel, M = batch * height * width)
    /// from `src` (CNHW). Out-of-image taps (the padding) are zero.
    public static func columns(src: UnsafePointer<Float>, channels: Int, batch: Int, height: Int, width: Int,
                               kernel: Int = 3, padding: Int = 1, dst: UnsafeMutablePointer<Float>) {
        precondition(kernel == 2 * padding + 1, "stride-1 'same' convolution expected")
        let plane = height * width
        let m = batch * plane
        let kk = kernel * kernel
        let rows = channels * kk
        Parallel.forRanges(rows, minChunk: max(1, 16384 / max(1, m))) { range in
            for row in range {
                fillRow(row, src: src, batch: batch, images: 0..<batch, height: height, width: width,
                        kernel: kernel, padding: padding, dst: dst + row * m)
            }
        }
    }

    /// The columns of images `images` alone, on the calling thread: `dst` is
    /// K x M' with M' = images.count * height * width, the same values as those
    /// columns of the whole batch's matrix (`src` holds all `batch` images).
    /// For the functional engine's image tiles (`TiledConvBlock`).
    public static func columns(src: UnsafePointer<Float>, channels: Int, batch: Int, images: Range<Int>,
                               height: Int, width: Int, kernel: Int = 3, padding: Int = 1,
                               dst: UnsafeMutablePointer<Float>) {
        precondition(kernel == 2 * padding + 1, "stride-1 'same' convolution expected")
        precondition(images.lowerBound >= 0 && images.upperBound <= batch)
        let m = images.count * height * width
        for row in 0..<(channels * kernel * kernel) {
            fillRow(row, src: src, batch: batch, images: images, height: height, width: width,
                    kernel: kernel, padding: padding, dst: dst + row * m)
        }
    }

    /// Row k of the matrix for `images`: per image, the input plane of k's
    /// channel shifted by k's tap.
    @inline(__always)
    static func fillRow(_ row: Int, src: UnsafePointer<Float>, batch: Int, images: Range<Int>, height: Int, width: Int,
                        kernel: Int, padding: Int, dst: UnsafeMutablePointer<Float>) {
        let kk = kernel * kernel
        let plane = height * width
        let c = row / kk
        let kh = (row % kk) / kernel
        let kw = row % kernel
        for (j, b) in images.enumerated() {
            shiftedPlane(src: src + (c * batch + b) * plane, dst: dst + j * plane,
                         height: height, width: width, dy: kh - padding, dx: kw - padding)
        }
    }

    /// dst[y][x] = src[y + dy][x + dx], 0 outside the image. Within a plane the
    /// shift is a constant offset of the flat index, so one memcpy moves the
    /// whole plane; only the |dx| columns that wrapped round from the
    /// neighbouring row need zeroing afterwards. (Row-by-row copies cost several
    /// times more on the 8-, 4- and 2-pixel-wide maps of the deep layers.)
    @inline(__always)
    static func shiftedPlane(src: UnsafePointer<Float>, dst: UnsafeMutablePointer<Float>,
                             height: Int, width: Int, dy: Int, dx: Int) {
        let plane = height * width
        if abs(dx) >= width || abs(dy) >= height {
            dst.update(repeating: 0, count: plane)
            return
        }
        let off = dy * width + dx
        // Destination rows whose source row exists, clipped so the source index stays in the plane.
        let lo = max(max(0, -dy) * width, -off)
        let hi = min(min(height, height - dy) * width, plane - off)
        if lo > 0 { dst.update(repeating: 0, count: lo) }
        if hi > lo { (dst + lo).update(from: src + lo + off, count: hi - lo) }
        if hi < plane { (dst + max(hi, 0)).update(repeating: 0, count: plane - max(hi, 0)) }
        if dx > 0 {
            for y in 0..<height { (dst + y * width + width - dx).update(repeating: 0, count: dx) }
        } else if dx < 0 {
            for y in 0..<height { (dst + y * width).update(repeating: 0, count: -dx) }
        }
    }

    /// Array convenience for tests and tools: returns At[K][M] for a CNHW input.
    public static func columns(_ src: [Float], channels: Int, batch: Int, height: Int, width: Int,
                               kernel: Int = 3, padding: Int = 1) -> [Float] {
        precondition(src.count == channels * batch * height * width)
        var out = [Float](repeating: 0, count: channels * kernel * kernel * batch * height * width)
        src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                columns(src: s.baseAddress!, channels: channels, batch: batch, height: height, width: width,
                        kernel: kernel, padding: padding, dst: d.baseAddress!)
            }
        }
        return out
    }
}

/// Layout conversions between PyTorch's NCHW and the module's CNHW.
public enum Layout {
    /// [B][C][P] -> [C][B][P] (P = H * W). The same routine converts back with
    /// the roles of the first two axes swapped.
    public static func swapLeadingAxes(src: UnsafePointer<Float>, outer: Int, inner: Int, plane: Int,
                                       dst: UnsafeMutablePointer<Float>) {
        for o in 0..<outer {
            for i in 0..<inner {
                (dst + (i * outer + o) * plane).update(from: src + (o * inner + i) * plane, count: plane)
            }
        }
    }

    /// Row-major [rows][cols] -> [cols][rows].
    public static func transpose(src: UnsafePointer<Float>, rows: Int, cols: Int, dst: UnsafeMutablePointer<Float>) {
        // Blocked so both sides stay in cache for the large im2col matrices the
        // array engine transposes.
        let bs = 32
        var r0 = 0
        while r0 < rows {
            let r1 = min(rows, r0 + bs)
            var c0 = 0
            while c0 < cols {
                let c1 = min(cols, c0 + bs)
                for r in r0..<r1 {
                    for c in c0..<c1 { dst[c * rows + r] = src[r * cols + c] }
                }
                c0 = c1
            }
            r0 = r1
        }
    }
}
