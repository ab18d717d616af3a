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
        The chip's fault map prunes every weight that sits on a faulty PE (SPEC section 2); retraining \
        keeps those weights, their gradients and their momentum at exactly zero, so the network trained \
        is the one the faulty array computes. The default schedule is a constant rate, under which the \
        first e epochs of a run equal an e-epoch run (what Reduce's budgets assume).
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

    func validate() throws {
        if chip.lot == nil && chip.faultRate == nil {
            throw ValidationError("a chip is needed: --lot FILE --chip I, or --fault-rate P --seed S")
        }
    }

    func run() throws {
        let hw = try EvaluateCommand.loadConfig(config)
        let settings = try training.settings(defaults: .fatDefaults)
        try CheckpointedTraining.checkOutputs(out: out, options: training, extra: weightsOut.map { [$0] } ?? [])
        let weightsFile = try WeightsFile.read(path: weights)
        let params = try VGG11Parameters.load(weightsFile, path: weights, width: width)
        let data = try training.loadData()
        let chipState = try chip.mitigation.applied(try chip.chipDescription(config: hw), parameters: params) { data.train }
        guard let faults = chipState.faults else { throw FapsimError("fat: no fault map (internal)") }
        let trainer = VGG11Trainer(parameters: params, chip: chipState, hyperparameters: settings.hyperparameters)
        let run = try TrainingRun(trainer: trainer, settings: settings, train: data.train, test: data.test)
        var identity: [String: String] = [
            // The chip's checksum is the map's under FAP, so identities (and the
            // checkpoints that carry them) from before mitigations existed still match.
            "command": "fat", "weights_checksum": weightsFile.checksum, "fault_map_checksum": chipState.checksum,
            "train_images": String(data.train.count), "test_images": String(data.test.count),
        ]
        if let lot = chip.lot, let c = chip.chip { identity["lot_checksum"] = try FNV1a64.file(lot); identity["chip"] = String(c) }
        let driver = CheckpointedTraining(run: run, options: training, identity: identity, out: out, label: "fat")
        let t0 = Date()
        guard try driver.execute() else { return }
        let wall = Date().timeIntervalSince(t0)
        let h = run.history
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
            "fap_accuracy": .double(h[0].testAccuracy), "final_accuracy": .double(h.last!.testAccuracy),
            "wall_s": .double(wall),
        ]
        for (k, v) in settings.identity { attributes[k] = .string(v) }
        if let lot = chip.lot, let c = chip.chip {
            attributes["lot_file"] = .string(lot)
            attributes["lot_checksum"] = .string(identity["lot_checksum"]!)
            attributes["chip"] = .int(Int64(c))
        } else if let rate = chip.faultRate, let seed = chip.seed {
            attributes["map_rate"] = .double(rate)
            attributes["map_seed"] = .string(String(seed))
        }
        try TrainingResults(content: TrainingResults.fatContent, attributes: attributes, history: h.columns)
            .write(path: out, force: true)
        if let weightsOut {
            let prov = WeightsProvenance(parentFile: weights, parentChecksum: weightsFile.checksum, chipIndex: chip.chip,
                                         faultMapChecksum: faults.checksum, fatEpochs: settings.epochs,
                                         testAccuracy: h.last!.testAccuracy,
                                         notes: "fapsim fat: \(settings.scheduleName) lr \(settings.lr), seed \(settings.seed)")
            try run.trainer.parameters.weightsFile(provenance: prov).write(path: weightsOut, force: true)
        }
        driver.removeCheckpoint()
        if training.json {
            var out: [String: Any] = [
                "out": self.out, "fault_rate": faults.faultRate, "faulty_pes": faults.faultyCount,
                "pruned_mac_share": share, "fap_accuracy": h[0].testAccuracy, "final_accuracy": h.last!.testAccuracy,
                "epochs": settings.epochs, "wall_s": wall, "history": CheckpointedTraining.historyJSON(h),
            ]
            out.merge(chip.provenance) { a, _ in a }
            JSONOutput.print(out)
        } else {
            print(String(format: "chip with %.2f%% faulty PEs (%.2f%% of MACs pruned): FAP alone %.2f%%, after %ld FAT epochs %.2f%%; wrote %@",
                         100 * faults.faultRate, 100 * share, 100 * h[0].testAccuracy, settings.epochs,
                         100 * h.last!.testAccuracy, out))
        }
    }
}
