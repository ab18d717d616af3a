import Foundation
import FapsimSupport

/// How a run trains: everything that, with the starting weights, the fault map
/// and the data, decides its result bit for bit.
public struct TrainingSettings: Sendable, Equatable {
    public var epochs: Int
    public var batch: Int
    public var scheduleName: String
    public var lr: Double
    public var hyperparameters: VGG11Trainer.Hyperparameters
    public var seed: UInt64
    public var augment: Bool

    public init(epochs: Int, batch: Int = 128, scheduleName: String, lr: Double,
                hyperparameters: VGG11Trainer.Hyperparameters = .init(), seed: UInt64, augment: Bool = true) throws {
        guard epochs >= 0 else { throw FapsimError("--epochs: expected a number of epochs >= 0, got \(epochs)") }
        // The hyper-parameters' checks live in one place.
        _ = try FATSettings(lr: lr, scheduleName: scheduleName, batch: batch, momentum: hyperparameters.momentum,
                            weightDecay: hyperparameters.weightDecay, nesterov: hyperparameters.nesterov,
                            augment: augment, convolution: hyperparameters.convolution)
        self.epochs = epochs
        self.batch = batch
        self.scheduleName = scheduleName
        self.lr = lr
        self.hyperparameters = hyperparameters
        self.seed = seed
        self.augment = augment
    }

    /// Everything but the length and the seed.
    public var fat: FATSettings {
        try! FATSettings(lr: lr, scheduleName: scheduleName, batch: batch, momentum: hyperparameters.momentum,
                         weightDecay: hyperparameters.weightDecay, nesterov: hyperparameters.nesterov,
                         augment: augment, convolution: hyperparameters.convolution)
    }

    public var schedule: LRSchedule { LRSchedule.named(scheduleName, lr: lr)! }

    /// The settings as (name, value) strings for a checkpoint's run identity.
    public var identity: [String: String] {
        fat.identity.merging(["epochs": String(epochs), "seed": String(seed)]) { a, _ in a }
    }
}

/// One row of a run's history. Epoch 0 is the state before any training (for
/// FAT: FAP alone), so its loss, train accuracy and rate are NaN.
public struct EpochRecord: Sendable, Equatable {
    public var epoch: Int
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testAccuracy: Double
    /// The rate of the epoch's last step.
    public var learningRate: Double
    public var seconds: Double

    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, testAccuracy: Double, learningRate: Double, seconds: Double) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testAccuracy = testAccuracy
        self.learningRate = learningRate
        self.seconds = seconds
    }

    /// Equal apart from wall time (what a resumed run must reproduce).
    public func sameResult(as other: EpochRecord) -> Bool {
        func same(_ a: Double, _ b: Double) -> Bool { a.bitPattern == b.bitPattern }
        return epoch == other.epoch && same(trainLoss, other.trainLoss) && same(trainAccuracy, other.trainAccuracy)
            && same(testAccuracy, other.testAccuracy) && same(learningRate, other.learningRate)
    }
}

/// Epoch-by-epoch training of a VGG11Trainer: seeded order and augmentation
/// per epoch (EpochPlan), the LR schedule by global step, test accuracy with BN
/// in inference mode after every epoch, and a stop with a clear message when
/// training diverges: a loss that is not finite (caught before the bad step is
/// applied, so the state stays good) or, after any step, a parameter or BN
/// running statistic that is not finite (the state is then bad and the run
/// cannot go on). Either way the epoch is not recorded, so no checkpoint of it
/// can be written and the last one stays good.
public final class TrainingRun {
    public let trainer: VGG11Trainer
    public let settings: TrainingSettings
    public let train: CIFAR10Set
    public let test: CIFAR10Set
    /// history[e] = epoch e; history[0] is the untrained state.
    public private(set) var history: [EpochRecord] = []
    public let stepsPerEpoch: Int
    /// A partial epoch was trained (`trainAmounts`): the run stopped inside
    /// an epoch's seeded order, so no further epoch and no checkpoint can follow.
    public private(set) var truncated = false

    public init(trainer: VGG11Trainer, settings: TrainingSettings, train: CIFAR10Set, test: CIFAR10Set) throws {
        guard train.count > 0 || settings.epochs == 0 else { throw FapsimError("training set: expected at least one image") }
        guard test.count > 0 else { throw FapsimError("test set: expected at least one image") }
        self.trainer = trainer
        self.settings = settings
        self.train = train
        self.test = test
        stepsPerEpoch = max(1, (train.count + settings.batch - 1) / settings.batch)
    }

    public var epochsDone: Int { max(0, history.count - 1) }
    public var finished: Bool { history.count == settings.epochs + 1 }
    var totalSteps: Int { max(1, settings.epochs * stepsPerEpoch) }

    /// Top-1 accuracy on the test set of the current weights (BN inference mode,
    /// FAP-masked weights: the network the faulty chip computes).
    public func evaluate(progress: ProgressLine? = nil) throws -> Double {
        try evaluation(progress: progress).accuracy
    }

    /// `evaluate` with the counts (correct of images).
    public func evaluation(progress: ProgressLine? = nil) throws -> EvaluationResult {
        try evaluation(on: test, progress: progress)
    }

    /// The current weights' counts on another set (a campaign's validation
    /// checks beside its test accuracy); touches no training state.
    public func evaluation(on set: CIFAR10Set, progress: ProgressLine? = nil) throws -> EvaluationResult {
        let net = VGG11Network(parameters: trainer.parameters, engine: FunctionalEngine(chip: trainer.chip))
        return try Evaluator.evaluate(network: net, data: set, batch: 250, progress: progress)
    }

    /// Records epoch 0 (the accuracy before training) if not yet recorded.
    public func start() throws {
        guard history.isEmpty else { return }
        let t0 = Date()
        let acc = try evaluate()
        history.append(EpochRecord(epoch: 0, trainLoss: .nan, trainAccuracy: .nan, testAccuracy: acc,
                                   learningRate: .nan, seconds: Date().timeIntervalSince(t0)))
    }

    /// Trains the next epoch and evaluates. `progress` advances by images trained.
    @discardableResult
    public func runEpoch(progress: ProgressLine? = nil) throws -> EpochRecord {
        try trainEpoch(progress: progress)!
    }

    /// Trains the next epoch. After each within-epoch step count in
    /// `evaluateAfter` (1-based, below the epoch's last step) the weights are
    /// evaluated and handed to `measured`; evaluating does not touch the
    /// training state, so a run evaluated more often trains bit for bit the
    /// same. With `stopAfterSteps` below `stepsPerEpoch` the epoch ends there:
    /// nothing is recorded in `history`, the run is `truncated` and nil is
    /// returned. Otherwise the whole epoch is trained, evaluated and recorded.
    /// `atStep` is called after every step (1-based within the epoch); false
    /// ends the epoch there, as `stopAfterSteps` would.
    func trainEpoch(progress: ProgressLine? = nil, evaluateAfter: Set<Int> = [], stopAfterSteps: Int? = nil,
                    measured: (Int, EvaluationResult) throws -> Void = { _, _ in },
                    atStep: (Int) throws -> Bool = { _ in true }) throws -> EpochRecord? {
        try start()
        precondition(!finished, "all \(settings.epochs) epochs are done")
        precondition(!truncated, "the run stopped inside an epoch")
        let epoch = history.count   // 1-based: the epoch being trained
        let t0 = Date()
        let plan = EpochPlan(images: train.count, seed: settings.seed, epoch: epoch, augment: settings.augment)
        var input = [Float](repeating: 0, count: settings.batch * CIFAR10Set.imageBytes)
        var lossSum = 0.0, correct = 0, seen = 0
        var stoppedEarly = false
        var lr = 0.0
        let schedule = settings.schedule
        for (index, range) in plan.batches(of: settings.batch).enumerated() {
            if let stop = stopAfterSteps, index >= stop { break }
            // Global step from the epoch, not a running counter: a resumed run
            // lands on exactly the same rates.
            let step = (epoch - 1) * stepsPerEpoch + (range.lowerBound / settings.batch)
            lr = schedule.rate(step: step, totalSteps: totalSteps)
            let result = try input.withUnsafeMutableBufferPointer { buf -> VGG11Trainer.StepResult in
                let labels = plan.fill(range, from: train, into: buf.baseAddress!)
                let r = trainer.forwardBackward(images: buf.baseAddress!, labels: labels)
                guard r.loss.isFinite else {
                    throw FapsimError("training diverged: loss is \(r.loss) at epoch \(epoch), step \(step) (learning rate \(lr)); the weights of epoch \(epoch - 1) are kept. Lower --lr or change the schedule")
                }
                trainer.update(lr: Float(lr))
                // A finite loss does not prove a finite network: the update or the
                // BN running statistics may have overflowed. Stop before the epoch's
                // checkpoint could save them.
                if let bad = trainer.firstNonFiniteState() {
                    throw FapsimError("training diverged: \(bad.tensor) is \(bad.value) at index \(bad.index) after epoch \(epoch), step \(step) (learning rate \(lr)); the checkpoint of epoch \(epoch - 1) is kept. Lower --lr or change the schedule")
                }
                return r
            }
            lossSum += result.loss * Double(range.count)
            correct += result.correct
            seen += range.count
            progress?.advance(by: range.count)
            if evaluateAfter.contains(index + 1) && index + 1 < stepsPerEpoch { try measured(index + 1, try evaluation()) }
            if try !atStep(index + 1) {
                stoppedEarly = true
                break
            }
        }
        if stoppedEarly || (stopAfterSteps.map { $0 < stepsPerEpoch } ?? false) {
            truncated = true
            return nil
        }
        let acc = try evaluate()
        let record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(max(seen, 1)),
                                 trainAccuracy: Double(correct) / Double(max(seen, 1)), testAccuracy: acc,
                                 learningRate: lr, seconds: Date().timeIntervalSince(t0))
        history.append(record)
        return record
    }

    /// The run's state now, for a checkpoint.
    public func checkpoint(identity: [String: String]) -> TrainingCheckpoint {
        TrainingCheckpoint(identity: identity.merging(settings.identity) { a, _ in a },
                           parameters: trainer.parameters, slotNames: trainer.slotNames,
                           momentum: trainer.momentumBuffers, steps: trainer.stepsTaken, history: history)
    }

    /// Continues from the checkpoint file at `path` when there is one (nil:
    /// no file, nothing changed). The checkpoint must be of this run, as for
    /// `resume(from:identity:path:)`.
    @discardableResult
    public func resumeIfPresent(checkpoint path: String, identity: [String: String]) throws -> TrainingCheckpoint? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let cp = try TrainingCheckpoint.read(path: path, spec: trainer.spec, slotNames: trainer.slotNames)
        try resume(from: cp, identity: identity, path: path)
        return cp
    }

    /// Continues from `checkpoint`, which must come from a run with the same
    /// identity (settings, inputs) as this one.
    public func resume(from cp: TrainingCheckpoint, identity: [String: String], path: String) throws {
        let mine = identity.merging(settings.identity) { a, _ in a }
        for key in Set(mine.keys).union(cp.identity.keys).sorted() where mine[key] != cp.identity[key] {
            throw FapsimError("\(path): run_\(key): the checkpoint is from a different run (\(cp.identity[key] ?? "unset") there, \(mine[key] ?? "unset") here); rerun with the original settings, or without --resume (and --force) to start over")
        }
        guard cp.history.count <= settings.epochs + 1 else {
            throw FapsimError("\(path): epochs_done: \(cp.history.count - 1) epochs, more than this run's \(settings.epochs)")
        }
        trainer.restore(parameters: cp.parameters, momentum: cp.momentum, steps: cp.steps)
        history = cp.history
    }
}
