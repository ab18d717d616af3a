import Foundation
import FapsimSupport
import MaskedGEMM
@testable import Network

/// Helpers shared by the Training* tests: seeded random tensors, central-difference
/// gradient checks, and a tiny conv -> BN -> ReLU -> pool -> linear -> CE network.
enum TrainingTestSupport {
    static func gaussian(_ count: Int, scale: Double = 1, rng: inout SeededRNG) -> [Float] {
        (0..<count).map { _ in Float(rng.nextGaussian() * scale) }
    }

    /// sum_i a[i] * b[i] in Double: a random linear read-out used as the loss of
    /// the single-layer checks, so dLoss/dOutput = b exactly.
    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count)
        var s = 0.0
        for i in a.indices { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    /// Worst violation of |fd - analytic| <= absTol + relTol * |analytic| over
    /// `indices`, where fd is the central difference (L(x + eps) - L(x - eps)) / 2eps.
    /// Returns (max abs error, number of violations).
    static func check(_ x: [Float], analytic: [Float], indices: [Int]? = nil, eps: Float,
                      absTol: Double, relTol: Double, loss: ([Float]) -> Double) -> (maxError: Double, failures: Int) {
        precondition(x.count == analytic.count)
        var maxErr = 0.0, failures = 0
        for i in indices ?? Array(x.indices) {
            var plus = x, minus = x
            plus[i] += eps
            minus[i] -= eps
            // The step actually taken in float32 (x + eps rounds).
            let h = Double(plus[i]) - Double(minus[i])
            let fd = (loss(plus) - loss(minus)) / h
            let err = abs(fd - Double(analytic[i]))
            maxErr = max(maxErr, err)
            if err > absTol + relTol * abs(Double(analytic[i])) { failures += 1 }
        }
        return (maxErr, failures)
    }

    static func bitsEqual(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
    }
}

/// conv3x3(cin -> c1) + bias -> BatchNorm (training) -> ReLU -> maxpool 2x2 ->
/// flatten -> linear(-> classes) -> softmax cross-entropy, built only from the
/// library's forward and backward pieces, with optional FAT masks on both GEMMs.
struct TinyNet {
    let cin: Int, c1: Int, height: Int, width: Int, classes: Int
    var convW: [Float], convB: [Float]
    var bn: BatchNormParameters
    var linW: [Float], linB: [Float]
    var convMask: PruneMask?, linMask: PruneMask?

    var conv: ConvSpec { ConvSpec(name: "c", inChannels: cin, outChannels: c1, height: height, width: width) }
    var linK: Int { c1 * (height / 2) * (width / 2) }

    init(cin: Int, c1: Int, height: Int, width: Int, classes: Int, seed: UInt64) {
        self.cin = cin; self.c1 = c1; self.height = height; self.width = width; self.classes = classes
        var rng = SeededRNG(seed: seed)
        let k = cin * 9
        convW = TrainingTestSupport.gaussian(k * c1, scale: (2.0 / Double(k)).squareRoot(), rng: &rng)
        convB = TrainingTestSupport.gaussian(c1, scale: 0.1, rng: &rng)
        var bnp = BatchNormParameters.identity(channels: c1)
        bnp.gamma = (0..<c1).map { _ in Float(0.8 + 0.4 * rng.nextUnitDouble()) }
        bnp.beta = TrainingTestSupport.gaussian(c1, scale: 0.1, rng: &rng)
        bn = bnp
        let k2 = c1 * (height / 2) * (width / 2)
        linW = TrainingTestSupport.gaussian(k2 * classes, scale: (1.0 / Double(k2)).squareRoot(), rng: &rng)
        linB = TrainingTestSupport.gaussian(classes, scale: 0.1, rng: &rng)
    }

    struct Gradients {
        var convW: [Float], convB: [Float], gamma: [Float], beta: [Float], linW: [Float], linB: [Float]
    }

    /// Forward and backward on a CNHW batch. Returns the mean loss, the number of
    /// correct predictions, the gradients (masked for FAT) and the BN parameters
    /// with their running statistics updated.
    func run(_ x: [Float], labels: [Int]) -> (loss: Double, correct: Int, grads: Gradients, bn: BatchNormParameters) {
        let batch = labels.count
        let k = cin * 9, m = batch * height * width
        let ph = height / 2, pw = width / 2, k2 = linK
        // FAT forward: the effective weights are W * mask.
        let wConv = convMask?.applied(to: convW) ?? convW
        let wLin = linMask?.applied(to: linW) ?? linW
        let cols = Im2Col.columns(x, channels: cin, batch: batch, height: height, width: width)
        var z = [Float](repeating: 0, count: c1 * m)
        var xhat = z, invStd = [Float](repeating: 0, count: c1)
        var r = z
        var bnOut = bn
        var pooled = [Float](repeating: 0, count: c1 * batch * ph * pw)
        var flat = [Float](repeating: 0, count: k2 * batch)
        var outT = [Float](repeating: 0, count: classes * batch)
        var logits = outT
        cols.withUnsafeBufferPointer { cp in
            wConv.withUnsafeBufferPointer { wp in
                z.withUnsafeMutableBufferPointer { zp in
                    Conv2D.gemm(weights: wp.baseAddress!, k: k, n: c1, columns: cp.baseAddress!, m: m, out: zp.baseAddress!)
                    convB.withUnsafeBufferPointer { Conv2D.addBias(zp.baseAddress!, channels: c1, count: m, bias: $0.baseAddress!) }
                }
            }
        }
        z.withUnsafeBufferPointer { zp in
            r.withUnsafeMutableBufferPointer { rp in
                xhat.withUnsafeMutableBufferPointer { xp in
                    invStd.withUnsafeMutableBufferPointer { ip in
                        BatchNormTraining.forward(x: zp.baseAddress!, channels: c1, count: m, params: &bnOut,
                                                  y: rp.baseAddress!, xhat: xp.baseAddress!, invStd: ip.baseAddress!)
                    }
                }
                ReLU.apply(rp.baseAddress!, count: c1 * m)
            }
        }
        r.withUnsafeBufferPointer { rp in
            pooled.withUnsafeMutableBufferPointer { MaxPool2x2.forward(src: rp.baseAddress!, planes: c1 * batch, height: height, width: width, dst: $0.baseAddress!) }
        }
        pooled.withUnsafeBufferPointer { pp in
            flat.withUnsafeMutableBufferPointer { Flatten.forward(src: pp.baseAddress!, channels: c1, batch: batch, height: ph, width: pw, dst: $0.baseAddress!) }
        }
        flat.withUnsafeBufferPointer { fp in
            wLin.withUnsafeBufferPointer { wp in
                outT.withUnsafeMutableBufferPointer { Conv2D.gemm(weights: wp.baseAddress!, k: k2, n: classes, columns: fp.baseAddress!, m: batch, out: $0.baseAddress!) }
            }
        }
        outT.withUnsafeBufferPointer { op in
            linB.withUnsafeBufferPointer { bp in
                logits.withUnsafeMutableBufferPointer { Linear.finish(outT: op.baseAddress!, n: classes, batch: batch, bias: bp.baseAddress!, logits: $0.baseAddress!) }
            }
        }
        let correct = logits.withUnsafeBufferPointer { SoftmaxCrossEntropy.correct(logits: $0.baseAddress!, labels: labels, classes: classes) }
        let (loss, dLogits) = SoftmaxCrossEntropy.lossAndGradient(logits: logits, labels: labels, classes: classes)

        var g = Gradients(convW: .init(repeating: 0, count: k * c1), convB: .init(repeating: 0, count: c1),
                          gamma: .init(repeating: 0, count: c1), beta: .init(repeating: 0, count: c1),
                          linW: .init(repeating: 0, count: k2 * classes), linB: .init(repeating: 0, count: classes))
        var dFlat = [Float](repeating: 0, count: k2 * batch)
        var dPooled = pooled
        var dR = r
        flat.withUnsafeBufferPointer { fp in
            wLin.withUnsafeBufferPointer { wp in
                dLogits.withUnsafeBufferPointer { gp in
                    LinearBackward.backward(flatInput: fp.baseAddress!, weights: wp.baseAddress!, logitsGradient: gp.baseAddress!,
                                            k: k2, n: classes, batch: batch, weightGradient: &g.linW, biasGradient: &g.linB,
                                            flatInputGradient: &dFlat)
                }
            }
        }
        dFlat.withUnsafeBufferPointer { dp in
            dPooled.withUnsafeMutableBufferPointer { FlattenBackward.backward(flatGradient: dp.baseAddress!, channels: c1, batch: batch, height: ph, width: pw, dst: $0.baseAddress!) }
        }
        r.withUnsafeBufferPointer { rp in
            dPooled.withUnsafeBufferPointer { dp in
                dR.withUnsafeMutableBufferPointer { MaxPool2x2Backward.backward(input: rp.baseAddress!, outputGradient: dp.baseAddress!, planes: c1 * batch, height: height, width: width, inputGradient: $0.baseAddress!) }
            }
            dR.withUnsafeMutableBufferPointer { ReLUBackward.apply(output: rp.baseAddress!, gradient: $0.baseAddress!, count: c1 * m) }
        }
        // BN backward in place: dR becomes dZ.
        dR.withUnsafeMutableBufferPointer { dp in
            BatchNormTraining.backward(outputGradient: dp.baseAddress!, xhat: xhat, invStd: invStd, gamma: bn.gamma,
                                       channels: c1, count: m, inputGradient: dp.baseAddress!,
                                       gammaGradient: &g.gamma, betaGradient: &g.beta)
        }
        cols.withUnsafeBufferPointer { cp in
            wConv.withUnsafeBufferPointer { wp in
                dR.withUnsafeBufferPointer { dp in
                    ConvBackward.backward(columns: cp.baseAddress!, weights: wp.baseAddress!, outputGradient: dp.baseAddress!,
                                          k: k, n: c1, batch: batch, spec: conv, weightGradient: &g.convW,
                                          biasGradient: &g.convB, columnsGradient: nil, inputGradient: nil)
                }
            }
        }
        // FAT: the gradient with respect to the stored weights is dW_eff * mask.
        convMask?.zero(&g.convW)
        linMask?.zero(&g.linW)
        return (loss, correct, g, bnOut)
    }

    /// One SGD step on every parameter (slots 0-5), masks included; BN running statistics advance.
    mutating func train(_ x: [Float], labels: [Int], sgd: inout SGD, lr: Float) -> (loss: Double, correct: Int) {
        let result = run(x, labels: labels)
        var g = result.grads
        bn.runningMean = result.bn.runningMean
        bn.runningVar = result.bn.runningVar
        bn.batchesTracked = result.bn.batchesTracked
        sgd.step(slot: 0, parameter: &convW, gradient: &g.convW, lr: lr, mask: convMask)
        sgd.step(slot: 1, parameter: &convB, gradient: &g.convB, lr: lr)
        sgd.step(slot: 2, parameter: &bn.gamma, gradient: &g.gamma, lr: lr)
        sgd.step(slot: 3, parameter: &bn.beta, gradient: &g.beta, lr: lr)
        sgd.step(slot: 4, parameter: &linW, gradient: &g.linW, lr: lr, mask: linMask)
        sgd.step(slot: 5, parameter: &linB, gradient: &g.linB, lr: lr)
        return (result.loss, result.correct)
    }
}
