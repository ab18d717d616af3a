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
