import Foundation
import Testing
@testable import FapsimStore

/// The Reduce file kinds the store owns (resilience, budget, campaign): each
/// round-trips, reads the layout of files written before later columns and
/// attributes existed, and names what is wrong in a broken file.
@Suite struct ReduceKindsTests {
    static func resilience() -> ResilienceFile {
        ResilienceFile(weightsChecksum: "fnv1a64:0123", weightsFile: "w.h5", rows: 8, cols: 8, configName: "small",
                       rateMetric: "pe", trainSubset: 256, testSubset: 200, seed: UInt64.max - 1, networkWidth: 0.0625,
                       rates: [0.05, 0.3], targets: [0.5], repeats: 2, epochs: 1,
                       accuracy: [[[0.4, 0.6], [0.45, 0.55]], [[0.2, 0.3], [0.1, 0.52]]], weightShare: [[0.04, 0.06], [0.3, 0.31]],
                       summary: [.init(target: 0.5, rateIndex: 0, reachedCount: 2, min: 1, mean: 1, max: 1, perRepeat: [1, 1]),
                                 .init(target: 0.5, rateIndex: 1, reachedCount: 1, min: 1, mean: nil, max: nil, perRepeat: [nil, 1])],
                       extraAttributes: ["baseline_accuracy": .double(0.7), "lr": .double(0.01)])
    }

    @Test func resilienceRoundTripsAndReadsWithoutOptionalParts() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-reduce-kinds")
        let r = Self.resilience()
        try r.write(path: dir.file("res.h5"), force: false)
        var back = try ResilienceFile.read(path: dir.file("res.h5"))
        #expect(back.extraAttributes == r.extraAttributes)
        #expect(back.summary.map(\.perRepeat) == [[], []], "the per-repeat detail is for pandas, not read back")
        back.summary = back.summary.enumerated().map { i, s in var s = s; s.perRepeat = r.summary[i].perRepeat; return s }
        #expect(back == r)

        // Files written before weight shares and the network width were recorded.
        var old = r
        old.weightShare = nil
        old.networkWidth = nil
        old.extraAttributes = [:]
        try old.write(path: dir.file("old.h5"), force: false)
        let o = try ResilienceFile.read(path: dir.file("old.h5"))
        #expect(o.weightShare == nil && o.networkWidth == nil && o.extraAttributes.isEmpty)
        #expect(o.accuracy == r.accuracy)
        let raw = try ResultsFile.read(path: dir.file("old.h5"))
        #expect(raw.tables.map(\.name) == ["accuracy", "epochs_needed", "epochs_needed_per_repeat"])
    }

    @Test func brokenResilienceFilesNameTheProblem() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-reduce-kinds")
        var f = Self.resilience().resultsFile()
        f.attributes["repeats"] = .int(3)
        try f.write(path: dir.file("a.h5"), force: false)
        #expect(errorMessage { _ = try ResilienceFile.read(path: dir.file("a.h5")) }
                == "\(dir.file("a.h5")): /accuracy: expected 12 rows (2 rates x 3 repeats x 2 epochs), got 8")
        f = Self.resilience().resultsFile()
        f.attributes["seed"] = .string("-1")
        try f.write(path: dir.file("b.h5"), force: false)
        #expect(errorMessage { _ = try ResilienceFile.read(path: dir.file("b.h5")) }?.contains("attribute seed: expected an unsigned 64-bit decimal") == true)
    }

    @Test func budgetRoundTripsAndReadsTheEarlierLayout() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-reduce-kinds")
        let b = BudgetFile(resilienceFile: "res.h5", resilienceChecksum: "r", lotFile: "lot.h5", lotChecksum: "l", weightsChecksum: "w",
                           target: 0.5, policy: "max", interpolate: false, rateMetric: "weights", networkWidth: 0.0625,
                           rows: [.init(chip: 0, faultRate: 0.1, epochs: 2, flags: [], rateLow: 0.05, rateHigh: 0.3, weightShare: 0.1),
                                  .init(chip: 1, faultRate: 0.4, epochs: nil, flags: ["above_range", "unreached"], rateLow: 0.3,
                                        rateHigh: 0.3, weightShare: 0.4)])
        try b.write(path: dir.file("b.h5"), force: false)
        #expect(try BudgetFile.read(path: dir.file("b.h5")) == b)
        #expect(b.totalEpochs == 2 && b.flaggedChips == 1)

        // Before the rate metric existed: no rate_metric attribute, no weight_share column; read as pe.
        var old = b.resultsFile()
        old.attributes["rate_metric"] = nil
        old.attributes["network_width"] = nil
        old.tables[0].columns.removeAll { $0.name == "weight_share" }
        try old.write(path: dir.file("old.h5"), force: false)
        let o = try BudgetFile.read(path: dir.file("old.h5"))
        #expect(o.rateMetric == "pe" && o.networkWidth == nil && o.rows.map(\.weightShare) == [nil, nil])
        #expect(o.rows.map(\.epochs) == [2, nil])

        // -1 without the unreached flag is refused.
        var bad = b.resultsFile()
        bad.tables[0].columns[3] = .string("flags", ["", ""])
        try bad.write(path: dir.file("bad.h5"), force: false)
        #expect(errorMessage { _ = try BudgetFile.read(path: dir.file("bad.h5")) }
                == "\(dir.file("bad.h5")): /per_chip: row 1: budget_epochs -1 with flags \"\" (-1 exactly when unreached)")
    }

    @Test func campaignRoundTripsAndReadsTheEarlierLayout() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-reduce-kinds")
        let c = try CampaignResults(target: 0.5, rows: [.init(chip: 0, policy: "max", faultRate: 0.1, epochsSpent: 1, finalAccuracy: 0.6),
                                                       .init(chip: 0, policy: "fixed-0", faultRate: 0.1, epochsSpent: 0, finalAccuracy: 0.4, flags: "unreached")],
                                    curves: [.init(chip: 0, runEpochs: 1, accuracy: [0.4, 0.6])], attributes: ["seed": .string("9")])
        try c.write(path: dir.file("c.h5"), force: false)
        #expect(try CampaignResults.read(path: dir.file("c.h5")) == c)
        #expect(try CampaignResults.readCurves(path: dir.file("c.h5")) == c.curves)

        // Before flags and curves: no flags column, no curves table.
        var old = c.resultsFile()
        old.tables.removeAll { $0.name == "curves" }
        old.tables[0].columns.removeAll { $0.name == "flags" }
        try old.write(path: dir.file("old.h5"), force: false)
        let o = try CampaignResults.read(path: dir.file("old.h5"))
        #expect(o.curves.isEmpty && o.rows.map(\.flags) == ["", ""] && o.rows.map(\.finalAccuracy) == [0.6, 0.4])
        #expect(try CampaignResults.readCurves(path: dir.file("old.h5")) == nil)

        // A stored met_constraint that disagrees with the accuracy is refused.
        var bad = c.resultsFile()
        bad.tables[0].columns[5] = .int64("met_constraint", units: "1", [1, 1])
        try bad.write(path: dir.file("bad.h5"), force: false)
        #expect(errorMessage { _ = try CampaignResults.read(path: dir.file("bad.h5")) }?
            .contains("/per_chip: row 1: met_constraint 1 disagrees with final_accuracy 0.4 and target 0.5") == true)
    }

    @Test func unitFilesRoundTripAndDamageIsNamed() throws {
        let h = TrainingKindsTests.history
        let u = ResilienceUnitFile(unit: 3, rateIndex: 1, repeatIndex: 1, faultRate: 0.3, faultyPEs: 19, faultMapChecksum: "m",
                                   weightShare: 0.31, trainImages: 256, testImages: 200, history: h)
        let back = try ResilienceUnitFile.parse(u.resultsFile(), path: "unit-3.h5", epochs: 2)
        #expect(back.unit == 3 && back.repeatIndex == 1 && back.weightShare == 0.31 && back.faultMapChecksum == "m")
        #expect(TrainingKindsTests.sameBits(back.history, h))
        #expect(u.resultsFile().tables == [h.curveTable()])
        #expect(errorMessage { _ = try ResilienceUnitFile.parse(u.resultsFile(), path: "unit-3.h5", epochs: 3) }
                == "unit-3.h5: /curve: expected 4 test accuracies and the unit's attributes (a damaged unit file; delete it to recompute the unit)")

        let c = CampaignUnitFile(chip: 7, faultyPEs: 5, faultRate: 5.0 / 64, faultMapChecksum: "m", trainImages: 256, testImages: 200,
                                 policies: [.init(policy: "max", epochsSpent: 2, finalAccuracy: 0.6, flags: ""),
                                            .init(policy: "fixed-1", epochsSpent: 1, finalAccuracy: 0.5, flags: "")],
                                 runs: [.init(runEpochs: 2, accuracy: [0.4, 0.5, 0.6], seconds: [0.1, 1, 1])])
        var parsed = try CampaignUnitFile.parse(c.resultsFile(), path: "chip-7.h5")
        #expect(parsed.runs.map(\.seconds) == [[]], "seconds are not read back")
        parsed.runs[0].seconds = c.runs[0].seconds
        #expect(parsed == c)
        var damaged = c.resultsFile()
        damaged.tables.removeLast()
        #expect(errorMessage { _ = try CampaignUnitFile.parse(damaged, path: "chip-7.h5") }?.hasPrefix("chip-7.h5: expected a chip's policies and curves tables") == true)

        let b = BaselineFile(accuracy: 0.7, correct: 140, images: 200)
        #expect(BaselineFile.accuracy(of: b.resultsFile()) == 0.7)
        #expect(BaselineFile.accuracy(of: ResultsFile(content: "baseline")) == nil)
    }
}
