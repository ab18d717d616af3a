import Foundation
import Testing
import FapsimSupport
@testable import Reduce

/// Budgets on the fixture (10 x 10 array, rates 0.1 ... 0.4 = 10 ... 40 faulty PEs).
/// Target 0.8, per measured rate: max = [1, 3, -, -], ceil(mean) = [1, 2, -, -].
struct BudgetPolicyTests {
    func plan(_ pes: [Int], _ policy: BudgetPolicy, interpolate: Bool = false, target: Double = 0.8) throws -> [ChipBudget] {
        try Budgeter.plan(ResilienceFixture.table(), faultyPEs: pes, rule: BudgetRule(target: target, policy: policy, interpolate: interpolate))
    }

    @Test func perRateEpochsUnderEachPolicy() throws {
        let t = try ResilienceFixture.table()
        #expect(Budgeter.epochsPerRate(t, target: 0.8, policy: .max) == [1, 3, nil, nil])
        #expect(Budgeter.epochsPerRate(t, target: 0.8, policy: .mean) == [1, 2, nil, nil])
    }

    @Test func roundingUp() {
        #expect(Budgeter.roundUp(2.0 / 3) == 1)
        #expect(Budgeter.roundUp(1.5) == 2)
        #expect(Budgeter.roundUp(2) == 2)
        #expect(Budgeter.roundUp(0.1 * 3 / 0.1) == 3)  // 3.0000000000000004 stays 3
        #expect(Budgeter.roundUp(0) == 0)
    }

    @Test func conservativeTakesTheNextMeasuredRateUp() throws {
        // 10 = exactly rate 0.1; 5 and 0 below the lowest rate; 12 and 15 between 0.1 and 0.2; 20 = exactly 0.2.
        let pes = [10, 5, 0, 12, 15, 20]
        let maxPlan = try plan(pes, .max), meanPlan = try plan(pes, .mean)
        #expect(maxPlan.map(\.epochs) == [1, 1, 1, 3, 3, 3])
        #expect(meanPlan.map(\.epochs) == [1, 1, 1, 2, 2, 2])
        #expect(maxPlan.map(\.rateHigh) == [0.1, 0.1, 0.1, 0.2, 0.2, 0.2])
        #expect(maxPlan.allSatisfy { !$0.flagged && $0.rateLow == $0.rateHigh })
        #expect(maxPlan.map(\.faultRate) == [0.1, 0.05, 0, 0.12, 0.15, 0.2])
    }

    @Test func interpolationBetweenBracketingRates() throws {
        let pes = [10, 5, 12, 15, 20]
        // max: 1 + w (3 - 1) with w = 0.2, 0.5; rounded up. Exact hits and chips below the range are not interpolated.
        let maxPlan = try plan(pes, .max, interpolate: true)
        #expect(maxPlan.map(\.epochs) == [1, 1, 2, 2, 3])
        #expect(maxPlan[2].rateLow == 0.1 && maxPlan[2].rateHigh == 0.2)
        // mean: 1 + w (2 - 1) = 1.2, 1.5 -> 2.
        #expect(try plan(pes, .mean, interpolate: true).map(\.epochs) == [1, 1, 2, 2, 2])
    }

    @Test func partlyUnreachedRateIsFlaggedUnderBothPolicies() throws {
        // 30 PEs = rate 0.3, whose repeats reach 0.8 at 2, 4 and never: min exists, max and mean do not.
        for policy in BudgetPolicy.perRate {
            for interpolate in [false, true] {
                let c = try plan([30, 25], policy, interpolate: interpolate)
                #expect(c.allSatisfy { $0.epochs == nil && $0.unreached && !$0.aboveRange && $0.flags == ["unreached"] })
            }
        }
    }

    @Test func aboveTheHighestMeasuredRate() throws {
        // Highest rate (0.4) never reached: above_range and unreached.
        let c = try plan([41, 100], .max)
        #expect(c.allSatisfy { $0.aboveRange && $0.unreached && $0.epochs == nil && $0.rateHigh == 0.4 })
        #expect(c[0].flags == ["above_range", "unreached"])
        // A table whose highest rate did reach: the budget is that rate's, still flagged.
        var t = try ResilienceFixture.table()
        t.rates = [0.1, 0.2]
        t.accuracy = Array(t.accuracy.prefix(2))
        for interpolate in [false, true] {
            let b = try Budgeter.plan(t, faultyPEs: [35, 20], rule: BudgetRule(target: 0.8, policy: .max, interpolate: interpolate))
            #expect(b[0].epochs == 3 && b[0].aboveRange && !b[0].unreached && b[0].flags == ["above_range"])
            #expect(b[1].epochs == 3 && !b[1].flagged)
        }
    }

    @Test func targetMustBeOneOfTheFilesTargets() throws {
        let message = errorMessage { _ = try plan([10], .max, target: 0.75) }
        #expect(message?.contains("--target 0.75") == true)
        #expect(message?.contains("0.8, 0.9") == true)
        // A target given with a printing round trip still matches.
        #expect(try plan([10], .max, target: 0.8000000000001)[0].epochs == 1)
    }

    @Test func emptyRateListIsRejected() throws {
        var t = try ResilienceFixture.table()
        t.rates = []
        t.accuracy = []
        let message = errorMessage { _ = try Budgeter.plan(t, faultyPEs: [1], rule: BudgetRule(target: 0.8, policy: .max)) }
        #expect(message?.contains("rates: expected at least one fault rate") == true)
    }

    @Test func faultyPECountOutsideTheArrayIsRejected() {
        #expect(errorMessage { _ = try plan([101], .max) }?.contains("0...100") == true)
    }
}
