import Foundation
import FapsimStore
import FapsimSupport
import Network
import SystolicArray

/// Which rate metric predicts the epochs a chip really needed better
/// (docs/rate-metric.md; docs/rate-metric.md): for every chip with a real FAT
/// curve, the budget each metric gives (`Budgeter.plan`, same target, policy
/// and interpolation) against the first epoch the curve reached the target.
public struct MetricComparison: Equatable, Sendable {
    /// One chip: its coordinates under both metrics, what it really needed,
    /// and what each metric budgeted.
    public struct Chip: Equatable, Sendable {
        public var chip: Int
        /// Faulty PEs / (rows x cols).
        public var peRate: Double
        /// `PrunedShare.macWeighted` of its map.
        public var weightShare: Double
        /// Epochs of its real FAT curve (the curve has epochs + 1 points).
        public var curveEpochs: Int
        /// First epoch whose accuracy reached the target; nil = unreached
        /// within `curveEpochs`.
        public var needed: Int?
        /// Budget under `pe`, nil = the policy gave no number (unreached).
        public var peBudget: Int?
        /// Budget under `weights`.
        public var weightsBudget: Int?

        public func value(_ m: RateMetric) -> Double { m == .pe ? peRate : weightShare }
        public func budget(_ m: RateMetric) -> Int? { m == .pe ? peBudget : weightsBudget }
    }

    /// How well one metric did over the compared chips.
    public struct Summary: Equatable, Sendable {
        public var metric: RateMetric
        /// Chips whose budget and need are both numbers (MAE and waste rest on them).
        public var scored: Int
        /// Mean |budget - needed| over `scored` chips; nil when none.
        public var meanAbsoluteError: Double?
        /// Chips that both metrics budget and that reached the target: the
        /// common set on which the two metrics' errors compare like with like.
        public var pairedScored: Int
        /// Mean |budget - needed| over the `pairedScored` chips; nil when none.
        public var pairedMeanAbsoluteError: Double?
        /// Chips given fewer epochs than they needed: budget < needed, or a
        /// budget within the curve's epochs for a chip that never reached the
        /// target. They miss the constraint.
        public var underBudgeted: Int
        /// Epochs given beyond need, summed over scored chips with budget > needed.
        public var wastedEpochs: Int
        /// Chips with budget > needed.
        public var overBudgeted: Int
        /// Chips the metric gave no budget (its measured rate(s) unreached).
        public var noBudget: Int
        /// Spearman rank correlation between the metric's value and the epochs
        /// needed (unreached chips ranked above every reached one, tied); nil
        /// when either side is constant or fewer than 2 chips.
        public var spearman: Double?
    }

    /// A measured rate of the resilience table: its coordinate under each
    /// metric and the epochs the policy gives it (nil = unreached).
    public struct MeasuredRate: Equatable, Sendable {
        public var rate: Double
        public var weightShare: Double
        public var epochs: Int?
    }

    public var target: Double
    public var rule: BudgetRule
    public var chips: [Chip]
    public var summaries: [Summary]
    public var measured: [MeasuredRate]

    /// Compares both metrics. `faultMaps` is the lot (chip i = faultMaps[i]);
    /// `curves[i]` is chip i's accuracy after 0...E_i FAT epochs; chips without
    /// a curve are left out. `rule.metric` is ignored (both are computed).
    /// The table must carry weight shares (`ResilienceTable.weightShare`).
    public static func compare(table: ResilienceTable, faultMaps: [FaultMap], spec: VGG11Spec, rule: BudgetRule,
                               curves: [Int: [Double]], source: String = "resilience table") throws -> MetricComparison {
        let p = table.provenance
        let ids = curves.keys.sorted()
        guard !ids.isEmpty else { throw FapsimError("metric comparison: no chip has an accuracy curve") }
        for i in ids {
            guard faultMaps.indices.contains(i) else {
                throw FapsimError("metric comparison: curve for chip \(i), but the lot has \(faultMaps.count) chips")
            }
            guard faultMaps[i].rows == p.rows, faultMaps[i].cols == p.cols else {
                throw FapsimError("metric comparison: chip \(i) is a \(faultMaps[i].rows) x \(faultMaps[i].cols) map, \(source) was measured on \(p.rows) x \(p.cols)")
            }
            guard let c = curves[i], !c.isEmpty, c.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
                throw FapsimError("metric comparison: chip \(i): expected a curve of accuracies in [0, 1] (epoch 0 first)")
            }
        }
        let maps = ids.map { faultMaps[$0] }
        let faulty = maps.map(\.faultyCount)
        let shares = maps.map { PrunedShare.macWeighted($0, spec: spec) }
        var peRule = rule, wRule = rule
        peRule.metric = .pe
        wRule.metric = .weights
        let pe = try Budgeter.plan(table, faultyPEs: faulty, rule: peRule, source: source)
        let w = try Budgeter.plan(table, faultyPEs: faulty, weightShares: shares, rule: wRule, source: source)
        let target = try Budgeter.resolveTarget(rule.target, in: table, source: source)
        let chips = ids.enumerated().map { j, i in
            let curve = curves[i]!
            return Chip(chip: i, peRate: pe[j].faultRate, weightShare: shares[j], curveEpochs: curve.count - 1,
                        needed: ResilienceTable.epochsNeeded(curve: curve, target: target),
                        peBudget: pe[j].epochs, weightsBudget: w[j].epochs)
        }
        let perRate = Budgeter.epochsPerRate(table, target: target, policy: rule.policy)
        let means = try Budgeter.measuredWeightShares(table, source: source)
        let measured = table.rates.indices.map { MeasuredRate(rate: table.rates[$0], weightShare: means[$0], epochs: perRate[$0]) }
        return MetricComparison(target: target, rule: rule, chips: chips,
                                summaries: RateMetric.allCases.map { summarize(chips, $0) }, measured: measured)
    }

    /// The summary of one metric over `chips`.
    public static func summarize(_ chips: [Chip], _ m: RateMetric) -> Summary {
        var errors: [Int] = [], paired: [Int] = [], under = 0, over = 0, wasted = 0, none = 0
        for c in chips {
            if let b = c.budget(m), let n = c.needed, c.peBudget != nil, c.weightsBudget != nil { paired.append(abs(b - n)) }
            guard let b = c.budget(m) else { none += 1; continue }
            guard let n = c.needed else {
                if b <= c.curveEpochs { under += 1 }
                continue
            }
            errors.append(abs(b - n))
            if b < n { under += 1 }
            if b > n { over += 1; wasted += b - n }
        }
        // Unreached chips needed more than their curve's epochs: rank them
        // above every reached chip, tied among themselves.
        let top = Double((chips.map(\.curveEpochs).max() ?? 0) + 1)
        let needed = chips.map { $0.needed.map(Double.init) ?? top }
        return Summary(metric: m, scored: errors.count,
                       meanAbsoluteError: errors.isEmpty ? nil : Double(errors.reduce(0, +)) / Double(errors.count),
                       pairedScored: paired.count,
                       pairedMeanAbsoluteError: paired.isEmpty ? nil : Double(paired.reduce(0, +)) / Double(paired.count),
                       underBudgeted: under, wastedEpochs: wasted, overBudgeted: over, noBudget: none,
                       spearman: spearman(chips.map { $0.value(m) }, needed))
    }

    public func summary(_ m: RateMetric) -> Summary { summaries.first { $0.metric == m }! }

    /// The metric that predicted better: fewer chips under-budgeted (they miss
    /// the constraint), then the smaller mean absolute error on the chips both
    /// metrics budget (`pairedMeanAbsoluteError`), then the higher rank
    /// correlation, then fewer wasted epochs; nil on a full tie. (Wasted
    /// epochs come last: they sum over the chips each metric budgets, which
    /// differ when one metric leaves more chips unreached.)
    public var better: RateMetric? {
        let (a, b) = (summary(.pe), summary(.weights))
        func key(_ s: Summary) -> [Double] {
            [Double(s.underBudgeted), s.pairedMeanAbsoluteError ?? .infinity, -(s.spearman ?? -2), Double(s.wastedEpochs)]
        }
        let (ka, kb) = (key(a), key(b))
        for (x, y) in zip(ka, kb) where abs(x - y) > 1e-12 { return x < y ? .pe : .weights }
        return nil
    }

    /// Spearman's rho: Pearson correlation of the average ranks (ties share
    /// their mean rank). nil for fewer than 2 points or a constant side.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double? {
        guard x.count == y.count, x.count >= 2 else { return nil }
        let (rx, ry) = (ranks(x), ranks(y))
        let n = Double(x.count)
        let mx = rx.reduce(0, +) / n, my = ry.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for i in rx.indices {
            let (dx, dy) = (rx[i] - mx, ry[i] - my)
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy
        }
        guard sxx > 0, syy > 0 else { return nil }
        return sxy / (sxx * syy).squareRoot()
    }

    /// 1-based ranks, ties given the mean of the ranks they span.
    static func ranks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var r = [Double](repeating: 0, count: v.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
            let mean = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = mean }
            i = j + 1
        }
        return r
    }
}

// MARK: files

extension MetricComparison {
    /// Per chip, its longest FAT curve from a campaign file's `curves` table
    /// (columns chip, run_epochs, epoch, accuracy; one curve per (chip,
    /// run_epochs)). Run `fapsim reduce` with `--fixed E` (E = the resilience
    /// file's epochs) so that every chip has a curve of E epochs whatever its
    /// budget. A file without curves is refused.
    public static func curves(campaign path: String) throws -> [Int: [Double]] {
        guard let curves = try CampaignResults.readCurves(path: path) else {
            throw FapsimError("\(path): no curves table: the metric comparison needs each chip's accuracy after every FAT epoch (a campaign file from fapsim reduce with curves)")
        }
        var out: [Int: (runEpochs: Int, accuracy: [Double])] = [:]
        for c in curves where c.runEpochs >= (out[c.chip]?.runEpochs ?? -1) { out[c.chip] = (c.runEpochs, c.accuracy) }
        return out.mapValues(\.accuracy)
    }

    /// The comparison from files: the resilience file (with weight shares),
    /// the lot and a campaign file with curves. The network width comes as in
    /// `fapsim budget --rate-metric weights` (`weights`, else the resilience
    /// file's network_width).
    public static func run(resilience: String, lot: String, campaign: String, rule: BudgetRule,
                           weights: String? = nil) throws -> MetricComparison {
        // A campaign's threshold below its baseline need not be one of Step 1's targets.
        let table = try ResilienceTable.read(path: resilience).tabulating(rule.target)
        _ = try Budgeter.measuredWeightShares(table, source: resilience)
        let spec = try VGG11Spec(width: try BudgetRun.networkWidth(table, resilience: resilience, weights: weights))
        let reader = try ChipLotReader(path: lot)
        let maps = try (0..<reader.info.chipCount).map { try reader.faultMap(chip: $0) }
        return try compare(table: table, faultMaps: maps, spec: spec, rule: rule, curves: try curves(campaign: campaign),
                           source: resilience)
    }
}
