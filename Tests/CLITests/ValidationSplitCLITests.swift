import Foundation
import Testing
import FapsimStore
import FapsimTestSupport

/// The held-out validation split through the built `fapsim`: Step 1's curves
/// on the last N training images, never the test set; Step 3 refusing a
/// resilience file made on other splits; bad splits as one-line errors.
@Suite(.serialized, .requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
struct ValidationSplitCLITests {
    typealias F = ReduceFixture

    /// A resilience run on a 300-image validation split, targets low enough
    /// for any baseline better than chance.
    func validationArgs(_ f: F.Files, out: String, testSubset: String = "200") -> [String] {
        F.resilienceArgs(f, out: out).map { $0 == "200" ? testSubset : $0 }
            .replacingTarget() + ["--validation", "300"]
    }

    func fails(_ args: [String], _ expected: String) throws { try expectOneLineFailure(args, expected) }

    @Test func curvesOnTheValidationSplitDoNotDependOnTheTestSet() throws {
        let f = try F.get()
        let a = f.dir.file("val-a.h5"), b = f.dir.file("val-b.h5")
        let ra = try runFapsim(validationArgs(f, out: a))
        #expect(ra.status == 0, "\(ra.stderr)")
        // Another test subset: Step 1 must not look at the test set at all.
        let rb = try runFapsim(validationArgs(f, out: b, testSubset: "37"))
        #expect(rb.status == 0, "\(rb.stderr)")
        let x = try ResultsFile.read(path: a), y = try ResultsFile.read(path: b)
        let accA = try #require(x[table: "accuracy"]?["accuracy"]?.values)
        #expect(accA == y[table: "accuracy"]?["accuracy"]?.values)
        #expect(x.attributes["curve_split"] == .string("validation"))
        #expect(x.attributes["validation_subset"] == .int(300))
        #expect(x.attributes["validation_first"] == .int(49_700))
        #expect(x.attributes["test_subset"] == .int(0))
        #expect(x.attributes["train_subset"] == .int(256))
        #expect(x.attributes["baseline_accuracy"] == y.attributes["baseline_accuracy"])
        // The validation curves are not the test curves of the same run.
        let t = try ResultsFile.read(path: f.resilience)
        #expect(t.attributes["curve_split"] == .string("test"))
        #expect(t[table: "accuracy"]?["accuracy"]?.values != accA)

        // Step 3 takes the split over, decides on the validation curves and
        // reports the final accuracy on the test set.
        let campaign = f.dir.file("val-campaign.h5")
        let r = try runFapsim(reduceArgs(f, resilience: a, out: campaign))
        #expect(r.status == 0, "\(r.stderr)")
        let c = try ResultsFile.read(path: campaign)
        #expect(c.attributes["curve_split"] == .string("validation"))
        #expect(c.attributes["validation_subset"] == .int(300))
        #expect(c.attributes["test_subset"] == .int(120))
        #expect(c.attributes["run_validation"] == .string("300"))
        // 2 chips, each one constant-schedule run of its longest budget
        // (at least the fixed 1 epoch) on 256 images, every point on 120 test images.
        let curves = try #require(c[table: "curves"])
        guard case .int64(let runEpochs)? = curves["run_epochs"]?.values, case .int64(let epochs)? = curves["epoch"]?.values else {
            Issue.record("curves table without run_epochs / epoch"); return
        }
        let trained = zip(runEpochs, epochs).filter { $0.1 == 0 }.reduce(0) { $0 + $1.0 } * 256
        #expect(c.attributes["train_images_spent"] == .int(trained) && trained >= 2 * 256)
        #expect(c.attributes["eval_images_spent"] == .int(Int64(epochs.count) * 120))
        // FAP alone (fixed-0) measured on the 120 test images: a multiple of 1/120.
        let acc = try #require(CampaignCheck.read(campaign).accuracy(0, "fixed-0"))
        #expect((acc * 120).rounded() / 120 == acc)

        // The confidence policy reads its binomial noise off the validation split
        // (300 images), not the test subset the file does not have (0).
        let budget = try runFapsim(["budget", "--resilience", a, "--lot", f.lot, "--target", "0.11", "--policy", "confidence",
                                    "--confidence", "0.9", "--out", f.dir.file("val-budget.h5"), "--json"])
        #expect(budget.status == 0, "\(budget.stderr)")
        #expect(budget.stdout.contains("\"p_meet\""), "\(budget.stdout)")
    }

    func reduceArgs(_ f: F.Files, resilience: String, out: String) -> [String] {
        ["reduce", "--weights", f.weights, "--lot", f.lot, "--resilience", resilience, "--target", "0.11",
         "--policies", "max", "--fixed", "0,1", "--data", F.cifar, "--chips", "0-1", "--test-subset", "120",
         "--out", out, "--quiet", "--seed", "9"]
    }

    @Test func badSplitsAreOneLineErrorsNamingTheFlag() throws {
        let f = try F.get()
        let out = f.dir.file("bad-val.h5")
        let base = validationArgs(f, out: out).dropLast(2)
        try fails(base + ["--validation", "50000"], "--validation: expected fewer than the 50000 training images (some must be left to train on), got 50000")
        try fails(base + ["--validation", "0"], "--validation: expected a positive number of held-out training images, got 0")
        try fails(base + ["--validation", "49800"], "--validation: the last 49800 training images (from index 200) overlap --train-subset 256 (the first 256)")
        #expect(!FileManager.default.fileExists(atPath: out))
        // fat shares the data options.
        try fails(["fat", "--weights", f.weights, "--fault-rate", "0.1", "--seed", "1", "--config", F.config, "--epochs", "1",
                   "--data", F.cifar, "--train-subset", "45001", "--validation", "5000", "--out", f.dir.file("bad-fat.h5")],
                  "--validation: the last 5000 training images (from index 45000) overlap --train-subset 45001")
    }

    @Test func reduceRefusesAResilienceFileOfOtherSplits() throws {
        let f = try F.get()
        let out = f.dir.file("bad-val-campaign.h5")
        // Test-set curves, a campaign holding out a validation split.
        try fails(reduceArgs(f, resilience: f.resilience, out: out) + ["--validation", "300"],
                  "\(f.resilience): validation_subset: its curves were measured on the test set (no validation split), this campaign has --validation 300")
        // Validation curves, another validation split.
        let val = f.dir.file("val-c.h5")
        let r = try runFapsim(validationArgs(f, out: val))
        #expect(r.status == 0, "\(r.stderr)")
        try fails(reduceArgs(f, resilience: val, out: out) + ["--validation", "500"],
                  "\(val): validation_subset: its curves were measured on the last 300 training images held out for validation, this campaign has --validation 500")
        try fails(reduceArgs(f, resilience: val, out: out) + ["--train-subset", "128"],
                  "\(val): train_subset: its curves were trained on the first 256 training images, this campaign trains on 128")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}

extension ValidationSplitCLITests {
    /// `fapsim evaluate --validation N`: the baseline a YAML campaign's
    /// targets sit under when it holds out a validation split.
    @Test func evaluateOnTheValidationSplit() throws {
        let f = try F.get()
        let r = try runFapsim(["evaluate", "--weights", f.weights, "--data", F.cifar, "--validation", "150", "--json", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(j["images"] as? Int == 150)
        try fails(["evaluate", "--weights", f.weights, "--data", F.cifar, "--validation", "150", "--limit", "20"],
                  "--validation: expected either --limit (test images) or --validation, got both")
        try fails(["evaluate", "--weights", f.weights, "--data", F.cifar, "--validation", "50000"],
                  "--validation: expected fewer than the 50000 training images")
    }
}

private extension Array where Element == String {
    /// The fixture's targets replaced by one any network better than chance reaches at once.
    func replacingTarget() -> [String] {
        var a = self
        if let i = a.firstIndex(of: "--targets") { a[i + 1] = "0.11" }
        return a
    }
}
