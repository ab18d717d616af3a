import Testing
import FapsimSupport
import SystolicArray
@testable import Network

@Suite struct TrainingOptimizerTests {
    typealias S = TrainingTestSupport

    /// Hand-worked PyTorch SGD steps (p = 1, g = 1, lr 0.1).
    @Test func sgdFollowsPyTorchSemantics() {
        func run(_ sgd: SGD, steps: Int) -> Float {
            var sgd = sgd
            var p: [Float] = [1]
            for _ in 0..<steps { var g: [Float] = [1]; sgd.step(slot: 0, parameter: &p, gradient: &g, lr: 0.1) }
            return p[0]
        }
        // Momentum 0.9: buf = 1 then 1.9; p = 0.9 then 0.71.
        #expect(abs(run(SGD(slots: 1, momentum: 0.9, weightDecay: 0), steps: 1) - 0.9) < 1e-6)
        #expect(abs(run(SGD(slots: 1, momentum: 0.9, weightDecay: 0), steps: 2) - 0.71) < 1e-6)
        // Nesterov: d = 1 + 0.9 * 1 = 1.9, p = 0.81; then buf = 1.9, d = 1 + 1.71 = 2.71, p = 0.539.
        #expect(abs(run(SGD(slots: 1, momentum: 0.9, weightDecay: 0, nesterov: true), steps: 1) - 0.81) < 1e-6)
        #expect(abs(run(SGD(slots: 1, momentum: 0.9, weightDecay: 0, nesterov: true), steps: 2) - 0.539) < 1e-6)
        // Weight decay 0.1: d = 1.1, p = 0.89.
        #expect(abs(run(SGD(slots: 1, momentum: 0.9, weightDecay: 0.1), steps: 1) - 0.89) < 1e-6)
        // No momentum: plain gradient descent, no buffer kept.
        #expect(abs(run(SGD(slots: 1, momentum: 0, weightDecay: 0), steps: 3) - 0.7) < 1e-6)
    }

    /// 200 steps of random gradients with momentum, Nesterov and weight decay: every
    /// pruned weight and its momentum entry stay exactly +0 (they start non-zero,
    /// so the first step must prune them), and the kept weights do move.
    @Test func maskedMomentumAndDecayKeepPrunedWeightsZero() throws {
        var rng = SeededRNG(seed: 61)
        let k = 37, n = 21
        let faults = try FaultMap.uniform(rows: 8, cols: 8, rate: 0.2, seed: 62)
        let mask = PruneMask(faults: faults, k: k, n: n)
        #expect(mask.pruned.count == faults.prunedWeights(k: k, n: n) && !mask.isEmpty)
        #expect(mask == PruneMask(dense: faults.weightMask(k: k, n: n)))
        var p = S.gaussian(k * n, rng: &rng)
        let start = p
        var sgd = SGD(slots: 1, momentum: 0.9, weightDecay: 5e-4, nesterov: true)
        for _ in 0..<200 {
            var g = S.gaussian(k * n, rng: &rng)
            sgd.step(slot: 0, parameter: &p, gradient: &g, lr: 0.1, mask: mask)
            #expect(mask.pruned.allSatisfy { p[$0].bitPattern == 0 && g[$0].bitPattern == 0 && sgd.buffers[0][$0].bitPattern == 0 })
        }
        let prunedSet = Set(mask.pruned)
        #expect(p.indices.filter { !prunedSet.contains($0) }.allSatisfy { p[$0] != start[$0] })
    }

    /// An empty mask (fault-free map) gives the same bits as no mask, step after step.
    @Test func emptyMaskIsBitIdenticalToNoMask() {
        var rng = SeededRNG(seed: 63)
        let k = 30, n = 17
        let mask = PruneMask(faults: .none(rows: 4, cols: 4), k: k, n: n)
        #expect(mask.isEmpty)
        var a = S.gaussian(k * n, rng: &rng), b = a
        var sa = SGD(slots: 1, momentum: 0.9, weightDecay: 5e-4, nesterov: true), sb = sa
        for _ in 0..<50 {
            let g = S.gaussian(k * n, rng: &rng)
            var ga = g, gb = g
            sa.step(slot: 0, parameter: &a, gradient: &ga, lr: 0.05)
            sb.step(slot: 0, parameter: &b, gradient: &gb, lr: 0.05, mask: mask)
        }
        #expect(S.bitsEqual(a, b) && S.bitsEqual(sa.buffers[0], sb.buffers[0]))
    }

    /// With a real mask, the kept weights follow the unmasked arithmetic bit for bit.
    @Test func keptWeightsMatchUnmaskedArithmetic() throws {
        var rng = SeededRNG(seed: 64)
        let k = 20, n = 9
        let mask = PruneMask(faults: try FaultMap.uniform(rows: 4, cols: 4, rate: 0.25, seed: 65), k: k, n: n)
        var a = S.gaussian(k * n, rng: &rng)
        mask.zero(&a)
        var b = a
        var sa = SGD(slots: 1, momentum: 0.9, weightDecay: 5e-4), sb = sa
        for _ in 0..<20 {
            var g = S.gaussian(k * n, rng: &rng)
            var gm = g
            mask.zero(&gm)
            sa.step(slot: 0, parameter: &a, gradient: &gm, lr: 0.05, mask: mask)
            sb.step(slot: 0, parameter: &b, gradient: &g, lr: 0.05)
        }
        let pruned = Set(mask.pruned)
        #expect(a.indices.filter { !pruned.contains($0) }.allSatisfy { a[$0].bitPattern == b[$0].bitPattern })
        #expect(mask.pruned.contains { b[$0] != 0 })   // without the mask they would have leaked
    }
}
