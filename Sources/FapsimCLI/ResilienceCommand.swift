import ArgumentParser
import Foundation
import FapsimSupport
import Network
import Reduce
import SystolicArray

/// `fapsim resilience`: Reduce Step 1, FAT accuracy curves per fault rate.
struct ResilienceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resilience",
        abstract: "Measure FAT accuracy vs retraining amount at each fault rate over random fault maps (Reduce Step 1).",
        discussion: """
        For each rate in --rates and each of --repeats uniform random fault maps (round(rate x R x C) faulty PEs), \
        prune the weights on faulty PEs (FAP) and retrain for --epochs epochs (FAT), recording the test accuracy \
        after FAP alone and after every epoch. With --amounts 0,500,1000,2000,5000 (training images, instead of \
        --epochs) each unit runs one constant-length FAT run to the largest amount and records the accuracy after \
        every amount, inside and across epochs (each amount rounded up to whole batches; --epochs E is the schedule \
        E x N); such a unit is not checkpointed and restarts after a kill. One unit = one (rate, repeat), unit u = rate index x repeats + repeat; \
        finished units go to OUT.work/ and a rerun of the same command skips them. The final file (content \
        "resilience") is assembled when every unit is done. The FAT hyper-parameters (--lr, --schedule, --batch, \
        --momentum, --weight-decay, --[no-]nesterov, --[no-]augment, --conv-algorithm) are those of fapsim fat, \
        with its defaults; all are part of the run identity and recorded in the file. With --validation N the \
        curves (and the baseline the targets are checked against) are measured on the last N training images, held \
        out from training, and no test image is used; the file records the split (curve_split, validation_subset, \
        validation_first). \
        Unit contract: --list-units --json, --units LIST, \
        --merge-only (docs/reduce.md).
        """)

    @OptionGroup var fat: FATOptions

    @Option(help: "Hardware config YAML: the array the fault maps are drawn on.")
    var config: String

    @Option(help: "Fault rates (share of faulty PEs), strictly increasing, in [0, 1], e.g. 0.01,0.05,0.1.")
    var rates: String

    @Option(help: "Random fault maps per rate (>= 1).")
    var repeats: Int

    @Option(help: "FAT epochs per fault map (>= 1); or give --amounts.")
    var epochs: Int?

    @Option(help: "Retraining amounts in training images, strictly increasing (0 = FAP alone is added if missing), e.g. 0,500,1000,2000,5000: the accuracy after each; instead of --epochs.")
    var amounts: String?

    @Option(help: "Accuracy targets as fractions in (0, 1], at most the weights' fault-free accuracy, e.g. 0.8,0.85.")
    var targets: String

    @Option(name: .customLong("rate-metric"), help: "What the rates measure, recorded in the file: pe (share of faulty PEs, default) or weights.")
    var rateMetric: String = "pe"

    @Option(help: "Output results file (HDF5, content \"resilience\"); units go to OUT.work/.")
    var out: String

    @Flag(help: "Replace an existing output file.")
    var force = false

    @OptionGroup var unitOptions: UnitOptions

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    func run() throws {
        let rateList = try ListParsing.doubles(rates, option: "--rates")
        let targetList = try ListParsing.doubles(targets, option: "--targets")
        let amountList = try amounts.map { try TrainingAmounts.parse($0, option: "--amounts") }
        guard epochs != nil || amountList != nil else {
            throw FapsimError("--epochs: expected the FAT epochs per fault map (or --amounts), got none")
        }
        // Option checks before any file is read.
        try ResilienceSweep.validate(rates: rateList, repeats: repeats, epochs: epochs ?? 0, amounts: amountList,
                                     targets: targetList, rateMetric: rateMetric)
        let hw = try HardwareConfig.load(path: config)
        var inputs = try fat.inputs(defaults: .fatDefaults)
        inputs.spares = try hw.spares(for: inputs.mitigation, path: config)
        var sweep = try ResilienceSweep(fat: inputs, config: hw, configPath: config, rates: rateList, repeats: repeats,
                                        epochs: epochs ?? 0, amounts: amountList, targets: targetList, seed: fat.seed, rateMetric: rateMetric, out: out)
        guard let done = try unitOptions.execute(&sweep, force: force, quiet: quiet, json: json) else { return }
        let (computed, table, seconds) = (done.computed, done.final, done.seconds)
        if json {
            var j: [String: Any] = ["command": ResilienceSweep.command, "out": out, "units": sweep.unitCount,
                                    "computed": computed, "wall_s": seconds,
                                    "written": table != nil]
            if !computed.isEmpty { j["seconds_per_unit"] = seconds / Double(computed.count) }
            if let table {
                if let a = table.amounts { j["amounts"] = ["images": a.images, "steps": a.steps] }
                j["\(table.unit)_needed"] = table.targets.map { t -> [String: Any] in
                    ["target": t, "per_rate": zip(table.rates, table.needed(target: t)).map { r, s -> [String: Any] in
                        ["rate": r, "min": s.min.map { $0 as Any } ?? NSNull(), "mean": s.mean.map { $0 as Any } ?? NSNull(),
                         "max": s.max.map { $0 as Any } ?? NSNull(), "reached": s.reachedCount]
                    }]
                }
            }
            JSONOutput.print(j)
            return
        }
        if !computed.isEmpty {
            print("computed \(computed.count) units (\(UnitIndices.compress(computed))) in \(ProgressLine.duration(seconds)), \(String(format: "%.2f", seconds / Double(computed.count))) s per unit")
        }
        guard let table else {
            print("\(out): final file not written (--units); see the rest with --list-units, assemble it with --merge-only")
            return
        }
        let axis = table.amounts.map { "amounts \($0.images.map(String.init).joined(separator: ",")) images" } ?? "\(table.epochs) epochs"
        print("\(out): \(table.rates.count) rates x \(table.repeats) repeats x \(axis) on \(table.provenance.rows)x\(table.provenance.cols)")
        for t in table.targets {
            let mean = table.measuredInImages ? "%.0f" : "%.2f"
            let cells = zip(table.rates, table.needed(target: t)).map { r, s in
                "\(ReduceReportText.percent(r)): \(s.min.map(String.init) ?? "-")/\(s.mean.map { String(format: mean, $0) } ?? "-")/\(s.max.map(String.init) ?? "-")"
            }
            print("  target \(ReduceReportText.percent(t)) \(table.unit) needed min/mean/max: " + cells.joined(separator: ", "))
        }
    }
}

enum ReduceReportText {
    static func percent(_ x: Double) -> String { String(format: "%g%%", x * 100) }
}
