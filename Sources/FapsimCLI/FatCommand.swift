import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import Network
import SystolicArray

/// `fapsim fat`: fault-aware retraining (FAP+T) of pre-trained weights for one
/// chip, with the test accuracy after every epoch, epoch 0 (FAP alone) included.
struct FatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fat",
        abstract: "Fault-aware retraining for one chip: accuracy after FAP alone and after every retraining epoch.",
        discussion: """
        The chip's fault map prunes every weight that sits on a faulty PE (docs/conventions.md §2); retraining \
        keeps those weights, their gradients and their momentum at exactly zero, so the network trained \
        is the one the faulty array computes. The default schedule is a constant rate, under which the \
        first e epochs of a run equal an e-epoch run (what Reduce's budgets assume). \
        --amounts 0,500,1000,5000 measures the accuracy after each amount of training images instead of after \
        each epoch, inside and across epochs (an amount is rounded up to whole batches; the file's `amounts` \
        table has the steps and images actually trained); such a run is not checkpointed. With --validation N \
        the accuracy is measured on the last N training images, held out from training, instead of the test set.
        """)

    @Option(help: "Pre-trained weights: a fapsim weights file or a PyTorch state_dict in HDF5.")
    var weights: String

    @Option(help: "Expected VGG11 width of --weights; a file of another width is refused.")
    var width: Double?

    @OptionGroup var chip: ChipOptions

    @Option(help: "Hardware config YAML (default: \(EvaluateCommand.defaultConfigPath), a 256x256 array).")
    var config: String?

    @OptionGroup var training: TrainingOptions

    @Option(help: "Results file: per-epoch accuracy and full provenance (content 'fat').")
    var out: String

    @Option(name: .customLong("weights-out"), help: "Also write the retrained weights.")
    var weightsOut: String?

    @Option(help: "Retraining amounts in training images, strictly increasing (0 = FAP alone is added if missing), e.g. 0,500,1000,2000,5000: train up to the largest and measure the accuracy after each; instead of --epochs.")
    var amounts: String?

    func validate() throws {
        if amounts != nil {
            if training.epochs != nil { throw ValidationError("--amounts: expected either --epochs or --amounts, got both") }
            if training.resume || training.stopAfterEpochs != nil {
                throw ValidationError("--amounts: a run measured inside epochs is not checkpointed; expected no --resume or --stop-after-epochs")
            }
        } else if training.epochs == nil {
            throw ValidationError("--epochs: expected the number of epochs to retrain (or --amounts), got none")
        }
        if chip.lot == nil && chip.faultRate == nil {
            throw ValidationError("a chip is needed: --lot FILE --chip I, or --fault-rate P --seed S")
        }
    }

    func run() throws {
        let amountList = try amounts.map { try TrainingAmounts.parse($0, option: "--amounts") }
        let hw = try EvaluateCommand.loadConfig(config)
        try CheckpointedTraining.checkOutputs(out: out, options: training, extra: weightsOut.map { [$0] } ?? [])
        let weightsFile = try WeightsFile.read(path: weights)
        let params = try VGG11Parameters.load(weightsFile, path: weights, width: width)
        let data = try training.loadData()
        let settings = try amountList.map {
            try training.settings(defaults: .fatDefaults, epochs: TrainingRun.epochs(for: $0, trainImages: data.train.count))
        } ?? training.settings(defaults: .fatDefaults)
        let chipState = try chip.chipDescription(config: hw, configPath: config ?? EvaluateCommand.defaultConfigPath, parameters: params) { data.train }
        guard let faults = chipState.faults else { throw FapsimError("fat: no fault map (internal)") }
        let trainer = VGG11Trainer(parameters: params, chip: chipState, hyperparameters: settings.hyperparameters)
        let run = try TrainingRun(trainer: trainer, settings: settings, train: data.train, test: data.test)
        var identity: [String: String] = [
            // The chip's checksum is the map's under FAP, so identities (and the
            // checkpoints that carry them) from before mitigations existed still match.
            "command": "fat", "weights_checksum": weightsFile.checksum, "fault_map_checksum": chipState.checksum,
            "train_images": String(data.train.count), "test_images": String(data.test.count),
        ].merging(data.splits.identity) { a, _ in a }
        if let lot = chip.lot, let c = chip.chip { identity["lot_checksum"] = try FNV1a64.file(lot); identity["chip"] = String(c) }
        let driver = CheckpointedTraining(run: run, options: training, identity: identity, out: out, label: "fat")
        let t0 = Date()
        var points: [AmountRecord]?
        if let amountList {
            let line = ProgressLine("fat: \(amountList.last!) images", total: amountList.last!, unit: "img", quiet: training.quiet)
            points = try run.trainAmounts(amountList, progress: line)
            line.finish()
        } else {
            guard try driver.execute() else { return }
        }
        let wall = Date().timeIntervalSince(t0)
        let h = run.history
        let finalAccuracy = points?.last?.accuracy ?? h.last!.testAccuracy
        let share = PrunedShare.macWeighted(chipState, spec: params.spec)

        var attributes: [String: AttributeValue] = [
            "weights_file": .string(weights), "weights_checksum": .string(weightsFile.checksum),
            "width": .double(params.spec.width), "config_name": .string(hw.name),
            "rows": .int(Int64(hw.rows)), "cols": .int(Int64(hw.cols)),
            "fault_rate": .double(faults.faultRate), "faulty_pes": .int(Int64(faults.faultyCount)),
            "fault_map_checksum": .string(faults.checksum), "pruned_mac_share": .double(share),
            "mitigation": .string(chipState.mitigation.rawValue),
            "data_dir": .string(data.directory),
            "train_images": .int(Int64(data.train.count)), "test_images": .int(Int64(data.test.count)),
            "fap_accuracy": .double(h[0].testAccuracy), "final_accuracy": .double(finalAccuracy),
            "wall_s": .double(wall),
        ]
        if let famMapping = chip.famMapping { attributes["fam_mapping"] = .string(famMapping) }
        attributes.merge(chipState.spareAttributes) { a, _ in a }
        for (k, v) in settings.identity { attributes[k] = .string(v) }
        // With --validation the history's accuracy column is on the held-out
        // validation images and test_images counts those.
        for (k, v) in data.splits.identity { attributes[k] = .string(v) }
        attributes["curve_split"] = .string(data.splits.curveSplit)
        if let r = data.splits.validationRange {
            attributes["validation_subset"] = .int(Int64(r.count))
            attributes["validation_first"] = .int(Int64(r.lowerBound))
        }
        if let lot = chip.lot, let c = chip.chip {
            attributes["lot_file"] = .string(lot)
            attributes["lot_checksum"] = .string(identity["lot_checksum"]!)
            attributes["chip"] = .int(Int64(c))
        } else if let rate = chip.faultRate, let seed = chip.seed {
            attributes["map_rate"] = .double(rate)
            attributes["map_seed"] = .string(String(seed))
        }
        let table = points.map(AmountsTable.init)
        if let p = points {
            attributes["train_images_spent"] = .int(Int64(p.last!.imagesTrained))
            attributes["train_steps"] = .int(Int64(p.last!.steps))
        }
        try TrainingResults(content: TrainingResults.fatContent, attributes: attributes, history: h.columns, amounts: table)
            .write(path: out, force: true)
        if let weightsOut {
            let prov = WeightsProvenance(parentFile: weights, parentChecksum: weightsFile.checksum, chipIndex: chip.chip,
                                         faultMapChecksum: faults.checksum, fatEpochs: settings.epochs,
                                         testAccuracy: finalAccuracy,
                                         notes: "fapsim fat: \(settings.scheduleName) lr \(settings.lr), seed \(settings.seed)")
            try run.trainer.parameters.weightsFile(provenance: prov).write(path: weightsOut, force: true)
        }
        driver.removeCheckpoint()
        if training.json {
            var out: [String: Any] = [
                "out": self.out, "fault_rate": faults.faultRate, "faulty_pes": faults.faultyCount,
                "pruned_mac_share": share, "fap_accuracy": h[0].testAccuracy, "final_accuracy": finalAccuracy,
                "epochs": settings.epochs, "wall_s": wall, "history": CheckpointedTraining.historyJSON(h),
            ]
            out.merge(chip.provenance) { a, _ in a }
            if let points {
                out["amounts"] = points.map { p -> [String: Any] in
                    ["images": p.images, "steps": p.steps, "images_trained": p.imagesTrained, "epochs": p.epochs,
                     "correct": p.correct, "evaluated": p.evaluated, "accuracy": p.accuracy]
                }
            }
            JSONOutput.print(out)
        } else if let points {
            print(String(format: "chip with %.2f%% faulty PEs (%.2f%% of MACs pruned): FAP alone %.2f%%; wrote %@",
                         100 * faults.faultRate, 100 * share, 100 * h[0].testAccuracy, out))
            for p in points.dropFirst() {
                print(String(format: "  after %ld images (%ld steps, %ld images, %.3f epochs): %.2f%% (%ld/%ld)",
                             p.images, p.steps, p.imagesTrained, p.epochs, 100 * p.accuracy, p.correct, p.evaluated))
            }
        } else {
            print(String(format: "chip with %.2f%% faulty PEs (%.2f%% of MACs pruned): FAP alone %.2f%%, after %ld FAT epochs %.2f%%; wrote %@",
                         100 * faults.faultRate, 100 * share, 100 * h[0].testAccuracy, settings.epochs,
                         100 * h.last!.testAccuracy, out))
        }
    }
}
