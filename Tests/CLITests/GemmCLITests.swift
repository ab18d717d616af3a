import Foundation
import Testing
import FapsimTestSupport

/// End-to-end: the built `fapsim` binary, as a user runs it.
@Suite struct GemmCLITests {
    func json(_ s: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
    }

    @Test func gemmCheckReportsMatchingPaths() throws {
        let r = try runFapsim(["gemm", "--config", "hw-configs/small-8x8.yaml", "--m", "5", "--k", "20", "--n", "11",
                               "--fault-rate", "0.25", "--seed", "3", "--check", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r.stdout)
        #expect(j["cycles_match_closed_form"] as? Bool == true)
        #expect((j["max_abs_diff"] as? Double ?? 1) < 1e-4)
        let performed = try #require(j["macs_performed"] as? Int), bypassed = try #require(j["macs_bypassed"] as? Int)
        #expect(performed + bypassed == 5 * 20 * 11)
        #expect(bypassed > 0)
        #expect(j["cycles"] as? Int == (j["weight_load_cycles"] as! Int) + (j["fill_cycles"] as! Int)
                + (j["steady_cycles"] as! Int) + (j["drain_cycles"] as! Int))
        #expect((j["utilization"] as? Double ?? 0) > 0)
    }

    @Test func gemmInt8IsBitExact() throws {
        let r = try runFapsim(["gemm", "--config", "hw-configs/small-8x8-int8.yaml", "--m", "3", "--k", "17", "--n", "9",
                               "--fault-rate", "0.5", "--check", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r.stdout)
        #expect(j["max_abs_diff"] as? Double == 0)
        #expect(j["cycles_match_closed_form"] as? Bool == true)
    }

    @Test func gemmHumanOutput() throws {
        let r = try runFapsim(["gemm", "--config", "hw-configs/small-8x8.yaml", "--m", "2", "--k", "3", "--n", "4"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("cycles ") && r.stdout.contains("MACs performed 24, bypassed 0"))
    }

    /// Bad input: one line on stderr naming what was wrong, non-zero exit, no stack trace.
    @Test(arguments: [
        (["--m", "0", "--k", "3", "--n", "4"], "GEMM size M: expected a positive integer, got 0"),
        (["--m", "2", "--k", "-3", "--n", "4"], "GEMM size K: expected a positive integer, got -3"),
        (["--m", "2", "--k", "3", "--n", "4", "--fault-rate", "1.5"], "--fault-rate: expected a number in [0, 1], got 1.5"),
        (["--m", "2", "--k", "3", "--n", "4", "--fault-rate", "nan"], "--fault-rate: expected a number in [0, 1], got nan"),
        (["--m", "2", "--k", "3", "--n", "4", "--fault-rate", "-0.1"], "--fault-rate: expected a number in [0, 1], got -0.1"),
        (["--m", "2", "--k", "3", "--n", "4", "--stuck-at", "9,0,1,1"], "--stuck-at: PE (9, 0) is outside the 8x8 array"),
    ])
    func gemmRejectsBadInput(args: [String], message: String) throws {
        let r = try runFapsim(["gemm", "--config", "hw-configs/small-8x8.yaml"] + args)
        #expect(r.status != 0)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    @Test func badConfigsGiveOneLineErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fapsim-cli-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let unknown = dir.appendingPathComponent("unknown.yaml").path
        try "rows: 4\ncols: 4\nweight_load: single-buffered\nclock_mhz: 700\nrowz: 2\n".write(toFile: unknown, atomically: true, encoding: .utf8)
        let unreadable = dir.appendingPathComponent("missing.yaml").path
        for (path, expected) in [(unknown, "\(unknown): rowz: unknown field"),
                                 (unreadable, "\(unreadable): cannot read hardware config")] {
            let r = try runFapsim(["gemm", "--config", path, "--m", "1", "--k", "1", "--n", "1"])
            #expect(r.status != 0)
            #expect(r.stderr.split(separator: "\n").count == 1)
            #expect(r.stderr.contains(expected), "\(r.stderr)")
        }
    }

    @Test func benchArrayPrintsJSON() throws {
        let r = try runFapsim(["bench", "array", "--config", "hw-configs/small-8x8.yaml", "--m", "4", "--k", "16", "--n", "16",
                               "--repeats", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r.stdout)
        #expect((j["pe_cycles_per_s"] as? Double ?? 0) > 0)
        #expect(j["pe_cycles"] as? Int == 64 * (j["cycles"] as! Int))
    }

    /// The measurement behind docs/rate-metric.md's layer table: VGG11's GEMMs
    /// on the 256 x 256 array (shapes, MAC shares, PEs used, folds), then the
    /// lots: uniform and fixed-rate maps keep the weight share within 0.0005 of
    /// the PE rate on average, clustered ones (radius 8) stray at least 3 times
    /// as far.
    @Test func benchRateMetricShareGivesTheLayerTable() throws {
        let r = try runFapsim(["bench", "rate-metric-share", "--chips", "30", "--seed", "7", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r.stdout)
        #expect(j["macs_per_image"] as? Int == 152_769_536)
        let layers = try #require(j["layers"] as? [[String: Any]])
        let shapes = layers.map { "\($0["layer"]!) \($0["k"]!) \($0["n"]!) \($0["m"]!)" }
        #expect(shapes == ["features.0 27 64 1024", "features.4 576 128 256", "features.8 1152 256 64",
                           "features.11 2304 256 64", "features.15 2304 512 16", "features.18 4608 512 16",
                           "features.22 4608 512 4", "features.25 4608 512 4", "classifier 512 10 1"])
        #expect(layers.map { $0["macs"] as! Int }.reduce(0, +) == 152_769_536)
        #expect(abs(layers.map { $0["mac_share"] as! Double }.reduce(0, +) - 1) < 1e-12)
        #expect((layers[3]["mac_share"] as! Double * 10_000).rounded() == 2471)  // 24.71 %
        let folds = layers.map { "\($0["k_folds"]!)x\($0["n_folds"]!)" }
        #expect(folds == ["1x1", "3x1", "5x1", "9x1", "9x2", "18x2", "18x2", "18x2", "2x1"])
        #expect(layers[0]["pe_rows_used"] as? Int == 27 && layers[0]["pe_cols_used"] as? Int == 64)
        #expect(layers[8]["pe_rows_used"] as? Int == 256 && layers[8]["pe_cols_used"] as? Int == 10)
        let lots = try #require(j["lots"] as? [[String: Any]])
        #expect(lots.count == 5)
        func gap(_ name: String) throws -> Double {
            let lot = try #require(lots.first { $0["lot"] as? String == name }, "no lot \(name)")
            return try #require(lot["mean_abs_share_minus_rate"] as? Double)
        }
        let uniform = try gap("uniform 0.01:0.1"), fixed = try gap("fixed 0.05")
        #expect(uniform < 0.0005 && fixed < 0.0005, "uniform \(uniform), fixed \(fixed)")
        #expect(try gap("clustered P 0.05 alpha 2 radius 8") > 3 * max(uniform, fixed))
        let bad = try runFapsim(["bench", "rate-metric-share", "--chips", "1"])
        #expect(bad.status != 0 && bad.stderr.contains("--chips: expected at least 2 chips, got 1"), "\(bad.stderr)")
    }
}
