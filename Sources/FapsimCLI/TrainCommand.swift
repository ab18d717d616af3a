import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import Network

/// `fapsim train`: VGG11 from scratch on CIFAR-10 (fault-free), for the
/// pre-trained model Reduce starts from.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train VGG11 from scratch on CIFAR-10 (SGD, crop+flip augmentation, checkpoint every epoch).",
        discussion: """
        The initial weights are drawn from --train-seed (He-normal convs, zero biases, identity BN). \
        A checkpoint is written after every epoch; after a kill, the same command with --resume \
        continues and ends with the same weights, bit for bit, as an uninterrupted run.
        """)

    @OptionGroup var training: TrainingOptions

    @Option(help: "Width multiplier of VGG11 (1.0 = the paper's network, 0.25 = a quarter of the channels).")
    var width: Double = 1.0

    @Option(help: "Output weights file (fapsim weights format).")
    var out: String

    @Option(help: "Also write the per-epoch history as a results file.")
    var history: String?

    func run() throws {
        // (fat --epochs 0 means FAP alone; train --epochs 0 would only save the random initial weights.)
        guard try training.requiredEpochs() > 0 else {
            throw FapsimError("--epochs: expected at least 1 epoch (train --epochs 0 would write the untrained initial weights), got \(training.epochs ?? 0)")
        }
        let spec = try VGG11Spec(width: width)
        let settings = try training.settings(defaults: .trainDefaults)
        try CheckpointedTraining.checkOutputs(out: out, options: training, extra: history.map { [$0] } ?? [])
        let data = try training.loadData()
        let initial = VGG11Parameters.random(spec: spec, seed: training.trainSeed)
        let trainer = VGG11Trainer(parameters: initial, faults: nil, hyperparameters: settings.hyperparameters)
        let run = try TrainingRun(trainer: trainer, settings: settings, train: data.train, test: data.test)
        let identity: [String: String] = [
            "command": "train", "width": String(width), "train_images": String(data.train.count),
            "test_images": String(data.test.count),
        ].merging(data.splits.identity) { a, _ in a }
        let driver = CheckpointedTraining(run: run, options: training, identity: identity, out: out, label: "train")
        let t0 = Date()
        guard try driver.execute() else { return }
        let wall = Date().timeIntervalSince(t0)
        let final = run.history.last!
        let notes = "fapsim train: VGG11 width \(width), \(settings.epochs) epochs, batch \(settings.batch), \(settings.scheduleName) lr \(settings.lr), momentum \(settings.hyperparameters.momentum), weight decay \(settings.hyperparameters.weightDecay), seed \(settings.seed), augment \(settings.augment), \(data.train.count) training / \(data.test.count) test images"
        let provenance = WeightsProvenance(testAccuracy: final.testAccuracy, notes: notes)
        try run.trainer.parameters.weightsFile(provenance: provenance).write(path: out, force: true)
        if let history {
            var attributes: [String: AttributeValue] = [:]
            for (k, v) in identity.merging(settings.identity, uniquingKeysWith: { a, _ in a }) { attributes[k] = .string(v) }
            attributes["weights_file"] = .string(out)
            try TrainingResults(content: TrainingResults.trainContent, attributes: attributes,
                                history: run.history.columns).write(path: history, force: true)
        }
        driver.removeCheckpoint()
        if training.json {
            JSONOutput.print([
                "out": out, "width": width, "epochs": settings.epochs, "test_accuracy": final.testAccuracy,
                "train_images": data.train.count, "test_images": data.test.count, "wall_s": wall,
                "history": CheckpointedTraining.historyJSON(run.history),
            ])
        } else {
            print(String(format: "trained VGG11 width %g for %ld epochs: %@ accuracy %.2f%% on %ld images; wrote %@",
                         width, settings.epochs, data.splits.curveSplit, 100 * final.testAccuracy, data.test.count, out))
        }
    }
}
