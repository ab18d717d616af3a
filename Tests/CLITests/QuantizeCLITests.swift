import Foundation
import Testing
import FapsimStore
import FapsimTestSupport
import Network

/// `fapsim quantize`, `fapsim evaluate --quantized [--unmitigated]` and
/// `fapsim stuck-at-curve` end to end, and their one-line errors.
@Suite struct QuantizeCLITests {
    static let model = SharedData.modelPath
    static let cifar = SharedData.cifarDirectory

    func oneLine(_ r: (status: Int32, stdout: String, stderr: String), contains text: String) {
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains(text), "\(r.stderr)")
    }

    /// A small random float network written as a weights file (no shared data needed).
    func floatWeights(_ dir: TemporaryDirectory) throws -> String {
        let path = dir.file("w.h5")
        try VGG11Parameters.random(spec: try VGG11Spec(width: 0.125), seed: 3).weightsFile().write(path: path, force: false)
        return path
    }

    @Test func badInputIsOneLine() throws {
        let dir = try TemporaryDirectory()
        let w = try floatWeights(dir)
        oneLine(try runFapsim(["quantize", "--weights", w, "--calibration", "0", "--out", dir.file("q.h5")]),
                contains: "--calibration: expected a positive number of training images")
        oneLine(try runFapsim(["evaluate", "--quantized", w, "--limit", "1"]),
                contains: "expected int8 quantized weights (schema fapsim.quantized")
        oneLine(try runFapsim(["evaluate", "--weights", w, "--unmitigated", "--fault-rate", "0.01", "--seed", "1"]),
                contains: "--unmitigated: stuck-at faults are modelled on the int8 datapath only")
        oneLine(try runFapsim(["evaluate", "--quantized", w, "--unmitigated", "--stuck-bits", "fixed:32",
                               "--fault-rate", "0.01", "--seed", "1"]),
                contains: "--stuck-bits: expected a bit index 0-31 in fixed:B, got 32")
        oneLine(try runFapsim(["evaluate", "--weights", w, "--quantized", w]),
                contains: "expected one network: --weights FILE (float) or --quantized FILE (int8)")
        oneLine(try runFapsim(["stuck-at-curve", "--quantized", w, "--rates", "0.1,2"]),
                contains: "--rates: expected fractions in (0, 1], got '2'")
        oneLine(try runFapsim(["stuck-at-curve", "--quantized", w, "--rates", "0.1,0.01,0.1"]),
                contains: "--rates: expected each rate once, got 0.1 twice")
    }

    /// Quantize the pre-trained model, evaluate it fault-free, under FAP and
    /// unmitigated, and give the int8 file to a float engine.
    @Test(.requiresSharedData(.pretrainedModel, .cifarTestBatch, .cifarTrainingBatches))
    func quantizeEvaluateAndRefuseTheFloatEngine() throws {
        let dir = try TemporaryDirectory()
        let q = dir.file("q.h5")
        let made = try runFapsim(["quantize", "--weights", Self.model, "--data", Self.cifar, "--calibration", "200",
                                  "--out", q, "--quiet"])
        #expect(made.status == 0, "\(made.stderr)")
        oneLine(try runFapsim(["quantize", "--weights", Self.model, "--data", Self.cifar, "--out", q, "--quiet"]),
                contains: "exists")
        oneLine(try runFapsim(["evaluate", "--weights", q, "--data", Self.cifar, "--limit", "1", "--quiet"]),
                contains: "holds int8 quantized weights (schema fapsim.quantized)")
        func accuracy(_ extra: [String]) throws -> Double {
            let r = try runFapsim(["evaluate", "--quantized", q, "--data", Self.cifar, "--limit", "200", "--quiet", "--json"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
            let j = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            return j["accuracy"] as? Double ?? -1
        }
        let clean = try accuracy([])
        #expect(clean > 0.8)
        let fap = try accuracy(["--fault-rate", "0.001", "--seed", "1"])
        let stuck = try accuracy(["--fault-rate", "0.001", "--seed", "1", "--unmitigated", "--stuck-bits", "high"])
        #expect(fap > 0.8)
        // 66 PEs with a stuck high bit: the partial sums they touch are off by at
        // least 2^24, far beyond any activation's range.
        #expect(stuck < 0.5, "fap \(fap), unmitigated \(stuck)")
    }
}

extension QuantizeCLITests {
    /// The sweep on a small random network and an 8x8 array: every (rate, map)
    /// point in the JSON with its faulty PE count, and both series and the
    /// paper's 0.006% in the SVG.
    @Test(.requiresSharedData(.cifarTestBatch, .cifarTrainingBatches))
    func stuckAtCurveWritesItsPointsAndFigure() throws {
        let dir = try TemporaryDirectory()
        let q = dir.file("q.h5")
        let made = try runFapsim(["quantize", "--weights", try floatWeights(dir), "--data", Self.cifar, "--calibration", "16",
                                  "--out", q, "--quiet"])
        #expect(made.status == 0, "\(made.stderr)")
        let r = try runFapsim(["stuck-at-curve", "--quantized", q, "--data", Self.cifar, "--config", "hw-configs/small-8x8.yaml",
                               "--rates", "0.05,0.2", "--maps", "2", "--limit", "8", "--stuck-bits", "high",
                               "--out", dir.file("c.json"), "--svg", dir.file("c.svg"), "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("c.json")))) as? [String: Any])
        let points = try #require(j["points"] as? [[String: Any]])
        #expect(points.count == 4)
        #expect(points.map { $0["faulty_pes"] as? Int } == [3, 3, 13, 13])
        #expect(j["stuck_bits"] as? String == "high" && j["images"] as? Int == 8)
        let svg = try String(contentsOfFile: dir.file("c.svg"), encoding: .utf8)
        #expect(svg.contains("FAP (bypass)") && svg.contains("unmitigated stuck-at") && svg.contains("0.006%"))
        #expect(r.stdout.contains("| 13 (20%) |"), "\(r.stdout)")
    }
}

/// Lots that carry fault kinds: float-only commands refuse their stuck-at chips.
@Suite struct StuckAtLotCLITests {
    @Test func aLotWithStuckAtFaultsIsRefusedByTheFloatEngineAndBadBitsAreOneLine() throws {
        let dir = try TemporaryDirectory()
        let lot = dir.file("lot.h5")
        let made = try runFapsim(["lot", "generate", "--config", "hw-configs/small-8x8.yaml", "--chips", "2", "--seed", "4",
                                  "--model", "fixed", "--rate", "0.1", "--stuck-bits", "high", "--out", lot, "--quiet"])
        #expect(made.status == 0, "\(made.stderr)")
        // The lot says which distribution drew its stuck bits.
        let inspected = try runFapsim(["inspect", lot, "--json"])
        #expect(inspected.status == 0, "\(inspected.stderr)")
        let info = try #require(try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as? [String: Any])
        #expect(info["stuck_bits"] as? String == "high", "\(inspected.stdout)")
        #expect(try runFapsim(["inspect", lot]).stdout.contains("fault kinds: every faulty PE unmitigated, stuck bits high"))
        let w = dir.file("w.h5")
        try VGG11Parameters.random(spec: try VGG11Spec(width: 0.125), seed: 3).weightsFile().write(path: w, force: false)
        let r = try runFapsim(["evaluate", "--weights", w, "--config", "hw-configs/small-8x8.yaml", "--lot", lot, "--chip", "1",
                               "--limit", "1", "--quiet"])
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("chip 1: 6 faulty PEs are unmitigated stuck-at faults, but this command models FAP bypass only"),
                "\(r.stderr)")
        let bad = try runFapsim(["lot", "generate", "--config", "hw-configs/small-8x8.yaml", "--chips", "1", "--seed", "4",
                                 "--model", "fixed", "--rate", "0.1", "--stuck-bits", "fixed:40", "--out", dir.file("bad.h5")])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--stuck-bits: expected a bit index 0-31 in fixed:B, got 40"), "\(bad.stderr)")
    }
}

extension QuantizeCLITests {
    /// `--points`: every finished point is a file at once; `--resume` reuses them
    /// (same table, nothing recomputed), a folder holding points without --resume
    /// or --force is refused, and a point file from another run is refused naming
    /// the file and the field. A rate under half a PE is refused in one line.
    @Test(.requiresSharedData(.cifarTestBatch, .cifarTrainingBatches))
    func stuckAtCurveResumesFromItsPointFiles() throws {
        let dir = try TemporaryDirectory()
        let q = dir.file("q.h5")
        let made = try runFapsim(["quantize", "--weights", try floatWeights(dir), "--data", Self.cifar, "--calibration", "16",
                                  "--out", q, "--quiet"])
        #expect(made.status == 0, "\(made.stderr)")
        let points = dir.file("points")
        let args = ["stuck-at-curve", "--quantized", q, "--data", Self.cifar, "--config", "hw-configs/small-8x8.yaml",
                    "--rates", "0.05,0.2", "--maps", "2", "--limit", "8", "--points", points]
        let first = try runFapsim(args + ["--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let files = try FileManager.default.contentsOfDirectory(atPath: points).sorted()
        #expect(files == ["rate0.05-map0.json", "rate0.05-map1.json", "rate0.2-map0.json", "rate0.2-map1.json"])
        let again = try runFapsim(args + ["--resume"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout == first.stdout)
        // Every point came from its file: the progress line had no images left to do.
        #expect(again.stderr.contains("0/0 images"), "\(again.stderr)")
        #expect(again.stderr.contains("faulty PEs of the 8x8 array (rate x 64, rounded): 5% -> 3, 20% -> 13"), "\(again.stderr)")
        oneLine(try runFapsim(args), contains: "holds 4 finished points; pass --resume to reuse them or --force to recompute them")
        let one = points + "/rate0.2-map1.json"
        let text = try String(contentsOfFile: one, encoding: .utf8)
        try text.replacingOccurrences(of: "\"images\" : 8", with: "\"images\" : 9").write(toFile: one, atomically: true, encoding: .utf8)
        oneLine(try runFapsim(args + ["--resume", "--quiet"]), contains: "rate0.2-map1.json: images: expected 8 as in this run")
        // --resume with --force keeps the points and replaces the outputs only.
        let svg = dir.file("c.svg")
        try "old".write(toFile: svg, atomically: true, encoding: .utf8)
        try text.write(toFile: one, atomically: true, encoding: .utf8)
        let redrawn = try runFapsim(args + ["--resume", "--force", "--svg", svg, "--quiet"])
        #expect(redrawn.status == 0, "\(redrawn.stderr)")
        #expect(redrawn.stdout == first.stdout)
        #expect(try String(contentsOfFile: svg, encoding: .utf8).contains("<svg"))
        let forced = try runFapsim(args + ["--force", "--quiet"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout == first.stdout)
        oneLine(try runFapsim(["stuck-at-curve", "--quantized", q, "--data", Self.cifar, "--rates", "0.000005"]),
                contains: "--rates: expected rates of at least half a PE of the 256x256 array")
        oneLine(try runFapsim(["stuck-at-curve", "--quantized", q, "--resume"]),
                contains: "--resume: expected --points DIR")
    }
}

extension QuantizeCLITests {
    /// `bench stuck-at` on a small random network (quantized in memory) and an
    /// 8x8 array: every rate's point carries its speeds, the correction's time
    /// and share, and both accuracies; FAP and unmitigated ran the same images.
    @Test(.requiresSharedData(.cifarTestBatch, .cifarTrainingBatches))
    func benchStuckAtReportsEveryRate() throws {
        let dir = try TemporaryDirectory()
        let r = try runFapsim(["bench", "stuck-at", "--weights", try floatWeights(dir), "--calibration", "16",
                               "--data", Self.cifar, "--config", "hw-configs/small-8x8.yaml",
                               "--rates", "0.05,0.2", "--images", "8", "--batch", "4", "--stuck-bits", "high"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(j["benchmark"] as? String == "stuck-at" && j["images"] as? Int == 8 && j["rows"] as? Int == 8)
        #expect(j["stuck_bits"] as? String == "high" && j["scalar_reference"] as? Bool == false)
        let points = try #require(j["points"] as? [[String: Any]])
        #expect(points.map { $0["faulty_pes"] as? Int } == [3, 13])
        for p in points {
            for key in ["fap_images_per_s", "unmitigated_images_per_s", "fap_s", "unmitigated_s", "unmitigated_over_fap"] {
                #expect((p[key] as? Double ?? 0) > 0, "\(key): \(p)")
            }
            let correction = p["correction_s"] as? Double ?? -1, share = p["correction_share"] as? Double ?? -1
            #expect(correction > 0 && correction <= p["unmitigated_s"] as? Double ?? 0, "\(p)")
            #expect(share > 0 && share <= 1, "\(p)")
            for key in ["fap_accuracy", "unmitigated_accuracy"] {
                let a = p[key] as? Double ?? -1
                // Accuracies over 8 images: whole eighths.
                #expect(a >= 0 && a <= 1 && (a * 8).rounded() == a * 8, "\(key): \(p)")
            }
        }
        oneLine(try runFapsim(["bench", "stuck-at", "--rates", "0.1"]),
                contains: "expected one network: --quantized FILE (int8) or --weights FILE (float, quantized in memory)")
        oneLine(try runFapsim(["bench", "stuck-at", "--quantized", dir.file("missing.h5"), "--rates", "0.1,0.1"]),
                contains: "--rates: expected each rate once, got 0.1 twice")
    }
}
