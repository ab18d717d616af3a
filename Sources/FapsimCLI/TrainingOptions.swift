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

    @Option(help: "Epochs to train (fapsim fat: or --amounts).")
    var epochs: Int?

    @OptionGroup var hyperparameters: FATSettingsOptions

    @Option(name: .customLong("train-seed"), help: "Seed of the shuffling and augmentation (and of the initial weights for train).")
    var trainSeed: UInt64 = 0

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
        if let epochs, epochs < 0 { throw ValidationError("--epochs: expected a number of epochs >= 0, got \(epochs)") }
        if let n = stopAfterEpochs, n < 0 { throw ValidationError("--stop-after-epochs: expected a number of epochs >= 0, got \(n)") }
    }

    /// The run's settings: the hyper-parameter options over the command's defaults.
    func settings(defaults: FATSettings) throws -> TrainingSettings {
        try settings(defaults: defaults, epochs: try requiredEpochs())
    }

    func settings(defaults: FATSettings, epochs: Int) throws -> TrainingSettings {
        try hyperparameters.settings(defaults: defaults, convolution: inputs.convAlgorithm)
            .training(epochs: epochs, seed: trainSeed)
    }

    func requiredEpochs() throws -> Int {
        guard let epochs else { throw FapsimError("--epochs: expected the number of epochs to train, got none") }
        return epochs
    }

    /// The training images and the set the accuracy curve is measured on:
    /// the held-out validation split with --validation, else the test set.
    func loadData() throws -> (train: CIFAR10Set, test: CIFAR10Set, directory: String, splits: HeldOutSplits) {
        let dir = inputs.directory
        let splits = try inputs.splits()
        let train = try splits.loadTrain(directory: dir)
        let curves = try splits.loadValidation(directory: dir) ?? splits.loadTest(directory: dir)
        return (train, curves, dir, splits)
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

    /// Runs (or resumes, with --resume) the epoch loop with a checkpoint after
    /// every epoch and a note per epoch on stderr. Returns false when
    /// --stop-after-epochs ended the run early (checkpoint kept, no output).
    func execute() throws -> Bool {
        let total = run.settings.epochs
        var line: ProgressLine?
        return try run.execute(
            checkpoints: EpochCheckpoints(path: checkpointPath, identity: identity, resume: options.resume),
            stopAfterEpochs: options.stopAfterEpochs,
            progress: { e in
                line = ProgressLine("\(label) epoch \(e)/\(total)", total: run.train.count, unit: "img", quiet: options.quiet)
                return line
            },
            events: { event in
                switch event {
                case .resumed(let path, let done): note("resumed from \(path) after epoch \(done)")
                case .noCheckpoint(let path): note("no checkpoint at \(path); starting from epoch 0")
                case .started(let r): note(String(format: "epoch 0: %@ %.2f%% (before training)", curveSplit, 100 * r.testAccuracy))
                case .stopped(let done):
                    note("stopped after epoch \(done) of \(total) (--stop-after-epochs); continue with --resume from \(checkpointPath)")
                case .epoch(let r):
                    line?.finish()
                    note(String(format: "epoch %ld/%ld: loss %.4f, train %.2f%%, %@ %.2f%%, lr %.4g, %.1f s (%.0f img/s)",
                                r.epoch, total, r.trainLoss, 100 * r.trainAccuracy, curveSplit, 100 * r.testAccuracy, r.learningRate,
                                r.seconds, Double(run.train.count) / max(r.seconds, 1e-9)))
                }
            })
    }

    /// Call after the final output is safely written.
    func removeCheckpoint() {
        try? FileManager.default.removeItem(atPath: checkpointPath)
    }

    /// What the run's accuracy column is measured on, for the progress lines:
    /// "validation" with --validation (the held-out split), else "test".
    var curveSplit: String { options.inputs.validation == nil ? "test" : "validation" }

    func note(_ s: String) {
        if !options.quiet { FileHandle.standardError.write(Data("\(label): \(s)\n".utf8)) }
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
