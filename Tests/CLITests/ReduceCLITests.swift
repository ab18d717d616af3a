import Foundation
import Testing
import FapsimStore
import FapsimTestSupport
import Network
import SystolicArray

/// Reduce Steps 1 and 3 end to end through the built `fapsim`: a VGG11 of width
/// 1/16, pre-trained for a few epochs on 1,024 CIFAR-10 images, on an 8x8
/// array, with a few hundred images per FAT epoch, so every run takes seconds.
enum ReduceFixture {
    static let cifar = SharedData.cifarDirectory
    static let config = "hw-configs/small-8x8.yaml"

    struct Files {
        let dir: TemporaryDirectory
        let weights: String
        let otherWeights: String
        let lot: String
        let lot4x4: String
        let baseline: Double
        /// A test-subset size on which the weights do worse than the higher target.
        let weakSubset: Int?
        let targets: [Double]
        /// A complete resilience run (the reference the resumed / split runs must equal).
        let resilience: String
        var path: String { dir.path }
    }

    /// Made once per test process (the weights take a few seconds to train).
    nonisolated(unsafe) static let files: Result<Files, Error> = Result { try make() }

    static func get() throws -> Files { try files.get() }

    static let common = ["--config", config, "--rates", "0.05,0.15,0.3", "--repeats", "2", "--epochs", "2",
                         "--train-subset", "256", "--test-subset", "200", "--batch", "64", "--lr", "0.02", "--seed", "5", "--quiet"]

    static func resilienceArgs(_ f: Files, out: String, weights: String? = nil) -> [String] {
        ["resilience", "--weights", weights ?? f.weights, "--data", cifar, "--targets", f.targets.map { "\($0)" }.joined(separator: ","),
         "--out", out] + common
    }

    static func make() throws -> Files {
        let dir = try TemporaryDirectory(prefix: "fapsim-reduce-cli")
        let spec = try VGG11Spec(width: 0.0625)
        // A few fault-free epochs so the network is clearly better than chance.
        let train = try CIFAR10Set.load(directory: cifar, split: .train, limit: 1024)
        let test = try CIFAR10Set.load(directory: cifar, split: .test, limit: 200)
        let trainer = VGG11Trainer(parameters: VGG11Parameters.random(spec: spec, seed: 11), faults: nil)
        let run = try TrainingRun(trainer: trainer, settings: try TrainingSettings(epochs: 4, batch: 64, scheduleName: "constant", lr: 0.05, seed: 3),
                                  train: train, test: test)
        while !run.finished { try run.runEpoch() }
        let weights = dir.file("tiny.h5")
        try trainer.parameters.weightsFile().write(path: weights, force: false)
        let other = dir.file("other.h5")
        try VGG11Parameters.random(spec: spec, seed: 12).weightsFile().write(path: other, force: false)
        let net = VGG11Network(parameters: trainer.parameters, engine: FunctionalEngine(faults: nil))
        let eval = try Evaluator.evaluate(network: net, data: test, batch: 250)
        let baseline = eval.accuracy
        var correct = 0, weak: Int?
        for (i, p) in eval.predictions.enumerated() {
            correct += p == Int(test.labels[i]) ? 1 : 0
            if i + 1 >= 20, weak == nil, Double(correct) / Double(i + 1) < baseline { weak = i + 1 }
        }
        let lot = dir.file("lot.h5"), lot4 = dir.file("lot4.h5")
        for (out, cfg) in [(lot, config), (lot4, dir.file("hw4.yaml"))] {
            if cfg != config {
                try "rows: 4\ncols: 4\nweight_load: single-buffered\nclock_mhz: 700\n".write(toFile: cfg, atomically: true, encoding: .utf8)
            }
            let r = try runFapsim(["lot", "generate", "--config", cfg, "--chips", "6", "--seed", "3", "--model", "uniform",
                                   "--rate-range", "0.02:0.35", "--out", out, "--quiet"])
            guard r.status == 0 else { throw FapsimTestFailure(r.stderr) }
        }
        // Targets: half the baseline (reached at once) and the baseline itself
        // (often unreached on a faulty chip): both kinds of budget appear.
        let targets = [(baseline * 50).rounded(.down) / 100, baseline]
        var f = Files(dir: dir, weights: weights, otherWeights: other, lot: lot, lot4x4: lot4, baseline: baseline,
                      weakSubset: weak, targets: targets, resilience: dir.file("res.h5"))
        let r = try runFapsim(resilienceArgs(f, out: f.resilience))
        guard r.status == 0 else { throw FapsimTestFailure("reference resilience run failed: \(r.stderr)") }
        f = Files(dir: dir, weights: weights, otherWeights: other, lot: lot, lot4x4: lot4, baseline: baseline, weakSubset: weak,
                  targets: targets, resilience: f.resilience)
        return f
    }
}

/// Two results files hold the same attributes and tables, floats compared bit
/// for bit (NaN, the "unreached" mean, equals NaN here, unlike with ==).
func sameBits(_ a: String, _ b: String) throws -> Bool {
    let x = try ResultsFile.read(path: a), y = try ResultsFile.read(path: b)
    func canon(_ f: ResultsFile) -> String {
        var s = "content=\(f.content)\n"
        for (k, v) in f.attributes.sorted(by: { $0.key < $1.key }) { s += "\(k)=\(v)\n" }
        for t in f.tables.sorted(by: { $0.name < $1.name }) {
            s += "table \(t.name) \(t.attributes.sorted { $0.key < $1.key })\n"
            for c in t.columns {
                s += "  \(c.name) [\(c.units)] "
                switch c.values {
                case .int64(let v): s += v.map(String.init).joined(separator: ",")
                case .double(let v): s += v.map { String($0.bitPattern, radix: 16) }.joined(separator: ",")
                case .string(let v): s += v.joined(separator: "|")
                }
                s += "\n"
            }
        }
        return s
    }
    let (cx, cy) = (canon(x), canon(y))
    if cx != cy {
        let lx = cx.split(separator: "\n"), ly = cy.split(separator: "\n")
        for (i, l) in lx.enumerated() where i >= ly.count || ly[i] != l {
            print("first difference between \(a) and \(b):\n  \(l)\n  \(i < ly.count ? String(ly[i]) : "<none>")")
            break
        }
    }
    return cx == cy
}

struct FapsimTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ s: String) { description = s }
}

@Suite(.serialized, .requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
struct ReduceCLITests {
    typealias F = ReduceFixture

    func json(_ s: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
    }

    func listUnits(_ args: [String]) throws -> [String: Any] {
        let r = try runFapsim(args + ["--list-units", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").count == 1, "expected one line of JSON, got \(r.stdout)")
        return try json(r.stdout)
    }

    func unitFiles(_ out: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: out + ".work")) ?? []).filter { $0.hasPrefix("unit-") && $0.hasSuffix(".h5") }
    }

    @Test func resilienceResumedAfterKill9EqualsAnUninterruptedRun() throws {
        let f = try F.get()
        let out = f.dir.file("killed.h5")
        let binary = try #require(TestPaths.fapsimBinary)
        // Kill the run inside a unit after the first one: when that unit's
        // after-epoch-1 checkpoint appears. The rerun skips the finished units
        // and resumes the interrupted one from its checkpoint.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = F.resilienceArgs(f, out: out)
        p.currentDirectoryURL = URL(fileURLWithPath: TestPaths.packageRoot)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        func checkpoints() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: out + ".work")) ?? [])
                .filter { $0.hasSuffix(".checkpoint") && $0 != "unit-0.checkpoint" }
        }
        while checkpoints().isEmpty && p.isRunning && Date() < deadline { usleep(1_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let doneAtKill = unitFiles(out).count
        #expect(doneAtKill >= 1 && doneAtKill < 6, "the kill should land between the first and the last unit (\(doneAtKill) of 6 done)")
        #expect(checkpoints().count == 1, "the interrupted unit's checkpoint should be there")
        #expect(!FileManager.default.fileExists(atPath: out))
        let listed = try listUnits(F.resilienceArgs(f, out: out))
        #expect((listed["done"] as? [Int])?.count == doneAtKill)
        let r = try runFapsim(F.resilienceArgs(f, out: out) + ["--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try json(r.stdout)["computed"] as? [Int] == Array(doneAtKill..<6))
        #expect(checkpoints().isEmpty, "checkpoints are removed once their unit is done")
        // Same seed, same file: every table and attribute.
        #expect(try sameBits(out, f.resilience))
        // A finished run is not overwritten without --force.
        let again = try runFapsim(F.resilienceArgs(f, out: out))
        #expect(again.status != 0 && again.stderr.contains("--force"))
    }

    @Test func resilienceUnitContract() throws {
        let f = try F.get()
        let out = f.dir.file("units.h5")
        let args = F.resilienceArgs(f, out: out)
        var l = try listUnits(args)
        #expect(l["command"] as? String == "resilience" && l["units"] as? Int == 6 && l["out"] as? String == out)
        #expect(l["done"] as? [Int] == [] && l["missing"] as? [Int] == [0, 1, 2, 3, 4, 5])
        #expect(try runFapsim(args + ["--units", "0-2,5"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: out), "--units must not write the final file")
        l = try listUnits(args)
        #expect(l["done"] as? [Int] == [0, 1, 2, 5] && l["missing"] as? [Int] == [3, 4])
        let early = try runFapsim(args + ["--merge-only"])
        #expect(early.status != 0)
        #expect(early.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1)
        #expect(early.stderr.contains("\(out): 2 of 6 units missing: 3-4"), "\(early.stderr)")
        let bad = try runFapsim(args + ["--units", "4-6"])
        #expect(bad.status != 0 && bad.stderr.contains("--units"))
        #expect(try runFapsim(args + ["--units", "3-4"]).status == 0)
        let m = try runFapsim(args + ["--merge-only"])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(try sameBits(out, f.resilience))
        // The file records the baseline and the budget step can read it.
        let file = try ResultsFile.read(path: out)
        #expect(file.attributes["baseline_accuracy"] == .double(f.baseline))
    }

    @Test func resilienceUnitFileFromAnotherRunIsRefused() throws {
        let f = try F.get()
        let out = f.dir.file("mixed.h5")
        try FileManager.default.createDirectory(atPath: out + ".work", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: f.resilience + ".work/unit-0.h5", toPath: out + ".work/unit-0.h5")
        // Same settings: the copied unit counts as done.
        #expect(try listUnits(F.resilienceArgs(f, out: out))["done"] as? [Int] == [0])
        let other = F.resilienceArgs(f, out: out).map { $0 == "5" ? "6" : $0 }   // --seed 6
        let r = try runFapsim(other)
        #expect(r.status != 0)
        #expect(r.stderr.contains("unit-0.h5") && r.stderr.contains("seed 5 there, 6 in this run"), "\(r.stderr)")
    }

    @Test func resilienceBadInputs() throws {
        let f = try F.get()
        let out = f.dir.file("bad.h5")
        func fails(_ edit: (inout [String]) -> Void, _ expected: String) throws {
            var args = F.resilienceArgs(f, out: out)
            edit(&args)
            let r = try runFapsim(args)
            #expect(r.status != 0, "expected a failure for \(expected)")
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1, "one line expected: \(r.stderr)")
            #expect(r.stderr.contains(expected), "expected '\(expected)' in: \(r.stderr)")
        }
        func set(_ option: String, _ value: String) -> (inout [String]) -> Void {
            { args in args[args.firstIndex(of: option)! + 1] = value }
        }
        try fails(set("--rates", ""), "--rates: expected at least one fault rate")
        try fails(set("--rates", "0.1,0.05"), "--rates: expected strictly increasing fault rates, got 0.1 then 0.05")
        try fails(set("--rates", "0.1,1.5"), "--rates: expected fault rates in [0, 1]")
        try fails(set("--targets", "0.5,1.2"), "--targets: expected accuracy fractions in (0, 1]")
        try fails(set("--targets", "0"), "--targets: expected accuracy fractions in (0, 1]")
        try fails(set("--repeats", "0"), "--repeats: expected at least 1")
        try fails(set("--epochs", "0"), "--epochs: expected at least 1")
        try fails({ $0 += ["--width", "0.125"] }, "width: weights are for VGG11 width 0.0625, expected width 0.125")
        try fails(set("--targets", "\(min(1, f.baseline + 0.05))"), "above the fault-free baseline accuracy \(f.baseline)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    func reduceArgs(_ f: ReduceFixture.Files, out: String, chips: String? = nil, weights: String? = nil, lot: String? = nil,
                    target: Double? = nil) -> [String] {
        ["reduce", "--weights", weights ?? f.weights, "--lot", lot ?? f.lot, "--resilience", f.resilience,
         "--target", "\(target ?? f.targets[1])", "--policies", "max,mean", "--fixed", "0,1", "--data", F.cifar,
         "--out", out, "--quiet", "--seed", "9"] + (chips.map { ["--chips", $0] } ?? [])
    }

    @Test func reduceSplitRunsMergeToTheFullRun() throws {
        let f = try F.get()
        let full = f.dir.file("campaign.h5"), report = f.dir.file("report")
        let r = try runFapsim(reduceArgs(f, out: full) + ["--report", report, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let c = try CampaignCheck.read(full)
        #expect(c.chips == Array(0..<6) && c.policies == ["max", "mean", "fixed-0", "fixed-1"])
        #expect(c.partial == 0 && c.chipsAttribute == "0-5")
        // fixed-0 is FAP alone: its accuracy is the curve's epoch 0.
        for chip in 0..<6 { #expect(c.accuracy(chip, "fixed-0") == c.curve(chip)[0] && c.accuracy(chip, "fixed-1") == c.curve(chip)[1]) }
        // Unreached budgets got the resilience file's 2 epochs and kept the flag.
        for row in c.rows where row.flags.contains("unreached") { #expect(row.epochs == 2) }
        #expect(FileManager.default.fileExists(atPath: report + "/report.md") && FileManager.default.fileExists(atPath: report + "/fig3f-summary.svg"))
        // The resilience file has the maps' weight shares and the lot is readable, so the report compares the metrics (Fig. 4).
        #expect(FileManager.default.fileExists(atPath: report + "/fig4-rate-metric.svg"), "\(r.stderr)")
        #expect(try String(contentsOfFile: report + "/report.md", encoding: .utf8).contains("fig4-rate-metric.svg"))
        // The measurement behind docs/rate-metric.md on the same files: both
        // metrics for every target, policy and interpolation, and the section
        // and figure written once, not overwritten without --force.
        let cmpArgs = ["bench", "rate-metric-compare", "--resilience", f.resilience, "--lot", f.lot, "--campaign", full,
                       "--out", f.dir.file("compare"), "--json"]
        let cmp = try runFapsim(cmpArgs)
        #expect(cmp.status == 0, "\(cmp.stderr)")
        let summaries = try #require(try json(cmp.stdout)["summaries"] as? [[String: Any]])
        #expect(summaries.count == f.targets.count * 2 * 2 * 2)
        #expect(Set(summaries.compactMap { $0["metric"] as? String }) == ["pe", "weights"])
        for s in summaries { #expect(s["chips"] as? Int == 6 && (s["scored"] as? Int ?? 7) <= 6, "\(s)") }
        #expect(FileManager.default.fileExists(atPath: f.dir.file("compare/fig4-rate-metric.svg")))
        let again = try runFapsim(cmpArgs)
        #expect(again.status != 0 && again.stderr.contains("--force"), "\(again.stderr)")
        // report.html beside it holds every figure inline, Fig. 4 included.
        let html = try String(contentsOfFile: report + "/report.html", encoding: .utf8)
        for fig in ["fig2a-accuracy-vs-epochs.svg", "fig3f-summary.svg", "fig4-rate-metric.svg"] {
            #expect(html.contains("data-figure=\"\(fig)\""), "\(fig) not in report.html")
        }

        // Part A directly, part B through the unit contract.
        let a = f.dir.file("part-a.h5"), b = f.dir.file("part-b.h5")
        #expect(try runFapsim(reduceArgs(f, out: a, chips: "0-2")).status == 0)
        let bArgs = reduceArgs(f, out: b, chips: "3-5")
        let l = try listUnits(bArgs)
        #expect(l["command"] as? String == "reduce" && l["units"] as? Int == 3 && l["missing"] as? [Int] == [0, 1, 2])
        #expect(try runFapsim(bArgs + ["--units", "0,2"]).status == 0)
        let early = try runFapsim(bArgs + ["--merge-only"])
        #expect(early.status != 0 && early.stderr.contains("\(b): 1 of 3 units missing: 1"), "\(early.stderr)")
        #expect(try runFapsim(bArgs + ["--units", "1"]).status == 0)
        #expect(try runFapsim(bArgs + ["--merge-only"]).status == 0)
        #expect(try CampaignCheck.read(a).partial == 1 && CampaignCheck.read(a).chipsAttribute == "0-2")

        let merged = f.dir.file("merged.h5")
        let m = try runFapsim(["merge", "--out", merged, b, a])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(try sameBits(merged, full))

        // Overlap, incomplete set, --allow-partial.
        let overlap = try runFapsim(["merge", "--out", f.dir.file("o.h5"), a, full])
        #expect(overlap.status != 0 && overlap.stderr.contains("chips 0-2 are in both \(a) and \(full)"), "\(overlap.stderr)")
        let incomplete = try runFapsim(["merge", "--out", f.dir.file("i.h5"), a])
        #expect(incomplete.status != 0 && incomplete.stderr.contains("chips 3-5"), "\(incomplete.stderr)")
        #expect(try runFapsim(["merge", "--out", f.dir.file("i.h5"), a, "--allow-partial"]).status == 0)
        // The report command on the merged file.
        let rep = try runFapsim(["report", "--resilience", f.resilience, "--campaign", merged, "--out", f.dir.file("rep2")])
        #expect(rep.status == 0, "\(rep.stderr)")
        #expect(try String(contentsOfFile: f.dir.file("rep2/report.md"), encoding: .utf8)
                == String(contentsOfFile: report + "/report.md", encoding: .utf8))
        // The weights rate metric places chips by their pruned share (the file has the maps' shares).
        let w = try runFapsim(reduceArgs(f, out: f.dir.file("w.h5"), chips: "0-1") + ["--rate-metric", "weights"])
        #expect(w.status == 0, "\(w.stderr)")
        #expect(try ResultsFile.read(path: f.dir.file("w.h5")).attributes["rate_metric"] == .string("weights"))
    }

    /// The constant-schedule read-off: the accuracy after 1 epoch read off a
    /// chip's longer run equals a run of exactly 1 epoch, bit for bit; other
    /// schedules train one run per distinct count.
    @Test func constantScheduleReadOffEqualsAShortRun() throws {
        let f = try F.get()
        let long = f.dir.file("long.h5"), short = f.dir.file("short.h5"), cosine = f.dir.file("cosine.h5")
        let base = reduceArgs(f, out: long, chips: "0-1").map { $0 == "0,1" ? "1,2" : $0 }
        #expect(try runFapsim(base).status == 0)
        let shortArgs = reduceArgs(f, out: short, chips: "0-1").map { $0 == "max,mean" ? "" : ($0 == "0,1" ? "1" : $0) }
        let r = try runFapsim(shortArgs)
        #expect(r.status == 0, "\(r.stderr)")
        let a = try CampaignCheck.read(long), b = try CampaignCheck.read(short)
        for chip in 0...1 {
            #expect(b.curve(chip).count == 2 && a.curve(chip).count == 3)
            let x = try #require(a.accuracy(chip, "fixed-1")), y = try #require(b.accuracy(chip, "fixed-1"))
            #expect(x.bitPattern == y.bitPattern)
            #expect(a.curve(chip)[1].bitPattern == b.curve(chip)[1].bitPattern)
        }
        let c = try runFapsim(reduceArgs(f, out: cosine, chips: "0").map { $0 == "max,mean" ? "" : ($0 == "0,1" ? "1,2" : $0) } + ["--schedule", "cosine"])
        #expect(c.status == 0, "\(c.stderr)")
        let cf = try ResultsFile.read(path: cosine)
        #expect(cf[table: "curves"]?["run_epochs"]?.values == .int64([1, 1, 2, 2, 2]))
    }

    /// `fapsim budget --policy confidence` on the fixture's real resilience
    /// file and lot: budgets never fall as the chip's rate rises, the JSON
    /// and the file carry each chip's predicted probability, and bad inputs
    /// are one-line errors naming the flag or the file.
    /// The fixture's sweep with a 200-image validation split (the confidence
    /// policy decides only on validation data), targets a quarter and half
    /// of the test baseline (the validation baseline differs), made once.
    static func validationResilience(_ f: F.Files) throws -> (path: String, targets: [Double]) {
        let out = f.dir.file("res-validation-200.h5")
        let targets = [0.25, 0.5].map { (f.baseline * $0 * 1000).rounded(.down) / 1000 }
        if !FileManager.default.fileExists(atPath: out) {
            let all = f.targets.map { "\($0)" }.joined(separator: ",")
            let args = F.resilienceArgs(f, out: out).map { $0 == all ? targets.map { "\($0)" }.joined(separator: ",") : $0 } + ["--validation", "200"]
            let r = try runFapsim(args)
            guard r.status == 0 else { throw FapsimTestFailure(r.stderr) }
        }
        return (out, targets)
    }

    @Test func budgetWithAStatedConfidence() throws {
        let f = try F.get()
        let (validated, targets) = try Self.validationResilience(f)
        for (i, target) in targets.enumerated() {
            let out = f.dir.file("budget-confidence-\(i).h5")
            let r = try runFapsim(["budget", "--resilience", validated, "--lot", f.lot, "--target", "\(target)",
                                   "--policy", "confidence", "--confidence", "0.9", "--out", out, "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            let j = try json(r.stdout)
            #expect(j["policy"] as? String == "confidence" && j["confidence"] as? Double == 0.9 && j["judged_images"] as? Int == 10_000)
            let rows = try #require(j["per_chip"] as? [[String: Any]])
            #expect(rows.count == 6)
            var last = -1
            for row in rows.sorted(by: { ($0["fault_rate"] as! Double) < ($1["fault_rate"] as! Double) }) {
                let p = try #require(row["p_meet"] as? Double), a = try #require(row["predicted_accuracy"] as? Double)
                #expect(p >= 0 && p <= 1 && a >= 0 && a <= 1)
                // Unreached (null) sorts after every number of epochs.
                let e = (row["budget_epochs"] as? Int) ?? Int.max
                #expect(e >= last, "budgets must not fall as the rate rises: \(rows)")
                #expect((e == Int.max) == (p < 0.9), "p_meet \(p) vs budget \(e)")
                last = e
            }
            let file = try ResultsFile.read(path: out)
            #expect(file.attributes["confidence"] == .double(0.9) && file.attributes["policy"] == .string("confidence"))
            guard case .double(let pMeet)? = file[table: "per_chip"]?["p_meet"]?.values else {
                Issue.record("no p_meet column in \(out)"); continue
            }
            // JSON prints doubles to ~16 digits: equal to within 1e-12.
            let printed = rows.sorted { ($0["chip"] as! Int) < ($1["chip"] as! Int) }.map { $0["p_meet"] as! Double }
            #expect(pMeet.count == printed.count && zip(pMeet, printed).allSatisfy { abs($0 - $1) < 1e-12 }, "\(pMeet) vs \(printed)")
        }
        func fails(_ extra: [String], resilience: String? = nil, _ expected: String) throws {
            let out = f.dir.file("budget-confidence-bad.h5")
            let r = try runFapsim(["budget", "--resilience", resilience ?? validated, "--lot", f.lot, "--target", "\(resilience == nil ? targets[0] : f.targets[0])",
                                   "--out", out] + extra)
            #expect(r.status != 0, "expected a failure for \(expected)")
            #expect(r.stderr.split(separator: "\n").count == 1, "one line expected: \(r.stderr)")
            #expect(r.stderr.contains(expected), "expected '\(expected)' in: \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        for c in ["0", "1", "1.5", "-0.1"] {
            try fails(["--policy", "confidence", "--confidence=\(c)"], "--confidence: expected a probability strictly between 0 and 1")
        }
        try fails(["--policy", "confidence"], "--confidence: --policy confidence needs a confidence level")
        try fails(["--policy", "max", "--confidence", "0.9"], "--confidence: only used with --policy confidence")
        // A resilience file without validation data: its curves are on the test set.
        try fails(["--policy", "confidence", "--confidence", "0.9"], resilience: f.resilience,
                  "\(f.resilience): curve_split: expected curves on a held-out validation split (--policy confidence decides on validation data, never on the test set); redo Step 1 with --validation N, got \"test\" (no validation data)")
        // The paper's policies still read it.
        let r = try runFapsim(["budget", "--resilience", f.resilience, "--lot", f.lot, "--target", "\(f.targets[0])", "--policy", "max",
                               "--out", f.dir.file("budget-max-no-validation.h5")])
        #expect(r.status == 0, "\(r.stderr)")
    }

    /// `fapsim reduce --policies max,confidence` gives each chip the epochs
    /// `fapsim budget --policy confidence` gives it when judged on the same
    /// number of images (the campaign's test subset, 200 here); unreached
    /// chips train the file's 2 epochs and keep the flag.
    @Test func reduceUnderTheConfidencePolicyUsesTheBudgetsOfFapsimBudget() throws {
        let f = try F.get()
        let (validated, targets) = try Self.validationResilience(f)
        let out = f.dir.file("campaign-confidence.h5"), budget = f.dir.file("budget-confidence-200.h5")
        let args = reduceArgs(f, out: out, chips: "2-4", target: targets[1]).map { $0 == "max,mean" ? "max,confidence" : $0 == f.resilience ? validated : $0 }
            + ["--confidence", "0.9", "--test-subset", "200"]
        let r = try runFapsim(args)
        #expect(r.status == 0, "\(r.stderr)")
        let b = try runFapsim(["budget", "--resilience", validated, "--lot", f.lot, "--target", "\(targets[1])",
                               "--policy", "confidence", "--confidence", "0.9", "--judged-images", "200", "--out", budget, "--json"])
        #expect(b.status == 0, "\(b.stderr)")
        let rows = try #require(try json(b.stdout)["per_chip"] as? [[String: Any]])
        let c = try CampaignCheck.read(out)
        #expect(c.policies == ["max", "confidence", "fixed-0", "fixed-1"])
        #expect(rows.contains { $0["budget_epochs"] is Int } && rows.contains { $0["budget_epochs"] is NSNull })
        for chip in 2...4 {
            let row = try #require(c.rows.first { $0.chip == chip && $0.policy == "confidence" })
            let expected = rows[chip]["budget_epochs"] as? Int
            #expect(row.epochs == (expected ?? 2), "chip \(chip): campaign \(row.epochs), budget \(String(describing: expected))")
            #expect(row.flags.contains("unreached") == (expected == nil))
        }
    }

    @Test func reduceBadInputs() throws {
        let f = try F.get()
        let out = f.dir.file("bad-campaign.h5")
        func fails(_ args: [String], _ expected: String) throws { try expectOneLineFailure(args, expected) }
        try fails(reduceArgs(f, out: out, weights: f.otherWeights), "weights mismatch: resilience file \(f.resilience)")
        try fails(reduceArgs(f, out: out, weights: f.otherWeights), "--weights \(f.otherWeights)")
        try fails(reduceArgs(f, out: out, lot: f.lot4x4), "array size mismatch: lot \(f.lot4x4) is for a 4 x 4 array, resilience file \(f.resilience)")
        try fails(reduceArgs(f, out: out, target: 0.99), "has epochs needed only for targets")
        try fails(reduceArgs(f, out: out).map { $0 == "max,mean" ? "max,median" : $0 }, "--policies: expected a comma-separated list of max, mean, confidence, adaptive, got median")
        try fails(reduceArgs(f, out: out).map { $0 == "max,mean" ? "max,confidence" : $0 }, "--confidence: the confidence policy needs a confidence level")
        try fails(reduceArgs(f, out: out).map { $0 == "max,mean" ? "confidence" : $0 } + ["--confidence", "1"], "--confidence: expected a probability strictly between 0 and 1")
        try fails(reduceArgs(f, out: out) + ["--confidence", "0.9"], "--confidence: only used when --policies includes confidence")
        try fails(reduceArgs(f, out: out).map { $0 == "max,mean" ? "max,confidence" : $0 } + ["--confidence", "0.9"],
                  "\(f.resilience): curve_split: expected curves on a held-out validation split")
        try fails(reduceArgs(f, out: out, chips: "4-9"), "--chips: expected indices in 0-5")
        // A test subset on which the weights do worse than the target (the data decide which; the fixture finds one).
        let n = try #require(f.weakSubset, "no prefix of the 200 test images on which the fixture's weights do worse than on all 200")
        try fails(reduceArgs(f, out: out) + ["--test-subset", "\(n)"], "--target: \(f.targets[1]) is above the fault-free baseline accuracy")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}

/// The campaign file as the tests look at it (read with FapsimStore only).
struct CampaignCheck {
    struct Row { var chip: Int; var policy: String; var epochs: Int; var accuracy: Double; var flags: String }
    var rows: [Row]
    var curves: [Int: [Double]]
    var partial: Int64
    var chipsAttribute: String

    var chips: [Int] { Array(Set(rows.map(\.chip))).sorted() }
    var policies: [String] { var seen = Set<String>(); return rows.map(\.policy).filter { seen.insert($0).inserted } }
    func accuracy(_ chip: Int, _ policy: String) -> Double? { rows.first { $0.chip == chip && $0.policy == policy }?.accuracy }
    func curve(_ chip: Int) -> [Double] { curves[chip] ?? [] }

    static func read(_ path: String) throws -> CampaignCheck {
        let f = try ResultsFile.read(path: path)
        let t = try #require(f[table: "per_chip"]), c = try #require(f[table: "curves"])
        guard case .int64(let chip)? = t["chip"]?.values, case .string(let policy)? = t["policy"]?.values,
              case .int64(let spent)? = t["epochs_spent"]?.values, case .double(let acc)? = t["final_accuracy"]?.values,
              case .string(let flags)? = t["flags"]?.values,
              case .int64(let cc)? = c["chip"]?.values, case .double(let ca)? = c["accuracy"]?.values,
              case .int(let partial)? = f.attributes["partial"], case .string(let chips)? = f.attributes["chips"] else {
            throw FapsimTestFailure("\(path): unexpected campaign layout")
        }
        var curves: [Int: [Double]] = [:]
        for i in cc.indices { curves[Int(cc[i]), default: []].append(ca[i]) }
        return CampaignCheck(rows: chip.indices.map { Row(chip: Int(chip[$0]), policy: policy[$0], epochs: Int(spent[$0]), accuracy: acc[$0], flags: flags[$0]) },
                             curves: curves, partial: partial, chipsAttribute: chips)
    }
}
