/// The transpose of `Im2Col.columns`: scatters the gradient of the im2col matrix
/// At[K][M] back onto the CNHW input it was built from.
///
/// im2col copies input (c, y + dy, x + dx) into row k = (c * KH + kh) * KW + kw,
/// column (b, y, x); its transpose therefore adds that column entry back onto the
/// same input pixel. Each input pixel receives up to KH * KW contributions, so the
/// routine accumulates. Padding taps had no input pixel and are dropped.
public enum Col2Im {
    /// dst (CNHW, channels x batch x height x width) += col2im(columns (K x M)).
    /// Work is split by input channel: the KH * KW rows of channel c only touch
    /// channel c's planes, so the threads never write the same pixel.
    public static func add(columns: UnsafePointer<Float>, channels: Int, batch: Int, height: Int, width: Int,
                           kernel: Int = 3, padding: Int = 1, dst: UnsafeMutablePointer<Float>) {
        precondition(kernel == 2 * padding + 1, "stride-1 'same' convolution expected")
        let plane = height * width
        let m = batch * plane
        let kk = kernel * kernel
        Parallel.forRanges(channels, minChunk: max(1, 16384 / max(1, kk * m))) { range in
            for c in range {
                for tap in 0..<kk {
                    let dy = tap / kernel - padding, dx = tap % kernel - padding
                    let row = columns + (c * kk + tap) * m
                    // Output pixels (y, x) whose tap (y + dy, x + dx) lies inside the image.
                    let y0 = max(0, -dy), y1 = min(height, height - dy)
                    let x0 = max(0, -dx), x1 = min(width, width - dx)
                    if y0 >= y1 || x0 >= x1 { continue }
                    for b in 0..<batch {
                        let s = row + b * plane
                        let d = dst + (c * batch + b) * plane + dy * width + dx
                        for y in y0..<y1 {
                            let o = y * width
                            for x in x0..<x1 { d[o + x] += s[o + x] }
                        }
                    }
                }
            }
        }
    }

    /// Array convenience for tests and tools: returns col2im of At[K][M] as a fresh CNHW array.
    public static func images(_ columns: [Float], channels: Int, batch: Int, height: Int, width: Int,
                              kernel: Int = 3, padding: Int = 1) -> [Float] {
        precondition(columns.count == channels * kernel * kernel * batch * height * width)
        var out = [Float](repeating: 0, count: channels * batch * height * width)
        columns.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                add(columns: s.baseAddress!, channels: channels, batch: batch, height: height, width: width,
                    kernel: kernel, padding: padding, dst: d.baseAddress!)
            }
        }
        return out
    }
}
