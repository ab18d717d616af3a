import Foundation
import Testing
import FapsimStore
import FapsimTestSupport

/// Reduce on an image schedule: Step 1 measured at amounts of training images
/// (`fapsim resilience --amounts`), budgets chosen among those amounts, and a
/// campaign training each chip exactly its budgeted images.
@Suite(.serialized, .requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
struct ResilienceAmountsCLITests {
    typealias F = ReduceFixture

    /// The fixture's sweep (rates 0.05, 0.15, 0.3 x 2 maps, 256 training
    /// images, batch 64, seed 5) with an image schedule instead of 2 epochs.
    /// 100 images = 2 steps (128 images), 256 = one epoch, 400 = 7 steps
    /// across the epoch boundary, 512 = two epochs.
    static let schedule = "0,100,256,400,512"

    func resilience(_ f: F.Files, out: String, _ extra: [String] = []) -> [String] {
        let common = F.common.enumerated().filter { i, a in a != "--epochs" && (i == 0 || F.common[i - 1] != "--epochs") }.map(\.1)
        return ["resilience", "--weights", f.weights, "--data", F.cifar, "--targets", Self.targets(f).map { "\($0)" }.joined(separator: ","),
                "--out", out, "--amounts", Self.schedule] + common + extra
    }

    /// Eight targets from an eighth of the baseline to the baseline, so that
    /// some of them are reached only after some training.
    static func targets(_ f: F.Files) -> [Double] {
        (1...8).map { (f.baseline * Double($0) / 8 * 1000).rounded(.down) / 1000 }
    }

    /// The lowest target some rate's slowest map reaches only after training
    /// (its max amount needed > 0): budgets there are not all 0 or unreached.
    static func trainedTarget(_ res: String) throws -> Double {
        let file = try ResilienceFile.read(path: res)
        guard let s = file.summary.first(where: { ($0.max ?? 0) > 0 }) else {
            throw FapsimTestFailure("no target of \(file.targets) needs training at any rate: \(file.accuracy)")
        }
        return s.target
    }

    static func made(_ f: F.Files) throws -> String {
        let out = f.dir.file("res-amounts.h5")
        if FileManager.default.fileExists(atPath: out) { return out }
        let t = ResilienceAmountsCLITests()
        // Two units first, then the rest: finished units are not computed again.
        let part = try runFapsim(t.resilience(f, out: out, ["--units", "0-1"]))
        guard part.status == 0 else { throw FapsimTestFailure(part.stderr) }
        let rest = try runFapsim(t.resilience(f, out: out, ["--json"]))
        guard rest.status == 0 else { throw FapsimTestFailure(rest.stderr) }
        let j = try JSONSerialization.jsonObject(with: Data(rest.stdout.utf8)) as? [String: Any]
        guard j?["computed"] as? [Int] == [2, 3, 4, 5] else { throw FapsimTestFailure("expected units 2-5 computed, got \(rest.stdout)") }
        return out
    }

    /// The curves at one epoch's and two epochs' images equal the epoch sweep
    /// of the same maps bit for bit (one run per unit, read off), the file
    /// records the schedule in images and steps, and the summary is in images.
    @Test func imageScheduleReadOffEqualsTheEpochSweep() throws {
        let f = try F.get()
        let out = try Self.made(f)
        let file = try ResilienceFile.read(path: out)
        let axis = try #require(file.amounts)
        #expect(axis.images == [0, 100, 256, 400, 512] && axis.steps == [0, 2, 4, 7, 8])
        #expect(file.epochs == 2)
        let reference = try ResilienceFile.read(path: f.resilience)
        #expect(reference.amounts == nil)
        for r in 0..<3 {
            for k in 0..<2 {
                let a = file.accuracy[r][k], e = reference.accuracy[r][k]
                #expect(a.count == 5)
                #expect(a[0].bitPattern == e[0].bitPattern && a[2].bitPattern == e[1].bitPattern && a[4].bitPattern == e[2].bitPattern,
                        "rate \(r) map \(k): \(a) vs epochs \(e)")
            }
        }
        let raw = try ResultsFile.read(path: out)
        #expect(raw.attributes["amount_axis"] == .string("images"))
        #expect(raw[table: "images_needed"] != nil && raw[table: "epochs_needed"] == nil)
        // Every per-repeat amount needed is one of the schedule's.
        for s in file.summary { for v in [s.min, s.max].compactMap({ $0 }) { #expect(axis.images.contains(v)) } }
    }

    /// `fapsim budget` over the image table: budgets are scheduled amounts in
    /// images with their steps, and epochs a fraction of the training subset.
    @Test func budgetsAreScheduledImageAmounts() throws {
        let f = try F.get()
        let res = try Self.made(f)
        for policy in ["max", "mean"] {
            let out = f.dir.file("budget-amounts-\(policy).h5")
            let r = try runFapsim(["budget", "--resilience", res, "--lot", f.lot, "--target", "\(try Self.trainedTarget(res))",
                                   "--policy", policy, "--out", out, "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            let j = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
            #expect(j["budget_unit"] as? String == "images")
            let file = try BudgetFile.read(path: out)
            #expect(file.imageBudgets && file.rows.count == 6)
            // At that target some chips need training.
            #expect(file.rows.contains { ($0.images ?? 0) > 0 }, "\(file.rows.map(\.images))")
            for row in file.rows {
                #expect(row.epochs == nil)
                if let i = row.images {
                    let at = try #require([0, 100, 256, 400, 512].firstIndex(of: i), "budget \(i) not on the schedule")
                    #expect(row.steps == [0, 2, 4, 7, 8][at])
                } else {
                    #expect(row.flags.contains("unreached") && row.steps == nil)
                }
            }
            let perChip = try #require(j["per_chip"] as? [[String: Any]])
            for (row, c) in zip(file.rows, perChip) {
                if let i = row.images { #expect(c["budget_epochs"] as? Double == Double(i) / 256) }
            }
        }
    }

    /// `fapsim reduce` on the image table trains each chip exactly its
    /// budgeted images, read off one run: equal, bit for bit, to a campaign
    /// given that amount as a fixed image budget.
    @Test func campaignTrainsTheBudgetedImages() throws {
        let f = try F.get()
        let res = try Self.made(f)
        func reduce(out: String, policies: String, images: String) -> [String] {
            ["reduce", "--weights", f.weights, "--lot", f.lot, "--resilience", res, "--target", "\(target)",
             "--policies", policies, "--fixed", "", "--fixed-images", images, "--data", F.cifar, "--chips", "0-2",
             "--train-subset", "256", "--test-subset", "200", "--batch", "64", "--lr", "0.02",
             "--out", out, "--quiet", "--seed", "9"]
        }
        let target = try Self.trainedTarget(res)
        let a = f.dir.file("campaign-amounts.h5")
        let r = try runFapsim(reduce(out: a, policies: "max,mean", images: ""))
        #expect(r.status == 0, "\(r.stderr)")
        let c = try CampaignResults.read(path: a)
        let budget = f.dir.file("budget-amounts-check.h5")
        let b = try runFapsim(["budget", "--resilience", res, "--lot", f.lot, "--target", "\(target)",
                               "--policy", "max", "--out", budget])
        #expect(b.status == 0, "\(b.stderr)")
        let rows = try BudgetFile.read(path: budget).rows
        for chip in 0...2 {
            let row = try #require(c.rows.first { $0.chip == chip && $0.policy == "max" })
            // Unreached chips get the schedule's largest amount.
            let images = rows[chip].images ?? 512
            let steps = [0: 0, 100: 2, 256: 4, 400: 7, 512: 8][images]!
            #expect(row.imagesSpent == min(steps * 64, 256) + max(0, steps - 4) * 64, "chip \(chip)")
            let single = f.dir.file("campaign-amounts-\(chip).h5")
            let s = try runFapsim(reduce(out: single, policies: "", images: "\(images)").map { $0 == "0-2" ? "\(chip)" : $0 })
            #expect(s.status == 0, "\(s.stderr)")
            let fixed = try #require(try CampaignResults.read(path: single).rows.first { $0.policy == "fixed-\(images)img" })
            #expect(fixed.finalAccuracy.bitPattern == row.finalAccuracy.bitPattern, "chip \(chip): \(images) images")
        }
    }

    @Test func badSchedulesAreOneLineErrorsNamingTheFlag() throws {
        let f = try F.get()
        let out = f.dir.file("res-amounts-bad.h5")
        func fails(_ args: [String], _ expected: String) throws { try expectOneLineFailure(args, expected) }
        let args = resilience(f, out: out)
        try fails(args.map { $0 == Self.schedule ? "0,500,300" : $0 }, "--amounts: expected strictly increasing amounts of training images, got 500 then 300")
        try fails(args.map { $0 == Self.schedule ? "0" : $0 }, "--amounts: expected at least one amount of training images > 0")
        try fails(args + ["--epochs", "2"], "--amounts: expected either --epochs or --amounts, got both")
        try fails(args.map { $0 == Self.schedule ? "0,x" : $0 }, "--amounts: expected comma-separated training-image counts >= 0")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// The closed-loop baseline: checks every 128 images on a held-out split,
    /// stops at the first check meeting the target (else the cap), counts its
    /// checks as evaluation images, and reports the test accuracy at the stop,
    /// read off the same run as the fixed image budgets.
    @Test func adaptiveStopsAtACheckAndCountsItsValidationImages() throws {
        let f = try F.get()
        let res = f.dir.file("res-amounts-val.h5")
        let schedule = "0,128,256,384,512"
        // Targets up to 3/4 of the test baseline: the held-out images' baseline differs.
        let all = Self.targets(f).map { "\($0)" }.joined(separator: ","), lower = Self.targets(f).prefix(6).map { "\($0)" }.joined(separator: ",")
        var args = resilience(f, out: res, ["--validation", "150"]).map { $0 == Self.schedule ? schedule : $0 == all ? lower : $0 }
        args = args.enumerated().filter { i, a in a != "--test-subset" && (i == 0 || args[i - 1] != "--test-subset") }.map(\.1)
        let r = try runFapsim(args)
        #expect(r.status == 0, "\(r.stderr)")
        let target = try Self.trainedTarget(res)
        let out = f.dir.file("campaign-adaptive.h5")
        func reduce(_ extra: [String]) -> [String] {
            ["reduce", "--weights", f.weights, "--lot", f.lot, "--resilience", res, "--target", "\(target)",
             "--policies", "max,adaptive", "--fixed", "", "--fixed-images", "128,256,384,512", "--data", F.cifar, "--chips", "0-2",
             "--test-subset", "200", "--out", out, "--quiet", "--seed", "9"] + extra
        }
        let c = try runFapsim(reduce(["--check-every", "128", "--adaptive-cap", "512"]))
        #expect(c.status == 0, "\(c.stderr)")
        let results = try CampaignResults.read(path: out)
        for chip in 0...2 {
            let a = try #require(results.rows.first { $0.chip == chip && $0.policy == "adaptive" })
            let spent = try #require(a.imagesSpent)
            #expect([0, 128, 256, 384, 512].contains(spent))
            #expect(a.evalImagesSpent == 150 * (spent / 128 + 1), "chip \(chip): \(spent) images")
            #expect(a.flags == "" || (spent == 512 && a.flags == "unreached"))
            if spent > 0 {
                let fixed = try #require(results.rows.first { $0.chip == chip && $0.policy == "fixed-\(spent)img" })
                #expect(fixed.finalAccuracy.bitPattern == a.finalAccuracy.bitPattern)
            }
            #expect(results.rows.first { $0.chip == chip && $0.policy == "max" }?.evalImagesSpent == 0)
        }
        let file = try ResultsFile.read(path: out)
        #expect(file.attributes["check_every"] == .int(128) && file.attributes["adaptive_cap"] == .int(512))
        // The report's inputs say which images judged, and why Fig. 4 is not drawn for an image schedule.
        let report = f.dir.file("report-adaptive")
        let rep = try runFapsim(["report", "--resilience", res, "--campaign", out, "--out", report, "--force"])
        #expect(rep.status == 0, "\(rep.stderr)")
        let md = try String(contentsOfFile: report + "/report.md", encoding: .utf8)
        #expect(md.contains("| Training images | 256 |\n") && !md.contains("| Training / test images |"), "\(md)")
        #expect(md.contains("| Final accuracies measured on | 200 test images |\n"))
        #expect(md.contains("Fig. 4 (budgets placed by the share of faulty PEs against the share of pruned weights) is not drawn: the comparison counts the whole FAT epochs"))
        func fails(_ extra: [String], _ expected: String) throws {
            let r = try runFapsim(reduce(extra).map { $0 == out ? f.dir.file("campaign-adaptive-bad.h5") : $0 })
            #expect(r.status != 0, "expected a failure for \(expected)")
            #expect(r.stderr.split(separator: "\n").count == 1, "one line expected: \(r.stderr)")
            #expect(r.stderr.contains(expected), "expected '\(expected)' in: \(r.stderr)")
        }
        try fails(["--check-every", "0"], "--check-every: expected a positive number of training images between validation checks, got 0")
        try fails(["--check-every=-5"], "--check-every: expected a positive number of training images between validation checks, got -5")
        try fails([], "--check-every: the adaptive policy needs the training images between validation checks")
        try fails(["--check-every", "128", "--adaptive-cap", "0"], "--adaptive-cap: expected a positive number of training images")
    }
}
