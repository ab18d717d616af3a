import Foundation
import FapsimStore
import FapsimSupport
import Network
import SystolicArray

/// `fapsim budget`: reads a resilience file and a lot, budgets every chip and
/// writes a `fapsim.results` file with `content` = "budget".
public struct BudgetRun: Equatable, Sendable {
    public var resiliencePath: String
    public var lotPath: String
    public var rule: BudgetRule
    public var chips: [ChipBudget]
    /// Checksums of the two inputs' bytes, stored so a campaign can tell the
    /// budget file belongs to its lot and resilience file.
    public var resilienceChecksum: String
    public var lotChecksum: String
    public var weightsChecksum: String
    /// Under the `weights` metric: the VGG11 width multiplier whose layer
    /// shapes turned each chip's map into a weight share; nil under `pe`.
    public var networkWidth: Double? = nil
    /// The data the budgets were decided on (`ResilienceProvenance.splitAttributes`).
    public var splits: [String: AttributeValue] = [:]
    /// The budgets are training images of the resilience file's image
    /// schedule (`ChipBudget.images`, `.steps`), not whole epochs.
    public var imageBudgets: Bool = false
    /// The drop from the baseline the target came from (`--below-baseline`)
    /// and that baseline (the resilience file's, on its curve set); nil for
    /// an absolute target.
    public var belowBaseline: (points: Double, baseline: Double)? = nil

    public static func == (a: BudgetRun, b: BudgetRun) -> Bool {
        a.resiliencePath == b.resiliencePath && a.lotPath == b.lotPath && a.rule == b.rule && a.chips == b.chips
            && a.resilienceChecksum == b.resilienceChecksum && a.lotChecksum == b.lotChecksum
            && a.weightsChecksum == b.weightsChecksum && a.networkWidth == b.networkWidth && a.splits == b.splits
            && a.imageBudgets == b.imageBudgets && a.belowBaseline?.points == b.belowBaseline?.points
            && a.belowBaseline?.baseline == b.belowBaseline?.baseline
    }

    public static let content = BudgetFile.content

    /// Budgets every chip of `lot`. Under `rule.metric == .weights` the chips'
    /// weight shares need the network's layer shapes: its width comes from
    /// `weights` (a weights file, which must be the one the resilience file
    /// names by checksum) or else from the resilience file's `network_width`.
    ///
    /// `belowBaseline` D: the target is the resilience file's fault-free
    /// curve-set accuracy b - D (`AccuracyConstraint.belowBaseline`; `rule.target`
    /// is replaced), tabulated from the curves when Step 1 did not list it.
    public static func run(resilience: String, lot: String, rule: BudgetRule, weights: String? = nil,
                           belowBaseline: Double? = nil) throws -> BudgetRun {
        var table = try ResilienceTable.read(path: resilience)
        var rule = rule
        var below: (points: Double, baseline: Double)?
        if let d = belowBaseline {
            guard let b = try ResilienceFile.read(path: resilience).baselineAccuracy else {
                throw FapsimError("\(resilience): baseline_accuracy: missing; --below-baseline needs the fault-free accuracy Step 1 records (redo Step 1, or give --target)")
            }
            rule.target = try AccuracyConstraint.belowBaseline(d).checkedThreshold(
                baseline: b, weights: table.provenance.weightsFile, images: "the \(table.provenance.curveImages) \(table.provenance.curveSplit) images")
            table = table.tabulating(rule.target)
            below = (d, b)
        }
        var run = try plan(table, resilience: resilience, lot: lot, rule: rule, weights: weights)
        run.belowBaseline = below
        return run
    }

    private static func plan(_ table: ResilienceTable, resilience: String, lot: String, rule: BudgetRule,
                             weights: String?) throws -> BudgetRun {
        if rule.metric == .weights {
            return try runWeights(table, resilience: resilience, lot: lot, rule: rule, weights: weights)
        }
        guard table.provenance.rateMetric == "pe" else {
            throw FapsimError("\(resilience): rate_metric \"\(table.provenance.rateMetric)\": fapsim budget reads chips' fault rates as shares of faulty PEs (rate_metric \"pe\"); redo Step 1 with --rate-metric pe")
        }
        let reader = try ChipLotReader(path: lot)
        let p = table.provenance
        guard reader.info.rows == p.rows, reader.info.cols == p.cols else {
            throw FapsimError("array size mismatch: lot \(lot) is for a \(reader.info.rows) x \(reader.info.cols) array, resilience file \(resilience) was measured on \(p.rows) x \(p.cols)")
        }
        // The realised share of faulty PEs, counted from each map (the lot's
        // fault_rate is the generator's drawn rate, within one PE of it).
        let faulty = try (0..<reader.info.chipCount).map { try reader.faultMap(chip: $0).faultyCount }
        let chips = try Budgeter.plan(table, faultyPEs: faulty, rule: rule, source: resilience)
        return BudgetRun(resiliencePath: resilience, lotPath: lot, rule: rule, chips: chips,
                         resilienceChecksum: try FNV1a64.file(resilience), lotChecksum: try FNV1a64.file(lot),
                         weightsChecksum: p.weightsChecksum, splits: p.splitAttributes, imageBudgets: table.measuredInImages)
    }

    private static func runWeights(_ table: ResilienceTable, resilience: String, lot: String, rule: BudgetRule,
                                   weights: String?) throws -> BudgetRun {
        // Fail on a file without weight shares before reading anything else.
        _ = try Budgeter.measuredWeightShares(table, source: resilience)
        let p = table.provenance
        let width = try networkWidth(table, resilience: resilience, weights: weights)
        let spec = try VGG11Spec(width: width)
        let reader = try ChipLotReader(path: lot)
        guard reader.info.rows == p.rows, reader.info.cols == p.cols else {
            throw FapsimError("array size mismatch: lot \(lot) is for a \(reader.info.rows) x \(reader.info.cols) array, resilience file \(resilience) was measured on \(p.rows) x \(p.cols)")
        }
        var faulty: [Int] = [], shares: [Double] = []
        // Under spares the table's shares are of repaired chips: the lot's are too.
        let spares = reader.info.mitigation == .spares ? reader.info.spareLayout : nil
        for c in 0..<reader.info.chipCount {
            let map = try reader.faultMap(chip: c)
            faulty.append(map.faultyCount)
            shares.append(PrunedShare.macWeighted(map, spec: spec, spares: spares))
        }
        let chips = try Budgeter.plan(table, faultyPEs: faulty, weightShares: shares, rule: rule, source: resilience)
        return BudgetRun(resiliencePath: resilience, lotPath: lot, rule: rule, chips: chips,
                         resilienceChecksum: try FNV1a64.file(resilience), lotChecksum: try FNV1a64.file(lot),
                         weightsChecksum: p.weightsChecksum, networkWidth: width, splits: p.splitAttributes,
                         imageBudgets: table.measuredInImages)
    }

    /// The width multiplier of the network the resilience file was made for:
    /// from `weights` (checked against the file's weights_checksum), else from
    /// its `network_width` attribute; both given must agree.
    static func networkWidth(_ table: ResilienceTable, resilience: String, weights: String?) throws -> Double {
        let recorded = table.provenance.networkWidth
        guard let weights else {
            guard let recorded else {
                throw FapsimError("\(resilience): no network_width attribute: --rate-metric weights needs the network's layer shapes; pass --weights FILE (the weights the resilience file was made from, checksum \(table.provenance.weightsChecksum))")
            }
            return recorded
        }
        let w = try WeightsFile.read(path: weights)
        guard w.checksum == table.provenance.weightsChecksum else {
            throw FapsimError("--weights \(weights): checksum \(w.checksum) is not the weights \(resilience) was made from (\(table.provenance.weightsChecksum))")
        }
        if let recorded, recorded != w.width {
            throw FapsimError("--weights \(weights): width \(w.width) disagrees with \(resilience)'s network_width \(recorded)")
        }
        return w.width
    }

    public var totalEpochs: Int { chips.compactMap(\.epochs).reduce(0, +) }
    public var totalImages: Int { chips.compactMap(\.images).reduce(0, +) }
    /// The training subset the curves were trained on (nil when not recorded).
    var trainSubset: Int? { if case .int(let n)? = splits["train_subset"], n > 0 { return Int(n) }; return nil }
    /// `images` in epochs of the training subset, e.g. "0.04 epochs".
    func epochsText(_ images: Int) -> String {
        trainSubset.map { String(format: "%.3g epochs", Double(images) / Double($0)) } ?? "? epochs"
    }
    public var flaggedChips: [ChipBudget] { chips.filter(\.flagged) }

    /// The run as the store's budget layout.
    public var file: BudgetFile {
        var f = BudgetFile(resilienceFile: resiliencePath, resilienceChecksum: resilienceChecksum, lotFile: lotPath,
                   lotChecksum: lotChecksum, weightsChecksum: weightsChecksum, target: rule.target,
                   policy: rule.policy.rawValue, interpolate: rule.interpolate, rateMetric: rule.metric.rawValue,
                   networkWidth: networkWidth,
                   confidence: rule.policy == .confidence ? rule.confidence : nil,
                   judgedImages: rule.policy == .confidence ? rule.judgedImages : nil,
                   splits: splits,
                   rows: chips.map { c in
                       var row = BudgetFile.Row(chip: c.chip, faultRate: c.faultRate, epochs: c.epochs, flags: c.flags,
                                                rateLow: c.rateLow, rateHigh: c.rateHigh, weightShare: c.weightShare,
                                                probability: c.probability, predictedAccuracy: c.predictedAccuracy)
                       if imageBudgets {
                           row.images = c.images
                           row.steps = c.steps
                       }
                       return row
                   }, imageBudgets: imageBudgets)
        f.belowBaseline = belowBaseline?.points
        f.baselineAccuracy = belowBaseline?.baseline
        return f
    }

    public func resultsFile() -> ResultsFile { file.resultsFile() }

    public func write(path: String, force: Bool) throws {
        try file.write(path: path, force: force)
    }

    /// Reads a budget file back (for the campaign runner): its rule, inputs and per-chip budgets.
    public static func read(path: String) throws -> BudgetRun {
        let f = try BudgetFile.read(path: path)
        // The store checked the policy and metric names.
        let rule = BudgetRule(target: f.target, policy: BudgetPolicy(rawValue: f.policy)!, interpolate: f.interpolate,
                              metric: RateMetric(rawValue: f.rateMetric)!, confidence: f.confidence,
                              judgedImages: f.judgedImages ?? 10_000)
        let n: Int? = { if case .int(let n)? = f.splits["train_subset"], n > 0 { return Int(n) }; return nil }()
        let chips = f.rows.map { r in
            ChipBudget(chip: r.chip, faultRate: r.faultRate, epochs: r.epochs,
                       images: f.imageBudgets ? r.images : r.epochs.flatMap { e in n.map { e * $0 } }, steps: r.steps,
                       aboveRange: r.flags.contains("above_range"),
                       unreached: r.flags.contains("unreached"), rateLow: r.rateLow, rateHigh: r.rateHigh, weightShare: r.weightShare,
                       probability: r.probability, predictedAccuracy: r.predictedAccuracy)
        }
        var run = BudgetRun(resiliencePath: f.resilienceFile, lotPath: f.lotFile, rule: rule, chips: chips,
                            resilienceChecksum: f.resilienceChecksum, lotChecksum: f.lotChecksum,
                            weightsChecksum: f.weightsChecksum, networkWidth: f.networkWidth, splits: f.splits,
                            imageBudgets: f.imageBudgets)
        if let d = f.belowBaseline, let b = f.baselineAccuracy { run.belowBaseline = (d, b) }
        return run
    }

    /// Chips per budget value, "unreached" last.
    public var histogram: [(label: String, count: Int)] {
        let values = imageBudgets ? chips.compactMap(\.images) : chips.compactMap(\.epochs)
        let counts = Dictionary(grouping: values, by: { $0 }).mapValues(\.count)
        var rows = counts.keys.sorted().map { v in
            (label: imageBudgets ? "\(v) images (\(epochsText(v)))" : v == 1 ? "1 epoch" : "\(v) epochs", count: counts[v]!)
        }
        let unreached = chips.filter { !$0.budgeted }.count
        if unreached > 0 { rows.append((label: "unreached", count: unreached)) }
        return rows
    }

    public func lines(out: String) -> [String] {
        let mode = rule.interpolate ? "interpolated" : "conservative (next measured rate up)"
        let metric = rule.metric == .pe ? "" : ", rate metric \(rule.metric.rawValue)"
        var lines = ["\(out): \(chips.count) chips, target \(rule.target), policy \(rule.policy.rawValue), \(mode)\(metric)"]
        if rule.policy == .confidence, let c = rule.confidence {
            lines[0] = "\(out): \(chips.count) chips, target \(rule.target), policy confidence \(c) (judged on \(rule.judgedImages) images)\(metric)"
            let p = chips.compactMap { $0.budgeted ? $0.probability : nil }
            if !p.isEmpty {
                lines.append(String(format: "predicted share of budgeted chips meeting the target: %.3f", p.reduce(0, +) / Double(p.count)))
            }
        }
        if let b = belowBaseline {
            lines.append("target = fault-free \(splits["curve_split"].flatMap { if case .string(let c) = $0 { return c } else { return nil } } ?? "curve-set") accuracy \(b.baseline) - \(b.points)")
        }
        let width = max(1, histogram.map(\.label.count).max() ?? 1)
        let top = max(1, histogram.map(\.count).max() ?? 1)
        lines.append("budget histogram:")
        for (label, count) in histogram {
            let bar = String(repeating: "#", count: (count * 40 + top - 1) / top)
            lines.append("  " + label.padding(toLength: width, withPad: " ", startingAt: 0) + String(format: " %6d  ", count) + bar)
        }
        let budgeted = chips.filter(\.budgeted).count
        if imageBudgets {
            lines.append("total training images: \(totalImages) (\(epochsText(totalImages)), over \(budgeted) budgeted chips)")
        } else {
            lines.append("total epochs: \(totalEpochs) (over \(budgeted) budgeted chips)")
        }
        let above = chips.filter(\.aboveRange).map(\.chip), unreached = chips.filter(\.unreached).map(\.chip)
        lines.append("flagged chips: \(flaggedChips.count) (above_range: \(Self.list(above)); unreached: \(Self.list(unreached)))")
        return lines
    }

    public func json(out: String) -> [String: Any] {
        var json: [String: Any] = [
            "out": out, "resilience": resiliencePath, "lot": lotPath, "target": rule.target,
            "policy": rule.policy.rawValue, "interpolate": rule.interpolate, "rate_metric": rule.metric.rawValue,
            "chips": chips.count,
            "total_epochs": imageBudgets ? (trainSubset.map { Double(totalImages) / Double($0) } as Any? ?? NSNull()) : totalEpochs,
            "total_images": totalImages, "budget_unit": imageBudgets ? "images" : "epochs",
            "flagged_chips": flaggedChips.count,
            "histogram": histogram.map { ["budget": $0.label, "chips": $0.count] as [String: Any] },
            "per_chip": chips.map { c -> [String: Any] in
                var row: [String: Any] = ["chip": c.chip, "fault_rate": c.faultRate, "budget_epochs": c.epochs.map { $0 as Any } ?? NSNull(), "flags": c.flags]
                if imageBudgets {
                    // Epochs as a fraction of the training subset beside the images and steps.
                    row["budget_images"] = c.images.map { $0 as Any } ?? NSNull()
                    row["budget_steps"] = c.steps.map { $0 as Any } ?? NSNull()
                    row["budget_epochs"] = c.images.flatMap { i in trainSubset.map { Double(i) / Double($0) as Any } } ?? NSNull()
                } else if let i = c.images {
                    row["budget_images"] = i
                }
                if let w = c.weightShare { row["weight_share"] = w }
                if let p = c.probability { row["p_meet"] = p }
                if let a = c.predictedAccuracy { row["predicted_accuracy"] = a }
                return row
            },
        ]
        if rule.policy == .confidence, let c = rule.confidence {
            json["confidence"] = c
            json["judged_images"] = rule.judgedImages
        }
        return json
    }

    /// At most 20 chip numbers, so a 10,000-chip lot's summary stays readable.
    static func list(_ chips: [Int]) -> String {
        if chips.isEmpty { return "none" }
        let shown = chips.prefix(20).map(String.init).joined(separator: " ")
        return chips.count > 20 ? shown + " ... (\(chips.count))" : shown
    }
}
