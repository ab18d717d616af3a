import Foundation
import Testing
import FapsimSupport
@testable import Network
import SystolicArray

/// Retraining amounts in training images: the image-to-step rule, the checks
/// of a schedule, and the read-off property at sub-epoch amounts.
@Suite struct TrainingAmountsTests {
    typealias T = TrainingVGG11Tests

    func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as FapsimError { return e.message } catch { return "\(error)" }
    }

    @Test func imagesMapToWholeBatchesWithinTheEpochStructure() {
        // 1,000 images, batch 64: 16 steps an epoch, the last of 40 images.
        #expect(TrainingAmounts.steps(images: 0, trainImages: 1000, batch: 64) == 0)
        #expect(TrainingAmounts.steps(images: 700, trainImages: 1000, batch: 64) == 11)
        #expect(TrainingAmounts.steps(images: 704, trainImages: 1000, batch: 64) == 11)
        #expect(TrainingAmounts.steps(images: 705, trainImages: 1000, batch: 64) == 12)
        #expect(TrainingAmounts.steps(images: 1000, trainImages: 1000, batch: 64) == 16)
        #expect(TrainingAmounts.steps(images: 1001, trainImages: 1000, batch: 64) == 17)
        #expect(TrainingAmounts.steps(images: 3000, trainImages: 1000, batch: 64) == 48)
        #expect(TrainingAmounts.imagesTrained(steps: 11, trainImages: 1000, batch: 64) == 704)
        #expect(TrainingAmounts.imagesTrained(steps: 16, trainImages: 1000, batch: 64) == 1000)
        #expect(TrainingAmounts.imagesTrained(steps: 17, trainImages: 1000, batch: 64) == 1064)
        #expect(TrainingAmounts.imagesTrained(steps: 15, trainImages: 1000, batch: 64) == 960)
        #expect(TrainingRun.epochs(for: [0, 700], trainImages: 1000) == 1)
        #expect(TrainingRun.epochs(for: [0, 1001], trainImages: 1000) == 2)
    }

    @Test func badSchedulesAreOneLineErrorsNamingTheFlag() throws {
        #expect(message { _ = try TrainingAmounts.parse("0,500,500") } == "--amounts: expected strictly increasing amounts of training images, got 500 then 500")
        #expect(message { _ = try TrainingAmounts.parse("0,2000,1000") } == "--amounts: expected strictly increasing amounts of training images, got 2000 then 1000")
        #expect(message { _ = try TrainingAmounts.parse("0,-5") } == "--amounts: expected comma-separated training-image counts >= 0 (e.g. 0,500,1000,5000), got \"-5\" in \"0,-5\"")
        #expect(message { _ = try TrainingAmounts.parse("0,1k") }?.hasPrefix("--amounts: expected comma-separated training-image counts") == true)
        #expect(message { _ = try TrainingAmounts.validate([]) } == "--amounts: expected at least one amount of training images, got an empty list")
        // 0 (FAP alone) is put in front when missing.
        #expect(try TrainingAmounts.parse("500, 1000") == [0, 500, 1000])
        #expect(try TrainingAmounts.parse("0,500") == [0, 500])
    }

    func run(_ amounts: [Int], train: CIFAR10Set, test: CIFAR10Set, start: VGG11Parameters, faults: FaultMap) throws -> TrainingRun {
        let settings = try FATSettings(lr: 0.02, batch: 64, augment: true)
            .training(epochs: TrainingRun.epochs(for: amounts, trainImages: train.count), seed: 9)
        return try TrainingRun(trainer: VGG11Trainer(parameters: start, faults: faults, hyperparameters: settings.hyperparameters),
                               settings: settings, train: train, test: test)
    }

    /// One run to 1,500 images (crossing the epoch boundary at 1,000 of a
    /// 1,000-image subset) read off at 700 images (11 steps of 64) equals a
    /// separate run of 700 images, and at 1,000 an ordinary one-epoch run,
    /// bit for bit: the same correct count and the same weights.
    @Test func readOffAtASubEpochAmountEqualsASeparateShorterRun() throws {
        let train = T.syntheticSet(1000, seed: 81), test = T.syntheticSet(96, seed: 82)
        let start = VGG11Parameters.random(spec: T.spec(), seed: 83)
        let f = T.faults(rate: 0.1)
        let long = try run([0, 700, 1000, 1500], train: train, test: test, start: start, faults: f)
        let points = try long.trainAmounts([0, 700, 1000, 1500])
        #expect(points.map(\.steps) == [0, 11, 16, 24])
        #expect(points.map(\.imagesTrained) == [0, 704, 1000, 1512])
        #expect(points.map(\.epochs) == [0, 0.704, 1, 1.512])
        #expect(long.truncated && long.history.count == 2)

        let short = try run([700], train: train, test: test, start: start, faults: f)
        let p = try short.trainAmounts([700])
        #expect(p.map(\.steps) == [0, 11])
        #expect(p[1].correct == points[1].correct && p[1].evaluated == 96)
        #expect(p[1].parametersDigest == points[1].parametersDigest)
        #expect(short.trainer.parameters.digest == points[1].parametersDigest)
        // The weights moved: a digest that cannot tell runs apart would pass the above.
        #expect(points[1].parametersDigest != points[0].parametersDigest)
        #expect(points[2].parametersDigest != points[1].parametersDigest)

        let epoch = try run([1000], train: train, test: test, start: start, faults: f)
        let record = try epoch.runEpoch()
        #expect(record.testAccuracy.bitPattern == points[2].accuracy.bitPattern)
        #expect(epoch.trainer.parameters.digest == points[2].parametersDigest)
        #expect(epoch.history[0].testAccuracy.bitPattern == points[0].accuracy.bitPattern)
    }
}
