import Foundation
import Testing
import FapsimStore
import FapsimTestSupport

/// `fapsim fat --amounts`: the accuracy after amounts of training images
/// finer than an epoch, read off one run, equal to separate shorter runs.
@Suite(.serialized, .requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
struct AmountsCLITests {
    typealias F = ReduceFixture

    func fat(_ f: F.Files, out: String, _ extra: [String]) -> [String] {
        ["fat", "--weights", f.weights, "--fault-rate", "0.15", "--seed", "4", "--config", F.config, "--data", F.cifar,
         "--train-subset", "256", "--test-subset", "200", "--batch", "64", "--lr", "0.02", "--out", out, "--quiet"] + extra
    }

    func amounts(_ path: String) throws -> AmountsTable {
        try #require(try TrainingResults.read(path: path).amounts)
    }

    @Test func readOffEqualsSeparateRunsAndAnEpochRun() throws {
        let f = try F.get()
        let long = f.dir.file("amounts-long.h5"), short = f.dir.file("amounts-short.h5"), epoch = f.dir.file("amounts-epoch.h5")
        // 100 images = 2 steps of 64 (128 images); 256 = one epoch; 400 crosses into the second.
        let r = try runFapsim(fat(f, out: long, ["--amounts", "0,100,256,400"]))
        #expect(r.status == 0, "\(r.stderr)")
        let a = try amounts(long)
        #expect(a.images == [0, 100, 256, 400] && a.steps == [0, 2, 4, 7] && a.imagesTrained == [0, 128, 256, 448])
        #expect(a.evaluated == [200, 200, 200, 200])
        let s = try runFapsim(fat(f, out: short, ["--amounts", "100"]))
        #expect(s.status == 0, "\(s.stderr)")
        let b = try amounts(short)
        #expect(b.images == [0, 100] && b.correct == [a.correct[0], a.correct[1]])
        let e = try runFapsim(fat(f, out: epoch, ["--epochs", "1"]))
        #expect(e.status == 0, "\(e.stderr)")
        let h = try TrainingResults.read(path: epoch).history
        #expect(h.testAccuracy[1].bitPattern == a.accuracy[2].bitPattern)
        let file = try ResultsFile.read(path: long)
        #expect(file.attributes["train_images_spent"] == .int(448) && file.attributes["train_steps"] == .int(7))
        #expect(file.attributes["curve_split"] == .string("test"))
    }

    @Test func validationSplitIsWhatTheAmountsAreMeasuredOn() throws {
        let f = try F.get()
        let out = f.dir.file("amounts-val.h5")
        let r = try runFapsim(fat(f, out: out, ["--amounts", "0,64", "--validation", "150"]))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try amounts(out).evaluated == [150, 150])
        let file = try ResultsFile.read(path: out)
        #expect(file.attributes["curve_split"] == .string("validation"))
        #expect(file.attributes["validation_first"] == .int(49_850) && file.attributes["validation_subset"] == .int(150))
        #expect(file.attributes["validation"] == .string("150"))
    }

    func reduce(_ f: F.Files, out: String, fixed: String, images: String) -> [String] {
        ["reduce", "--weights", f.weights, "--lot", f.lot, "--resilience", f.resilience, "--target", "\(f.targets[1])",
         "--policies", "", "--fixed", fixed, "--fixed-images", images, "--data", F.cifar, "--chips", "0-1",
         "--out", out, "--quiet", "--seed", "9"]
    }

    /// A campaign's fixed image amounts: trained exactly (whole batches),
    /// read off one run, equal to a separate campaign of the shorter amount
    /// and, at one epoch's images, to the fixed 1-epoch policy, bit for bit.
    @Test func campaignFixedImagesAreTrainedExactly() throws {
        let f = try F.get()
        let a = f.dir.file("images-a.h5"), b = f.dir.file("images-b.h5")
        let r = try runFapsim(reduce(f, out: a, fixed: "1", images: "100,256"))
        #expect(r.status == 0, "\(r.stderr)")
        let s = try runFapsim(reduce(f, out: b, fixed: "", images: "100"))
        #expect(s.status == 0, "\(s.stderr)")
        let x = try CampaignResults.read(path: a), y = try CampaignResults.read(path: b)
        func row(_ c: CampaignResults, _ chip: Int, _ policy: String) throws -> CampaignResults.Row {
            try #require(c.rows.first { $0.chip == chip && $0.policy == policy })
        }
        for chip in 0...1 {
            let one = try row(x, chip, "fixed-1"), full = try row(x, chip, "fixed-256img"), part = try row(x, chip, "fixed-100img")
            #expect(one.imagesSpent == 256 && full.imagesSpent == 256 && part.imagesSpent == 128)
            #expect(full.epochsSpent == 1 && part.epochsSpent == 0)
            #expect(full.finalAccuracy.bitPattern == one.finalAccuracy.bitPattern)
            #expect(try row(y, chip, "fixed-100img").finalAccuracy.bitPattern == part.finalAccuracy.bitPattern)
        }
        // Two chips: a 1-epoch run and a 256-image run each.
        #expect(try ResultsFile.read(path: a).attributes["train_images_spent"] == .int(2 * (256 + 256)))
        let bad = try runFapsim(reduce(f, out: f.dir.file("images-bad.h5"), fixed: "", images: "100,x"))
        #expect(bad.status != 0 && bad.stderr.split(separator: "\n").count == 1)
        #expect(bad.stderr.contains("--fixed-images: expected a comma-separated list of training-image counts >= 0 (e.g. 1000,5000), got x"), "\(bad.stderr)")
    }

    @Test func badAmountsAreOneLineErrorsNamingTheFlag() throws {
        let f = try F.get()
        let out = f.dir.file("amounts-bad.h5")
        func fails(_ extra: [String], _ expected: String) throws {
            let r = try runFapsim(fat(f, out: out, extra))
            #expect(r.status != 0, "expected a failure for \(expected)")
            #expect(r.stderr.split(separator: "\n").count == 1, "one line expected: \(r.stderr)")
            #expect(r.stderr.contains(expected), "expected '\(expected)' in: \(r.stderr)")
        }
        try fails(["--amounts", "0,500,300"], "--amounts: expected strictly increasing amounts of training images, got 500 then 300")
        try fails(["--amounts", "0,x"], "--amounts: expected comma-separated training-image counts >= 0")
        try fails(["--amounts", "0,100", "--epochs", "1"], "--amounts: expected either --epochs or --amounts, got both")
        try fails([], "--epochs: expected the number of epochs to retrain (or --amounts), got none")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
