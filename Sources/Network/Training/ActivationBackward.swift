/// ReLU and 2x2 max-pool backward on CNHW data.
public enum ReLUBackward {
    /// gradient[i] = 0 where output[i] <= 0 (PyTorch's threshold_backward on the
    /// output: the derivative at exactly 0 is taken as 0). In place.
    public static func apply(output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forRanges(count, minChunk: 65536) { range in
            for i in range where !(output[i] > 0) { gradient[i] = 0 }
        }
    }
}

public enum MaxPool2x2Backward {
    /// Routes each pooled gradient to the arg-max of its 2x2 window of `input`;
    /// the other three pixels get 0. `inputGradient` is overwritten entirely.
    /// Ties go to the first maximum in scan order (top-left, top-right,
    /// bottom-left, bottom-right), so exactly one pixel per window receives the
    /// gradient, as in PyTorch.
    public static func backward(input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                planes: Int, height: Int, width: Int,
                                inputGradient: UnsafeMutablePointer<Float>) {
        precondition(height % 2 == 0 && width % 2 == 0)
        let oh = height / 2, ow = width / 2
        Parallel.forRanges(planes, minChunk: max(1, 16384 / max(1, height * width))) { range in
            for p in range {
                let s = input + p * height * width
                let d = inputGradient + p * height * width
                let g = outputGradient + p * oh * ow
                d.update(repeating: 0, count: height * width)
                for y in 0..<oh {
                    let i0 = 2 * y * width
                    for x in 0..<ow {
                        let a = i0 + 2 * x
                        var best = a, v = s[a]
                        if s[a + 1] > v { best = a + 1; v = s[a + 1] }
                        if s[a + width] > v { best = a + width; v = s[a + width] }
                        if s[a + width + 1] > v { best = a + width + 1 }
                        d[best] = g[y * ow + x]
                    }
                }
            }
        }
    }
}
