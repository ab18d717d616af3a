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
        #expect(r.stderr.contains("--mitigation: expected one of fap, fam, rowcol, spares, got 'spare-pes'"), "\(r.stderr)")
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

    /// A lone GEMM under row/column bypass: no MAC is lost, the outputs are the
    /// unmasked product, the closed form equals the array, and the smaller
    /// sub-array costs more folds and cycles than FAP on the same chip.
    @Test(arguments: ["hw-configs/small-8x8.yaml", "hw-configs/small-8x8-int8.yaml"])
    func gemmUnderRowcolKeepsEveryWeight(config: String) throws {
        func gemm(_ mitigation: String) throws -> [String: Any] {
            // K = 2R, N = C: any switched-off row adds a K fold, any column an N fold.
            let r = try runFapsim(["gemm", "--config", config, "--m", "5", "--k", "16", "--n", "8",
                                   "--fault-rate", "0.05", "--seed", "3", "--mitigation", mitigation, "--check", "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        let rowcol = try gemm("rowcol"), fap = try gemm("fap")
        #expect(rowcol["mitigation"] as? String == "rowcol")
        #expect(rowcol["cycles_match_closed_form"] as? Bool == true)
        #expect((rowcol["max_abs_diff"] as? Double ?? 1) < 1e-4)
        #expect(rowcol["macs_performed"] as? Int == 5 * 16 * 8)
        #expect((fap["macs_performed"] as? Int ?? 0) < 5 * 16 * 8)
        #expect((rowcol["folds"] as? Int ?? 0) > (fap["folds"] as? Int ?? 0))
        #expect((rowcol["cycles"] as? Int ?? 0) > (fap["cycles"] as? Int ?? 0))
    }

    @Test(arguments: [
        (["gemm", "--config", "hw-configs/small-8x8.yaml", "--m", "2", "--k", "3", "--n", "4", "--fault-rate", "1",
          "--mitigation", "rowcol"],
         "row/column bypass: the chip is unusable: all 8x8 PEs are faulty, so no fault-free row and column is left to map onto"),
        (["gemm", "--config", "hw-configs/small-8x8.yaml", "--m", "2", "--k", "3", "--n", "4", "--fault-rate", "0.1",
          "--mitigation", "rowcol", "--stuck-at", "1,1,3,1"],
         "--stuck-at: an unmitigated stuck-at fault is modelled under fap or fam only, got --mitigation rowcol"),
        (["vectors", "--config", "hw-configs/small-8x8-int8.yaml", "--m", "2", "--k", "3", "--n", "4", "--seed", "1",
          "--fault-rate", "1", "--out", "vectors-rowcol-out", "--mitigation", "rowcol"],
         "row/column bypass: the chip is unusable: all 8x8 PEs are faulty"),
        (["vectors", "--config", "hw-configs/small-8x8-int8.yaml", "--m", "2", "--k", "3", "--n", "4", "--seed", "1",
          "--fault-rate", "0.1", "--stuck-at", "1,1,3,1", "--out", "vectors-rowcol-out", "--mitigation", "rowcol"],
         "--stuck-at: an unmitigated stuck-at fault is modelled under fap or fam only, got --mitigation rowcol"),
    ])
    func unusableOrUnsupportedRowcolIsAOneLineError(args: [String], message: String) throws {
        let r = try runFapsim(args)
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    @Test(arguments: [
        (["gemm", "--config", "hw-configs/small-8x8.yaml", "--m", "2", "--k", "3", "--n", "4", "--fam-saliency", "random"],
         "--fam-saliency: expected one of magnitude, bn, activation, taylor, got 'random'"),
        (["gemm", "--config", "hw-configs/small-8x8.yaml", "--m", "2", "--k", "3", "--n", "4", "--fam-method", "greedy"],
         "--fam-method: expected one of columns, joint, lanes, got 'greedy'"),
    ])
    func unsupportedFAMInputsAreOneLineErrors(args: [String], message: String) throws {
        let r = try runFapsim(args)
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    /// `vectors --mitigation fam`: the files hold A, W and Out in slot order, the
    /// operands FAM's permutation stores, so the RTL's default mapping loads them
    /// where FAM put them. Against the FAP vectors of the same seed: the same
    /// operands permuted, Out = A x (W * FAP mask) of the permuted operands, the
    /// same cycles and bypassed MACs, and less |w| on faulty PEs.
    @Test func vectorsUnderFAMHoldThePermutedOperands() throws {
        let dir = try TemporaryDirectory()
        func vectors(_ mitigation: String) throws -> String {
            let out = dir.file(mitigation)
            let r = try runFapsim(["vectors", "--config", "hw-configs/small-8x8-int8.yaml", "--m", "5", "--k", "19", "--n", "21",
                                   "--fault-rate", "0.3", "--seed", "4", "--mitigation", mitigation, "--no-vcd", "--out", out])
            #expect(r.status == 0, "\(r.stderr)")
            return out
        }
        func ints(_ dir: String, _ name: String) throws -> [Int] {
            try String(contentsOfFile: dir + "/" + name, encoding: .utf8).split(whereSeparator: \.isWhitespace).map { Int($0)! }
        }
        func meta(_ dir: String) throws -> [String: String] {
            var out: [String: String] = [:]
            for line in try String(contentsOfFile: dir + "/meta.txt", encoding: .utf8).split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
                out[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            return out
        }
        let fam = try vectors("fam"), fap = try vectors("fap")
        let (m, k, n) = (5, 19, 21)
        let kSlot = try ints(fam, "k_slot.txt"), nSlot = try ints(fam, "n_slot.txt")
        #expect(kSlot == Array(0..<k))
        #expect(Set(nSlot) == Set(0..<n) && nSlot != Array(0..<n))
        #expect(!FileManager.default.fileExists(atPath: fap + "/n_slot.txt"))
        let aFam = try ints(fam, "a.txt"), wFam = try ints(fam, "w.txt"), oFam = try ints(fam, "output.txt")
        let aFap = try ints(fap, "a.txt"), wFap = try ints(fap, "w.txt"), oFap = try ints(fap, "output.txt")
        let faults = try ints(fam, "faults.txt")
        #expect(faults == (try ints(fap, "faults.txt")))
        #expect(aFam == aFap)
        for kk in 0..<k { for nn in 0..<n { #expect(wFam[kSlot[kk] * n + nSlot[nn]] == wFap[kk * n + nn]) } }
        // Out = A x (W * mask) under the default mapping, the RTL's: W[k][n] on PE(k mod 8, n mod 8).
        func masked(_ a: [Int], _ w: [Int]) -> [Int] {
            (0..<(m * n)).map { i in
                let (r, c) = (i / n, i % n)
                let sum = (0..<k).reduce(Int64(0)) { $0 + (faults[($1 % 8) * 8 + c % 8] == 1 ? 0 : Int64(a[r * k + $1] * w[$1 * n + c])) }
                return Int(Int32(truncatingIfNeeded: sum))
            }
        }
        #expect(oFam == masked(aFam, wFam))
        #expect(oFap == masked(aFap, wFap))
        for r in 0..<m { for nn in 0..<n where oFam[r * n + nSlot[nn]] != oFap[r * n + nn] {
            // A channel's output differs only through which of its weights are pruned.
            #expect(nSlot[nn] % 8 != nn % 8, "row \(r) channel \(nn)")
        } }
        let mFam = try meta(fam), mFap = try meta(fap)
        #expect(mFam["mitigation"] == "fam" && mFap["mitigation"] == "fap")
        #expect(mFam["cycles"] == mFap["cycles"] && mFam["macs_bypassed"] == mFap["macs_bypassed"])
        #expect(mFam["thread_check"]?.hasPrefix("ok") == true)
        func prunedMagnitude(_ w: [Int]) -> Int {
            (0..<(k * n)).reduce(0) { $0 + (faults[($1 / n % 8) * 8 + $1 % n % 8] == 1 ? abs(w[$1]) : 0) }
        }
        #expect(prunedMagnitude(wFam) < prunedMagnitude(wFap))
    }
}
