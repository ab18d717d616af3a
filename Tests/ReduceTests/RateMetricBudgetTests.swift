import Foundation
import Testing
import FapsimStore
import FapsimSupport
import Network
import SystolicArray
@testable import Reduce

/// Budgets under `--rate-metric weights` follow the `pe` policy rules, with
/// measured rates placed at the mean weight share of their repeats.
struct RateMetricBudgetTests {
    /// The fixture of docs/reduce.md (10 x 10, rates 0.1 ... 0.4, target 0.8:
    /// max 1, 3, -, - and mean 1, 2, -, -) with weight shares whose means are
    /// exact binary fractions: 0.125, 0.25, 0.375, 0.5.
    static let shares: [[Double]] = [[0.0625, 0.125, 0.1875], [0.25, 0.25, 0.25], [0.375, 0.375, 0.375], [0.5, 0.4375, 0.5625]]

    static func table(rates: Int = 4) throws -> ResilienceTable {
        let t = try ResilienceFixture.table()
        var p = t.provenance
        p.networkWidth = 0.125
        return try ResilienceTable(rates: Array(t.rates.prefix(rates)), repeats: 3, epochs: 4,
                                   accuracy: Array(t.accuracy.prefix(rates)), targets: t.targets, provenance: p,
                                   weightShare: Array(shares.prefix(rates)))
    }

    func plan(_ shares: [Double], _ policy: BudgetPolicy, interpolate: Bool = false, table: ResilienceTable? = nil) throws -> [ChipBudget] {
        try Budgeter.plan(table ?? Self.table(), faultyPEs: shares.map { _ in 10 }, weightShares: shares,
                          rule: BudgetRule(target: 0.8, policy: policy, interpolate: interpolate, metric: .weights))
    }

    @Test func measuredCoordinatesAreMeanShares() throws {
        #expect(try Budgeter.measuredWeightShares(Self.table(), source: "t") == [0.125, 0.25, 0.375, 0.5])
    }

    /// The worked example of docs/reduce.md with weight shares for PE counts:
    /// below the lowest point, exact hit, in between (a quarter of the way), exact
    /// hit on the second rate, an unreached bracket, above the range.
    @Test func sameRulesAsThePEMetric() throws {
        let x = [0.0625, 0.125, 0.15625, 0.25, 0.3, 0.6]
        let consMax = try plan(x, .max), consMean = try plan(x, .mean)
        let interMax = try plan(x, .max, interpolate: true), interMean = try plan(x, .mean, interpolate: true)
        #expect(consMax.map(\.epochs) == [1, 1, 3, 3, nil, nil])
        #expect(consMean.map(\.epochs) == [1, 1, 2, 2, nil, nil])
        // ceil(1 + 0.25 x 2) = 2 and ceil(1 + 0.25 x 1) = 2.
        #expect(interMax.map(\.epochs) == [1, 1, 2, 3, nil, nil])
        #expect(interMean.map(\.epochs) == [1, 1, 2, 2, nil, nil])
        for b in [consMax, consMean, interMax, interMean] {
            #expect(b.map(\.flags) == [[], [], [], [], ["unreached"], ["above_range", "unreached"]])
            #expect(b.map(\.weightShare) == x)
            #expect(b.allSatisfy { $0.faultRate == 0.1 })
        }
        #expect(consMax.map(\.rateLow) == [0.1, 0.1, 0.2, 0.2, 0.3, 0.4])
        #expect(interMax.map(\.rateLow) == [0.1, 0.1, 0.1, 0.2, 0.2, 0.4])
        #expect(interMax.map(\.rateHigh) == [0.1, 0.1, 0.2, 0.2, 0.3, 0.4])
    }

    @Test func exactHitWithinTolerance() throws {
        let b = try plan([0.25 + 5e-13, 0.25 - 5e-13, 0.25 + 1e-9], .max, interpolate: true)
        #expect(b.map(\.epochs) == [3, 3, nil])
        #expect(b[0].rateLow == 0.2 && b[0].rateHigh == 0.2)
    }

    @Test func aboveRangeWithAReachedTopRate() throws {
        let b = try plan([0.3, 1.0], .max, table: try Self.table(rates: 2))
        #expect(b.map(\.epochs) == [3, 3])
        #expect(b.map(\.flags) == [["above_range"], ["above_range"]])
    }

    @Test func zeroShareAndUnreachedEverywhere() throws {
        let t = try Self.table()
        let rule = BudgetRule(target: 0.9, policy: .mean, metric: .weights)
        let b = try Budgeter.plan(t, faultyPEs: [0, 100], weightShares: [0, 1], rule: rule)
        #expect(b.map(\.epochs) == [nil, nil])
        #expect(b.map(\.flags) == [["unreached"], ["above_range", "unreached"]])
        #expect(b.map(\.faultRate) == [0, 1])
    }

    @Test func thePEMetricIsUnchanged() throws {
        // The same table under pe gives docs/reduce.md's numbers; weight shares are ignored.
        let b = try Budgeter.plan(Self.table(), faultyPEs: [5, 10, 12, 15, 25, 45], rule: BudgetRule(target: 0.8, policy: .max))
        #expect(b.map(\.epochs) == [1, 1, 3, 3, nil, nil])
        #expect(b.allSatisfy { $0.weightShare == nil })
        // A chip can land differently under the two metrics: 10 faulty PEs pruning a fifth of the MACs.
        #expect(try plan([0.2], .max).map(\.epochs) == [3])
    }

    @Test func refusals() throws {
        let old = try ResilienceFixture.table()
        let rule = BudgetRule(target: 0.8, policy: .max, metric: .weights)
        let message = errorMessage { _ = try Budgeter.plan(old, faultyPEs: [1], weightShares: [0.1], rule: rule, source: "old.h5") }
        #expect(message?.contains("old.h5: no weight shares") == true && message?.contains("--rate-metric weights") == true)
        #expect(message?.contains("\n") == false)
        var bad = try Self.table()
        bad.weightShare = [[0.1, 0.1, 0.1], [0.3, 0.3, 0.3], [0.2, 0.2, 0.2], [0.5, 0.5, 0.5]]
        #expect(errorMessage { _ = try plan([0.1], .max, table: bad) }?.contains("do not increase") == true)
        #expect(errorMessage { _ = try plan([1.5], .max) }?.contains("weight share in [0, 1]") == true)
    }

    // MARK: files

    func writeLot(_ path: String, maps: [FaultMap]) throws {
        let chips = maps.enumerated().map { i, m in ChipLot.Chip(faultMap: m, faultRate: m.faultRate, seed: UInt64(i)) }
        try ChipLotFile.write(ChipLot(rows: maps[0].rows, cols: maps[0].cols, generator: "test", lotSeed: 7, chips: chips),
                              to: path, force: false)
    }

    /// On files: the chips' shares come from their maps and the recorded width;
    /// the budget file records the metric, the width and each chip's share.
    @Test func budgetRunOnFiles() throws {
        let dir = try TemporaryDirectory()
        let (res, lot, out) = (dir.file("res.h5"), dir.file("lot.h5"), dir.file("budget.h5"))
        try Self.table().write(path: res, force: false)
        var corner = FaultMap.none(rows: 10, cols: 10)
        for i in 0..<10 { corner.setFaulty(i, 0, true) }  // column 0: every layer, 1/10 of most
        let all = FaultMap(rows: 10, cols: 10, bits: [UInt8](repeating: 1, count: 100))
        let maps = [FaultMap.none(rows: 10, cols: 10), corner, all]
        try writeLot(lot, maps: maps)
        let run = try BudgetRun.run(resilience: res, lot: lot, rule: BudgetRule(target: 0.8, policy: .max, metric: .weights))
        let spec = try VGG11Spec(width: 0.125)
        #expect(run.chips.map(\.weightShare) == maps.map { PrunedShare.macWeighted($0, spec: spec) })
        #expect(run.chips.map(\.faultRate) == [0, 0.1, 1])
        #expect(run.chips[0].epochs == 1 && run.chips[2].flags == ["above_range", "unreached"])
        #expect(run.networkWidth == 0.125)
        try run.write(path: out, force: false)
        let f = try ResultsFile.read(path: out)
        #expect(f.attributes["rate_metric"] == .string("weights") && f.attributes["network_width"] == .double(0.125))
        #expect(f[table: "per_chip"]?["weight_share"] != nil)
        #expect(try BudgetRun.read(path: out) == run)
        #expect(run.lines(out: out)[0].hasSuffix("rate metric weights"))
        // pe on the same files: no weight_share column, rate_metric pe, the old numbers.
        let pe = try BudgetRun.run(resilience: res, lot: lot, rule: BudgetRule(target: 0.8, policy: .max))
        try pe.write(path: out, force: true)
        let g = try ResultsFile.read(path: out)
        #expect(g.attributes["rate_metric"] == .string("pe") && g[table: "per_chip"]?["weight_share"] == nil)
        #expect(try BudgetRun.read(path: out) == pe)
        #expect(pe.chips.map(\.epochs) == [1, 1, nil])
    }

    @Test func weightsOnAnOldFileIsAOneLineError() throws {
        let dir = try TemporaryDirectory()
        let (res, lot) = (dir.file("old.h5"), dir.file("lot.h5"))
        try ResilienceFixture.table().write(path: res, force: false)
        try writeLot(lot, maps: [FaultMap.none(rows: 10, cols: 10)])
        let message = errorMessage { _ = try BudgetRun.run(resilience: res, lot: lot, rule: BudgetRule(target: 0.8, policy: .max, metric: .weights)) }
        #expect(message == "\(res): no weight shares (table maps): --rate-metric weights needs a resilience file that records each fault map's weight share; use --rate-metric pe or redo Step 1")
    }

    @Test func weightsWithoutAWidthAsksForWeights() throws {
        let dir = try TemporaryDirectory()
        let (res, lot) = (dir.file("res.h5"), dir.file("lot.h5"))
        var t = try Self.table()
        t.provenance.networkWidth = nil
        try t.write(path: res, force: false)
        try writeLot(lot, maps: [FaultMap.none(rows: 10, cols: 10)])
        let message = errorMessage { _ = try BudgetRun.run(resilience: res, lot: lot, rule: BudgetRule(target: 0.8, policy: .max, metric: .weights)) }
        #expect(message?.contains("--weights FILE") == true && message?.contains("0123456789abcdef") == true)
        let missing = errorMessage {
            _ = try BudgetRun.run(resilience: res, lot: lot, rule: BudgetRule(target: 0.8, policy: .max, metric: .weights), weights: dir.file("nope.h5"))
        }
        #expect(missing?.contains("nope.h5") == true)
    }
}
