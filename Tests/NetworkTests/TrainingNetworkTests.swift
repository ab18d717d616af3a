import Foundation
import Testing
import FapsimSupport
import SystolicArray
@testable import Network

/// Whole-network checks on `TinyNet` (conv -> BN -> ReLU -> pool -> linear -> CE).
@Suite struct TrainingNetworkTests {
    typealias S = TrainingTestSupport

    static func batch(_ net: TinyNet, size: Int, seed: UInt64) -> (x: [Float], labels: [Int]) {
        var rng = SeededRNG(seed: seed)
        let x = S.gaussian(net.cin * size * net.height * net.width, rng: &rng)
        let labels = (0..<size).map { _ in rng.nextInt(below: net.classes) }
        return (x, labels)
    }

    /// A 4 x 4 array with faults in rows and columns that both GEMMs reach.
    static func faults() -> FaultMap {
        var f = FaultMap.none(rows: 4, cols: 4)
        for (i, j) in [(0, 1), (1, 3), (2, 0), (3, 2), (1, 1)] { f.setFaulty(i, j, true) }
        return f
    }

    /// Gradients of every parameter of the masked network against central
    /// differences of the full forward (float32, eps 2e-3, loss in Double);
    /// tolerance 2e-4 + 1e-2 relative; measured worst error 1.8e-5 (conv weights).
    /// The step is kept small because a larger one (1e-2) pushes some BN outputs
    /// across the ReLU kink and gave a 1e-3 error on beta. Every pruned weight's
    /// gradient is exactly 0, and moving a pruned weight leaves the loss bit-identical.
    @Test func maskedTinyNetworkGradientsMatchFiniteDifferences() {
        var net = TinyNet(cin: 2, c1: 4, height: 4, width: 4, classes: 3, seed: 21)
        let f = Self.faults()
        net.convMask = PruneMask(faults: f, k: 18, n: 4)
        net.linMask = PruneMask(faults: f, k: net.linK, n: 3)
        #expect(!net.convMask!.isEmpty && !net.linMask!.isEmpty)
        let (x, labels) = Self.batch(net, size: 4, seed: 22)
        let g = net.run(x, labels: labels).grads
        for i in net.convMask!.pruned { #expect(g.convW[i] == 0) }
        for i in net.linMask!.pruned { #expect(g.linW[i] == 0) }

        let base = net
        func loss(_ edit: (inout TinyNet) -> Void) -> Double {
            var n = base
            edit(&n)
            return n.run(x, labels: labels).loss
        }
        let eps: Float = 2e-3, at = 2e-4, rt = 1e-2
        let results = [
            ("convW", S.check(net.convW, analytic: g.convW, eps: eps, absTol: at, relTol: rt) { v in loss { $0.convW = v } }),
            ("convB", S.check(net.convB, analytic: g.convB, eps: eps, absTol: at, relTol: rt) { v in loss { $0.convB = v } }),
            ("gamma", S.check(net.bn.gamma, analytic: g.gamma, eps: eps, absTol: at, relTol: rt) { v in loss { $0.bn.gamma = v } }),
            ("beta", S.check(net.bn.beta, analytic: g.beta, eps: eps, absTol: at, relTol: rt) { v in loss { $0.bn.beta = v } }),
            ("linW", S.check(net.linW, analytic: g.linW, eps: eps, absTol: at, relTol: rt) { v in loss { $0.linW = v } }),
            ("linB", S.check(net.linB, analytic: g.linB, eps: eps, absTol: at, relTol: rt) { v in loss { $0.linB = v } }),
        ]
        for (name, r) in results {
            #expect(r.failures == 0, "\(name): \(r.failures) failures, max error \(r.maxError)")
        }
        let loss0 = base.run(x, labels: labels).loss
        for i in net.convMask!.pruned.prefix(5) { #expect(loss { $0.convW[i] += 1 } == loss0) }
        for i in net.linMask!.pruned.prefix(5) { #expect(loss { $0.linW[i] += 1 } == loss0) }
        // The bias gradient of a conv followed by training-mode BN is zero (BN removes the mean).
        #expect(g.convB.allSatisfy { abs($0) < 1e-5 })
    }

    /// 16 random 8x8 images with random labels: full-batch SGD (momentum 0.9)
    /// drives training accuracy to 100% and the loss far below log(10).
    @Test func tinyNetworkOverfitsASmallBatch() {
        var net = TinyNet(cin: 3, c1: 8, height: 8, width: 8, classes: 10, seed: 31)
        let (x, labels) = Self.batch(net, size: 16, seed: 32)
        var sgd = SGD(slots: 6, momentum: 0.9, weightDecay: 5e-4)
        let initial = net.run(x, labels: labels)
        #expect(initial.loss > 1.5 && initial.correct < 8, "the untrained net must not already fit")
        // Reaches 100% and loss < 0.05 after about 12 steps; 150 leaves a wide margin.
        for _ in 0..<150 {
            let last = net.train(x, labels: labels, sgd: &sgd, lr: 0.05)
            if last.correct == 16 && last.loss < 0.05 { break }
        }
        let final = net.run(x, labels: labels)
        #expect(final.correct == 16, "accuracy \(final.correct)/16, loss \(final.loss)")
        #expect(final.loss < 0.2)
    }

    /// FAT training with masks on both GEMMs keeps every pruned weight exactly +0 at every step.
    @Test func fatTrainingKeepsPrunedWeightsZero() {
        var net = TinyNet(cin: 3, c1: 8, height: 8, width: 8, classes: 10, seed: 41)
        let f = Self.faults()
        net.convMask = PruneMask(faults: f, k: 27, n: 8)
        net.linMask = PruneMask(faults: f, k: net.linK, n: 10)
        let (x, labels) = Self.batch(net, size: 16, seed: 42)
        var sgd = SGD(slots: 6, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
        for _ in 0..<20 {
            _ = net.train(x, labels: labels, sgd: &sgd, lr: 0.05)
            #expect(net.convMask!.pruned.allSatisfy { net.convW[$0].bitPattern == 0 })
            #expect(net.linMask!.pruned.allSatisfy { net.linW[$0].bitPattern == 0 })
        }
    }

    /// A fault-free map gives empty masks, and training with them is bit-identical
    /// to training with no masks at all (parameters and BN running statistics).
    @Test func faultFreeMapIsBitIdenticalToUnmaskedTraining() {
        var plain = TinyNet(cin: 3, c1: 8, height: 8, width: 8, classes: 10, seed: 51)
        var masked = plain
        let none = FaultMap.none(rows: 4, cols: 4)
        masked.convMask = PruneMask(faults: none, k: 27, n: 8)
        masked.linMask = PruneMask(faults: none, k: masked.linK, n: 10)
        #expect(masked.convMask!.isEmpty && masked.linMask!.isEmpty)
        let (x, labels) = Self.batch(plain, size: 16, seed: 52)
        var sgdA = SGD(slots: 6, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
        var sgdB = sgdA
        for _ in 0..<5 {
            _ = plain.train(x, labels: labels, sgd: &sgdA, lr: 0.05)
            _ = masked.train(x, labels: labels, sgd: &sgdB, lr: 0.05)
        }
        #expect(S.bitsEqual(plain.convW, masked.convW) && S.bitsEqual(plain.linW, masked.linW))
        #expect(S.bitsEqual(plain.convB, masked.convB) && S.bitsEqual(plain.linB, masked.linB))
        #expect(plain.bn == masked.bn)
        #expect(plain.bn.batchesTracked == 5)
        for s in 0..<6 { #expect(S.bitsEqual(sgdA.buffers[s], sgdB.buffers[s])) }
        // The run really trained: the weights moved.
        #expect(!S.bitsEqual(plain.convW, TinyNet(cin: 3, c1: 8, height: 8, width: 8, classes: 10, seed: 51).convW))
    }
}
