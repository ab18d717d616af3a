import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import Network
import SystolicArray

/// `fapsim fam ...`: fault-aware mapping plans (docs/hardware-model.md).
public struct FamCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "fam",
        abstract: "Fault-aware mapping (FAM): plan where each layer's channels sit on a chip's array.",
        subcommands: [FamMapCommand.self])

    public init() {}
}

/// `fapsim fam map`: plans FAM for one chip and one network and writes the plan
/// as a mapping file, which `evaluate`, `simulate` and `fat` take with
/// `--fam-mapping` (docs/hdf5-schema.md, "FAM mapping file").
public struct FamMapCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "map",
        abstract: "Plan FAM for one chip and write the per-layer channel permutations as a mapping file.",
        discussion: """
        The chip is --lot FILE --chip I or a uniform map --fault-rate P --seed S on the config's array. \
        Each layer's output channels are assigned to array columns (Hungarian method) so that the least \
        salient weights land on faulty PEs; the next layer's input channels follow. The file records the \
        network width, every layer's K x N, the array and the fault map's checksum: a run given it with \
        --fam-mapping refuses another network, array or chip.
        """)

    @Option(help: "Weights the plan is made for: a fapsim weights file or a PyTorch state_dict in HDF5.")
    var weights: String

    @Option(help: "Hardware config YAML (default: \(EvaluateCommand.defaultConfigPath), a 256x256 array).")
    var config: String?

    @Option(help: "CIFAR-10 binary directory, for the calibration images of --fam-saliency activation or taylor (default as evaluate).")
    var data: String?

    @OptionGroup var chip: ChipOptions

    @Option(help: "Mapping file to write (content 'fam_mapping').")
    var out: String

    @Flag(help: "Replace --out if it exists.")
    var force = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    public init() {}

    public func validate() throws {
        if chip.lot == nil && chip.faultRate == nil {
            throw ValidationError("a chip is needed: --lot FILE --chip I, or --fault-rate P --seed S")
        }
        if chip.famMapping != nil {
            throw ValidationError("--fam-mapping: expected none (fam map writes a mapping file, with --out)")
        }
        if let m = chip.mitigation.mitigation, (try? Mitigation.parse(m, field: "--mitigation")) != .fam {
            throw ValidationError("--mitigation: expected fam or none (fam map plans FAM), got \(m)")
        }
    }

    public func run() throws {
        let hw = try EvaluateCommand.loadConfig(config)
        let weightsFile = try WeightsFile.read(path: weights)
        let params = try VGG11Parameters.load(weightsFile, path: weights)
        // The lot's own mitigation is not asked: the file, not the lot, says
        // where this chip's weights sit when a run is given it.
        let described = ChipDescription(faults: try chip.faultMap(config: hw), mitigation: .fam)
        let dataDir = CIFAR10Set.resolveDirectory(data)
        let planned = try chip.mitigation.applied(described, parameters: params) {
            try CIFAR10Set.load(directory: dataDir, split: .train, limit: chip.mitigation.famCalibration)
        }
        let calibrated = FaultAwareMapping.Saliency.calibrated.contains(chip.mitigation.saliencyName)
        var provenance: [String: AttributeValue] = [:]
        if let lot = chip.lot, let index = chip.chip { provenance["lot"] = .string(lot); provenance["chip"] = .int(Int64(index)) }
        if let seed = chip.seed, let rate = chip.faultRate { provenance["seed"] = .string(String(seed)); provenance["fault_rate"] = .double(rate) }
        let file = try FaultAwareMapping.mappingFile(planned, parameters: params, saliency: chip.mitigation.saliencyName,
                                                     method: try chip.mitigation.method(),
                                                     calibrationImages: calibrated ? chip.mitigation.famCalibration : nil,
                                                     weightsFile: weights, weightsChecksum: weightsFile.checksum,
                                                     provenance: provenance)
        try file.write(path: out, force: force)
        let moved = file.layers.filter { !$0.mapping.isDefault }.count
        if json {
            JSONOutput.print([
                "out": out, "layers": file.layers.count, "layers_permuted": moved,
                "array_rows": file.rows, "array_cols": file.cols, "faulty_pes": file.faultyPEs,
                "fault_map_checksum": file.faultMapChecksum, "saliency": file.saliency, "method": file.method, "width": file.networkWidth,
                "pruned_saliency_share": PrunedShare.saliencyWeighted(planned, parameters: params),
            ])
            return
        }
        print("wrote \(out): FAM (\(file.method), \(file.saliency)) for width \(file.networkWidth) on \(file.rows)x\(file.cols), "
              + "\(file.faultyPEs) faulty PEs (fault map \(file.faultMapChecksum)); \(moved) of \(file.layers.count) layers permuted")
    }
}
