import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import Network
import Reduce

/// `fapsim reduce`: Reduce Step 3, every chip of a lot retrained under each policy.
struct ReduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reduce",
        abstract: "Retrain every chip of a lot under Reduce's and fixed budgets and check the accuracy constraint (Reduce Step 3).",
        discussion: """
        Each chip gets its budget under each --policies rule (as fapsim budget computes it; an unreached budget gets \
        the resilience file's E epochs and keeps its flag) and each --fixed epoch count, then FAT on its own fault map. \
        With the constant schedule one run of the largest count a chip needs gives every smaller count (the first e \
        epochs of a constant-rate run are an e-epoch run); other schedules train one run per count. One unit = one \
        chip (of --chips, in order); finished chips go to OUT.work/. --chips A-B writes a partial campaign file \
        for fapsim merge. The FAT hyper-parameters (--lr, --schedule, --batch, --momentum, --weight-decay, \
        --[no-]nesterov, --[no-]augment) default to those the resilience file records, so Step 3 retrains as Step 1 \
        measured; all are part of the run identity. The splits default to the resilience file's too: when its curves \
        are on a held-out validation split (--validation N), budgets come from those curves and each policy's final \
        accuracy is measured on the test set (all 10,000 images unless --test-subset); a campaign with other splits \
        than its resilience file is refused. \
        --policies confidence --confidence C budgets each chip at the least amount whose predicted probability of \
        meeting the target is at least C (as fapsim budget --policy confidence), judged on the campaign's test images. \
        When the resilience file was measured at an image schedule (fapsim resilience --amounts), Reduce's budgets \
        are scheduled amounts of training images and each chip trains exactly that many (read off one run). \
        --policies adaptive is the closed-loop baseline: train, check the validation accuracy before training and \
        every --check-every images, stop at the first check meeting the target, else at --adaptive-cap (default: \
        the resilience file's largest amount); its eval_images_spent counts the validation images checked. It needs \
        a validation split and the constant schedule. \
        Unit contract: --list-units --json, --units LIST, --merge-only (docs/reduce.md).
        """)

    @OptionGroup var fat: FATOptions

    @Option(help: "Chip lot file from `fapsim lot generate`.")
    var lot: String

    @Option(help: "Resilience file from `fapsim resilience` made with the same weights and array.")
    var resilience: String

    @Option(help: "Accuracy constraint as a fraction, one of the resilience file's targets: the same threshold for the budgets (curve set) and the judging (test set). Or --below-baseline.")
    var target: Double?

    @Option(name: .customLong("below-baseline"), help: "Accuracy constraint as a drop D in (0, 1) from the fault-free baseline, each split against its own: budgets decide on validation accuracy >= validation baseline - D, chips are judged on test accuracy >= test baseline - D (0.06 = 6 points).")
    var belowBaseline: Double?

    @Option(help: "Reduce policies, comma-separated: max, mean, confidence, adaptive (empty for none).")
    var policies: String = "max,mean"

    @Option(help: "With confidence in --policies: the probability in (0, 1) each budgeted chip must have of meeting the target (as fapsim budget --confidence).")
    var confidence: Double?

    @Option(name: .customLong("check-every"), help: "With adaptive in --policies: training images between validation checks (> 0), e.g. 1000.")
    var checkEvery: Int?

    @Option(name: .customLong("adaptive-cap"), help: "With adaptive in --policies: the most training images it trains a chip (default: the resilience file's largest amount).")
    var adaptiveCap: Int?

    @Option(help: "Fixed epoch budgets to compare with, comma-separated (e.g. 1,2,5).")
    var fixed: String = ""

    @Option(name: .customLong("fixed-images"), help: "Fixed retraining amounts in training images, e.g. 1000,5000 (policies fixed-1000img, ...): each trained exactly (rounded up to whole batches; images_spent records the images), finer than an epoch.")
    var fixedImages: String = ""

    @Flag(help: "Interpolate budgets between measured rates (as fapsim budget --interpolate).")
    var interpolate = false

    @Option(name: .customLong("rate-metric"), help: "Place chips between measured rates by pe (share of faulty PEs, default) or weights (MAC-weighted pruned share), as fapsim budget.")
    var rateMetric: String = "pe"

    @Option(help: "Only these chips (e.g. 0-24 or 0-4,7): a partial campaign file for fapsim merge.")
    var chips: String?

    @Option(help: "Output results file (HDF5, content \"campaign\"); units go to OUT.work/.")
    var out: String

    @Option(help: "Also write the Reduce report (report.md + SVG figures + report.html) into this directory at the end.")
    var report: String?

    @Flag(help: "Replace an existing output file (and report).")
    var force = false

    @OptionGroup var unitOptions: UnitOptions

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    func run() throws {
        let policyList = try CampaignPolicy.parse(policies: policies, fixed: fixed, fixedImages: fixedImages)
        guard let metric = RateMetric(rawValue: rateMetric) else {
            throw FapsimError.invalid(file: nil, field: "--rate-metric", expected: "pe or weights", got: rateMetric)
        }
        let constraint = try AccuracyConstraint.parse(target: target, belowBaseline: belowBaseline)
        // Unset FAT settings default to those Step 1 used.
        let res = try ResilienceFile.read(path: resilience)
        let mitigation = try fat.mitigation.resolve(lotPath: lot, resilience: res.extraAttributes, resiliencePath: resilience)
        // With a validation split Step 1 used no test image: the final
        // accuracies are then on every test image unless --test-subset says otherwise.
        let split = try res.validationSplit(path: resilience)
        // Where Step 1's validation images came from (absent: the training set).
        var recordedSource: HeldOutSplits.ValidationSource?
        if case .string(let s)? = res.extraAttributes["validation_source"] { recordedSource = HeldOutSplits.ValidationSource(rawValue: s) }
        var inputs = try fat.inputs(defaults: try FATInputs.recordedSettings(res.extraAttributes, source: resilience),
                                    // A --validation over a file without one: leave the training subset
                                    // open so the split check below names the resilience file.
                                    trainSubset: split == nil && fat.inputs.validation != nil ? nil : res.trainSubset,
                                    testSubset: split == nil ? res.testSubset : nil,
                                    validation: split?.size, validationFrom: split == nil ? nil : recordedSource ?? .train,
                                    mitigation: mitigation)
        // The lot's chips carry the spares of the config it was drawn for.
        inputs.spares = try ChipLotFile.info(path: lot).spareLayout
        var campaign = try Campaign(fat: inputs, lotPath: lot, resiliencePath: resilience, constraint: constraint, policies: policyList,
                                    interpolate: interpolate, metric: metric, confidence: confidence,
                                    checkEvery: checkEvery, adaptiveCap: adaptiveCap, seed: fat.seed, chips: chips,
                                    out: out)
        guard let done = try unitOptions.execute(&campaign, force: force, quiet: quiet, json: json, beforeFinal: {
            if let report { try ReduceReport.checkOverwrite(dir: report, force: force) }
        }) else { return }
        let (computed, results, seconds) = (done.computed, done.final, done.seconds)
        if let report, let results {
            let c = ReduceReport.metricComparison(resiliencePath: resilience, table: campaign.table, campaign: results,
                                                  campaignPath: out)
            if let note = c.note, !quiet {
                FileHandle.standardError.write(Data("reduce: no rate-metric comparison (Fig. 4): \(note)\n".utf8))
            }
            try ReduceReport.write(resilience: campaign.table, campaign: results, baseline: res.baselineAccuracy,
                                   metricComparison: c.comparison, metricNote: c.note, to: report, force: force)
        }
        let chipsOf = { (units: [Int]) in units.map { campaign.chips[$0] } }
        if json {
            var j: [String: Any] = ["command": Campaign.command, "out": out, "units": campaign.unitCount,
                                    "computed_chips": chipsOf(computed), "wall_s": seconds, "written": results != nil,
                                    "chips": UnitIndices.compress(campaign.chips), "partial": campaign.partial]
            if !computed.isEmpty { j["seconds_per_chip"] = seconds / Double(computed.count) }
            if let report, results != nil { j["report"] = report }
            if let results {
                j["summary"] = results.summary().map { s -> [String: Any] in
                    var row: [String: Any] = ["policy": s.policy, "chips": s.chips, "met": s.met, "total_epochs": s.totalEpochs,
                                              "mean_accuracy": s.meanAccuracy]
                    if let n = s.trainImages { row["train_images"] = n }
                    if let n = s.evalImages { row["eval_images"] = n }
                    return row
                }
            }
            JSONOutput.print(j)
            return
        }
        if !computed.isEmpty {
            print("computed \(computed.count) chips (\(UnitIndices.compress(chipsOf(computed)))) in \(ProgressLine.duration(seconds)), \(String(format: "%.2f", seconds / Double(computed.count))) s per chip")
        }
        guard let results else {
            print("\(out): final file not written (--units); see the rest with --list-units, assemble it with --merge-only")
            return
        }
        print("\(out): \(results.chips.count) chips (\(UnitIndices.compress(results.chips))\(campaign.partial ? ", partial" : "")), constraint: \(ReduceReport.constraintLine(results))")
        for s in results.summary() {
            let spent = s.trainImages.map { "\($0) training images" + (s.evalImages.map { $0 > 0 ? " + \($0) checked" : "" } ?? "") } ?? "\(s.totalEpochs) epochs"
            print("  \(s.policy.padding(toLength: 12, withPad: " ", startingAt: 0)) \(s.met)/\(s.chips) chips meet it, \(spent) in all, mean accuracy \(String(format: "%.2f%%", 100 * s.meanAccuracy))")
        }
        let flagged = Array(Set(results.rows.filter { !$0.flags.isEmpty }.map(\.chip))).sorted()
        if !flagged.isEmpty { print("  flagged chips (above_range/unreached budgets): \(UnitIndices.compress(flagged))") }
        if let report { print("report: \(report)/\(ReduceReport.markdownName)") }
    }
}
