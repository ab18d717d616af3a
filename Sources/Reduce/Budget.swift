import Foundation
import FapsimSupport

/// How a rate's repeats become one number of epochs.
public enum BudgetPolicy: String, CaseIterable, Sendable {
    /// The most epochs any repeat needed: every measured fault map would have made it.
    case max
    /// The mean over repeats, rounded up: cheaper, meets the target on average.
    case mean
}

/// Step 2's settings: the accuracy target, the policy, and whether to
/// interpolate between measured rates instead of taking the next one up.
public struct BudgetRule: Equatable, Sendable {
    public var target: Double
    public var policy: BudgetPolicy
    public var interpolate: Bool

    public init(target: Double, policy: BudgetPolicy, interpolate: Bool = false) {
        self.target = target
        self.policy = policy
        self.interpolate = interpolate
    }
}

/// One chip's budget.
public struct ChipBudget: Equatable, Sendable {
    public var chip: Int
    /// The chip's fault rate in the resilience table's metric (share of faulty PEs).
    public var faultRate: Double
    /// FAT epochs to give the chip; nil when the measurement cannot give one
    /// (`unreached`).
    public var epochs: Int?
    /// The chip's rate is above the highest measured rate: its budget is the
    /// highest rate's, which is not guaranteed to be enough.
    public var aboveRange: Bool
    /// The measured rate(s) the budget comes from did not reach the target in
    /// every repeat, so the policy gives no number of epochs.
    public var unreached: Bool
    /// Measured rates the budget was read from (equal unless interpolated).
    public var rateLow: Double
    public var rateHigh: Double

    public var flags: [String] { (aboveRange ? ["above_range"] : []) + (unreached ? ["unreached"] : []) }
    public var flagged: Bool { aboveRange || unreached }
}

public enum Budgeter {
    /// Epochs per measured rate under `policy` for target `t` (nil = unreached).
    public static func epochsPerRate(_ table: ResilienceTable, target t: Double, policy: BudgetPolicy) -> [Int?] {
        table.epochsNeeded(target: t).map { s in
            switch policy {
            case .max: return s.max
            case .mean: return s.mean.map(roundUp)
            }
        }
    }

    /// Rounds up, with a slack far below one epoch so that a whole number that
    /// floating point carried as 2.0000000000000004 stays 2.
    static func roundUp(_ x: Double) -> Int { Int((x - 1e-9).rounded(.up)) }

    /// The file's target matching `t`, or an error listing the targets it has.
    public static func resolveTarget(_ t: Double, in table: ResilienceTable, source: String) throws -> Double {
        guard let i = table.targetIndex(t) else {
            let list = table.targets.map { "\($0)" }.joined(separator: ", ")
            throw FapsimError("--target \(t): \(source) has epochs needed only for targets \(list); rerun Step 1 with this target or pick one of them")
        }
        return table.targets[i]
    }

    /// Budgets every chip. `faultyPEs[i]` is chip i's number of faulty PEs on
    /// the table's R x C array; rates are compared in whole PEs, because the
    /// resilience step's maps also have round(rate x R x C) faulty PEs, and a
    /// chip with exactly as many faulty PEs as a measured rate must get that
    /// rate's budget, not the next one up.
    public static func plan(_ table: ResilienceTable, faultyPEs: [Int], rule: BudgetRule, source: String = "resilience table") throws -> [ChipBudget] {
        try table.validate(source: source)
        let target = try resolveTarget(rule.target, in: table, source: source)
        let perRate = epochsPerRate(table, target: target, policy: rule.policy)
        let pes = table.provenance.rows * table.provenance.cols
        let measuredPEs = table.rates.map { Int(($0 * Double(pes)).rounded()) }
        return try faultyPEs.enumerated().map { chip, n in
            guard n >= 0, n <= pes else {
                throw FapsimError("chip \(chip): expected 0...\(pes) faulty PEs, got \(n)")
            }
            let rate = Double(n) / Double(pes)
            // First measured rate at or above the chip's; nil = above the range.
            guard let hi = measuredPEs.firstIndex(where: { $0 >= n }) else {
                let top = table.rates.count - 1
                return ChipBudget(chip: chip, faultRate: rate, epochs: perRate[top], aboveRange: true,
                                  unreached: perRate[top] == nil, rateLow: table.rates[top], rateHigh: table.rates[top])
            }
            // Exact hits and chips below the lowest rate use one measured rate:
            // below the range nothing is extrapolated (the lowest rate is an
            // upper bound, hence conservative).
            guard rule.interpolate, measuredPEs[hi] != n, hi > 0 else {
                return ChipBudget(chip: chip, faultRate: rate, epochs: perRate[hi], aboveRange: false,
                                  unreached: perRate[hi] == nil, rateLow: table.rates[hi], rateHigh: table.rates[hi])
            }
            let lo = hi - 1
            guard let eLo = perRate[lo], let eHi = perRate[hi] else {
                // One end has no number: a straight line between them is undefined.
                return ChipBudget(chip: chip, faultRate: rate, epochs: nil, aboveRange: false, unreached: true,
                                  rateLow: table.rates[lo], rateHigh: table.rates[hi])
            }
            let w = Double(n - measuredPEs[lo]) / Double(measuredPEs[hi] - measuredPEs[lo])
            return ChipBudget(chip: chip, faultRate: rate, epochs: roundUp(Double(eLo) + w * Double(eHi - eLo)),
                              aboveRange: false, unreached: false, rateLow: table.rates[lo], rateHigh: table.rates[hi])
        }
    }
}
