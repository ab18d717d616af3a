import Foundation
import Testing
import FapsimTestSupport
import SystolicArray

/// `--mitigation spares`: the config's spare PEs repair what a matching can, the
/// rest falls back to FAP (docs/mitigations.md).
@Suite struct SparesCLITests {
    static let base = "rows: 8\ncols: 8\nweight_load: single-buffered\nclock_mhz: 700\n"

    static func gemm(_ config: String, _ mitigation: String, extra: [String] = []) throws -> [String: Any] {
        let r = try runFapsim(["gemm", "--config", config, "--m", "5", "--k", "16", "--n", "8",
                               "--fault-rate", "0.2", "--seed", "3", "--mitigation", mitigation, "--check", "--json"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
    }

    /// `gemm --mitigation spares --check`, float (diagonal) and int8 (column
    /// groups): the closed form equals the array, the outputs equal the
    /// functional masked GEMM on the repaired map, the repair is reported (count
    /// and list), a repaired PE costs no cycle, and more MACs survive than under
    /// FAP on the same chip.
    @Test(arguments: [("diagonal", "float32", 8), ("column-groups\n  group_cols: 4", "int8", 16)])
    func gemmUnderSparesRepairsAndKeepsItsPathsInStep(layout: String, datapath: String, spares: Int) throws {
        let dir = try TemporaryDirectory()
        let config = dir.file("spares.yaml")
        try (Self.base + "datapath: \(datapath)\nspares:\n  layout: \(layout)\n").write(toFile: config, atomically: true, encoding: .utf8)
        let withSpares = try Self.gemm(config, "spares"), fap = try Self.gemm(config, "fap")
        #expect(withSpares["mitigation"] as? String == "spares")
        #expect(withSpares["cycles_match_closed_form"] as? Bool == true)
        let diff = try #require(withSpares["max_abs_diff"] as? Double)
        #expect(datapath == "int8" ? diff == 0 : diff < 1e-4)
        #expect(withSpares["spare_pes"] as? Int == spares)
        let repaired = try #require(withSpares["faults_repaired"] as? Int)
        let unrepaired = try #require(withSpares["faults_unrepaired"] as? Int)
        #expect(repaired > 0)
        #expect(repaired + unrepaired == 13)  // round(0.2 x 64) faulty PEs
        let list = try #require(withSpares["repaired"] as? [[Int]])
        #expect(list.count == repaired && list.allSatisfy { $0.count == 3 })
        #expect(withSpares["cycles"] as? Int == fap["cycles"] as? Int)
        #expect((withSpares["macs_performed"] as? Int ?? 0) > (fap["macs_performed"] as? Int ?? 0))
        #expect(fap["faults_repaired"] == nil)
    }

    /// `vectors --mitigation spares` under column-groups writes what the spare RTL
    /// (hw/rtl/fap_spare_array.sv) takes: the raw map, and per row and group the
    /// column its spare replaces, which must be `SpareRepair`'s result on that
    /// raw map; faults.txt stays the effective map for the FAP array. The
    /// diagonal layout (no RTL) writes neither, and removes stale ones.
    @Test func vectorsUnderColumnGroupSparesWriteTheRawMapAndTheSelects() throws {
        let dir = try TemporaryDirectory()
        let out = dir.file("v")
        func vectors(_ config: String) throws {
            let r = try runFapsim(["vectors", "--config", config, "--m", "4", "--k", "12", "--n", "9", "--fault-rate", "0.3",
                                   "--seed", "5", "--mitigation", "spares", "--out", out, "--force", "--no-vcd"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        func bits(_ name: String) throws -> [UInt8] {
            try String(contentsOfFile: (out as NSString).appendingPathComponent(name), encoding: .utf8)
                .split(whereSeparator: \.isWhitespace).map { try #require(UInt8($0)) }
        }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: (out as NSString).appendingPathComponent(name)) }

        try vectors("hw-configs/small-8x8-spares-columns.yaml")
        let raw = FaultMap(rows: 8, cols: 8, bits: try bits("faults_raw.txt"))
        #expect(raw.faultyCount == 19)  // round(0.3 x 64)
        let repair = SpareRepair.repair(faults: raw, layout: .columnGroups(groupCols: 4))
        #expect(!repair.repaired.isEmpty && !repair.unrepaired.isEmpty)
        let rows = try String(contentsOfFile: (out as NSString).appendingPathComponent("spares.txt"), encoding: .utf8)
            .split(separator: "\n").map { line in try line.split(separator: " ").map { try #require(Int($0)) } }
        #expect(rows.count == 8 && rows.allSatisfy { $0.count == 2 })
        var want = [[Int]](repeating: [-1, -1], count: 8)
        for a in repair.repaired {
            #expect(a.spare == (a.col / 4) * 8 + a.row)  // the spare of the PE's row in its group
            want[a.row][a.col / 4] = a.col
        }
        #expect(rows == want)
        #expect(try bits("faults.txt") == repair.effectiveFaults.bits)
        let meta = try String(contentsOfFile: (out as NSString).appendingPathComponent("meta.txt"), encoding: .utf8)
        #expect(meta.contains("spare_layout column-groups:4\n") && meta.contains("spare_group_cols 4\n")
                && meta.contains("faults_repaired \(repair.repaired.count)\n"), "\(meta)")

        try vectors("hw-configs/small-8x8-spares-diagonal.yaml")
        #expect(!exists("faults_raw.txt") && !exists("spares.txt"))
        #expect(exists("faults.txt"))
    }

    @Test func badSpareInputsAreOneLineErrors() throws {
        let dir = try TemporaryDirectory()
        let misfit = dir.file("misfit.yaml")
        try (Self.base + "spares:\n  layout: column-groups\n  group_cols: 3\n").write(toFile: misfit, atomically: true, encoding: .utf8)
        let gemm = ["gemm", "--m", "2", "--k", "3", "--n", "4", "--fault-rate", "0.1", "--mitigation", "spares"]
        try expectOneLineFailure(gemm + ["--config", misfit],
                                 "\(misfit): spares.group_cols: expected a group width dividing the array's 8 columns, got 3")
        try expectOneLineFailure(gemm + ["--config", "hw-configs/small-8x8.yaml"],
                                 "hw-configs/small-8x8.yaml: spares: expected a spare layout for --mitigation spares")
        try expectOneLineFailure(gemm + ["--config", "hw-configs/small-8x8-spares-diagonal.yaml", "--stuck-at", "1,1,3,1"],
                                 "--stuck-at: an unmitigated stuck-at fault is modelled under fap or fam only, got --mitigation spares")
        try expectOneLineFailure(["lot", "generate", "--config", "hw-configs/small-8x8.yaml", "--chips", "2", "--model", "fixed", "--rate", "0.1", "--seed", "1",
                                  "--mitigation", "spares", "--out", dir.file("lot.h5")],
                                 "hw-configs/small-8x8.yaml: spares: expected a spare layout for --mitigation spares")
    }

    /// A lot drawn for a spares config records its layout and the repairs; its
    /// chips then run spares (the lot's) and must be read with that layout.
    @Test func lotRecordsTheSpareLayout() throws {
        let dir = try TemporaryDirectory()
        let lot = dir.file("lot.h5")
        let r = try runFapsim(["lot", "generate", "--config", "hw-configs/small-8x8-spares-diagonal.yaml", "--chips", "3", "--seed", "1", "--model", "fixed",
                               "--rate", "0.1", "--mitigation", "spares", "--out", lot, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(j["mitigation"] as? String == "spares")
        #expect(j["spare_layout"] as? String == "diagonal")
        let perChip = try #require(j["faults_repaired"] as? [Int])
        #expect(perChip.count == 3 && perChip.allSatisfy { $0 > 0 })
        let inspect = try runFapsim(["inspect", lot])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("mitigation spares, spare_layout diagonal (8 spare PEs per chip), faults_repaired \(perChip.reduce(0, +)) over the lot"), "\(inspect.stdout)")
    }
}
