import Foundation
import Testing
@testable import Network

@Suite struct TrainingScheduleTests {
    /// PyTorch OneCycleLR defaults: starts at max/25, peaks at max after 30% of
    /// the steps (step 0.3 * total - 1), ends at max / (25 * 1e4) on the last step.
    @Test func oneCycleShape() {
        let s = LRSchedule.oneCycle(maxLR: 0.1)
        let total = 1000
        let lr = (0..<total).map { s.rate(step: $0, totalSteps: total) }
        #expect(abs(lr[0] - 0.1 / 25) < 1e-15)
        #expect(abs(lr[299] - 0.1) < 1e-15)
        #expect(lr.max() == lr[299])
        #expect(abs(lr[999] - 0.1 / 25 / 1e4) < 1e-15)
        #expect((1..<300).allSatisfy { lr[$0] > lr[$0 - 1] })
        #expect((300..<1000).allSatisfy { lr[$0] < lr[$0 - 1] })
        // Half-way through the annealing phase the rate is the mean of max and min.
        let mid = s.rate(step: 299 + 350, totalSteps: total)
        #expect(abs(mid - (0.1 + 0.1 / 25 / 1e4) / 2) < 1e-12)
    }

    @Test func cosineShape() {
        let s = LRSchedule.cosine(baseLR: 0.1, minLR: 0.001)
        #expect(s.rate(step: 0, totalSteps: 100) == 0.1)
        #expect(abs(s.rate(step: 50, totalSteps: 100) - 0.0505) < 1e-12)
        #expect(abs(s.rate(step: 100, totalSteps: 100) - 0.001) < 1e-12)
        #expect((1...100).allSatisfy { s.rate(step: $0, totalSteps: 100) < s.rate(step: $0 - 1, totalSteps: 100) })
    }

    @Test func stepShape() {
        let s = LRSchedule.step(baseLR: 0.1)
        #expect(s.rate(step: 0, totalSteps: 100) == 0.1)
        #expect(s.rate(step: 49, totalSteps: 100) == 0.1)
        #expect(abs(s.rate(step: 50, totalSteps: 100) - 0.01) < 1e-15)
        #expect(abs(s.rate(step: 74, totalSteps: 100) - 0.01) < 1e-15)
        #expect(abs(s.rate(step: 75, totalSteps: 100) - 0.001) < 1e-15)
    }
}
