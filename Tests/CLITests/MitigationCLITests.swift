import Foundation
import Testing
import FapsimTestSupport

/// `--mitigation`: one option group on every command that runs a chip.
@Suite struct MitigationCLITests {
    /// Each command's required options, enough to reach option validation.
    static let commands: [[String]] = [
        ["gemm", "--config", "hw-configs/small-8x8.yaml", "--m", "2", "--k", "3", "--n", "4"],
        ["evaluate", "--weights", "w.h5"],
        ["simulate", "--weights", "w.h5", "--config", "hw-configs/small-8x8.yaml"],
        ["fat", "--weights", "w.h5", "--fault-rate", "0.1", "--seed", "1", "--out", "o.h5"],
        ["resilience", "--weights", "w.h5", "--out", "o.h5"],
        ["reduce", "--weights", "w.h5", "--lot", "l.h5", "--resilience", "r.h5", "--target", "0.8", "--out", "o.h5"],
        ["budget", "--resilience", "r.h5", "--lot", "l.h5", "--target", "0.8", "--policy", "max", "--out", "o.h5"],
        ["vectors", "--config", "hw-configs/small-8x8.yaml", "--m", "2", "--k", "3", "--n", "4", "--seed", "1",
         "--out", "vectors-out"],
    ]

    @Test(arguments: commands)
    func unknownMitigationIsAOneLineErrorNamingTheChoices(command: [String]) throws {
        let r = try runFapsim(command + ["--mitigation", "spare-pes"])
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("--mitigation: expected one of fap, fam, got 'spare-pes'"), "\(r.stderr)")
    }

    @Test func gemmRecordsTheMitigationAndItsPathsAgree() throws {
        let r = try runFapsim(["gemm", "--config", "hw-configs/small-8x8.yaml", "--m", "4", "--k", "19", "--n", "13",
                               "--fault-rate", "0.3", "--seed", "5", "--mitigation", "fap", "--check", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(j["mitigation"] as? String == "fap")
        #expect(j["cycles_match_closed_form"] as? Bool == true)
        #expect((j["max_abs_diff"] as? Double ?? 1) < 1e-4)
    }
}
