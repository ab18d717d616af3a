import Foundation
import Testing
import FapsimStore
import FapsimSupport
import SystolicArray
@testable import Reduce

/// The splits a resilience table records: written and read back, files of
/// earlier versions (no `curve_split`) read as test-set curves, a damaged
/// split refused by name; and the curves as correct counts out of n.
struct ValidationSplitTableTests {
    func table(validation: Int?) throws -> ResilienceTable {
        var p = ResilienceFixture.provenance
        p.validationSubset = validation
        if validation != nil { p.testSubset = 0 }
        // Accuracies as correct / n, as an evaluation writes them.
        let n = Double(validation ?? p.testSubset)
        let acc = ResilienceFixture.reachAt.map { $0.map { ResilienceFixture.curve(reachAt: $0).map { ($0 * n).rounded() / n } } }
        return try ResilienceTable(rates: [0.1, 0.2, 0.3, 0.4], repeats: 3, epochs: 4, accuracy: acc,
                                   targets: [0.8, 0.9], provenance: p)
    }

    @Test func theSplitRoundTripsAndOldFilesReadAsTestCurves() throws {
        let dir = try TemporaryDirectory()
        let val = dir.file("val.h5"), old = dir.file("old.h5")
        try table(validation: 5000).write(path: val, force: false)
        let back = try ResilienceTable.read(path: val)
        #expect(back.provenance.validationSubset == 5000 && back.provenance.curveSplit == "validation")
        #expect(back.provenance.curveImages == 5000)
        let f = try ResultsFile.read(path: val)
        #expect(f.attributes["curve_split"] == .string("validation"))
        #expect(f.attributes["validation_first"] == .int(45_000))

        // A file written before validation splits has no curve_split at all.
        var raw = try table(validation: nil).file().resultsFile()
        raw.attributes["curve_split"] = nil
        try raw.write(path: old, force: false)
        let o = try ResilienceTable.read(path: old)
        #expect(o.provenance.validationSubset == nil && o.provenance.curveSplit == "test" && o.provenance.curveImages == 256)
    }

    @Test func aDamagedSplitIsRefusedByName() throws {
        let dir = try TemporaryDirectory()
        func refuse(_ edit: (inout ResultsFile) -> Void, _ expected: String) throws {
            var raw = try table(validation: 5000).file().resultsFile()
            edit(&raw)
            let path = dir.file("bad-\(expected.count).h5")
            try raw.write(path: path, force: true)
            let m = errorMessage { _ = try ResilienceTable.read(path: path) }
            #expect(m?.hasPrefix("\(path): /: attribute \(expected)") == true, "\(m ?? "no error")")
        }
        try refuse({ $0.attributes["curve_split"] = .string("train") }, "curve_split: expected \"validation\" or \"test\"")
        try refuse({ $0.attributes["validation_subset"] = nil }, "validation_subset: expected an image count")
        try refuse({ $0.attributes["validation_subset"] = .int(0) }, "validation_subset: expected at least 1 image")
    }

    /// A budget file records the data its budgets were decided on, and the
    /// budgets as training images.
    @Test func budgetFilesRecordTheSplitAndTheImages() throws {
        let dir = try TemporaryDirectory()
        let (res, lot, out) = (dir.file("res.h5"), dir.file("lot.h5"), dir.file("budget.h5"))
        try table(validation: 5000).write(path: res, force: false)
        let chips = [10, 15, 30].enumerated().map { i, n in
            ChipLot.Chip(faultMap: FaultMap(rows: 10, cols: 10, bits: (0..<100).map { $0 < n ? 1 : 0 }),
                         faultRate: Double(n) / 100, seed: UInt64(i))
        }
        try ChipLotFile.write(ChipLot(rows: 10, cols: 10, generator: "test", lotSeed: 7, chips: chips), to: lot, force: false)
        let run = try BudgetRun.run(resilience: res, lot: lot, rule: BudgetRule(target: 0.8, policy: .max))
        try run.write(path: out, force: false)
        let f = try ResultsFile.read(path: out)
        #expect(f.attributes["curve_split"] == .string("validation"))
        #expect(f.attributes["validation_subset"] == .int(5000) && f.attributes["validation_first"] == .int(45_000))
        #expect(f.attributes["train_subset"] == .int(512) && f.attributes["test_subset"] == .int(0))
        let t = try #require(f[table: "per_chip"])
        #expect(t["budget_epochs"]?.values == .int64([1, 3, -1]))
        #expect(t["budget_images"]?.values == .int64([512, 1536, -1]))
        #expect(try BudgetFile.read(path: out).splits["curve_split"] == .string("validation"))
    }

    /// What a statistical model of the curves takes: per rate, map and
    /// amount, correct of n curve images, the amount in training images.
    @Test func correctCountsArePerRateMapAndAmount() throws {
        let t = try table(validation: 5000)
        let c = t.correctCounts
        #expect(c.count == 4 * 3 * 5)
        let first = c[0]
        #expect(first.rateIndex == 0 && first.repeatIndex == 0 && first.epoch == 0 && first.images == 0 && first.n == 5000)
        // Rate 0.2, repeat 2 reaches 0.85 at epoch 3: 4,250 of 5,000.
        let p = try #require(c.first { $0.rateIndex == 1 && $0.repeatIndex == 2 && $0.epoch == 3 })
        #expect(p.correct == 4250 && p.images == 3 * 512 && p.rate == 0.2)
        #expect(c.allSatisfy { Double($0.correct) / Double($0.n) == t.accuracy[$0.rateIndex][$0.repeatIndex][$0.epoch] })
        // Test-set curves count out of the test subset.
        #expect(try table(validation: nil).correctCounts.allSatisfy { $0.n == 256 })
    }
}
