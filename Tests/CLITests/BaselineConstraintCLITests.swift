import Foundation
import Testing
import FapsimStore
import FapsimTestSupport

/// `--below-baseline D` through the built `fapsim`: budgets decide on
/// validation accuracy >= validation baseline - D, chips are judged on test
/// accuracy >= test baseline - D, and the test baseline never reaches a budget.
@Suite(.serialized, .requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
struct BaselineConstraintCLITests {
    typealias F = ReduceFixture

    func fails(_ args: [String], _ expected: String) throws { try expectOneLineFailure(args, expected) }

    /// Step 1 on a 300-image validation split (targets any network better than chance reaches).
    func validationResilience(_ f: F.Files) throws -> String {
        let out = f.dir.file("below-res.h5")
        if FileManager.default.fileExists(atPath: out) { return out }
        var args = F.resilienceArgs(f, out: out) + ["--validation", "300"]
        if let i = args.firstIndex(of: "--targets") { args[i + 1] = "0.11" }
        let r = try runFapsim(args)
        #expect(r.status == 0, "\(r.stderr)")
        return out
    }

    func reduceArgs(_ f: F.Files, resilience: String, out: String, testSubset: String) -> [String] {
        ["reduce", "--weights", f.weights, "--lot", f.lot, "--resilience", resilience, "--below-baseline", "0.05",
         "--policies", "max,mean", "--fixed", "0,1", "--data", F.cifar, "--chips", "0-1", "--test-subset", testSubset,
         "--out", out, "--quiet", "--seed", "9"]
    }

    func double(_ f: ResultsFile, _ k: String) -> Double? { if case .double(let v)? = f.attributes[k] { return v }; return nil }
    func round9(_ x: Double) -> Double { (x * 1e9).rounded() / 1e9 }

    @Test func eachSplitIsJudgedAgainstItsOwnBaseline() throws {
        let f = try F.get()
        let res = try validationResilience(f)
        let a = f.dir.file("below-a.h5"), b = f.dir.file("below-b.h5")
        let ra = try runFapsim(reduceArgs(f, resilience: res, out: a, testSubset: "120"))
        #expect(ra.status == 0, "\(ra.stderr)")
        // Other judging images: another test baseline and threshold, the same budgets.
        let rb = try runFapsim(reduceArgs(f, resilience: res, out: b, testSubset: "70"))
        #expect(rb.status == 0, "\(rb.stderr)")
        let x = try ResultsFile.read(path: a), y = try ResultsFile.read(path: b)
        let resBase = try #require(double(try ResultsFile.read(path: res), "baseline_accuracy"))
        for c in [x, y] {
            let base = try #require(double(c, "baseline_accuracy")), testBase = try #require(double(c, "test_baseline_accuracy"))
            #expect(base == resBase)
            #expect(double(c, "below_baseline") == 0.05)
            #expect(double(c, "budget_target") == round9(base - 0.05))
            #expect(double(c, "target") == round9(testBase - 0.05))
            #expect(c.attributes["run_below_baseline"] == .string("0.05"))
            #expect(c.attributes["run_target"] == nil)
        }
        #expect(double(x, "budget_target") == double(y, "budget_target"))
        // The 120 and 70 test images give different baselines (multiples of 1/120 and 1/70).
        let tx = try #require(double(x, "test_baseline_accuracy")), ty = try #require(double(y, "test_baseline_accuracy"))
        #expect((tx * 120).rounded() / 120 == tx && (ty * 70).rounded() / 70 == ty)
        // The test images never reach a budget: every policy spends the same on every chip.
        let cx = try CampaignResults.read(path: a), cy = try CampaignResults.read(path: b)
        #expect(cx.rows.map(\.epochsSpent) == cy.rows.map(\.epochsSpent))
        #expect(cx.rows.map(\.flags) == cy.rows.map(\.flags))
        // Met means test accuracy >= test baseline - d.
        for row in cx.rows { #expect(cx.met(row) == (row.finalAccuracy >= round9(tx - 0.05))) }
        // The summary line states both thresholds.
        let text = try runFapsim(reduceArgs(f, resilience: res, out: a, testSubset: "120").filter { $0 != "--quiet" } + ["--force"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("constraint: test accuracy >= "), "\(text.stdout)")
        #expect(text.stdout.contains("points); budgets decided on validation >= "), "\(text.stdout)")

        // fapsim budget takes the same drop from the resilience file's baseline.
        let budget = f.dir.file("below-budget.h5")
        let rbud = try runFapsim(["budget", "--resilience", res, "--lot", f.lot, "--below-baseline", "0.05", "--policy", "max",
                                  "--out", budget])
        #expect(rbud.status == 0, "\(rbud.stderr)")
        let bf = try ResultsFile.read(path: budget)
        #expect(double(bf, "target") == round9(resBase - 0.05))
        #expect(double(bf, "below_baseline") == 0.05 && double(bf, "baseline_accuracy") == resBase)
    }

    @Test func badConstraintsAreOneLine() throws {
        let f = try F.get()
        let res = try validationResilience(f)
        let out = f.dir.file("below-bad.h5")
        let args = reduceArgs(f, resilience: res, out: out, testSubset: "120")
        try fails(args + ["--target", "0.11"], "--target/--below-baseline: expected one accuracy constraint")
        for d in ["0", "1", "1.5"] {
            try fails(args.map { $0 == "0.05" ? d : $0 }, "--below-baseline: expected accuracy points in (0, 1) under the fault-free baseline")
        }
        try fails(Array(args.prefix(7)) + Array(args.dropFirst(9)), "--target/--below-baseline: missing accuracy constraint")
        try fails(["budget", "--resilience", res, "--lot", f.lot, "--below-baseline", "0.05", "--target", "0.11", "--policy", "max",
                   "--out", f.dir.file("below-bad-budget.h5")], "--target/--below-baseline: expected one accuracy constraint")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
