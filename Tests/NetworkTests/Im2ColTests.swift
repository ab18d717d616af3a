import Testing
@testable import Network

@Suite struct Im2ColTests {
    /// Two 2x2 channels worked by hand: row k = (c * 3 + kh) * 3 + kw holds, for
    /// output pixel (y, x) in row-major order, input (c, y + kh - 1, x + kw - 1) or 0.
    @Test func orderMatchesSpecOnHandWorkedExample() {
        let input: [Float] = [1, 2, 3, 4,   // channel 0: [[1, 2], [3, 4]]
                              5, 6, 7, 8]   // channel 1: [[5, 6], [7, 8]]
        let expected: [[Float]] = [
            [0, 0, 0, 1], [0, 0, 1, 2], [0, 0, 2, 0],   // c0, kh 0, kw 0..2
            [0, 1, 0, 3], [1, 2, 3, 4], [2, 0, 4, 0],   // c0, kh 1
            [0, 3, 0, 0], [3, 4, 0, 0], [4, 0, 0, 0],   // c0, kh 2
            [0, 0, 0, 5], [0, 0, 5, 6], [0, 0, 6, 0],   // c1, kh 0
            [0, 5, 0, 7], [5, 6, 7, 8], [6, 0, 8, 0],   // c1, kh 1
            [0, 7, 0, 0], [7, 8, 0, 0], [8, 0, 0, 0],   // c1, kh 2
        ]
        let cols = Im2Col.columns(input, channels: 2, batch: 1, height: 2, width: 2)
        #expect(cols.count == 18 * 4)
        for k in 0..<18 {
            #expect(Array(cols[(k * 4)..<(k * 4 + 4)]) == expected[k], "row k = \(k)")
        }
    }

    /// With a batch, column m = (b * H + y) * W + x: image b's pixels follow image b-1's.
    @Test func batchColumnsFollowImageOrder() {
        // CNHW, one channel, two 2x2 images.
        let input: [Float] = [1, 2, 3, 4, 10, 20, 30, 40]
        let cols = Im2Col.columns(input, channels: 1, batch: 2, height: 2, width: 2)
        #expect(Array(cols[(4 * 8)..<(5 * 8)]) == [1, 2, 3, 4, 10, 20, 30, 40])   // centre tap
        #expect(Array(cols[(8 * 8)..<(9 * 8)]) == [4, 0, 0, 0, 40, 0, 0, 0])      // kh 2, kw 2
    }

    /// Conv through im2col + GEMM equals a direct 3x3 convolution (non-square
    /// input, a batch of 2) to float32 rounding.
    @Test func convViaIm2ColEqualsDirectConvolution() {
        let spec = ConvSpec(name: "t", inChannels: 3, outChannels: 5, height: 6, width: 5)
        let batch = 2
        let input = TestData.random(spec.inChannels * batch * spec.height * spec.width, seed: 1)
        let wPT = TestData.random(spec.outChannels * spec.k, seed: 2)   // PyTorch [Cout][Cin][3][3]
        let bias = TestData.random(spec.outChannels, seed: 3)
        let out = Conv2D.forward(input: input, batch: batch, spec: spec,
                                 weights: GEMMWeights.fromPyTorch(wPT, n: spec.outChannels, k: spec.k), bias: bias)
        let h = spec.height, w = spec.width
        var maxErr: Float = 0
        for co in 0..<spec.outChannels {
            for b in 0..<batch {
                for y in 0..<h {
                    for x in 0..<w {
                        var s = Double(bias[co])
                        for c in 0..<spec.inChannels {
                            for kh in 0..<3 {
                                for kw in 0..<3 {
                                    let iy = y + kh - 1, ix = x + kw - 1
                                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                                    s += Double(wPT[((co * spec.inChannels + c) * 3 + kh) * 3 + kw])
                                        * Double(input[((c * batch + b) * h + iy) * w + ix])
                                }
                            }
                        }
                        maxErr = max(maxErr, abs(out[((co * batch + b) * h + y) * w + x] - Float(s)))
                    }
                }
            }
        }
        // 27 products of magnitude <= 1: float32 summation error stays far below 1e-5.
        #expect(maxErr < 1e-5)
    }

    @Test func maxPoolTakesWindowMaximum() {
        let src: [Float] = [1, 5, 2, 0,
                            3, 4, 9, 8,
                            0, 0, -1, -2,
                            7, 0, -3, -4]
        var dst = [Float](repeating: 0, count: 4)
        src.withUnsafeBufferPointer { s in
            dst.withUnsafeMutableBufferPointer { d in
                MaxPool2x2.forward(src: s.baseAddress!, planes: 1, height: 4, width: 4, dst: d.baseAddress!)
            }
        }
        #expect(dst == [5, 9, 7, -1])
    }

    @Test func batchNormInferenceMatchesDefinition() {
        let p = BatchNormParameters(gamma: [2, 0.5], beta: [1, -1], runningMean: [0.5, -2], runningVar: [4, 0.25])
        let (scale, shift) = BatchNorm.inferenceAffine(p, precedingBias: [0.25, 0])
        var data: [Float] = [1, -3, 0, 2]   // channel 0: [1, -3], channel 1: [0, 2]
        scale.withUnsafeBufferPointer { s in
            shift.withUnsafeBufferPointer { t in
                data.withUnsafeMutableBufferPointer {
                    BatchNorm.applyAffine($0.baseAddress!, channels: 2, count: 2, scale: s.baseAddress!,
                                          shift: t.baseAddress!, relu: true)
                }
            }
        }
        func bn(_ x: Float, _ c: Int, bias: Float) -> Float {
            max(0, p.gamma[c] * (x + bias - p.runningMean[c]) / (p.runningVar[c] + 1e-5).squareRoot() + p.beta[c])
        }
        let expected = [bn(1, 0, bias: 0.25), bn(-3, 0, bias: 0.25), bn(0, 1, bias: 0), bn(2, 1, bias: 0)]
        for i in 0..<4 { #expect(abs(data[i] - expected[i]) < 1e-5) }
        #expect(data[1] == 0)   // ReLU clipped
    }
}
