import Foundation
import Testing
import FapsimSupport
@testable import Network

/// Finite-difference checks of every backward pass against its forward.
/// Single-layer checks use the loss L = sum(output * R) (R random, in Double), so
/// the upstream gradient is R; central differences in float32 with a step eps.
/// Tolerances are |fd - analytic| <= absTol + relTol * |analytic|, stated per test;
/// the measured worst errors are recorded in the comments.
@Suite struct TrainingLayerGradientTests {
    typealias S = TrainingTestSupport

    /// col2im is the adjoint of im2col: <im2col(x), C> = <x, col2im(C)> for any x, C.
    /// The larger shape is big enough for `Col2Im.add` to split channels over threads.
    @Test(arguments: [(3, 2, 5, 4), (16, 8, 16, 16)])
    func col2imIsTheAdjointOfIm2col(shape: (Int, Int, Int, Int)) {
        var rng = SeededRNG(seed: 11)
        let (c, b, h, w) = shape
        // Small integers: every sum below is exact in float32, so the identity must hold exactly.
        let x = (0..<(c * b * h * w)).map { _ in Float(rng.nextInt(below: 9) - 4) }
        let cmat = (0..<(c * 9 * b * h * w)).map { _ in Float(rng.nextInt(below: 9) - 4) }
        let lhs = S.dot(Im2Col.columns(x, channels: c, batch: b, height: h, width: w), cmat)
        let rhs = S.dot(x, Col2Im.images(cmat, channels: c, batch: b, height: h, width: w))
        #expect(lhs == rhs, "\(lhs) vs \(rhs)")
    }

    /// On an all-ones 3x3 column matrix, col2im counts how many taps reach each
    /// pixel: 4 in the corners, 6 on the edges, 9 inside.
    @Test func col2imCountsTaps() {
        let ones = [Float](repeating: 1, count: 9 * 9)
        let img = Col2Im.images(ones, channels: 1, batch: 1, height: 3, width: 3)
        #expect(img == [4, 6, 4, 6, 9, 6, 4, 6, 4])
    }

    /// eps 1e-2 (conv is linear in each argument), tolerance 1e-3 + 1e-3 relative; measured max 1.1e-4 (dX).
    @Test func convGradientsMatchFiniteDifferences() {
        var rng = SeededRNG(seed: 12)
        let spec = ConvSpec(name: "c", inChannels: 2, outChannels: 3, height: 5, width: 4)
        let batch = 2, m = batch * 20
        let x = S.gaussian(2 * m, rng: &rng)
        let w = S.gaussian(spec.k * 3, rng: &rng)
        let bias = S.gaussian(3, rng: &rng)
        let r = S.gaussian(3 * m, rng: &rng)
        let g = ConvBackward.backward(input: x, batch: batch, spec: spec, weights: w, outputGradient: r)
        func loss(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            S.dot(Conv2D.forward(input: x, batch: batch, spec: spec, weights: w, bias: b), r)
        }
        let cw = S.check(w, analytic: g.weight, eps: 1e-2, absTol: 1e-3, relTol: 1e-3) { loss(x, $0, bias) }
        let cb = S.check(bias, analytic: g.bias, eps: 1e-2, absTol: 1e-3, relTol: 1e-3) { loss(x, w, $0) }
        let cx = S.check(x, analytic: g.input, eps: 1e-2, absTol: 1e-3, relTol: 1e-3) { loss($0, w, bias) }
        #expect(cw.failures == 0 && cb.failures == 0 && cx.failures == 0,
                "max errors dW \(cw.maxError) db \(cb.maxError) dX \(cx.maxError)")
    }

    /// BN in training mode is nonlinear in x (through the batch statistics):
    /// eps 1e-3, tolerance 2e-3 + 1e-2 relative; measured max 4.2e-4 (dX).
    @Test func batchNormTrainingGradientsMatchFiniteDifferences() {
        var rng = SeededRNG(seed: 13)
        let channels = 3, count = 2 * 3 * 3
        let x = S.gaussian(channels * count, scale: 2, rng: &rng).map { $0 + 0.5 }
        var params = BatchNormParameters.identity(channels: channels)
        params.gamma = [0.7, 1.3, -0.9]
        params.beta = [0.1, -0.2, 0.3]
        let r = S.gaussian(channels * count, rng: &rng)
        func forward(_ x: [Float], _ p: BatchNormParameters) -> (y: [Float], xhat: [Float], inv: [Float]) {
            var p = p
            var y = x, xh = x, inv = [Float](repeating: 0, count: channels)
            x.withUnsafeBufferPointer { xp in
                BatchNormTraining.forward(x: xp.baseAddress!, channels: channels, count: count, params: &p,
                                          y: &y, xhat: &xh, invStd: &inv)
            }
            return (y, xh, inv)
        }
        let f = forward(x, params)
        var dx = [Float](repeating: 0, count: x.count), dg = [Float](repeating: 0, count: channels), db = dg
        BatchNormTraining.backward(outputGradient: r, xhat: f.xhat, invStd: f.inv, gamma: params.gamma,
                                   channels: channels, count: count, inputGradient: &dx, gammaGradient: &dg, betaGradient: &db)
        let cx = S.check(x, analytic: dx, eps: 1e-3, absTol: 2e-3, relTol: 1e-2) { S.dot(forward($0, params).y, r) }
        let cg = S.check(params.gamma, analytic: dg, eps: 1e-3, absTol: 2e-3, relTol: 1e-2) { g in
            var p = params; p.gamma = g; return S.dot(forward(x, p).y, r)
        }
        let cb = S.check(params.beta, analytic: db, eps: 1e-3, absTol: 2e-3, relTol: 1e-2) { b in
            var p = params; p.beta = b; return S.dot(forward(x, p).y, r)
        }
        #expect(cx.failures == 0 && cg.failures == 0 && cb.failures == 0,
                "max errors dX \(cx.maxError) dGamma \(cg.maxError) dBeta \(cb.maxError)")
        // The gradient through the batch statistics sums to zero per channel.
        for c in 0..<channels {
            let s = dx[(c * count)..<((c + 1) * count)].reduce(0.0) { $0 + Double($1) }
            #expect(abs(s) < 1e-4)
        }
    }

    /// Running statistics after one step from PyTorch's initial state: mean 0.1 * batch mean,
    /// var 0.9 + 0.1 * UNBIASED batch variance; the normalisation itself uses the biased one.
    @Test func batchNormRunningStatisticsFollowPyTorch() {
        let x: [Float] = [1, 2, 3, 6]   // one channel: mean 3, biased var 3.5, unbiased var 14/3
        var p = BatchNormParameters.identity(channels: 1)
        var y = x, xh = x, inv: [Float] = [0]
        BatchNormTraining.forward(x: x, channels: 1, count: 4, params: &p, y: &y, xhat: &xh, invStd: &inv)
        #expect(abs(p.runningMean[0] - 0.3) < 1e-6)
        #expect(abs(p.runningVar[0] - (0.9 + 0.1 * 14 / 3)) < 1e-6)
        #expect(p.batchesTracked == 1)
        #expect(abs(inv[0] - Float(1 / (3.5 + 1e-5).squareRoot())) < 1e-6)
        #expect(abs(y[3] - Float(3 / (3.5 + 1e-5).squareRoot())) < 1e-5)
    }

    /// ReLU is piecewise linear; inputs are kept at least 0.1 away from the kink. Measured error 0.
    @Test func reluGradientMatchesFiniteDifferences() {
        var rng = SeededRNG(seed: 14)
        let x = S.gaussian(64, rng: &rng).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        let r = S.gaussian(64, rng: &rng)
        func relu(_ v: [Float]) -> [Float] {
            var v = v
            v.withUnsafeMutableBufferPointer { ReLU.apply($0.baseAddress!, count: 64) }
            return v
        }
        var g = r
        ReLUBackward.apply(output: relu(x), gradient: &g, count: 64)
        let c = S.check(x, analytic: g, eps: 1e-2, absTol: 1e-4, relTol: 1e-4) { S.dot(relu($0), r) }
        #expect(c.failures == 0, "max error \(c.maxError)")
        #expect(g.contains(0) && g.contains { $0 != 0 })
    }

    /// Max-pool: inputs are a shuffle of values 0.01 apart, so a 1e-3 step never
    /// changes a window's arg-max; tolerance 1e-3 + 1e-3 relative, measured error 0.
    @Test func maxPoolGradientMatchesFiniteDifferences() {
        var rng = SeededRNG(seed: 15)
        let planes = 3, h = 4, w = 6
        var x = (0..<(planes * h * w)).map { Float($0) * 0.01 }
        for i in stride(from: x.count - 1, to: 0, by: -1) { x.swapAt(i, rng.nextInt(below: i + 1)) }
        let r = S.gaussian(planes * h * w / 4, rng: &rng)
        func pool(_ v: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: planes * h * w / 4)
            MaxPool2x2.forward(src: v, planes: planes, height: h, width: w, dst: &out)
            return out
        }
        var g = [Float](repeating: .nan, count: x.count)
        MaxPool2x2Backward.backward(input: x, outputGradient: r, planes: planes, height: h, width: w, inputGradient: &g)
        let c = S.check(x, analytic: g, eps: 1e-3, absTol: 1e-3, relTol: 1e-3) { S.dot(pool($0), r) }
        #expect(c.failures == 0, "max error \(c.maxError)")
        #expect(g.filter { $0 != 0 }.count == r.count)
    }

    /// Ties route the whole gradient to the first maximum in scan order.
    @Test func maxPoolTiesGoToTheFirstMaximum() {
        let x: [Float] = [5, 5, 5, 5]
        var g: [Float] = [9, 9, 9, 9]
        MaxPool2x2Backward.backward(input: x, outputGradient: [2], planes: 1, height: 2, width: 2, inputGradient: &g)
        #expect(g == [2, 0, 0, 0])
    }

    /// Linear layer: linear in each argument; eps 1e-2, tolerance 1e-3 + 1e-3 relative, measured max 3.4e-5.
    @Test func linearGradientsMatchFiniteDifferences() {
        var rng = SeededRNG(seed: 16)
        let k = 12, n = 5, batch = 3
        let at = S.gaussian(k * batch, rng: &rng)
        let w = S.gaussian(k * n, rng: &rng)
        let bias = S.gaussian(n, rng: &rng)
        let r = S.gaussian(batch * n, rng: &rng)
        func logits(_ at: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
            var outT = [Float](repeating: 0, count: n * batch), out = outT
            Conv2D.gemm(weights: w, k: k, n: n, columns: at, m: batch, out: &outT)
            Linear.finish(outT: outT, n: n, batch: batch, bias: b, logits: &out)
            return out
        }
        var dW = [Float](repeating: 0, count: k * n), db = [Float](repeating: 0, count: n)
        var dAt = [Float](repeating: 0, count: k * batch)
        LinearBackward.backward(flatInput: at, weights: w, logitsGradient: r, k: k, n: n, batch: batch,
                                weightGradient: &dW, biasGradient: &db, flatInputGradient: &dAt)
        let cw = S.check(w, analytic: dW, eps: 1e-2, absTol: 1e-3, relTol: 1e-3) { S.dot(logits(at, $0, bias), r) }
        let cb = S.check(bias, analytic: db, eps: 1e-2, absTol: 1e-3, relTol: 1e-3) { S.dot(logits(at, w, $0), r) }
        let ca = S.check(at, analytic: dAt, eps: 1e-2, absTol: 1e-3, relTol: 1e-3) { S.dot(logits($0, w, bias), r) }
        #expect(cw.failures == 0 && cb.failures == 0 && ca.failures == 0,
                "max errors dW \(cw.maxError) db \(cb.maxError) dAt \(ca.maxError)")
    }

    /// FlattenBackward inverts Flatten.forward (a permutation), for planes of 1 and of 4 pixels.
    @Test func flattenBackwardInvertsFlatten() {
        for (h, w) in [(1, 1), (2, 2)] {
            let c = 3, b = 2
            let x = (0..<(c * b * h * w)).map(Float.init)
            var flat = x, back = x.map { _ in Float(-1) }
            Flatten.forward(src: x, channels: c, batch: b, height: h, width: w, dst: &flat)
            FlattenBackward.backward(flatGradient: flat, channels: c, batch: b, height: h, width: w, dst: &back)
            #expect(back == x)
        }
    }

    /// Softmax cross-entropy: mean over the batch; eps 1e-3, tolerance 1e-3 + 1e-3 relative; measured max 9.6e-5.
    @Test func softmaxCrossEntropyGradientMatchesFiniteDifferences() {
        var rng = SeededRNG(seed: 17)
        let batch = 4, n = 6
        let logits = S.gaussian(batch * n, scale: 3, rng: &rng)
        let labels = [0, 5, 2, 2]
        let (loss, g) = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: labels, classes: n)
        // Reference loss in Double.
        var ref = 0.0
        for b in 0..<batch {
            let row = (0..<n).map { Double(logits[b * n + $0]) }
            ref += log(row.map { exp($0) }.reduce(0, +)) - row[labels[b]]
        }
        #expect(abs(loss - ref / Double(batch)) < 1e-5)
        let c = S.check(logits, analytic: g, eps: 1e-3, absTol: 1e-3, relTol: 1e-3) {
            SoftmaxCrossEntropy.lossAndGradient(logits: $0, labels: labels, classes: n).loss
        }
        #expect(c.failures == 0, "max error \(c.maxError)")
        // Uniform logits give log(N); huge logits do not overflow.
        #expect(abs(SoftmaxCrossEntropy.lossAndGradient(logits: [Float](repeating: 7, count: n), labels: [3], classes: n).loss - log(Double(n))) < 1e-6)
        let big = SoftmaxCrossEntropy.lossAndGradient(logits: [1e30, 0, -1e30], labels: [1], classes: 3)
        #expect(big.loss.isFinite && big.gradient.allSatisfy { $0.isFinite })
    }
}
