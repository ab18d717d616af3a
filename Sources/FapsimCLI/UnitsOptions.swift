import ArgumentParser
import Foundation
import FapsimSupport
import Network
import Reduce
import SystolicArray

/// The unit contract shared by `fapsim resilience` and `fapsim reduce`
/// (docs/reduce.md), which `fapsim slurm` drives: list the units, compute some,
/// or assemble the final file from finished ones.
struct UnitOptions: ParsableArguments {
    @Flag(name: .customLong("list-units"), help: "Print the run's units (done and missing) and compute nothing; with --json one JSON object on stdout.")
    var listUnits = false

    @Option(help: "Compute only these units (e.g. 3 or 0-4,7), skipping finished ones; the final output is not written.")
    var units: String?

    @Flag(name: .customLong("merge-only"), help: "Assemble --out from the finished units, or fail naming the missing ones.")
    var mergeOnly = false

    func validate() throws {
        if [listUnits, units != nil, mergeOnly].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --list-units, --units LIST and --merge-only")
        }
    }

    /// The unit contract for any unit job: `--list-units` prints the units
    /// (and returns nil), `--units LIST` computes those, `--merge-only`
    /// assembles the final file, and without any of them the whole run
    /// computes every missing unit and writes the final file.
    /// `beforeFinal` runs before anything when the final file will be written
    /// (checks of further outputs, e.g. a report directory).
    func execute<Job: UnitJob>(_ job: inout Job, force: Bool, quiet: Bool, json: Bool,
                               beforeFinal: () throws -> Void = {}) throws -> UnitRun<Job.Final>? {
        if listUnits {
            printList(try job.progress(), json: json)
            return nil
        }
        let start = Date()
        var run = UnitRun<Job.Final>(computed: [], final: nil, seconds: 0)
        if let list = units {
            let indices = try UnitIndices.parse(list, field: "--units", count: job.unitCount)
            run.computed = try job.compute(units: indices, quiet: quiet)
        } else {
            try beforeFinal()
            if !mergeOnly {
                try AtomicWrite.checkOverwrite(job.out, force: force)
                run.computed = try job.compute(units: Array(0..<job.unitCount), quiet: quiet)
            }
            run.final = try job.merge(force: force)
        }
        run.seconds = Date().timeIntervalSince(start)
        return run
    }

    /// Prints `--list-units` (JSON or a readable line).
    func printList(_ p: UnitProgress, json: Bool) {
        if json {
            // One object on one line: the contract's "ONE JSON object on stdout".
            let data = (try? JSONSerialization.data(withJSONObject: p.json, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(p.out): \(p.units) units, \(p.done.count) done (\(p.done.isEmpty ? "none" : UnitIndices.compress(p.done))), \(p.missing.count) missing (\(p.missing.isEmpty ? "none" : UnitIndices.compress(p.missing)))")
        }
    }
}

/// What a unit-job command did: the units computed now, the final result
/// when it was written, and the wall time.
struct UnitRun<Final> {
    var computed: [Int]
    var final: Final?
    var seconds: Double
}

/// FAT inputs shared by `fapsim resilience` and `fapsim reduce`: the weights,
/// the data, the hyper-parameters (the group `fapsim fat` has too) and the seed.
struct FATOptions: ParsableArguments {
    @Option(help: "Weights FAT starts from: a fapsim weights file or a PyTorch state_dict in HDF5.")
    var weights: String

    @Option(help: "VGG11 width multiplier the weights must have (default: the file's).")
    var width: Double?

    @OptionGroup var inputs: TrainingDataOptions

    @OptionGroup var hyperparameters: FATSettingsOptions

    @Option(help: "Seed of the fault maps and the training order (unsigned 64-bit, default 1).")
    var seed: UInt64 = 1

    @OptionGroup var mitigation: MitigationOptions

    /// The FAT inputs: the options over `defaults` (FAT's, or what the
    /// resilience file recorded for `reduce`).
    /// `mitigation` is the run's (resolved against its lot by `reduce`).
    func inputs(defaults: FATSettings, trainSubset: Int? = nil, testSubset: Int? = nil, validation: Int? = nil,
                validationFrom: HeldOutSplits.ValidationSource? = nil,
                mitigation chosen: Mitigation? = nil) throws -> FATInputs {
        var fat = try FATInputs(weightsPath: weights, width: width, dataDir: inputs.directory,
                                trainSubset: inputs.trainSubset ?? trainSubset, testSubset: inputs.testSubset ?? testSubset,
                                validation: inputs.validation ?? validation,
                                validationSource: inputs.validationFrom ?? validationFrom ?? .train,
                                settings: try hyperparameters.settings(defaults: defaults, convolution: inputs.convAlgorithm))
        fat.mitigation = try chosen ?? mitigation.resolve()
        return fat
    }
}

enum ListParsing {
    /// "0.01,0.05" -> [0.01, 0.05]; an empty string is an empty list.
    static func doubles(_ text: String, option: String) throws -> [Double] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty || text.contains(",") }
            .map { s in
                guard let v = Double(s), v.isFinite else {
                    throw FapsimError.invalid(file: nil, field: option, expected: "comma-separated numbers (e.g. 0.01,0.05,0.1)", got: "\"\(s)\" in \"\(text)\"")
                }
                return v
            }
    }
}
