/// 2x2 max-pooling, stride 2, on CNHW activations.
public enum MaxPool2x2 {
    /// `planes` = channels * batch planes of height x width (both even) from `src`
    /// into `dst` planes of (height/2) x (width/2).
    public static func forward(src: UnsafePointer<Float>, planes: Int, height: Int, width: Int,
                               dst: UnsafeMutablePointer<Float>) {
        precondition(height % 2 == 0 && width % 2 == 0)
        let oh = height / 2, ow = width / 2
        Parallel.forRanges(planes, minChunk: max(1, 16384 / max(1, height * width))) { range in
            for p in range {
                plane(src: src + p * height * width, height: height, width: width, dst: dst + p * oh * ow)
            }
        }
    }

    /// One height x width plane into its (height/2) x (width/2) pooled plane.
    @inline(__always)
    static func plane(src s: UnsafePointer<Float>, height: Int, width: Int, dst d: UnsafeMutablePointer<Float>) {
        let oh = height / 2, ow = width / 2
        for y in 0..<oh {
            let r0 = s + 2 * y * width, r1 = r0 + width
            let out = d + y * ow
            for x in 0..<ow {
                // NaN handling is irrelevant here: inputs are finite ReLU outputs.
                out[x] = max(max(r0[2 * x], r0[2 * x + 1]), max(r1[2 * x], r1[2 * x + 1]))
            }
        }
    }
}
