import Foundation
import FapsimSupport

/// How a rate's repeats become one number of epochs.
public enum BudgetPolicy: String, CaseIterable, Sendable {
    /// The most epochs any repeat needed: every measured fault map would have made it.
    case max
    /// The mean over repeats, rounded up: cheaper, meets the target on average.
    case mean
    /// The least amount whose predicted probability of meeting the target is
    /// at least `BudgetRule.confidence`, from a model of all maps, rates and
    /// amounts together (`ConfidenceModel`, docs/reduce.md).
    case confidence

    /// The paper's rules, which read a per-rate number of epochs off the
    /// repeats (`Budgeter.epochsPerRate`).
    public static let perRate: [BudgetPolicy] = [.max, .mean]
}

/// What places a chip (and a measured rate) on the budget's axis
/// (docs/rate-metric.md).
public enum RateMetric: String, CaseIterable, Sendable {
    /// Share of faulty PEs (the paper's metric; a measured rate is its nominal
    /// rate, compared in whole PEs).
    case pe
    /// MAC-weighted share of the network's weights the map prunes
    /// (`PrunedShare.macWeighted`); a measured rate's coordinate is the mean
    /// over its repeats of their maps' shares (`ResilienceTable.weightShare`).
    case weights
}

/// Step 2's settings: the accuracy target, the policy, whether to
/// interpolate between measured rates instead of taking the next one up, and
/// the rate metric that places chips between measured rates.
public struct BudgetRule: Equatable, Sendable {
    public var target: Double
    public var policy: BudgetPolicy
    public var interpolate: Bool
    public var metric: RateMetric
    /// Under `confidence`: the probability a budgeted chip must have of
    /// meeting the target; nil under the other policies.
    public var confidence: Double?
    /// Under `confidence`: the images the chip's final accuracy is judged on
    /// (the campaign judges on the test set: 10,000 images unless subset).
    public var judgedImages: Int

    public init(target: Double, policy: BudgetPolicy, interpolate: Bool = false, metric: RateMetric = .pe,
                confidence: Double? = nil, judgedImages: Int = 10_000) {
        self.target = target
        self.policy = policy
        self.interpolate = interpolate
        self.metric = metric
        self.confidence = confidence
        self.judgedImages = judgedImages
    }
}

/// One chip's budget.
public struct ChipBudget: Equatable, Sendable {
    public var chip: Int
    /// The chip's fault rate in the resilience table's metric (share of faulty PEs).
    public var faultRate: Double
    /// FAT epochs to give the chip, from a table measured by epochs; nil when
    /// the measurement cannot give one (`unreached`) or the budget is an
    /// amount of images (a table measured at an image schedule).
    public var epochs: Int?
    /// The budget in training images: one of the table's scheduled amounts,
    /// or `epochs` x the training subset (nil when unreached, or for an
    /// epoch table that does not record its training subset).
    public var images: Int? = nil
    /// Optimizer steps of an image budget (whole batches, `TrainingAmounts`);
    /// nil for an epoch budget.
    public var steps: Int? = nil
    /// The chip's rate is above the highest measured rate: its budget is the
    /// highest rate's, which is not guaranteed to be enough.
    public var aboveRange: Bool
    /// The measured rate(s) the budget comes from did not reach the target in
    /// every repeat, so the policy gives no number of epochs.
    public var unreached: Bool
    /// Measured rates the budget was read from (equal unless interpolated).
    public var rateLow: Double
    public var rateHigh: Double
    /// The chip's MAC-weighted pruned share, its coordinate under the
    /// `weights` rate metric; nil under `pe`.
    public var weightShare: Double? = nil
    /// Under the `confidence` policy: the predicted probability that the chip
    /// meets the target at its budget (when unreached, the best over the
    /// measured amounts), and its predicted mean accuracy there.
    public var probability: Double? = nil
    public var predictedAccuracy: Double? = nil

    public var flags: [String] { (aboveRange ? ["above_range"] : []) + (unreached ? ["unreached"] : []) }
    /// The chip got a number (epochs or images).
    public var budgeted: Bool { epochs != nil || images != nil }
    public var flagged: Bool { aboveRange || unreached }
}

public enum Budgeter {
    /// The amount per measured rate under `policy` for target `t`, in the
    /// table's unit (epochs, or images of its schedule; nil = unreached).
    /// `mean` rounds the mean up to the next scheduled amount, so every budget
    /// is a point the curves were measured at.
    public static func epochsPerRate(_ table: ResilienceTable, target t: Double, policy: BudgetPolicy) -> [Int?] {
        table.needed(target: t).map { s in
            switch policy {
            case .max: return s.max
            case .mean: return s.mean.map { roundUp($0, to: table.schedule) }
            case .confidence: preconditionFailure("the confidence policy has no per-rate epochs; use Budgeter.plan")
            }
        }
    }

    /// The least scheduled amount >= x, with a slack far below one step of
    /// any schedule so that a whole number that floating point carried as
    /// 2.0000000000000004 stays 2. On the epoch schedule 0...E this is
    /// rounding up. (x never exceeds the schedule's last amount: it is a mean
    /// or a blend of scheduled amounts.)
    static func roundUp(_ x: Double, to schedule: [Int]) -> Int {
        let slack = 1e-9 * max(1, abs(x))
        return schedule.first { Double($0) >= x - slack } ?? schedule.last!
    }

    /// Rounds up with the same slack (epochs, whole numbers).
    static func roundUp(_ x: Double) -> Int { Int((x - 1e-9).rounded(.up)) }

    /// A budget placed in the table's unit (`epochs` holding that unit's
    /// value, as `place` and `planConfidence` produce it) stated in epochs,
    /// images and steps: an image table's budget is images and steps of its
    /// schedule (no whole epochs); an epoch table's is epochs, and images when
    /// the table records its training subset.
    static func stated(_ b: ChipBudget, in table: ResilienceTable) -> ChipBudget {
        var b = b
        if let a = table.amounts {
            b.images = b.epochs
            b.steps = b.epochs.flatMap { v in a.images.firstIndex(of: v).map { a.steps[$0] } }
            b.epochs = nil
        } else if table.provenance.trainSubset > 0 {
            b.images = b.epochs.map { $0 * table.provenance.trainSubset }
        }
        return b
    }

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
    /// rate's budget, not the next one up. This is the `pe` rate metric;
    /// `rule.metric` is not consulted (see `plan(_:faultyPEs:weightShares:rule:source:)`).
    public static func plan(_ table: ResilienceTable, faultyPEs: [Int], rule: BudgetRule, source: String = "resilience table") throws -> [ChipBudget] {
        try table.validate(source: source)
        let target = try resolveTarget(rule.target, in: table, source: source)
        let pes = table.provenance.rows * table.provenance.cols
        let measuredPEs = table.rates.map { Int(($0 * Double(pes)).rounded()) }
        for (chip, n) in faultyPEs.enumerated() where !(n >= 0 && n <= pes) {
            throw FapsimError("chip \(chip): expected 0...\(pes) faulty PEs, got \(n)")
        }
        if rule.policy == .confidence {
            return try planConfidence(table, measured: measuredPEs.map(Double.init), chipCoordinates: faultyPEs.map(Double.init),
                                      rule: rule, source: source).map { b in
                var b = b
                b.faultRate = Double(faultyPEs[b.chip]) / Double(pes)
                return stated(b, in: table)
            }
        }
        let perRate = epochsPerRate(table, target: target, policy: rule.policy)
        return faultyPEs.enumerated().map { chip, n in
            // Whole PEs as doubles: differences of integers below 2^53 are exact,
            // so the placement is the integer comparison it always was.
            var b = place(Double(n), measured: measuredPEs.map(Double.init), perRate: perRate, rates: table.rates,
                          interpolate: rule.interpolate, tolerance: 0, schedule: table.schedule)
            b.chip = chip
            b.faultRate = Double(n) / Double(pes)
            return stated(b, in: table)
        }
    }

    /// Budgets every chip under the `weights` rate metric: chip i sits at
    /// `weightShares[i]` (its map's `PrunedShare.macWeighted`), measured rate r
    /// at the mean weight share of its repeats; then the same conservative /
    /// interpolate rules as under `pe`. Shares within 1e-12 count as an exact
    /// hit. `faultyPEs` only fills in each chip's `faultRate` (share of faulty PEs).
    public static func plan(_ table: ResilienceTable, faultyPEs: [Int], weightShares: [Double], rule: BudgetRule,
                            source: String = "resilience table") throws -> [ChipBudget] {
        try table.validate(source: source)
        let measured = try measuredWeightShares(table, source: source)
        let target = try resolveTarget(rule.target, in: table, source: source)
        let pes = table.provenance.rows * table.provenance.cols
        guard faultyPEs.count == weightShares.count else {
            throw FapsimError("weights rate metric: \(faultyPEs.count) faulty-PE counts but \(weightShares.count) weight shares")
        }
        for (chip, x) in weightShares.enumerated() {
            let n = faultyPEs[chip]
            guard n >= 0, n <= pes else { throw FapsimError("chip \(chip): expected 0...\(pes) faulty PEs, got \(n)") }
            guard x >= 0, x <= 1 else { throw FapsimError("chip \(chip): expected a weight share in [0, 1], got \(x)") }
        }
        if rule.policy == .confidence {
            return try planConfidence(table, measured: measured, chipCoordinates: weightShares, rule: rule, source: source).map { b in
                var b = b
                b.faultRate = Double(faultyPEs[b.chip]) / Double(pes)
                b.weightShare = weightShares[b.chip]
                return stated(b, in: table)
            }
        }
        let perRate = epochsPerRate(table, target: target, policy: rule.policy)
        return weightShares.enumerated().map { chip, x in
            let n = faultyPEs[chip]
            var b = place(x, measured: measured, perRate: perRate, rates: table.rates,
                          interpolate: rule.interpolate, tolerance: weightShareTolerance, schedule: table.schedule)
            b.chip = chip
            b.faultRate = Double(n) / Double(pes)
            b.weightShare = x
            return stated(b, in: table)
        }
    }

    /// Two weight shares this close are the same point (an exact hit).
    public static let weightShareTolerance = 1e-12

    /// Each measured rate's coordinate under the `weights` metric: the mean
    /// share of its repeats. Refuses a table without weight shares, and
    /// coordinates that do not increase with the rate (the conservative rule
    /// "next measured point up" would otherwise skip a rate).
    public static func measuredWeightShares(_ table: ResilienceTable, source: String) throws -> [Double] {
        guard let m = table.meanWeightShare else {
            throw FapsimError("\(source): no weight shares (table maps): --rate-metric weights needs a resilience file that records each fault map's weight share; use --rate-metric pe or redo Step 1")
        }
        for i in 1..<max(m.count, 1) where !(m[i] > m[i - 1]) {
            throw FapsimError("\(source): mean weight shares do not increase with the rate: rate \(table.rates[i - 1]) -> \(m[i - 1]), rate \(table.rates[i]) -> \(m[i]); the weights metric needs measured rates further apart")
        }
        return m
    }

    /// The budget of a chip at coordinate `x` given the measured coordinates
    /// (increasing) and their amounts in the table's unit (`schedule`: an
    /// interpolated amount is rounded up onto it); chip and fault rate are
    /// filled in by the caller, which states the amount (`stated`).
    static func place(_ x: Double, measured: [Double], perRate: [Int?], rates: [Double], interpolate: Bool,
                      tolerance: Double, schedule: [Int]) -> ChipBudget {
        func budget(_ e: Int?, above: Bool = false, unreached: Bool? = nil, _ lo: Int, _ hi: Int) -> ChipBudget {
            ChipBudget(chip: 0, faultRate: 0, epochs: e, aboveRange: above, unreached: unreached ?? (e == nil),
                       rateLow: rates[lo], rateHigh: rates[hi])
        }
        // First measured point at or above the chip's; nil = above the range.
        guard let hi = measured.firstIndex(where: { $0 >= x - tolerance }) else {
            let top = rates.count - 1
            return budget(perRate[top], above: true, top, top)
        }
        // Exact hits and chips below the lowest point use one measured rate:
        // below the range nothing is extrapolated (the lowest rate is an
        // upper bound, hence conservative).
        guard interpolate, abs(measured[hi] - x) > tolerance, hi > 0 else {
            return budget(perRate[hi], hi, hi)
        }
        let lo = hi - 1
        guard let eLo = perRate[lo], let eHi = perRate[hi] else {
            // One end has no number: a straight line between them is undefined.
            return budget(nil, unreached: true, lo, hi)
        }
        let w = (x - measured[lo]) / (measured[hi] - measured[lo])
        return budget(roundUp(Double(eLo) + w * Double(eHi - eLo), to: schedule), lo, hi)
    }
}
