import ArgumentParser
import FapsimStore
import FapsimSupport
import Network
import Reduce
import SystolicArray

/// `--mitigation`, shared by every command that runs a network or a GEMM on a
/// chip: how the chip copes with its faulty PEs (docs/cli.md). A chip taken from
/// a lot runs the lot's mitigation unless the option names it.
struct MitigationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How the chip copes with faulty PEs: \(Mitigation.choices) (default: the lot's, else fap).",
                               valueName: "name"))
    var mitigation: String?

    @Option(name: .customLong("fam-saliency"),
            help: ArgumentHelp("FAM's weight saliency: magnitude (|w|, default), bn (|gamma/sigma w|, the weight folded with its batch norm), activation (bn times the input's RMS on calibration images) or taylor (|w dL/dw| on calibration images).",
                               valueName: "name"))
    var famSaliency: String?

    @Option(name: .customLong("fam-calibration"), help: "Training images in FAM's calibration batch (saliency activation or taylor).")
    var famCalibration: Int = 256

    @Option(name: .customLong("fam-method"),
            help: ArgumentHelp("How FAM chooses the channel orders: \(FaultAwareMapping.Method.choices) (default \(FaultAwareMapping.Method.standard.rawValue); docs/hardware-model.md).",
                               valueName: "name"))
    var famMethod: String?

    /// The saliency a plan uses.
    var saliencyName: String { famSaliency ?? FaultAwareMapping.Saliency.standard.name }

    func validate() throws {
        if let mitigation { _ = try parsed(mitigation) }
        guard FaultAwareMapping.Saliency.names.contains(saliencyName) else {
            throw ValidationError("--fam-saliency: expected one of \(FaultAwareMapping.Saliency.names.joined(separator: ", ")), got '\(saliencyName)'")
        }
        guard famCalibration > 0 else {
            throw ValidationError("--fam-calibration: expected a positive number of images, got \(famCalibration)")
        }
        _ = try method()
    }

    /// The method a plan uses: --fam-method, else the standard one.
    func method() throws -> FaultAwareMapping.Method {
        guard let famMethod else { return .standard }
        do {
            return try FaultAwareMapping.Method.parse(famMethod, field: "--fam-method")
        } catch let error as FapsimError {
            throw ValidationError(error.description)
        }
    }

    /// Refuses, in one line, a mapping file made another way than the options
    /// given explicitly ask for: the file decides where the weights sit, so an
    /// option it did not follow would be silently ignored.
    func checkAgainst(_ file: FAMMappingFile, path: String) throws {
        if let famMethod, let asked = try? method(), asked.rawValue != file.method {
            throw FapsimError.invalid(file: path, field: "method", expected: "\(asked.rawValue) (--fam-method \(famMethod))",
                                      got: "\(file.method)")
        }
        if let famSaliency, famSaliency != file.saliency {
            throw FapsimError.invalid(file: path, field: "saliency", expected: "\(famSaliency) (--fam-saliency)",
                                      got: "\(file.saliency)")
        }
    }

    /// `chip` with FAM planned for `parameters` when it runs FAM; `training`
    /// gives the calibration images for the activation and Taylor saliencies
    /// (read only then).
    func applied(_ chip: ChipDescription, parameters: VGG11Parameters,
                 training: () throws -> CIFAR10Set) throws -> ChipDescription {
        if chip.mitigation == .rowcol { return FaultAwareMapping.applied(chip, parameters: parameters) }
        guard chip.mitigation == .fam else { return chip }
        let saliency: FaultAwareMapping.Saliency
        switch saliencyName {
        case "taylor": saliency = .taylor(FaultAwareMapping.CalibrationBatch(try training(), count: famCalibration))
        case "activation": saliency = .activation(FaultAwareMapping.CalibrationBatch(try training(), count: famCalibration))
        case "bn": saliency = .batchNormScaled
        default: saliency = .magnitude
        }
        return FaultAwareMapping.chip(faults: chip.faults, parameters: parameters, saliency: saliency, method: try method())
    }

    private func parsed(_ text: String) throws -> Mitigation {
        do {
            return try Mitigation.parse(text, field: "--mitigation")
        } catch let error as FapsimError {
            throw ValidationError(error.description)
        }
    }

    /// The mitigation asked for, or `lot`'s when the option is absent. A lot whose
    /// chips carry another mitigation than the one asked for is refused: its
    /// chips were described (and budgeted) for that one.
    /// `implied` is the mitigation another option stands for when --mitigation
    /// is absent (--fam-mapping: fam).
    func resolve(lot: Mitigation? = nil, lotPath: String? = nil, implied: Mitigation? = nil) throws -> Mitigation {
        guard let asked = try mitigation.map(parsed) ?? implied else { return lot ?? .fap }
        if let lot, lot != asked {
            let option = mitigation == nil ? "--fam-mapping" : "--mitigation"
            throw FapsimError("\(lotPath ?? "lot"): attribute mitigation: the lot's chips run \(lot.rawValue), but \(option) asks for \(asked.rawValue)")
        }
        return asked
    }

    /// The mitigation of a run that reads a lot and a resilience file (Steps 2
    /// and 3): the lot's chips must run the mitigation the resilience table was
    /// measured under, and --mitigation, when given, must be that one too.
    func resolve(lotPath: String, resilience attributes: [String: AttributeValue], resiliencePath: String) throws -> Mitigation {
        let lot = try ChipLotFile.info(path: lotPath).mitigation
        let chosen = try resolve(lot: lot, lotPath: lotPath)
        let measured = try FATInputs.recordedMitigation(attributes, source: resiliencePath)
        guard measured == chosen else {
            throw FapsimError("\(resiliencePath): attribute mitigation: the table was measured under \(measured.rawValue), but the chips of \(lotPath) run \(chosen.rawValue)")
        }
        return chosen
    }
}

extension ChipDescription {
    /// Under spares, the repair as JSON fields / report keys: the layout, the
    /// spare PEs and their share of the array, the faults repaired (count and
    /// every one, `[row, col, spare]`) and the faults left to FAP. Empty under
    /// any other mitigation.
    var spareReport: [String: Any] {
        guard mitigation == .spares, let layout = spareLayout else { return [:] }
        var out: [String: Any] = ["spare_layout": layout.description]
        guard let faults else { return out }
        let spares = layout.spareCount(rows: faults.rows, cols: faults.cols)
        out["spare_pes"] = spares
        out["spare_share"] = Double(spares) / Double(faults.rows * faults.cols)
        if let repair = spareRepair {
            out["faults_repaired"] = repair.repaired.count
            out["faults_unrepaired"] = repair.unrepaired.count
            out["repaired"] = repair.repaired.map { [$0.row, $0.col, $0.spare] }
        }
        return out
    }

    /// The same as root attributes of a results file (simulate's trace, fat's
    /// results): the layout and the counts; the list is `--json`'s.
    var spareAttributes: [String: AttributeValue] {
        spareReport.compactMapValues { value -> AttributeValue? in
            switch value {
            case let i as Int: return .int(Int64(i))
            case let d as Double: return .double(d)
            case let s as String: return .string(s)
            default: return nil
            }
        }
    }

    /// Under spares, one line saying how many faults the spares took.
    var spareSummary: String? {
        guard mitigation == .spares, let layout = spareLayout, let repair = spareRepair else { return nil }
        return "spares (\(layout.description), \(repair.spareCount) spare PEs): \(repair.repaired.count) of \(repair.faultCount) faulty PEs repaired, \(repair.unrepaired.count) left to FAP"
    }
}
