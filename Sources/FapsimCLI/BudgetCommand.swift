import ArgumentParser
import Foundation
import FapsimSupport
import FapsimStore
import Reduce

/// `fapsim budget`: Reduce Step 2, each chip's fault-aware retraining budget
/// from its fault rate and the resilience table (docs/reduce.md).
public struct BudgetCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "budget",
        abstract: "Give each chip of a lot its FAT epochs from the resilience table (Reduce Step 2).",
        discussion: """
        Conservative by default: a chip gets the epochs of the nearest measured fault rate at or above its own \
        (rates compared in whole faulty PEs). --interpolate interpolates linearly between the two bracketing \
        measured rates instead. Both round up. --policy max takes the most epochs any repeat needed, mean the \
        mean over repeats. Flags: above_range (rate above the highest measured one; budget = that rate's), \
        unreached (the measured rate(s) did not reach the target in every repeat; budget -1). \
        --rate-metric weights places chips and measured rates by the MAC-weighted share of the network's weights \
        their fault maps prune instead of the share of faulty PEs (docs/rate-metric.md); it needs a resilience file \
        with weight shares, and the network width from --weights or the file's network_width. \
        --policy confidence --confidence C gives each chip the least measured amount whose predicted probability \
        of meeting the target is at least C, from a model of all maps, rates and epochs together (monotone in the \
        rate, each epoch judged on its own, spread between maps and binomial noise of the validation images; \
        docs/reduce.md); the file and --json carry each chip's predicted probability (p_meet). It always \
        interpolates between measured rates.
        """)

    @Option(help: "Resilience file from `fapsim resilience` (Step 1).")
    var resilience: String

    @Option(help: "Chip lot file from `fapsim lot generate`.")
    var lot: String

    @Option(help: "Accuracy target as a fraction, one of the resilience file's targets (e.g. 0.85). Or --below-baseline.")
    var target: Double?

    @Option(name: .customLong("below-baseline"), help: "Accuracy target as a drop D in (0, 1) from the fault-free baseline the resilience file records on its curve set: target = baseline - D (0.06 = 6 points), tabulated from the curves.")
    var belowBaseline: Double?

    @Option(help: "max (most epochs over repeats), mean (mean over repeats, rounded up) or confidence (needs --confidence).")
    var policy: String

    @Option(help: "With --policy confidence: the probability in (0, 1) each budgeted chip must have of meeting the target (e.g. 0.9).")
    var confidence: Double?

    @Option(name: .customLong("judged-images"), help: "With --policy confidence: images the chips' final accuracy is judged on (the campaign's test set).")
    var judgedImages: Int = 10_000

    @Flag(help: "Interpolate linearly between the bracketing measured rates instead of taking the next rate up.")
    var interpolate = false

    @Option(name: .customLong("rate-metric"), help: "pe (share of faulty PEs, default) or weights (MAC-weighted share of pruned weights).")
    var rateMetric: String = "pe"

    @Option(help: "Weights file the resilience file was made from (checked by checksum); gives the network width for --rate-metric weights when the resilience file does not record network_width.")
    var weights: String?

    @OptionGroup var mitigation: MitigationOptions

    @Option(help: "Output results file (HDF5, content \"budget\").")
    var out: String

    @Flag(help: "Replace an existing output file.")
    var force = false

    @Flag(help: "Print a JSON summary on stdout instead of the readable one.")
    var json = false

    public init() {}

    public func run() throws {
        let constraint = try AccuracyConstraint.parse(target: target, belowBaseline: belowBaseline)
        guard let p = BudgetPolicy(rawValue: policy) else {
            throw FapsimError("--policy: expected max, mean or confidence, got \(policy)")
        }
        if p == .confidence {
            guard let c = confidence else {
                throw FapsimError("--confidence: --policy confidence needs a confidence level in (0, 1), e.g. --confidence 0.9")
            }
            guard c > 0, c < 1 else {
                throw FapsimError.invalid(file: nil, field: "--confidence", expected: "a probability strictly between 0 and 1 (e.g. 0.9)", got: "\(c)")
            }
            guard judgedImages > 0 else {
                throw FapsimError.invalid(file: nil, field: "--judged-images", expected: "a positive number of images", got: "\(judgedImages)")
            }
        } else if confidence != nil {
            throw FapsimError("--confidence: only used with --policy confidence")
        }
        guard let metric = RateMetric(rawValue: rateMetric) else {
            throw FapsimError("--rate-metric: expected pe or weights, got \(rateMetric)")
        }
        if weights != nil && metric == .pe {
            throw FapsimError("--weights: only used with --rate-metric weights (the pe metric needs no network)")
        }
        // Fail before reading anything when the output cannot be written.
        try AtomicWrite.checkOverwrite(out, force: force)
        // The lot's chips, the resilience table and --mitigation must agree on the mitigation.
        _ = try mitigation.resolve(lotPath: lot, resilience: try ResilienceFile.read(path: resilience).extraAttributes,
                                   resiliencePath: resilience)
        // A drop from the baseline: BudgetRun.run sets the target from the file's baseline.
        let rule = BudgetRule(target: constraint.threshold(baseline: 1), policy: p, interpolate: interpolate, metric: metric,
                              confidence: p == .confidence ? confidence : nil, judgedImages: judgedImages)
        let result = try BudgetRun.run(resilience: resilience, lot: lot, rule: rule, weights: weights,
                                       belowBaseline: constraint.pointsBelow)
        try result.write(path: out, force: force)
        if json {
            JSONOutput.print(result.json(out: out))
        } else {
            result.lines(out: out).forEach { print($0) }
        }
    }
}
