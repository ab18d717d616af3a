import Foundation
import Testing
import FapsimTestSupport

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
