import Foundation
import Testing
import FapsimStore
import FapsimTestSupport
import Network
import SystolicArray

/// `fapsim simulate` end to end: the trace's totals against docs/conventions.md §3 and the closed
/// form, the VCD against the register-level model's rules (read back by an
/// independent Python parser), and bad input.
@Suite struct SimulateCLITests {
    static let model = SharedData.modelPath
    static let cifar = SharedData.cifarDirectory

    final class TempDir {
        let path: String
        init() throws {
            path = NSTemporaryDirectory() + "fapsim-simulate-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        func file(_ name: String) -> String { path + "/" + name }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    func json(_ s: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
    }

    func simulate(_ extra: [String], config: String = "hw-configs/small-8x8.yaml", trace: String) throws
        -> (status: Int32, stdout: String, stderr: String) {
        try runFapsim(["simulate", "--config", config, "--weights", Self.model, "--data", Self.cifar,
                       "--trace", trace, "--quiet"] + extra)
    }

    @Test(.requiresSharedData(.pretrainedModel, .cifarTestBatch))
    func oneImageOn256MatchesSpecAndClosedForm() throws {
        let dir = try TempDir()
        let r = try simulate(["--json"], config: "hw-configs/tpu-256x256.yaml", trace: dir.file("t.csv"))
        #expect(r.status == 0, "\(r.stderr)")
        let j = try json(r.stdout)
        #expect(j["macs_performed"] as? Int == 152_769_536)  // docs/conventions.md §3
        #expect(j["macs_bypassed"] as? Int == 0)
        let hw = try HardwareConfig.load(path: TestPaths.packageRoot + "/hw-configs/tpu-256x256.yaml")
        let layers = try #require(j["layers"] as? [[String: Any]])
        #expect(layers.count == 9)
        var sum = 0
        for l in layers {
            let m = l["m"] as! Int, k = l["k"] as! Int, n = l["n"] as! Int
            let closed = try ClosedFormTiming.gemm(config: hw, m: m, k: k, n: n, faults: nil)
            #expect(l["total_cycles"] as? Int == closed.cycles, "\(l["layer"]!)")
            #expect(l["weight_load_cycles"] as? Int == closed.weightLoadCycles, "\(l["layer"]!)")
            #expect(l["drain_cycles"] as? Int == closed.drainCycles, "\(l["layer"]!)")
            sum += closed.cycles
        }
        #expect(j["total_cycles"] as? Int == sum)
        // The CSV ends with the total row, and the results file sits beside it.
        let csv = try String(contentsOfFile: dir.file("t.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n")
        #expect(lines.count == 11)
        #expect(lines.last?.hasPrefix("total,1449,0,0,") == true)
        #expect(lines.last?.contains(",\(sum),152769536,0,") == true)
        let h5 = try ResultsFile.read(path: dir.file("t.h5"))
        #expect(h5.content == "cycle-trace")
        let table = try #require(h5[table: "cycle_trace"])
        #expect(table["layer"]?.values == .string(layers.map { $0["layer"] as! String } + ["total"]))
        #expect(table["total_cycles"]?.units == "cycles")
        #expect(table["macs_performed"]?.units == "MACs")
        if case .int64(let macs)? = table["macs_performed"]?.values {
            #expect(macs.last == 152_769_536)
        } else {
            Issue.record("macs_performed: expected an int64 column")
        }
    }

    @Test(.requiresSharedData(.pretrainedModel, .cifarTestBatch))
    func batchesAreSummedPerLayer() throws {
        let dir = try TempDir()
        // 3 images in batches of 2: two GEMMs per layer, summed into one row; the
        // MAC total passes 2^31, which the human-readable line must print whole.
        let r = try simulate(["--images", "3", "--batch", "2"], trace: dir.file("t.csv"))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\(3 * 152_769_536) MACs performed, 0 bypassed"), "\(r.stdout)")
        let rows = try String(contentsOfFile: dir.file("t.csv"), encoding: .utf8).split(separator: "\n")
        #expect(rows.count == 11)
        // features.0: M = 32 x 32 x 3 images; 4 K-folds x 8 N-folds per GEMM on 8x8, twice.
        #expect(rows[1].hasPrefix("features.0,3072,27,64,64,"), "\(rows[1])")
        #expect(rows.last?.contains(",\(3 * 152_769_536),0,") == true)
    }

    /// Reads the VCD with vcdvcd and checks, for every PE and edge of the window,
    /// the register-transfer rules of docs/conventions.md §1 and PEArray: a(i,j)[t] =
    /// a(i,j-1)[t-1]; p(i,j)[t] = fl32(p(i-1,j)[t-1] + fl32(w*a)) when the PE
    /// has a valid weight and activation and is not bypassed, else p(i-1,j)[t-1];
    /// bypass bits equal the fault map; at the window's end the weights are the
    /// fold's slice of W. Prints a JSON tally.
    static let checker = #"""
import json, struct, sys
try:
    import vcdvcd
except ImportError as e:
    print("vcdvcd missing: %s" % e, file=sys.stderr); sys.exit(3)
exp = json.load(open(sys.argv[1]))
v = vcdvcd.VCDVCD(sys.argv[2])
sig = {name.split("[")[0].strip(): v[name] for name in v.references_to_ids}
R, C, t0, t1 = exp["rows"], exp["cols"], exp["start"], exp["end"]
def val(i, j, s, t): return int(sig["fap_array.pe_%d_%d.%s" % (i, j, s)][t], 2)
def f(b): return struct.unpack("<f", struct.pack("<I", b))[0]
def bits(x): return struct.unpack("<I", struct.pack("<f", x))[0]
tally = dict(bypass=0, weights=0, shifts=0, macs=0, passes=0, bypassed_valid=0, mismatches=[])
def bad(msg):
    if len(tally["mismatches"]) < 10: tally["mismatches"].append(msg)
for i in range(R):
    for j in range(C):
        tally["bypass"] += 1
        if val(i, j, "bypass", t0) != exp["faults"][i][j]: bad("bypass %d,%d" % (i, j))
        want = exp["weights"][i][j]
        if want is not None:
            tally["weights"] += 1
            if val(i, j, "w", t1 - 1) != want or val(i, j, "wv", t1 - 1) != 1: bad("w %d,%d" % (i, j))
for t in range(t0 + 1, t1):
    for i in range(R):
        for j in range(C):
            if j > 0:
                tally["shifts"] += 1
                if val(i, j, "a", t) != val(i, j - 1, "a", t - 1): bad("a %d,%d @%d" % (i, j, t))
            p_in = 0 if i == 0 else val(i - 1, j, "p", t - 1)
            valid = val(i, j, "av", t) and val(i, j, "wv", t - 1)
            byp = val(i, j, "bypass", t)
            if valid and not byp:
                tally["macs"] += 1
                want = bits(f(p_in) + f(bits(f(val(i, j, "w", t - 1)) * f(val(i, j, "a", t)))))
            else:
                tally["passes"] += 1
                tally["bypassed_valid"] += 1 if valid and byp else 0
                want = p_in
            if val(i, j, "p", t) != want: bad("p %d,%d @%d: %x != %x" % (i, j, t, val(i, j, "p", t), want))
print(json.dumps(tally))
"""#

    @Test(.requiresSharedData(.pretrainedModel, .cifarTestBatch),
          arguments: [(false, 1), (true, 2)])
    func vcdMatchesRegisterLevelModel(doubleBuffered: Bool, foldIndex: Int) throws {
        let dir = try TempDir()
        // small-8x8, or the same array double-buffered (a config written here).
        var configPath = TestPaths.packageRoot + "/hw-configs/small-8x8.yaml"
        if doubleBuffered {
            let yaml = try String(contentsOfFile: configPath, encoding: .utf8)
                .replacingOccurrences(of: "weight_load: single-buffered", with: "weight_load: double-buffered")
            #expect(yaml.contains("weight_load: double-buffered"))
            configPath = dir.file("db.yaml")
            try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        }
        // Expected values derived here, not by the binary: the fault map from the
        // same seed, the fold's weights from the model (W[k][n] on PE(k mod R, n mod C)),
        // the fold's first edge from the closed-form per-fold cycles.
        let hw = try HardwareConfig.load(path: configPath)
        let faults = try FaultMap.uniform(rows: hw.rows, cols: hw.cols, rate: 0.25, seed: 3)
        let params = try VGG11Parameters.load(path: Self.model)
        let w = try #require(params.gemm["features.0"])
        let plan = try ClosedFormTiming.gemm(config: hw, m: 1024, k: w.k, n: w.n, faults: faults)
        let fold = plan.perFold[foldIndex]
        let start = plan.perFold[..<foldIndex].reduce(0) { $0 + $1.cycles }, end = start + 200
        #expect(fold.cycles > 200)

        let r = try simulate(["--vcd", dir.file("w.vcd"), "--layer", "features.0", "--fold", "\(foldIndex)",
                              "--cycles", "\(start):\(end)", "--fault-rate", "0.25", "--seed", "3", "--json"],
                             config: configPath, trace: dir.file("t.csv"))
        #expect(r.status == 0, "\(r.stderr)")
        guard r.status == 0 else { return }
        #expect(try json(r.stdout)["vcd_edges"] as? Int == 200)
        let vcdText = try String(contentsOfFile: dir.file("w.vcd"), encoding: .utf8)
        #expect(vcdText.contains("$var wire 32 ") && vcdText.contains(" ws [31:0] $end") == doubleBuffered)

        var weights: [[Any]] = []
        for i in 0..<hw.rows {
            weights.append((0..<hw.cols).map { j -> Any in
                let k = fold.kFold * hw.rows + i, n = fold.nFold * hw.cols + j
                return k < w.k && n < w.n ? Int(w.weight[k * w.n + n].bitPattern) : NSNull()
            })
        }
        let faultRows = (0..<hw.rows).map { i in (0..<hw.cols).map { faults.bits[i * hw.cols + $0] } }
        let expected: [String: Any] = ["rows": hw.rows, "cols": hw.cols, "start": start, "end": end,
                                       "faults": faultRows, "weights": weights]
        try JSONSerialization.data(withJSONObject: expected).write(to: URL(fileURLWithPath: dir.file("expected.json")))

        let strict = ProcessInfo.processInfo.environment["FAPSIM_REQUIRE_INTEROP"] == "1"
        let (status, out, err) = try runProcess("/usr/bin/env", ["python3", "-c", Self.checker,
                                                                 dir.file("expected.json"), dir.file("w.vcd")])
        if status == 3 || status == 127 {
            if strict { Issue.record("FAPSIM_REQUIRE_INTEROP=1 but python3/vcdvcd is missing: \(err)") }
            print("skipped VCD interop check: python3 or vcdvcd missing (pip install vcdvcd); \(err)")
            return
        }
        #expect(status == 0, "\(err)")
        let tally = try json(out)
        #expect((tally["mismatches"] as? [Any])?.isEmpty == true, "\(tally["mismatches"] ?? "")")
        #expect(tally["bypass"] as? Int == 64)
        // K = 27, N = 64: folds with kFold < 3 use all 8 rows and all 8 columns.
        #expect(fold.kFold < 3)
        #expect(tally["weights"] as? Int == 64)
        #expect((tally["macs"] as? Int ?? 0) > 1000)
        #expect((tally["bypassed_valid"] as? Int ?? 0) > 100)
    }

    @Test(.requiresSharedData(.pretrainedModel, .cifarTestBatch))
    func badInputGivesOneLineErrors() throws {
        let dir = try TempDir()
        let t = dir.file("t.csv")
        func fails(_ extra: [String], _ needle: String, config: String = "hw-configs/small-8x8.yaml") throws {
            let r = try simulate(extra, config: config, trace: t)
            #expect(r.status != 0, "\(extra)")
            #expect(r.stderr.contains(needle), "\(extra): \(r.stderr)")
        }
        let vcd = ["--vcd", dir.file("w.vcd")]
        try fails(vcd + ["--layer", "features.1", "--fold", "0"], "valid names: features.0, features.4")
        try fails(vcd + ["--layer", "features.0", "--fold", "32"], "has 32 fold(s)")
        try fails(vcd + ["--layer", "features.0", "--fold", "0", "--cycles", "1000:1100"], "spans edges 0:1046")
        try fails(vcd + ["--layer", "features.0", "--fold", "0", "--cycles", "9:9"], "expected A < B")
        #expect(!FileManager.default.fileExists(atPath: dir.file("w.vcd")))

        let r = try simulate([], trace: dir.file("no-such-dir/t.csv"))
        #expect(r.status != 0 && r.stderr.contains("does not exist"), "\(r.stderr)")
        try "x".write(toFile: t, atomically: true, encoding: .utf8)
        try fails([], "already exists; pass --force")
        try FileManager.default.removeItem(atPath: t)

        let lot = dir.file("lot.h5")
        let g = try runFapsim(["lot", "generate", "--config", "hw-configs/small-8x8.yaml", "--chips", "2", "--seed", "1",
                               "--out", lot, "--model", "fixed", "--rate", "0.1", "--quiet"])
        #expect(g.status == 0, "\(g.stderr)")
        try fails(["--lot", lot, "--chip", "2"], "chip 2 is out of range")
        try fails(["--lot", lot, "--chip", "0"], "lot is for a 8 x 8 array", config: "hw-configs/tpu-256x256.yaml")
        #expect(!FileManager.default.fileExists(atPath: t))
    }

    /// Workers take whole batches: the trace (CSV and JSON) of 3 images in batches
    /// of 1 is byte for byte the one-worker trace, and `evaluate --engine array`
    /// reports the same accuracy and cycles.
    @Test(.requiresSharedData(.pretrainedModel, .cifarTestBatch))
    func workersGiveTheOneWorkerTrace() throws {
        let dir = try TempDir()
        var csv: [String] = [], cycles: [Int] = []
        for workers in ["1", "2"] {
            let path = dir.file("w\(workers).csv")
            let r = try simulate(["--json", "--images", "3", "--batch", "1", "--workers", workers], trace: path)
            #expect(r.status == 0, "\(r.stderr)")
            let j = try json(r.stdout)
            #expect(j["workers"] as? Int == Int(workers))
            cycles.append(try #require(j["total_cycles"] as? Int))
            csv.append(try String(contentsOfFile: path, encoding: .utf8))
        }
        #expect(csv[0] == csv[1] && cycles[0] == cycles[1])
        var evaluations: [[String: Any]] = []
        for workers in ["1", "2"] {
            let r = try runFapsim(["evaluate", "--engine", "array", "--config", "hw-configs/small-8x8.yaml",
                                   "--weights", Self.model, "--data", Self.cifar, "--limit", "3", "--workers", workers,
                                   "--json", "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            evaluations.append(try json(r.stdout))
        }
        #expect(evaluations[0]["cycles"] as? Int == evaluations[1]["cycles"] as? Int)
        #expect(evaluations[0]["correct"] as? Int == evaluations[1]["correct"] as? Int)
        #expect(evaluations[0]["cycles"] as? Int == cycles[0])
        #expect((evaluations[0]["layers"] as? [[String: Any]])?.map { $0["macs_performed"] as? Int }
                == (evaluations[1]["layers"] as? [[String: Any]])?.map { $0["macs_performed"] as? Int })
    }

    /// Idle skipping changes no result: stepping every PE on every edge gives the
    /// same trace (CSV) and the same VCD of a partial fold.
    @Test(.requiresSharedData(.pretrainedModel, .cifarTestBatch))
    func steppingEveryPEGivesTheSameTraceAndVCD() throws {
        let dir = try TempDir()
        var csv: [String] = [], vcd: [String] = []
        for (name, extra) in [("skip", [String]()), ("every", ["--step-every-pe"])] {
            let r = try simulate(["--batch", "1", "--vcd", dir.file("\(name).vcd"), "--layer", "classifier", "--fold", "0"] + extra,
                                 trace: dir.file("\(name).csv"))
            #expect(r.status == 0, "\(r.stderr)")
            csv.append(try String(contentsOfFile: dir.file("\(name).csv"), encoding: .utf8))
            // Everything but the header's $date line (the wall-clock time of the run).
            let text = try String(contentsOfFile: dir.file("\(name).vcd"), encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let dateLine = lines.firstIndex(of: "$date").map { $0 + 1 }
            vcd.append(lines.enumerated().filter { $0.offset != dateLine }.map { String($0.element) }.joined(separator: "\n"))
        }
        #expect(csv[0] == csv[1])
        #expect(!vcd[0].isEmpty && vcd[0] == vcd[1])
    }

    /// Winograd is the functional engine's option only, and workers the array's:
    /// one-line refusals naming the option.
    @Test func engineOptionsAreRefusedOnTheOtherEngine() throws {
        let wino = try runFapsim(["evaluate", "--weights", "w.h5", "--engine", "array", "--conv-algorithm", "winograd"])
        #expect(wino.status != 0)
        #expect(wino.stderr.contains("--conv-algorithm winograd: only with --engine functional"), "\(wino.stderr)")
        let workers = try runFapsim(["evaluate", "--weights", "w.h5", "--workers", "2"])
        #expect(workers.status != 0)
        #expect(workers.stderr.contains("--workers: only with --engine array"), "\(workers.stderr)")
        let zero = try runFapsim(["simulate", "--config", "c.yaml", "--weights", "w.h5", "--trace", "t.csv", "--workers", "0"])
        #expect(zero.status != 0)
        #expect(zero.stderr.contains("--workers: expected a positive count, got 0"), "\(zero.stderr)")
    }
}
