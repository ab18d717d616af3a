import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import Network
import Reduce
import SystolicArray

/// `fapsim mitigate ...`: the mitigations weighed against each other over a lot
/// (docs/mitigations.md, "Comparing mitigations over a lot").
struct MitigateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mitigate",
        abstract: "Compare the mitigations (FAP, FAM, row/column bypass, and retrained ones from Reduce campaigns) over a lot.",
        subcommands: [MitigateCompareCommand.self, MitigateReportCommand.self])
}

/// `fapsim mitigate compare`: every chip of a lot under every mitigation.
struct MitigateCompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Every chip of a lot under FAP, FAM and row/column bypass (and FAP+T / FAM+T from campaigns): usable, accuracy, cycles, throughput, PEs added, array area vs FAP, retraining; summary and yield.",
        discussion: """
        FAP and FAM are evaluated on the test images (--test-subset N for the first N); row/column bypass \
        computes the fault-free logits bit for bit, so its accuracy is the fault-free accuracy, measured once \
        (and a chip with every PE faulty is unusable under it). Cycles per image are the closed form over \
        VGG11's GEMMs for one image, throughput is the fault-free chip's cycles over the chip's. With \
        --campaign FILE (a campaign.h5 of `fapsim reduce` over the same lot, checked by its lot checksum; \
        repeatable, one per mitigation) the retrained chips appear as fap+T / fam+T: accuracy and training \
        images from the campaign (policy --campaign-policy, default its first), cycles of the untrained \
        mitigation. A chip meets the constraint when usable, accuracy >= --target A (or >= the baseline on \
        the same images - --below-baseline D) and throughput >= --min-throughput T. The yield curves bin \
        the lot's chips by fault rate (--yield-bins). The array area vs FAP is the mitigation's PE array in \
        synthesized cells (--pe-cells, from hw/synth/synth_pe.sh) over R x C FAP PEs; "not available" where \
        no cell counts were found or the hardware is not in the RTL (diagonal spares). One unit = one chip: finished chips go to OUT.work/ \
        at once, so a killed run resumes where it stopped; unit contract --list-units, --units, --merge-only.
        """)

    @Option(help: "Weights: a fapsim weights file or a PyTorch state_dict in HDF5.")
    var weights: String

    @Option(help: "Chip lot file from `fapsim lot generate` (its array must be the config's).")
    var lot: String

    @Option(help: "Hardware config YAML (default: \(EvaluateCommand.defaultConfigPath), a 256x256 array).")
    var config: String?

    @Option(help: "CIFAR-10 binary directory.")
    var data: String?

    @Option(name: .customLong("test-subset"), help: "Evaluate the first N test images (default all 10,000).")
    var testSubset: Int?

    @Option(help: "A Reduce campaign file (`fapsim reduce --out`) over the same lot: its retrained chips as MITIGATION+T. Repeatable.")
    var campaign: [String] = []

    @Option(name: .customLong("campaign-policy"), help: "The campaign policy whose retrained chips are compared (default: each campaign's first policy).")
    var campaignPolicy: String?

    @Option(name: .customLong("min-accuracy"), help: "Accuracy constraint as a fraction (e.g. 0.80). Or --below-baseline.")
    var minAccuracy: Double?

    @Option(name: .customLong("below-baseline"), help: "Accuracy constraint as a drop D in (0, 1) from the fault-free accuracy on the same test images (0.03 = 3 points).")
    var belowBaseline: Double?

    @Option(name: .customLong("min-throughput"), help: "Throughput constraint: a fraction of a fault-free chip's (1 = as fast, 0.5 = half as fast).")
    var minThroughput: Double = 0.5

    @Option(name: .customLong("yield-bins"), help: "Fault-rate bins of the yield curves.")
    var yieldBins: Int = 5

    @Option(name: .customLong("pe-cells"), help: "Synthesized PE cell counts for the area column (default: $FAPSIM_PE_CELLS, else \(PECellCounts.defaultPath) if present, else the area is \"not available\").")
    var peCells: String?

    @Option(help: "Output comparison file (HDF5, content \"mitigation_comparison\"); finished chips go to OUT.work/.")
    var out: String

    @Option(help: "Also write the report (report.md, report.html, the yield SVG) into this directory.")
    var report: String?

    @Option(help: "The lot's name in the report (default: the lot's generator).")
    var label: String?

    @Flag(help: "Replace an existing output file (and report).")
    var force = false

    @OptionGroup var unitOptions: UnitOptions

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    func run() throws {
        let constraint = MitigationComparison.Constraint(
            accuracy: try AccuracyConstraint.parse(target: minAccuracy, belowBaseline: belowBaseline, targetFlag: "--min-accuracy"),
            minThroughput: minThroughput)
        let hw = try EvaluateCommand.loadConfig(config)
        let cells = try PECellCounts.resolve(flag: peCells)
        var job = try MitigationComparisonRun(weightsPath: weights, lotPath: lot, config: hw,
                                              dataDirectory: CIFAR10Set.resolveDirectory(data), testSubset: testSubset,
                                              campaigns: campaign.map { ($0, campaignPolicy) }, constraint: constraint,
                                              yieldBins: yieldBins, out: out, peCells: cells)
        guard let done = try unitOptions.execute(&job, force: force, quiet: quiet, json: json, beforeFinal: {
            if let report { try ReduceReport.checkOverwrite(dir: report, force: force) }
        }) else { return }
        guard let result = done.final else {
            if json {
                JSONOutput.print(["command": MitigationComparisonRun.command, "out": out, "computed_chips": done.computed,
                                  "wall_s": done.seconds, "written": false] as [String: Any])
            } else {
                print("computed \(done.computed.count) chips in \(ProgressLine.duration(done.seconds)); \(out) not written (--units): assemble it with --merge-only")
            }
            return
        }
        if let report {
            try MitigationComparisonReport.write([(label ?? job.lotLabel, result)], to: report, force: force)
        }
        if json {
            var j: [String: Any] = ["command": MitigationComparisonRun.command, "out": out, "chips": job.unitCount,
                                    "computed_chips": done.computed, "wall_s": done.seconds, "written": true]
            if !done.computed.isEmpty { j["seconds_per_chip"] = done.seconds / Double(done.computed.count) }
            if let report { j["report"] = report }
            j["summary"] = result.summary.map { s -> [String: Any] in
                ["mitigation": s.mitigation, "chips": s.chips, "usable": s.usable, "meeting": s.meeting,
                 "mean_throughput": s.meanThroughput.isNaN ? NSNull() : s.meanThroughput as Any,
                 "pes_added": s.pesAdded, "retraining_images": s.retrainingImages,
                 "area_vs_fap": s.areaVsFAP.isNaN ? NSNull() : s.areaVsFAP as Any, "area_basis": s.areaBasis]
            }
            JSONOutput.print(j)
            return
        }
        if !done.computed.isEmpty {
            print("computed \(done.computed.count) chips in \(ProgressLine.duration(done.seconds)), \(String(format: "%.2f", done.seconds / Double(done.computed.count))) s per chip")
        }
        print("\(out): \(job.unitCount) chips, \(job.testImages) test images; \(MitigationComparisonReport.constraintLine(result))")
        print("| mitigation | chips meeting both | usable | mean throughput | PEs added per chip | area vs FAP array | retraining images |")
        print("|---|---|---|---|---|---|---|")
        for s in result.summary {
            print("| \(s.mitigation) | \(s.meeting) / \(s.chips) | \(s.usable) | " + (s.meanThroughput.isNaN ? "-" : String(format: "%.3f", s.meanThroughput))
                  + " | \(s.pesAdded) | \(s.areaText) | \(s.retrainingImages) |")
        }
        if let report { print("report: \(report)/\(ReportHTML.fileName)") }
    }
}

/// `fapsim mitigate report`: one report page over several comparison files
/// (e.g. a uniform and a clustered lot), one yield panel each.
struct MitigateReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one comparison report (report.md, report.html, the yield SVG) over one or more `mitigate compare` files, one yield panel per lot.",
        discussion: "Each FILE may be given as LABEL=FILE to name its lot in the report (default: the lot's generator).")

    @Argument(help: "Comparison files (`fapsim mitigate compare --out`), as FILE or LABEL=FILE.")
    var files: [String]

    @Option(help: "Report directory.")
    var out: String

    @Flag(help: "Replace an existing report.")
    var force = false

    func run() throws {
        guard !files.isEmpty else { throw FapsimError("mitigate report: expected at least one comparison file") }
        let lots = try files.map { arg -> MitigationComparisonReport.Lot in
            let parts = arg.split(separator: "=", maxSplits: 1).map(String.init)
            let path = parts.count == 2 ? parts[1] : arg
            let file = try MitigationComparisonFile.read(path: path)
            var label = parts.count == 2 ? parts[0] : "lot"
            if parts.count != 2, case .string(let g)? = file.attributes["lot_generator"] { label = g }
            return (label, file)
        }
        try MitigationComparisonReport.write(lots, to: out, force: force)
        print("report: \(out)/\(ReportHTML.fileName)")
    }
}
