import Foundation
import Testing
import FapsimStore
import FapsimSupport
import SystolicArray
@testable import Reduce

/// `fapsim budget`'s work end to end on files: a lot, a resilience file, the budget file.
struct BudgetRunTests {
    /// A lot whose chip i has `faulty[i]` faulty PEs (the first ones in row-major order).
    func writeLot(_ path: String, rows: Int, cols: Int, faulty: [Int]) throws {
        let chips = faulty.enumerated().map { i, n in
            ChipLot.Chip(faultMap: FaultMap(rows: rows, cols: cols, bits: (0..<rows * cols).map { $0 < n ? 1 : 0 }),
                         faultRate: Double(n) / Double(rows * cols), seed: UInt64(i))
        }
        try ChipLotFile.write(ChipLot(rows: rows, cols: cols, generator: "test", lotSeed: 7, chips: chips), to: path, force: false)
    }

    @Test func writesPerChipTable() throws {
        let dir = try TemporaryDirectory()
        let (res, lot, out) = (dir.file("res.h5"), dir.file("lot.h5"), dir.file("budget.h5"))
        try ResilienceFixture.table().write(path: res, force: false)
        try writeLot(lot, rows: 10, cols: 10, faulty: [10, 15, 30, 45, 3])
        let run = try BudgetRun.run(resilience: res, lot: lot, rule: BudgetRule(target: 0.8, policy: .max))
        try run.write(path: out, force: false)
        let f = try ResultsFile.read(path: out)
        #expect(f.content == "budget")
        #expect(f.attributes["policy"] == .string("max") && f.attributes["target"] == .double(0.8))
        #expect(f.attributes["lot_checksum"] == .string(try FNV1a64.file(lot)))
        #expect(f.attributes["weights_checksum"] == .string("0123456789abcdef"))
        let t = try #require(f[table: "per_chip"])
        #expect(t.columns.prefix(4).map(\.name) == ["chip", "fault_rate", "budget_epochs", "flags"])
        #expect(t["budget_epochs"]?.values == .int64([1, 3, -1, -1, 1]))
        #expect(t["flags"]?.values == .string(["", "", "unreached", "above_range,unreached", ""]))
        #expect(t["fault_rate"]?.values == .double([0.1, 0.15, 0.3, 0.45, 0.03]))
        #expect(run.totalEpochs == 5 && run.flaggedChips.map(\.chip) == [2, 3])
        let lines = run.lines(out: out).joined(separator: "\n")
        #expect(lines.contains("total epochs: 5"))
        #expect(lines.contains("flagged chips: 2 (above_range: 3; unreached: 2 3)"))
        #expect(run.histogram.map(\.label) == ["1 epoch", "3 epochs", "unreached"])
        #expect(run.histogram.map(\.count) == [2, 1, 2])
        #expect(try BudgetRun.read(path: out) == run)
        let interpolated = try BudgetRun.run(resilience: res, lot: lot, rule: BudgetRule(target: 0.8, policy: .mean, interpolate: true))
        try interpolated.write(path: out, force: true)
        #expect(try BudgetRun.read(path: out) == interpolated)
        #expect(errorMessage { _ = try BudgetRun.read(path: res) }?.contains("expected \"budget\"") == true)
    }

    @Test func arraySizeMismatchNamesBothFiles() throws {
        let dir = try TemporaryDirectory()
        let (res, lot) = (dir.file("res.h5"), dir.file("lot8.h5"))
        try ResilienceFixture.table().write(path: res, force: false)
        try writeLot(lot, rows: 8, cols: 8, faulty: [1])
        let message = errorMessage { _ = try BudgetRun.run(resilience: res, lot: lot, rule: BudgetRule(target: 0.8, policy: .max)) }
        #expect(message?.contains(res) == true && message?.contains(lot) == true)
        #expect(message?.contains("8 x 8") == true && message?.contains("10 x 10") == true)
    }

    @Test func targetNotInFileListsTheTargets() throws {
        let dir = try TemporaryDirectory()
        let (res, lot) = (dir.file("res.h5"), dir.file("lot.h5"))
        try ResilienceFixture.table().write(path: res, force: false)
        try writeLot(lot, rows: 10, cols: 10, faulty: [1])
        let message = errorMessage { _ = try BudgetRun.run(resilience: res, lot: lot, rule: BudgetRule(target: 0.95, policy: .mean)) }
        #expect(message?.contains(res) == true && message?.contains("0.8, 0.9") == true)
    }

    @Test func weightsRateMetricIsRefused() throws {
        let dir = try TemporaryDirectory()
        let (res, lot) = (dir.file("res.h5"), dir.file("lot.h5"))
        var t = try ResilienceFixture.table()
        t.provenance.rateMetric = "weights"
        try t.write(path: res, force: false)
        try writeLot(lot, rows: 10, cols: 10, faulty: [1])
        #expect(errorMessage { _ = try BudgetRun.run(resilience: res, lot: lot, rule: BudgetRule(target: 0.8, policy: .max)) }?
            .contains("rate_metric \"weights\"") == true)
    }
}
