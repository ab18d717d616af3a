import Foundation
import Testing
import FapsimStore
import FapsimSupport
import Network
import SystolicArray
@testable import Reduce

/// `MetricComparison`: budgets under both metrics against the epochs each
/// chip's real curve needed, and the report section and figure.
struct RateMetricComparisonTests {
    typealias Chip = MetricComparison.Chip

    /// Accuracy 0.5 until `needed`, then 0.85 (target 0.8), over `epochs` epochs.
    static func curve(needed: Int?, epochs: Int = 4) -> [Double] {
        (0...epochs).map { e in needed.map { e >= $0 } == true ? 0.85 : 0.5 }
    }

    /// 30 maps on the fixture's 10 x 10 array, 6 to 35 faulty PEs, some
    /// uniform and some packed into the first rows (so share and rate differ).
    static func maps() throws -> [FaultMap] {
        try (0..<30).map { i in
            let n = 6 + i
            if i % 2 == 0 { return try FaultMap.uniform(rows: 10, cols: 10, rate: Double(n) / 100, seed: UInt64(100 + i)) }
            var m = FaultMap.none(rows: 10, cols: 10)
            for p in 0..<n { m.setFaulty(p % 10, p / 10, true) }  // column-major from the top-left corner
            return m
        }
    }

    static let rule = BudgetRule(target: 0.8, policy: .max)

    /// Curves that need exactly what `perfect` budgets: that metric scores
    /// MAE 0 with nobody under-budgeted, and `better` names it.
    @Test(arguments: [RateMetric.pe, RateMetric.weights])
    func picksThePerfectMetric(perfect: RateMetric) throws {
        let table = try RateMetricBudgetTests.table()
        let maps = try Self.maps()
        let spec = try VGG11Spec(width: 0.125)
        var r = Self.rule
        r.metric = perfect
        let faulty = maps.map(\.faultyCount)
        let budgets = perfect == .pe
            ? try Budgeter.plan(table, faultyPEs: faulty, rule: r)
            : try Budgeter.plan(table, faultyPEs: faulty, weightShares: maps.map { PrunedShare.macWeighted($0, spec: spec) }, rule: r)
        let curves = Dictionary(uniqueKeysWithValues: budgets.map { ($0.chip, Self.curve(needed: $0.epochs)) })
        let c = try MetricComparison.compare(table: table, faultMaps: maps, spec: spec, rule: Self.rule, curves: curves)
        let other: RateMetric = perfect == .pe ? .weights : .pe
        try #require(c.chips.contains { $0.peBudget != $0.weightsBudget }, "the maps must split the metrics somewhere")
        let s = c.summary(perfect)
        #expect(s.meanAbsoluteError == 0 && s.underBudgeted == 0 && s.wastedEpochs == 0)
        let o = c.summary(other)
        #expect(o.underBudgeted > 0 || (o.meanAbsoluteError ?? 0) > 0)
        #expect(c.better == perfect)
        #expect(c.chips.map(\.chip) == Array(0..<30))
        #expect(c.measured.map(\.weightShare) == [0.125, 0.25, 0.375, 0.5])
        let md = MetricComparisonReport.section(c)
        #expect(md.contains("Better predictor on this lot: **\(perfect.rawValue)**"))
    }

    @Test func summaryCountsByHand() {
        let chips = [
            Chip(chip: 0, peRate: 0.1, weightShare: 0.1, curveEpochs: 4, needed: 2, peBudget: 3, weightsBudget: 2),
            Chip(chip: 1, peRate: 0.2, weightShare: 0.3, curveEpochs: 4, needed: 1, peBudget: 0, weightsBudget: 1),
            Chip(chip: 2, peRate: 0.3, weightShare: 0.2, curveEpochs: 4, needed: nil, peBudget: 4, weightsBudget: nil),
            Chip(chip: 3, peRate: 0.4, weightShare: 0.4, curveEpochs: 4, needed: 3, peBudget: nil, weightsBudget: 5),
        ]
        let pe = MetricComparison.summarize(chips, .pe), w = MetricComparison.summarize(chips, .weights)
        #expect(pe.scored == 2 && pe.meanAbsoluteError == 1 && pe.underBudgeted == 2 && pe.overBudgeted == 1)
        #expect(pe.wastedEpochs == 1 && pe.noBudget == 1)
        #expect(w.scored == 3 && abs(w.meanAbsoluteError! - 2.0 / 3) < 1e-12 && w.underBudgeted == 0)
        #expect(w.overBudgeted == 1 && w.wastedEpochs == 2 && w.noBudget == 1)
        // Both metrics budget and chips 0 and 1 reached: pe errs 1 + 1, weights 0 + 0.
        #expect(pe.pairedScored == 2 && pe.pairedMeanAbsoluteError == 1)
        #expect(w.pairedScored == 2 && w.pairedMeanAbsoluteError == 0)
        // needed 2, 1, 5 (unreached: above all), 3 ranks 2, 1, 4, 3 against 1, 2, 3, 4: rho = 1 - 6 x 4 / (4 x 15) = 0.6.
        #expect(abs(pe.spearman! - 0.6) < 1e-12)
    }

    @Test func spearman() {
        #expect(MetricComparison.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1)
        #expect(MetricComparison.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1)
        // Ties share their mean rank: x ranks 1, 2.5, 2.5, 4; rho = 4.5 / sqrt(4.5 x 5).
        #expect(abs(MetricComparison.spearman([1, 2, 2, 3], [1, 2, 3, 4])! - 4.5 / (4.5 * 5).squareRoot()) < 1e-12)
        #expect(MetricComparison.spearman([1, 1, 1], [1, 2, 3]) == nil)
        #expect(MetricComparison.spearman([1], [1]) == nil)
    }

    @Test func refusesBadInputs() throws {
        let table = try RateMetricBudgetTests.table()
        let maps = try Self.maps(), spec = try VGG11Spec(width: 0.125)
        #expect(errorMessage { _ = try MetricComparison.compare(table: table, faultMaps: maps, spec: spec, rule: Self.rule, curves: [:]) }?
            .contains("no chip") == true)
        #expect(errorMessage { _ = try MetricComparison.compare(table: table, faultMaps: maps, spec: spec, rule: Self.rule, curves: [30: [0.5]]) }?
            .contains("30 chips") == true)
        #expect(errorMessage { _ = try MetricComparison.compare(table: try ResilienceFixture.table(), faultMaps: maps, spec: spec, rule: Self.rule, curves: [0: [0.5]]) }?
            .contains("no weight shares") == true)
    }

    @Test func reportFigureAndSection() throws {
        let table = try RateMetricBudgetTests.table()
        let maps = try Self.maps(), spec = try VGG11Spec(width: 0.125)
        var curves: [Int: [Double]] = [:]
        for i in 0..<12 { curves[i] = Self.curve(needed: i % 3 == 2 ? nil : i % 3) }
        let c = try MetricComparison.compare(table: table, faultMaps: maps, spec: spec, rule: Self.rule, curves: curves)
        let files = MetricComparisonReport.render(c)
        #expect(files.map(\.name) == ["fig4-rate-metric.svg", "rate-metric.md"])
        let (ok, scan, error) = SVGScan.parse(files[0].text)
        #expect(ok, "\(error)")
        #expect(scan.series == ["pe: chips", "pe: budget (max)", "weights: chips", "weights: budget (max)"])
        #expect(scan.texts.contains("> 4"))
        let md = files[1].text
        #expect(md.contains("## Rate metric: faulty PEs vs pruned weights"))
        #expect(md.contains("| pe (faulty PEs) | "))
        #expect(md.contains("![Metric value vs epochs needed](fig4-rate-metric.svg)"))
        #expect(md.contains("| 2 | ") && md.contains("> 4"))
    }

    /// Curves come from a campaign file's `curves` table, the longest run per chip.
    @Test func curvesFromACampaignFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("campaign.h5")
        // chip 0: runs of 1 and 2 epochs; chip 3: one run of 1 epoch.
        let rows: [(Int64, Int64, Int64, Double)] = [(0, 1, 0, 0.5), (0, 1, 1, 0.6), (0, 2, 0, 0.5), (0, 2, 1, 0.7), (0, 2, 2, 0.8),
                                                    (3, 1, 0, 0.4), (3, 1, 1, 0.9)]
        let curves = ResultsTable(name: "curves", columns: [
            .int64("chip", units: "index", rows.map(\.0)), .int64("run_epochs", units: "epochs", rows.map(\.1)),
            .int64("epoch", units: "epochs", rows.map(\.2)), .double("accuracy", units: "1", rows.map(\.3)),
        ])
        try ResultsFile(content: "campaign", attributes: ["target": .double(0.8)], tables: [curves]).write(path: path, force: false)
        #expect(try MetricComparison.curves(campaign: path) == [0: [0.5, 0.7, 0.8], 3: [0.4, 0.9]])
        let none = dir.file("none.h5")
        try ResultsFile(content: "campaign", attributes: [:], tables: []).write(path: none, force: false)
        #expect(errorMessage { _ = try MetricComparison.curves(campaign: none) }?.contains("no curves table") == true)
    }
}
