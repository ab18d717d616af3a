import Foundation
import Testing
import FapsimStore
import FapsimSupport
import FapsimTestSupport
import SystolicArray
@testable import Reduce

/// The comparison's tables from small synthetic chips whose values can be
/// checked by hand: thresholds, the summary, the yield bins, the file and the page.
struct MitigationComparisonTests {
    typealias Row = MitigationComparison.Row

    /// A chip of `faulty` faulty PEs out of 100 under `m`.
    static func row(_ chip: Int, _ m: String, faulty: Int, accuracy: Double, throughput: Double, usable: Bool = true,
                    retraining: Int = 0, images: Int = 100) -> Row {
        Row(chip: chip, mitigation: m, faultyPEs: faulty, faultShare: Double(faulty) / 100, usable: usable,
            accuracy: usable ? accuracy : .nan, testImages: images, cyclesPerImage: usable ? Int((1000 / throughput).rounded()) : -1,
            throughput: usable ? throughput : .nan, pesAdded: 0, retrainingImages: retraining, source: usable ? "evaluated" : "unusable")
    }

    /// Five chips (0, 10, 20, 30, 40 faulty PEs of 100) under three mitigations.
    static let rows: [Row] = [
        row(0, "fap", faulty: 0, accuracy: 0.90, throughput: 1),
        row(1, "fap", faulty: 10, accuracy: 0.85, throughput: 1),
        row(2, "fap", faulty: 20, accuracy: 0.79, throughput: 1),
        row(3, "fap", faulty: 30, accuracy: 0.70, throughput: 1),
        row(4, "fap", faulty: 40, accuracy: 0.60, throughput: 1),
        row(0, "rowcol", faulty: 0, accuracy: 0.90, throughput: 1),
        row(1, "rowcol", faulty: 10, accuracy: 0.90, throughput: 0.6),
        row(2, "rowcol", faulty: 20, accuracy: 0.90, throughput: 0.4),
        row(3, "rowcol", faulty: 30, accuracy: 0.90, throughput: 0.2),
        row(4, "rowcol", faulty: 40, accuracy: .nan, throughput: .nan, usable: false),
        row(0, "fap+T", faulty: 0, accuracy: 0.90, throughput: 1, retraining: 0, images: 50),
        row(1, "fap+T", faulty: 10, accuracy: 0.88, throughput: 1, retraining: 1000, images: 50),
        row(2, "fap+T", faulty: 20, accuracy: 0.84, throughput: 1, retraining: 2000, images: 50),
        row(3, "fap+T", faulty: 30, accuracy: 0.81, throughput: 1, retraining: 4000, images: 50),
        row(4, "fap+T", faulty: 40, accuracy: 0.75, throughput: 1, retraining: 8000, images: 50),
    ]

    /// 3 points below a baseline of 0.90 on the measured rows and 0.86 on the
    /// campaign's (fap+T) images, and at least half the fault-free throughput.
    static let constraint = MitigationComparison.Constraint(accuracy: .belowBaseline(0.03), minThroughput: 0.5)
    static func judged() -> [Row] {
        MitigationComparison.judged(rows, constraint: constraint) { $0.mitigation == "fap+T" ? 0.86 : 0.90 }
    }

    @Test func eachRowIsJudgedAgainstTheBaselineOfItsOwnImages() {
        let j = Self.judged()
        #expect(j.filter { $0.mitigation != "fap+T" }.allSatisfy { $0.accuracyThreshold == 0.87 })
        #expect(j.filter { $0.mitigation == "fap+T" }.allSatisfy { $0.accuracyThreshold == 0.83 })
        let absolute = MitigationComparison.judged(Self.rows, constraint: .init(accuracy: .absolute(0.8), minThroughput: 0.5)) { _ in 0.9 }
        #expect(absolute.allSatisfy { $0.accuracyThreshold == 0.8 })
    }

    @Test func summaryCountsTheChipsMeetingBothConstraints() {
        let s = MitigationComparison.summary(Self.judged(), minThroughput: 0.5)
        #expect(s.map(\.mitigation) == ["fap", "rowcol", "fap+T"])
        // fap: accuracy >= 0.87 on chip 0 only; all as fast as fault-free.
        #expect(s[0] == .init(mitigation: "fap", chips: 5, usable: 5, meeting: 1, meanThroughput: 1, pesAdded: 0, retrainingImages: 0))
        // rowcol: accurate on every usable chip, fast enough on chips 0 (1.0) and 1 (0.6);
        // chip 4 unusable; mean throughput over the four usable chips (1 + 0.6 + 0.4 + 0.2) / 4.
        #expect(s[1].meeting == 2 && s[1].usable == 4 && s[1].chips == 5)
        #expect(abs(s[1].meanThroughput - 0.55) < 1e-12)
        // fap+T: >= 0.83 on chips 0, 1, 2 (0.90, 0.88, 0.84); retraining summed.
        #expect(s[2].meeting == 3 && s[2].retrainingImages == 15_000)
    }

    @Test func anUnusableChipNeverMeetsAndHasNoThroughput() {
        let j = Self.judged()
        let chip4 = j.first { $0.mitigation == "rowcol" && $0.chip == 4 }!
        #expect(!MitigationComparisonFile.meets(chip4, minThroughput: 0))
        let allUnusable = MitigationComparison.summary([Self.row(0, "rowcol", faulty: 100, accuracy: 0, throughput: 0, usable: false)],
                                                       minThroughput: 0)
        #expect(allUnusable[0].meanThroughput.isNaN && allUnusable[0].meeting == 0)
    }

    @Test func yieldBinsTheChipsByFaultShare() {
        let y = MitigationComparison.yieldCurve(Self.judged(), minThroughput: 0.5, bins: 2)
        // Shares 0, 0.1 | 0.2, 0.3, 0.4: two bins of width 0.2, the last one closed.
        let fap = y.filter { $0.mitigation == "fap" }
        #expect(fap.map(\.chips) == [2, 3])
        #expect(fap.map(\.binLow) == [0, 0.2] && fap.map(\.binHigh) == [0.2, 0.4])
        #expect(abs(fap[0].meanFaultShare - 0.05) < 1e-12 && abs(fap[1].meanFaultShare - 0.3) < 1e-12)
        #expect(fap.map(\.meeting) == [1, 0])
        #expect(y.filter { $0.mitigation == "rowcol" }.map(\.meeting) == [2, 0])
        #expect(y.filter { $0.mitigation == "fap+T" }.map(\.yield) == [1, 1.0 / 3])
        // Five bins: one chip each.
        let five = MitigationComparison.yieldCurve(Self.judged(), minThroughput: 0.5, bins: 5)
        #expect(five.filter { $0.mitigation == "fap" }.map(\.chips) == [1, 1, 1, 1, 1])
    }

    @Test func aLotOfOneFaultRateIsOneBin() {
        let rows = (0..<4).map { Self.row($0, "fap", faulty: 5, accuracy: $0 < 3 ? 0.9 : 0.5, throughput: 1) }
        let y = MitigationComparison.yieldCurve(MitigationComparison.judged(rows, constraint: Self.constraint) { _ in 0.9 },
                                                minThroughput: 0.5, bins: 5)
        #expect(y.count == 1 && y[0].chips == 4 && y[0].meeting == 3 && y[0].binLow == 0.05 && y[0].binHigh == 0.05)
    }

    @Test func throughputConstraintOutsideZeroToOneIsRefused() {
        #expect(errorMessage { try MitigationComparison.Constraint.checkThroughput(1.5) }?.contains("--min-throughput") == true)
        #expect(errorMessage { try MitigationComparison.Constraint.checkThroughput(0.5) } == nil)
    }

    static func file() -> MitigationComparisonFile {
        let j = judged()
        return MitigationComparisonFile(rows: j, summary: MitigationComparison.summary(j, minThroughput: 0.5),
                                        yieldCurve: MitigationComparison.yieldCurve(j, minThroughput: 0.5, bins: 2),
                                        attributes: ["min_throughput": .double(0.5), "below_baseline": .double(0.03),
                                                     "lot_file": .string("lot.h5"), "lot_generator": .string("uniform"),
                                                     "lot_chips": .int(5), "rows": .int(10), "cols": .int(10)])
    }

    @Test func fileRoundTripsAndChecksItsMeetsColumn() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("cmp.h5")
        let f = Self.file()
        try f.write(path: path, force: false)
        #expect(try MitigationComparisonFile.read(path: path) == f)
        #expect(errorMessage { try f.write(path: path, force: false) } != nil)
        let inspected = try FapsimInspect.inspect(path: path).lines
        #expect(inspected.contains("  mitigation comparison: 5 chips x 3 mitigations; chips meeting both constraints: fap 1/5, rowcol 2/5, fap+T 3/5"),
                "\(inspected)")
        // A meets column that disagrees with the values is a damaged file.
        var raw = try ResultsFile.read(path: path)
        let t = raw.tables.firstIndex { $0.name == "per_chip" }!
        let c = raw.tables[t].columns.firstIndex { $0.name == "meets" }!
        raw.tables[t].columns[c] = .int64("meets", units: "1", [Int64](repeating: 1, count: Self.rows.count))
        try raw.write(path: dir.file("bad.h5"), force: false)
        let message = errorMessage { _ = try MitigationComparisonFile.read(path: dir.file("bad.h5")) } ?? ""
        #expect(message.contains("bad.h5: /per_chip: row") && message.contains("meets 1 disagrees"), "\(message)")
        // A chip file holds the measurements only and reads back the same rows (thresholds NaN).
        let chip = MitigationComparisonFile.chipFile(chip: 1, rows: Self.rows.filter { $0.chip == 1 })
        #expect(try MitigationComparisonFile.readRows(ResultsReader(path: "chip-1.h5", file: chip)) == Self.rows.filter { $0.chip == 1 })
    }

    @Test func reportHasTheSummaryThePerChipTableAndOneYieldPanelPerLot() throws {
        let files = MitigationComparisonReport.render([("uniform", Self.file()), ("clustered", Self.file())])
        #expect(files.map(\.name) == [MitigationComparisonReport.yieldFigure, "report.html", "report.md"])
        let md = files[2].text, svg = files[0].text, html = files[1].text
        #expect(md.contains("## Lot: uniform") && md.contains("## Lot: clustered"))
        #expect(md.contains("| rowcol | 2 / 5 | 4 | 0.550 | 0 | not available | 0 |"), "\(md)")
        #expect(md.contains("| 4 | 40 (40.000 %) | 60.00 % / 1.000 | unusable | 75.00 % / 1.000 |"), "\(md)")
        #expect(svg.components(separatedBy: "class=\"panel\"").count == 3)
        for m in ["fap", "rowcol", "fap+T"] { #expect(svg.contains("data-series=\"\(m)\"")) }
        #expect(html.contains("<svg") && html.contains("Mitigations compared over a lot"))
        let parsed = HTMLScan.parse(html)
        #expect(parsed.ok, "\(parsed.error)")
    }

    /// Hand-checkable cell counts: FAP PE 100 cells, row/column PE 110,
    /// spare host 120 and spare 300 (groups of 5 on the 10x10 array).
    static let cells = PECellCounts(variants: [
        "fap": .init(cells: 100, flipFlops: 10, logic: 90),
        "rowcol-reg": .init(cells: 110, flipFlops: 10, logic: 100),
        "spare-host-g5": .init(cells: 120, flipFlops: 10, logic: 110),
        "spare-g5": .init(cells: 300, flipFlops: 8, logic: 292),
    ], tool: "hand", path: "hand.json")

    /// The area per mitigation joins the summary (retrained rows take their
    /// untrained mitigation's hardware), survives the file, and shows on the
    /// page and in inspect; a mitigation with no hardware description says so.
    @Test func areaVsTheFAPArrayPerMitigation() throws {
        let config = HardwareConfig(rows: 10, cols: 10, spares: .columnGroups(groupCols: 5))
        let names: [(name: String, mitigation: Mitigation?)] = [("fap", .fap), ("rowcol", .rowcol), ("fap+T", .fap),
                                                                ("spares", .spares), ("custom", nil)]
        let area = MitigationComparison.areas(names, config: config, cells: Self.cells)
        // 100 FAP PEs = 10,000 cells; rowcol 100 x 110 + 20 = 11,020; spares 100 x 120 + 20 x 300 = 18,000.
        #expect(area["fap"]?.ratio == 1 && area["fap+T"]?.ratio == 1)
        #expect(area["rowcol"]?.cells == 11_020 && area["rowcol"]?.ratio == 1.102)
        #expect(area["spares"]?.cells == 18_000 && area["spares"]?.ratio == 1.8)
        #expect(area["custom"] == nil)
        #expect(MitigationComparison.areas(names, config: config, cells: nil).isEmpty)

        var j = Self.judged()
        for i in j.indices { j[i].areaVsFAP = area[j[i].mitigation]?.ratio ?? .nan }
        let s = MitigationComparison.summary(j, minThroughput: 0.5, area: area, areaNote: "not available: none here")
        #expect(s.map(\.areaVsFAP) == [1, 1.102, 1])
        #expect(s[1].areaBasis == "100 rowcol-reg PEs + 20 line-enable flip-flops" && s[1].areaText == "1.102")
        let none = MitigationComparison.summary(j, minThroughput: 0.5, areaNote: "not available: none here")
        #expect(none.allSatisfy { $0.areaVsFAP.isNaN && $0.areaBasis == "not available: none here" && $0.areaText == "not available" })

        let dir = try TemporaryDirectory()
        let f = MitigationComparisonFile(rows: j, summary: s, yieldCurve: MitigationComparison.yieldCurve(j, minThroughput: 0.5, bins: 2),
                                         attributes: Self.file().attributes)
        try f.write(path: dir.file("area.h5"), force: false)
        let back = try MitigationComparisonFile.read(path: dir.file("area.h5"))
        #expect(back == f && back.rows.first { $0.mitigation == "rowcol" }?.areaVsFAP == 1.102)
        let inspected = try FapsimInspect.inspect(path: dir.file("area.h5")).lines
        #expect(inspected.contains("  array area vs FAP: fap 1.000, rowcol 1.102, fap+T 1.000"), "\(inspected)")
        let md = MitigationComparisonReport.render([("uniform", back)])[2].text
        #expect(md.contains("| rowcol | 2 / 5 | 4 | 0.550 | 0 | 1.102 | 0 |"), "\(md)")
        #expect(md.contains("- rowcol: 100 rowcol-reg PEs + 20 line-enable flip-flops"), "\(md)")
    }

    /// A file written before the area existed (no area_vs_fap in per_chip or
    /// summary, no area_basis) still reads, inspects and reports: its area is
    /// "not available", recorded as such.
    @Test func aFileWithoutTheAreaColumnsStillReads() throws {
        let dir = try TemporaryDirectory()
        try Self.file().write(path: dir.file("new.h5"), force: false)
        var raw = try ResultsFile.read(path: dir.file("new.h5"))
        for t in raw.tables.indices {
            raw.tables[t].columns.removeAll { $0.name == "area_vs_fap" || $0.name == "area_basis" }
        }
        #expect(!raw.tables.contains { $0.columns.contains { $0.name.hasPrefix("area_") } })
        try raw.write(path: dir.file("old.h5"), force: false)
        let old = try MitigationComparisonFile.read(path: dir.file("old.h5"))
        #expect(old.rows.count == Self.rows.count && old.rows.allSatisfy { $0.areaVsFAP.isNaN })
        #expect(old.summary.allSatisfy { $0.areaVsFAP.isNaN && $0.areaBasis == MitigationComparisonFile.Summary.areaNotRecorded })
        #expect(old.summary.map(\.meeting) == [1, 2, 3])
        let inspected = try FapsimInspect.inspect(path: dir.file("old.h5")).lines
        #expect(inspected.contains("  array area vs FAP: fap not available, rowcol not available, fap+T not available"), "\(inspected)")
        let md = MitigationComparisonReport.render([("old", old)])[2].text
        #expect(md.contains("| fap | 1 / 5 | 5 | 1.000 | 0 | not available | 0 |"), "\(md)")
    }
}
