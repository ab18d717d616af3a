import ArgumentParser
import FapsimStore
import FapsimSupport
import Network
import SystolicArray

/// The fault source shared by `evaluate` and `simulate`: a chip of a lot file
/// (--lot FILE --chip I), a uniform random map (--fault-rate P --seed S), or
/// neither (fault-free).
struct ChipOptions: ParsableArguments {
    @Option(help: "Chip lot file to take the fault map from (with --chip).")
    var lot: String?

    @Option(help: "Chip index in the lot (0-based).")
    var chip: Int?

    @Option(name: .customLong("fault-rate"), help: "Uniform random fault map with this fraction of faulty PEs (with --seed).")
    var faultRate: Double?

    @Option(help: "Seed of the uniform random fault map.")
    var seed: UInt64?

    @OptionGroup var mitigation: MitigationOptions

    @Option(name: .customLong("fam-mapping"),
            help: ArgumentHelp("FAM mapping file (`fapsim fam map`) to run the chip under instead of planning FAM again; implies --mitigation fam.",
                               valueName: "file"))
    var famMapping: String?

    func validate() throws {
        if famMapping != nil {
            if let m = mitigation.mitigation, (try? Mitigation.parse(m, field: "--mitigation")) != .fam {
                throw ValidationError("--fam-mapping: expected --mitigation fam (the file is a FAM plan) or no --mitigation, got --mitigation \(m)")
            }
            if lot == nil && faultRate == nil {
                throw ValidationError("--fam-mapping: expected the chip it was planned for (--lot FILE --chip I or --fault-rate P --seed S), got none")
            }
        }
        if (lot == nil) != (chip == nil) {
            throw ValidationError("--lot and --chip go together")
        }
        if faultRate != nil && seed == nil {
            throw ValidationError("--fault-rate needs --seed S (the map is random)")
        }
        if seed != nil && faultRate == nil {
            throw ValidationError("--seed is only used with --fault-rate")
        }
        if lot != nil && faultRate != nil {
            throw ValidationError("choose one fault source: --lot FILE --chip I or --fault-rate P --seed S")
        }
        if let chip, chip < 0 { throw ValidationError("--chip: expected a chip index >= 0, got \(chip)") }
    }

    /// The chip's fault map on `config`'s array, or nil (fault-free).
    func faultMap(config: HardwareConfig) throws -> FaultMap? {
        if let lot, let chip {
            // The store checks the chip index and that the lot's array is the config's.
            return try ChipLotFile.readFaultMap(path: lot, chip: chip, config: config)
        }
        if let faultRate, let seed {
            return try FaultMap.uniform(rows: config.rows, cols: config.cols, rate: faultRate, seed: seed)
        }
        return nil
    }

    /// The chip: its fault map on `config`'s array (nil: fault-free) and its
    /// mitigation (a lot's own, or --mitigation; fam with --fam-mapping).
    /// `configPath` names the config file in the error of spares on a config without any.
    func chipDescription(config: HardwareConfig, configPath: String) throws -> ChipDescription {
        let asked = famMapping != nil ? Mitigation.fam : nil
        let chosen: ChipDescription
        if let lot, let chip {
            let described = try ChipLotFile.readChipDescription(path: lot, chip: chip, config: config)
            let chosenMitigation = try mitigation.resolve(lot: described.mitigation, lotPath: lot, implied: asked)
            chosen = ChipDescription(faults: described.faults, mitigation: chosenMitigation,
                                     spares: try config.spares(for: chosenMitigation, path: configPath))
        } else {
            let chosenMitigation = try mitigation.resolve(implied: asked)
            chosen = ChipDescription(faults: try faultMap(config: config), mitigation: chosenMitigation,
                                     spares: try config.spares(for: chosenMitigation, path: configPath))
        }
        do { try chosen.checkUsable() } catch let error as FapsimError {
            throw FapsimError("\(lot.map { "\($0) chip \(chip ?? 0)" } ?? "chip"): \(error.message)")
        }
        return chosen
    }

    /// The chip as it runs `parameters`: under FAM, the mapping read from
    /// --fam-mapping (checked against this network and chip) or planned now;
    /// `training` gives the Taylor saliency's calibration images (read only then).
    func chipDescription(config: HardwareConfig, configPath: String, parameters: VGG11Parameters,
                         training: () throws -> CIFAR10Set) throws -> ChipDescription {
        let described = try chipDescription(config: config, configPath: configPath)
        if let famMapping {
            let file = try FAMMappingFile.read(path: famMapping)
            try mitigation.checkAgainst(file, path: famMapping)
            return try FaultAwareMapping.chip(faults: described.faults, parameters: parameters,
                                              mappingFile: file, path: famMapping)
        }
        return try mitigation.applied(described, parameters: parameters, training: training)
    }

    /// Root attributes / JSON keys naming the fault source.
    var provenance: [String: Any] {
        var out: [String: Any] = [:]
        if let lot, let chip { out["lot"] = lot; out["chip"] = chip }
        if let seed { out["seed"] = seed }
        return out
    }
}
