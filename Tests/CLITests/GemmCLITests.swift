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
}
