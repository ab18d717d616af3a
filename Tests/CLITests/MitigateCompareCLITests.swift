import Foundation
import Testing
import FapsimStore
import FapsimSupport
import FapsimTestSupport
import Network

/// `fapsim mitigate compare` end to end: a random VGG11 of width 1/16 on a
/// 4-chip lot of the 8x8 array, 60 test images, so a run takes well under a second.
@Suite(.serialized, .requiresSharedData(.cifarTestBatch))
struct MitigateCompareCLITests {
    static let config = "hw-configs/small-8x8.yaml"

    struct Files {
        let dir: TemporaryDirectory
        let weights: String
        let lot: String
        let lot4x4: String
        let allFaulty: String
        /// A campaign over `lot` under FAP (written here: its values are the test's to check).
        let campaign: String
        let campaignRows: [CampaignResults.Row]
    }

    nonisolated(unsafe) static let files: Result<Files, Error> = Result { try make() }

    static func make() throws -> Files {
        let dir = try TemporaryDirectory(prefix: "fapsim-mitigate-cli")
        let weights = dir.file("w.h5")
        try VGG11Parameters.random(spec: try VGG11Spec(width: 0.0625), seed: 4).weightsFile().write(path: weights, force: false)
        let lot = dir.file("lot.h5"), lot4 = dir.file("lot4.h5"), full = dir.file("full.h5")
        try "rows: 4\ncols: 4\nweight_load: single-buffered\nclock_mhz: 700\n".write(toFile: dir.file("hw4.yaml"), atomically: true, encoding: .utf8)
        for args in [["--config", config, "--model", "uniform", "--rate-range", "0.02:0.3", "--out", lot],
                     ["--config", dir.file("hw4.yaml"), "--model", "uniform", "--rate-range", "0.02:0.3", "--out", lot4],
                     ["--config", config, "--model", "fixed", "--rate", "1", "--out", full]] {
            let r = try runFapsim(["lot", "generate", "--chips", "4", "--seed", "3", "--quiet"] + args)
            guard r.status == 0 else { throw FapsimTestFailure(r.stderr) }
        }
        let rows = (0..<4).map { c in
            CampaignResults.Row(chip: c, policy: "fixed-1000img", faultRate: 0.1, epochsSpent: 0, finalAccuracy: 0.2 + 0.05 * Double(c),
                                imagesSpent: 1000 * (c + 1), evalImagesSpent: 0)
        }
        let campaign = dir.file("campaign.h5")
        try CampaignResults(target: 0.2, rows: rows, attributes: [
            "lot_file": .string(lot), "lot_checksum": .string(try FNV1a64.file(lot)), "rows": .int(8), "cols": .int(8),
            "test_subset": .int(40), "train_subset": .int(500), "test_baseline_accuracy": .double(0.3),
            "baseline_accuracy": .double(0.3), "mitigation": .string("fap"),
        ]).write(path: campaign, force: false)
        return Files(dir: dir, weights: weights, lot: lot, lot4x4: lot4, allFaulty: full, campaign: campaign, campaignRows: rows)
    }

    static func compare(_ f: Files, lot: String? = nil, config: String = config, out: String, extra: [String] = []) -> [String] {
        ["mitigate", "compare", "--weights", f.weights, "--lot", lot ?? f.lot, "--config", config, "--data", SharedData.cifarDirectory,
         "--test-subset", "60", "--min-accuracy", "0.1", "--min-throughput", "0.5", "--out", out, "--quiet"] + extra
    }

    @Test func everyChipUnderEveryMitigationWithTheCampaignsRetrainedChips() throws {
        let f = try Self.files.get()
        let out = f.dir.file("cmp.h5"), report = f.dir.file("report")
        let r = try runFapsim(Self.compare(f, out: out, extra: ["--campaign", f.campaign, "--report", report, "--json"]))
        #expect(r.status == 0, "\(r.stderr)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(j["computed_chips"] as? [Int] == [0, 1, 2, 3])
        let file = try MitigationComparisonFile.read(path: out)
        #expect(file.summary.map(\.mitigation) == ["fap", "fam", "rowcol", "fap+T"])
        guard case .int(let faultFree)? = file.attributes["fault_free_cycles_per_image"],
              case .double(let baseline)? = file.attributes["baseline_accuracy"] else {
            Issue.record("attributes missing: \(file.attributes)"); return
        }
        #expect(file.rows.count == 16)
        for chip in 0..<4 {
            let mine = Dictionary(uniqueKeysWithValues: file.rows.filter { $0.chip == chip }.map { ($0.mitigation, $0) })
            let fap = try #require(mine["fap"]), fam = try #require(mine["fam"]), rowcol = try #require(mine["rowcol"])
            let trained = try #require(mine["fap+T"])
            // FAP keeps every weight in place: the fault-free cycles. FAM's default
            // (lanes) may move a layer that does not fill the array onto later
            // lines, which lengthens its fold's span: never fewer cycles.
            #expect(fap.cyclesPerImage == Int(faultFree) && fap.throughput == 1 && fam.cyclesPerImage >= Int(faultFree))
            #expect(fam.throughput == Double(faultFree) / Double(fam.cyclesPerImage))
            #expect(fap.testImages == 60 && fap.source == "evaluated" && fap.retrainingImages == 0 && fap.pesAdded == 0)
            // Row/column bypass: the fault-free logits on a smaller array.
            #expect(rowcol.usable && rowcol.accuracy == baseline && rowcol.source == "fault-free logits")
            #expect(rowcol.cyclesPerImage > Int(faultFree) && rowcol.throughput == Double(faultFree) / Double(rowcol.cyclesPerImage))
            // FAP+T: the campaign's accuracy, images and retraining, FAP's cycles.
            let c = f.campaignRows[chip]
            #expect(trained.accuracy == c.finalAccuracy && trained.retrainingImages == c.imagesSpent && trained.testImages == 40)
            #expect(trained.cyclesPerImage == fap.cyclesPerImage && trained.source == "campaign fixed-1000img")
            for row in [fap, fam, rowcol, trained] { #expect(row.accuracyThreshold == 0.1) }
        }
        let meeting = file.rows.filter { $0.mitigation == "fap+T" && $0.accuracy >= 0.1 }.count
        #expect(file.summary[3].meeting == meeting && file.summary[3].retrainingImages == 10_000)
        #expect(file.yieldCurve.contains { $0.mitigation == "rowcol" })
        let html = try String(contentsOfFile: report + "/report.html", encoding: .utf8)
        #expect(html.contains("data-series=\"fap+T\"") && html.contains("Mitigations compared over a lot"))
        #expect(FileManager.default.fileExists(atPath: report + "/report.md"))
        // Nothing is overwritten without --force.
        try expectOneLineFailure(Self.compare(f, out: out), "--force")
    }

    /// A config with spare PEs adds the spares entry: the array's own cycles
    /// (a repaired PE costs none), its spare PEs as the PEs added, and an
    /// accuracy between FAP's on the drawn map and the fault-free one where
    /// every fault was repaired.
    @Test func aConfigWithSparesAddsTheSparesEntry() throws {
        let f = try Self.files.get()
        let out = f.dir.file("spares-cmp.h5")
        let r = try runFapsim(Self.compare(f, config: "hw-configs/small-8x8-spares-diagonal.yaml", out: out))
        #expect(r.status == 0, "\(r.stderr)")
        let file = try MitigationComparisonFile.read(path: out)
        #expect(file.summary.map(\.mitigation) == ["fap", "fam", "rowcol", "spares"])
        guard case .int(let faultFree)? = file.attributes["fault_free_cycles_per_image"] else {
            Issue.record("attributes missing: \(file.attributes)"); return
        }
        let spares = file.rows.filter { $0.mitigation == "spares" }
        #expect(spares.count == 4)
        for row in spares {
            #expect(row.usable && row.pesAdded == 8 && row.cyclesPerImage == Int(faultFree) && row.throughput == 1)
            #expect(row.source == "evaluated" && row.testImages == 60 && row.retrainingImages == 0)
        }
        #expect(file.summary[3].pesAdded == 8)
        // The diagonal layout is not in the RTL: its area is not available, and the summary says so.
        #expect(file.summary[3].areaVsFAP.isNaN && file.summary[3].areaBasis.contains("diagonal spare layout is not in the RTL"))
        #expect(spares.allSatisfy { $0.areaVsFAP.isNaN })
    }

    /// The area column from the committed cell counts (hw/synth/pe-cells.json,
    /// the default when run from the repository) on the 8x8 array with one
    /// spare column per 4 columns: FAP and FAM 64 FAP PEs (1 by definition),
    /// row/column bypass 64 x 663 + 16 line-enable flip-flops = 42,448 cells
    /// against 64 x 666 = 42,624, spares 64 x 700 + 16 x 811 = 57,776.
    @Test func theAreaColumnComesFromTheSynthesizedCells() throws {
        let f = try Self.files.get()
        let out = f.dir.file("area-cmp.h5"), report = f.dir.file("area-report")
        let r = try runFapsim(Self.compare(f, config: "hw-configs/small-8x8-spares-columns.yaml", out: out,
                                           extra: ["--campaign", f.campaign, "--json", "--report", report]))
        #expect(r.status == 0, "\(r.stderr)")
        let expected: [String: Double] = ["fap": 1, "fam": 1, "rowcol": 42_448.0 / 42_624, "spares": 57_776.0 / 42_624, "fap+T": 1]
        let file = try MitigationComparisonFile.read(path: out)
        #expect(file.summary.map(\.mitigation) == ["fap", "fam", "rowcol", "spares", "fap+T"])
        for s in file.summary { #expect(s.areaVsFAP == expected[s.mitigation], "\(s.mitigation): \(s.areaVsFAP)") }
        for row in file.rows { #expect(row.areaVsFAP == expected[row.mitigation], "\(row.mitigation)") }
        #expect(file.summary[3].areaBasis == "64 spare-host-g4 PEs + 16 spare-g4 spare PEs")
        guard case .string(let cellsFile)? = file.attributes["pe_cells_file"] else { Issue.record("no pe_cells_file"); return }
        #expect(cellsFile == "hw/synth/pe-cells.json")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let summary = try #require(j["summary"] as? [[String: Any]])
        // JSON carries the ratio to the last digit or so.
        for (js, fs) in zip(summary, file.summary) {
            #expect(abs((js["area_vs_fap"] as? Double ?? .nan) - fs.areaVsFAP) < 1e-12 && js["area_basis"] as? String == fs.areaBasis)
        }
        #expect(summary.count == file.summary.count)
        let md = try String(contentsOfFile: report + "/report.md", encoding: .utf8)
        #expect(md.contains("| spares | ") && md.contains(" | 16 | 1.355 | 0 |"), "\(md)")
        // The text table prints the same figures.
        let text = try runFapsim(Self.compare(f, config: "hw-configs/small-8x8-spares-columns.yaml", out: out, extra: ["--force"]))
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("| area vs FAP array |") && text.stdout.contains(" | 0 | 0.996 | 0 |"), "\(text.stdout)")
    }

    /// A comparison file written before the area existed (the columns
    /// removed from a fresh one) still inspects and reports, its area "not available".
    @Test func reportAndInspectReadAFileWithoutTheArea() throws {
        let f = try Self.files.get()
        let out = f.dir.file("pre-area.h5"), old = f.dir.file("old-cmp.h5"), report = f.dir.file("old-report")
        let r = try runFapsim(Self.compare(f, out: out))
        #expect(r.status == 0, "\(r.stderr)")
        var raw = try ResultsFile.read(path: out)
        for t in raw.tables.indices { raw.tables[t].columns.removeAll { $0.name.hasPrefix("area_") } }
        raw.attributes["pe_cells_file"] = nil
        raw.attributes["pe_cells_tool"] = nil
        try raw.write(path: old, force: false)
        let inspected = try runFapsim(["inspect", old])
        #expect(inspected.status == 0, "\(inspected.stderr)")
        #expect(inspected.stdout.contains("array area vs FAP: fap not available, fam not available, rowcol not available"), "\(inspected.stdout)")
        let rep = try runFapsim(["mitigate", "report", "old=" + old, "--out", report])
        #expect(rep.status == 0, "\(rep.stderr)")
        let md = try String(contentsOfFile: report + "/report.md", encoding: .utf8)
        #expect(md.contains("- rowcol: " + MitigationComparisonFile.Summary.areaNotRecorded), "\(md)")
    }

    /// Cell counts that were asked for must load; with none asked for and no
    /// default file (a run outside the repository), the run succeeds and the
    /// area is "not available".
    @Test func missingOrBadCellCounts() throws {
        let f = try Self.files.get()
        let out = f.dir.file("cells-bad.h5")
        try expectOneLineFailure(Self.compare(f, out: out, extra: ["--pe-cells", f.dir.file("none.json")]), "none.json: PE cell counts not found")
        try #"{"content": "fapsim_pe_cells", "tool": "t", "variants": {"fap": {"cells": 1}}}"#
            .write(toFile: f.dir.file("bad-cells.json"), atomically: true, encoding: .utf8)
        try expectOneLineFailure(Self.compare(f, out: out, extra: ["--pe-cells", f.dir.file("bad-cells.json")]),
                                 "bad-cells.json: variants.fap.flip_flops: expected a non-negative whole number")
        #expect(!FileManager.default.fileExists(atPath: out))
        let elsewhere = try TemporaryDirectory()
        let args = Self.compare(f, config: TestPaths.packageRoot + "/" + Self.config, out: elsewhere.file("cmp.h5"))
        var env = ProcessInfo.processInfo.environment
        env["FAPSIM_PE_CELLS"] = nil
        let r = try runProcess(try #require(TestPaths.fapsimBinary), args, environment: env, currentDirectory: elsewhere.path)
        #expect(r.0 == 0, "\(r.2)")
        let file = try MitigationComparisonFile.read(path: elsewhere.file("cmp.h5"))
        #expect(file.summary.allSatisfy { $0.areaVsFAP.isNaN && $0.areaBasis.contains("no PE cell counts") })
        #expect(file.attributes["pe_cells_file"] == nil)
    }

    /// Finished chips are files in OUT.work/: a run stopped after two chips
    /// resumes with the other two and gives the one-go run's file bit for bit.
    @Test func aStoppedRunResumesWithoutRedoingFinishedChips() throws {
        let f = try Self.files.get()
        let whole = f.dir.file("whole.h5"), split = f.dir.file("split.h5")
        let a = try runFapsim(Self.compare(f, out: whole))
        #expect(a.status == 0, "\(a.stderr)")
        let first = try runFapsim(Self.compare(f, out: split, extra: ["--units", "0-1", "--json"]))
        #expect(first.status == 0, "\(first.stderr)")
        #expect(!FileManager.default.fileExists(atPath: split))
        let rest = try runFapsim(Self.compare(f, out: split, extra: ["--json"]))
        #expect(rest.status == 0, "\(rest.stderr)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(rest.stdout.utf8)) as? [String: Any])
        #expect(j["computed_chips"] as? [Int] == [2, 3])
        #expect(try MitigationComparisonFile.read(path: split) == MitigationComparisonFile.read(path: whole))
        // Another test subset is another run: its chip files are refused, naming the field.
        try expectOneLineFailure(Self.compare(f, out: split, extra: ["--force"]).map { $0 == "60" ? "50" : $0 }, "test_subset")
    }

    @Test func rowcolOnAChipWithEveryPEFaultyIsUnusableNotACrash() throws {
        let f = try Self.files.get()
        let out = f.dir.file("full-cmp.h5")
        let r = try runFapsim(Self.compare(f, lot: f.allFaulty, out: out))
        #expect(r.status == 0, "\(r.stderr)")
        let file = try MitigationComparisonFile.read(path: out)
        let rowcol = file.rows.filter { $0.mitigation == "rowcol" }
        #expect(rowcol.count == 4 && rowcol.allSatisfy { !$0.usable && $0.source == "unusable" && $0.cyclesPerImage == -1 })
        #expect(file.summary.first { $0.mitigation == "rowcol" }?.usable == 0)
        #expect(file.summary.first { $0.mitigation == "fap" }?.usable == 4)
    }

    @Test func badInputIsOneLine() throws {
        let f = try Self.files.get()
        let out = f.dir.file("bad.h5")
        try expectOneLineFailure(Self.compare(f, lot: f.lot4x4, out: out), "lot is for a 4 x 4 array, hardware config")
        // The campaign of another lot (the 4x4 one's checksum differs).
        let other = f.dir.file("other-campaign.h5")
        if !FileManager.default.fileExists(atPath: other) {
            try CampaignResults(target: 0.2, rows: f.campaignRows, attributes: [
                "lot_file": .string(f.lot4x4), "lot_checksum": .string(try FNV1a64.file(f.lot4x4)), "rows": .int(8), "cols": .int(8),
                "test_subset": .int(40), "train_subset": .int(500), "baseline_accuracy": .double(0.3),
            ]).write(path: other, force: false)
        }
        try expectOneLineFailure(Self.compare(f, out: out, extra: ["--campaign", other]), "other-campaign.h5: lot_checksum: expected")
        try expectOneLineFailure(Self.compare(f, out: out, extra: ["--campaign", f.campaign, "--campaign-policy", "max"]),
                                 "per_chip policy: expected one of fixed-1000img")
        try expectOneLineFailure(Self.compare(f, out: out, extra: ["--min-throughput", "2"]), "--min-throughput")
        try expectOneLineFailure(Self.compare(f, out: out, extra: ["--below-baseline", "0.05"]), "--min-accuracy/--below-baseline")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
