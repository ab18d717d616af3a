import Testing
@testable import Network

@Suite struct FlattenTests {
    /// CNHW [C=2][B=2][2][2] -> [K][B] with k = (c * H + y) * W + x, the index
    /// PyTorch's flatten gives an NCHW tensor.
    @Test func flattenUsesPyTorchFeatureOrder() {
        // value = 1000 * b + 100 * c + 10 * y + x
        var src = [Float](repeating: 0, count: 16)
        for c in 0..<2 { for b in 0..<2 { for y in 0..<2 { for x in 0..<2 {
            src[((c * 2 + b) * 2 + y) * 2 + x] = Float(1000 * b + 100 * c + 10 * y + x)
        } } } }
        var dst = [Float](repeating: 0, count: 16)
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                Flatten.forward(src: s.baseAddress!, channels: 2, batch: 2, height: 2, width: 2, dst: d.baseAddress!)
            }
        }
        for b in 0..<2 {
            for c in 0..<2 { for y in 0..<2 { for x in 0..<2 {
                let k = (c * 2 + y) * 2 + x
                #expect(dst[k * 2 + b] == Float(1000 * b + 100 * c + 10 * y + x))
            } } }
        }
    }

    /// The network's NCHW input is reordered to CNHW and back without loss.
    @Test func layoutSwapRoundTrips() {
        let src = (0..<(3 * 4 * 5)).map(Float.init)   // [B=3][C=4][P=5]
        var cnhw = [Float](repeating: 0, count: src.count)
        var back = cnhw
        src.withUnsafeBufferPointer { s in
            cnhw.withUnsafeMutableBufferPointer { d in
                Layout.swapLeadingAxes(src: s.baseAddress!, outer: 3, inner: 4, plane: 5, dst: d.baseAddress!)
            }
        }
        #expect(cnhw[(2 * 3 + 1) * 5 + 4] == src[(1 * 4 + 2) * 5 + 4])   // c 2, b 1, p 4
        cnhw.withUnsafeBufferPointer { s in
            back.withUnsafeMutableBufferPointer { d in
                Layout.swapLeadingAxes(src: s.baseAddress!, outer: 4, inner: 3, plane: 5, dst: d.baseAddress!)
            }
        }
        #expect(back == src)
    }
}
