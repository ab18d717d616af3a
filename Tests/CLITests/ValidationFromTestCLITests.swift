import Foundation
import Testing
import FapsimStore
import FapsimTestSupport

/// `--validation-from test` through the built `fapsim`: for weights
/// pre-trained on every training image, the first N test images decide the
/// budgets and the test images after them judge; the split is recorded, and
/// a campaign on other splits than its resilience file is refused.
@Suite(.serialized, .requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
struct ValidationFromTestCLITests {
    typealias F = ReduceFixture

    func fails(_ args: [String], _ expected: String) throws { try expectOneLineFailure(args, expected) }

    /// Step 1 with a 300-image validation split from `source`.
    func resilienceArgs(_ f: F.Files, out: String, source: String?) -> [String] {
        var args = F.resilienceArgs(f, out: out) + ["--validation", "300"] + (source.map { ["--validation-from", $0] } ?? [])
        if let i = args.firstIndex(of: "--targets") { args[i + 1] = "0.11" }
        return args
    }

    func resilience(_ f: F.Files, source: String?) throws -> String {
        let out = f.dir.file("vft-res-\(source ?? "train").h5")
        if FileManager.default.fileExists(atPath: out) { return out }
        let r = try runFapsim(resilienceArgs(f, out: out, source: source))
        #expect(r.status == 0, "\(r.stderr)")
        return out
    }

    func reduceArgs(_ f: F.Files, resilience: String, out: String) -> [String] {
        ["reduce", "--weights", f.weights, "--lot", f.lot, "--resilience", resilience, "--below-baseline", "0.05",
         "--policies", "max", "--fixed", "0,1", "--data", F.cifar, "--chips", "0-1", "--test-subset", "120",
         "--out", out, "--quiet", "--seed", "9"]
    }

    func accuracy(_ args: [String]) throws -> Double {
        let r = try runFapsim(args + ["--json", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        return try #require(j["accuracy"] as? Double)
    }

    @Test func theFirstTestImagesDecideAndTheOthersJudge() throws {
        let f = try F.get()
        let fromTest = try resilience(f, source: "test"), fromTrain = try resilience(f, source: nil)
        let x = try ResultsFile.read(path: fromTest), y = try ResultsFile.read(path: fromTrain)
        #expect(x.attributes["curve_split"] == .string("validation"))
        #expect(x.attributes["validation_source"] == .string("test"))
        #expect(x.attributes["validation_first"] == .int(0))
        #expect(x.attributes["validation_subset"] == .int(300))
        #expect(x.attributes["train_subset"] == .int(256))
        #expect(y.attributes["validation_source"] == nil && y.attributes["validation_first"] == .int(49_700))
        #expect(x[table: "accuracy"]?["accuracy"]?.values != y[table: "accuracy"]?["accuracy"]?.values)
        // Its baseline is the fault-free network on the first 300 test images, as fapsim evaluate measures them.
        let first300 = try accuracy(["evaluate", "--weights", f.weights, "--data", F.cifar, "--limit", "300"])
        #expect(x.attributes["baseline_accuracy"] == .double(first300))
        #expect(try accuracy(["evaluate", "--weights", f.weights, "--data", F.cifar, "--validation", "300", "--validation-from", "test"]) == first300)

        // Step 3 takes the source over and judges on test images 300..<420.
        let campaign = f.dir.file("vft-campaign.h5")
        let r = try runFapsim(reduceArgs(f, resilience: fromTest, out: campaign))
        #expect(r.status == 0, "\(r.stderr)")
        let c = try ResultsFile.read(path: campaign)
        #expect(c.attributes["validation_source"] == .string("test"))
        #expect(c.attributes["run_validation_source"] == .string("test"))
        #expect(c.attributes["test_first"] == .int(300))
        #expect(c.attributes["test_subset"] == .int(120))
        guard case .double(let testBase)? = c.attributes["test_baseline_accuracy"] else {
            Issue.record("no test_baseline_accuracy"); return
        }
        // The judging baseline is on test images 300..<420: the first 420 minus the first 300, in counts.
        let first420 = try accuracy(["evaluate", "--weights", f.weights, "--data", F.cifar, "--limit", "420"])
        #expect(((first420 * 420 - first300 * 300) / 120 - testBase).magnitude < 1e-9)
    }

    @Test func otherSplitsAndBadSplitsAreOneLine() throws {
        let f = try F.get()
        let fromTest = try resilience(f, source: "test"), fromTrain = try resilience(f, source: nil)
        let out = f.dir.file("vft-bad.h5")
        try fails(reduceArgs(f, resilience: fromTrain, out: out) + ["--validation-from", "test"],
                  "\(fromTrain): validation_source: its curves were measured on the last 300 training images held out for validation, this campaign takes its validation images from the test set; use --validation-from train")
        try fails(reduceArgs(f, resilience: fromTest, out: out) + ["--validation-from", "train"],
                  "\(fromTest): validation_source: its curves were measured on the first 300 test images held out for validation (validation_source test), this campaign takes its validation images from the train set; use --validation-from test")
        try fails(reduceArgs(f, resilience: fromTest, out: out).map { $0 == "120" ? "9701" : $0 },
                  "--test-subset: the first 300 test images are the validation split (--validation-from test) and the judging images follow them; --test-subset 9701 would need 10001 test images")
        let res = f.dir.file("vft-bad-res.h5")
        try fails(resilienceArgs(f, out: res, source: "test").map { $0 == "300" ? "10000" : $0 },
                  "--validation: expected fewer than the 10000 test images with --validation-from test (some must be left to judge on), got 10000")
        try fails(resilienceArgs(f, out: res, source: "test").filter { $0 != "--validation" && $0 != "300" },
                  "--validation-from: test needs --validation N")
        try fails(["evaluate", "--weights", f.weights, "--data", F.cifar, "--validation-from", "test"], "--validation-from: only with --validation N")
        #expect(!FileManager.default.fileExists(atPath: out) && !FileManager.default.fileExists(atPath: res))
    }
}
