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

    /// A lone GEMM under FAM: its columns permuted by |w|; the array, the
    /// functional path and the closed form still agree, and fewer of the
    /// largest weights are lost (the bypassed MAC count is the same).
    @Test func gemmUnderFAMKeepsItsPathsInStep() throws {
        func gemm(_ mitigation: String) throws -> [String: Any] {
            let r = try runFapsim(["gemm", "--config", "hw-configs/small-8x8-int8.yaml", "--m", "3", "--k", "17", "--n", "13",
                                   "--fault-rate", "0.3", "--seed", "2", "--mitigation", mitigation, "--check", "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        let fam = try gemm("fam"), fap = try gemm("fap")
        #expect(fam["mitigation"] as? String == "fam")
        #expect(fam["max_abs_diff"] as? Double == 0)
        #expect(fam["cycles_match_closed_form"] as? Bool == true)
        #expect(fam["macs_bypassed"] as? Int == fap["macs_bypassed"] as? Int)
        #expect(fam["cycles"] as? Int == fap["cycles"] as? Int)
    }

    @Test(arguments: [
        (["vectors", "--config", "hw-configs/small-8x8-int8.yaml", "--m", "2", "--k", "3", "--n", "4", "--seed", "1",
          "--mitigation", "fam", "--out"], "--mitigation fam: vectors writes W in the default mapping"),
        (["gemm", "--config", "hw-configs/small-8x8.yaml", "--m", "2", "--k", "3", "--n", "4", "--fam-saliency", "random"],
         "--fam-saliency: expected magnitude or taylor, got 'random'"),
    ])
    func unsupportedFAMInputsAreOneLineErrors(args: [String], message: String) throws {
        let dir = try TemporaryDirectory()
        let r = try runFapsim(args.last == "--out" ? args + [dir.file("v")] : args)
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }
}
