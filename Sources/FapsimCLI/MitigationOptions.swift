import ArgumentParser
import FapsimStore
import FapsimSupport
import Reduce
import SystolicArray

/// `--mitigation`, shared by every command that runs a network or a GEMM on a
/// chip: how the chip copes with its faulty PEs (docs/cli.md). A chip taken from
/// a lot runs the lot's mitigation unless the option names it.
struct MitigationOptions: ParsableArguments {
    @Option(help: ArgumentHelp("How the chip copes with faulty PEs: \(Mitigation.choices) (default: the lot's, else fap).",
                               valueName: "name"))
    var mitigation: String?

    func validate() throws {
        if let mitigation { _ = try parsed(mitigation) }
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
    func resolve(lot: Mitigation? = nil, lotPath: String? = nil) throws -> Mitigation {
        guard let mitigation else { return lot ?? .fap }
        let asked = try parsed(mitigation)
        if let lot, lot != asked {
            throw FapsimError("\(lotPath ?? "lot"): attribute mitigation: the lot's chips run \(lot.rawValue), but --mitigation asks for \(asked.rawValue)")
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
