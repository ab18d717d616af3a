import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import Network

/// Options shared by `train` and `fat`: the optimizer, the schedule, the data
/// and the checkpoint. Defaults that differ between the two (learning rate,
/// schedule) are filled in by the command.
struct TrainingOptions: ParsableArguments {
    @OptionGroup var inputs: TrainingDataOptions

    @Option(help: "Epochs to train.")
    var epochs: Int

    @Option(help: "Images per SGD step.")
    var batch: Int = 128

    @Option(help: "Peak (onecycle) or base learning rate.")
    var lr: Double?

    @Option(help: "Learning-rate schedule: onecycle, cosine, step or constant.")
    var schedule: String?

    @Option(help: "SGD momentum.")
    var momentum: Float = 0.9

    @Option(name: .customLong("weight-decay"), help: "L2 weight decay.")
    var weightDecay: Float = 5e-4

    @Flag(help: "Nesterov momentum.")
    var nesterov = false

    @Option(name: .customLong("train-seed"), help: "Seed of the shuffling and augmentation (and of the initial weights for train).")
    var trainSeed: UInt64 = 0

    @Flag(name: .customLong("no-augment"), help: "Train without random crop and horizontal flip.")
    var noAugment = false

    @Option(help: "Checkpoint file, written after every epoch (default: OUT.checkpoint.h5).")
    var checkpoint: String?

    @Flag(help: "Continue from the checkpoint of an interrupted run with the same settings.")
    var resume = false

    @Option(name: .customLong("stop-after-epochs"),
            help: "Stop (exit 0, keeping the checkpoint) once this many epochs are done, e.g. to fit a batch-queue time limit; continue later with --resume.")
    var stopAfterEpochs: Int?

    @Flag(help: "Overwrite an existing output (and discard an existing checkpoint unless --resume).")
    var force = false

    @Flag(help: "No progress on stderr.")
    var quiet = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    func validate() throws {
        if epochs < 0 { throw ValidationError("--epochs: expected a number of epochs >= 0, got \(epochs)") }
        if let n = stopAfterEpochs, n < 0 { throw ValidationError("--stop-after-epochs: expected a number of epochs >= 0, got \(n)") }
    }

    func settings(defaultLR: Double, defaultSchedule: String) throws -> TrainingSettings {
        try TrainingSettings(epochs: epochs, batch: batch, scheduleName: schedule ?? defaultSchedule, lr: lr ?? defaultLR,
                             hyperparameters: .init(momentum: momentum, weightDecay: weightDecay, nesterov: nesterov,
                                                    convolution: inputs.convAlgorithm),
                             seed: trainSeed, augment: !noAugment)
    }

    func loadData() throws -> (train: CIFAR10Set, test: CIFAR10Set, directory: String) {
        let dir = inputs.directory
        let train = try CIFAR10Set.load(directory: dir, split: .train, limit: inputs.trainSubset)
        let test = try CIFAR10Set.load(directory: dir, split: .test, limit: inputs.testSubset)
        return (train, test, dir)
    }

    func checkpointPath(out: String) -> String { checkpoint ?? out + ".checkpoint.h5" }
}

/// Runs the epochs of a TrainingRun with a checkpoint after each one, resuming
/// from an earlier checkpoint when asked. The checkpoint is removed once the
/// caller has written its final output.
struct CheckpointedTraining {
    let run: TrainingRun
    let options: TrainingOptions
    let identity: [String: String]
    let out: String
    let label: String

    var checkpointPath: String { options.checkpointPath(out: out) }

    /// Refuses up front what would otherwise fail after hours of training.
    static func checkOutputs(out: String, options: TrainingOptions, extra: [String] = []) throws {
        for path in [out] + extra {
            try AtomicWrite.checkOverwrite(path, force: options.force)
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw FapsimError("\(path): directory \(dir) does not exist")
            }
        }
        let ckpt = options.checkpointPath(out: out)
        if FileManager.default.fileExists(atPath: ckpt) && !options.resume && !options.force {
            throw FapsimError("\(ckpt): checkpoint of an interrupted run exists; pass --resume to continue it or --force to start over")
        }
    }

    /// Returns false when --stop-after-epochs ended the run early (checkpoint kept, no output).
    func execute() throws -> Bool {
        if options.resume {
            if let cp = try run.resumeIfPresent(checkpoint: checkpointPath, identity: identity) {
                note("resumed from \(checkpointPath) after epoch \(cp.epochsDone)")
            } else {
                note("no checkpoint at \(checkpointPath); starting from epoch 0")
            }
        }
        if run.history.isEmpty {
            try run.start()
            note(String(format: "epoch 0: test %.2f%% (before training)", 100 * run.history[0].testAccuracy))
            try run.checkpoint(identity: identity).write(path: checkpointPath)
        }
        let total = run.settings.epochs
        while !run.finished {
            if let stop = options.stopAfterEpochs, run.epochsDone >= stop {
                note("stopped after epoch \(run.epochsDone) of \(total) (--stop-after-epochs); continue with --resume from \(checkpointPath)")
                return false
            }
            let e = run.history.count
            let progress = ProgressLine("\(label) epoch \(e)/\(total)", total: run.train.count, unit: "img", quiet: options.quiet)
            let r = try run.runEpoch(progress: progress)
            progress.finish()
            note(String(format: "epoch %ld/%ld: loss %.4f, train %.2f%%, test %.2f%%, lr %.4g, %.1f s (%.0f img/s)",
                        r.epoch, total, r.trainLoss, 100 * r.trainAccuracy, 100 * r.testAccuracy, r.learningRate,
                        r.seconds, Double(run.train.count) / max(r.seconds, 1e-9)))
            try run.checkpoint(identity: identity).write(path: checkpointPath)
        }
        return true
    }

    /// Call after the final output is safely written.
    func removeCheckpoint() {
        try? FileManager.default.removeItem(atPath: checkpointPath)
    }

    func note(_ s: String) {
        if !options.quiet { FileHandle.standardError.write(Data("\(label): \(s)\n".utf8)) }
    }

    /// The history as a results table (one row per epoch, 0 included).
    static func historyTable(_ h: [EpochRecord]) -> ResultsTable {
        ResultsTable(name: "epochs", columns: [
            .int64("epoch", units: "epochs", h.map { Int64($0.epoch) }),
            .double("test_accuracy", units: "1", h.map(\.testAccuracy), description: "top-1 on the test images; epoch 0 = before training (FAP alone for fat)"),
            .double("train_loss", units: "1", h.map(\.trainLoss), description: "mean cross-entropy over the epoch's steps (NaN for epoch 0)"),
            .double("train_accuracy", units: "1", h.map(\.trainAccuracy), description: "top-1 on the augmented training batches, before each step"),
            .double("learning_rate", units: "1", h.map(\.learningRate), description: "rate of the epoch's last step"),
            .double("seconds", units: "s", h.map(\.seconds)),
        ])
    }

    static func historyJSON(_ h: [EpochRecord]) -> [[String: Any]] {
        h.map { r in
            var d: [String: Any] = ["epoch": r.epoch, "test_accuracy": r.testAccuracy, "seconds": r.seconds]
            if r.epoch > 0 {
                d["train_loss"] = r.trainLoss
                d["train_accuracy"] = r.trainAccuracy
                d["learning_rate"] = r.learningRate
            }
            return d
        }
    }
}
