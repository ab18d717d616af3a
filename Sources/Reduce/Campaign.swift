import Foundation
import FapsimStore
import FapsimSupport
import Network
import SystolicArray

/// A campaign policy: one of Reduce's budget rules or a fixed number of epochs.
public enum CampaignPolicy: Equatable, Sendable {
    case reduce(BudgetPolicy)
    case fixed(Int)
    /// A fixed amount of training images (`--fixed-images`), finer than an epoch.
    case fixedImages(Int)
    /// The closed-loop baseline: validation checks while training, stop at
    /// the first check meeting the target (`AdaptiveRule`).
    case adaptive

    public var label: String {
        switch self {
        case .reduce(let p): return p.rawValue
        case .fixed(let n): return "fixed-\(n)"
        case .fixedImages(let n): return "fixed-\(n)img"
        case .adaptive: return "adaptive"
        }
    }

    /// `--policies max,mean`, `--fixed 1,2,5` and `--fixed-images 1000,5000`
    /// as policies, Reduce's first.
    public static func parse(policies: String, fixed: String, fixedImages: String = "") throws -> [CampaignPolicy] {
        var out: [CampaignPolicy] = []
        for name in policies.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
            if name == CampaignPolicy.adaptive.label {
                guard !out.contains(.adaptive) else { throw FapsimError.invalid(file: nil, field: "--policies", expected: "each policy once", got: policies) }
                out.append(.adaptive)
                continue
            }
            guard let p = BudgetPolicy(rawValue: name) else {
                throw FapsimError.invalid(file: nil, field: "--policies", expected: "a comma-separated list of max, mean, confidence, adaptive", got: name)
            }
            guard !out.contains(.reduce(p)) else { throw FapsimError.invalid(file: nil, field: "--policies", expected: "each policy once", got: policies) }
            out.append(.reduce(p))
        }
        for text in fixed.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !text.isEmpty {
            guard let n = Int(text), n >= 0 else {
                throw FapsimError.invalid(file: nil, field: "--fixed", expected: "a comma-separated list of epoch counts >= 0 (e.g. 1,2,5)", got: text)
            }
            guard !out.contains(.fixed(n)) else { throw FapsimError.invalid(file: nil, field: "--fixed", expected: "each epoch count once", got: fixed) }
            out.append(.fixed(n))
        }
        for text in fixedImages.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !text.isEmpty {
            guard let n = Int(text), n >= 0 else {
                throw FapsimError.invalid(file: nil, field: "--fixed-images", expected: "a comma-separated list of training-image counts >= 0 (e.g. 1000,5000)", got: text)
            }
            guard !out.contains(.fixedImages(n)) else { throw FapsimError.invalid(file: nil, field: "--fixed-images", expected: "each image count once", got: fixedImages) }
            out.append(.fixedImages(n))
        }
        guard !out.isEmpty else { throw FapsimError("--policies/--fixed: expected at least one policy (max, mean, confidence or a fixed epoch or image count), got none") }
        return out
    }
}

/// Step 3 of Reduce as resumable units (one unit = one chip): each chip's
/// epochs under every policy, FAT on its own fault map, and the accuracy after
/// those epochs. With the constant schedule one run of the largest count a chip
/// needs gives every smaller count on its curve; other schedules train one run
/// per distinct count. Finished chips are `OUT.work/chip-<chip>.h5`.
public struct Campaign: UnitJob {
    public static let command = "reduce"
    public static let unitContent = CampaignUnitFile.content

    public var fat: FATInputs
    public let lot: ChipLotReader
    public let lotPath: String
    public let lotChecksum: String
    public let resiliencePath: String
    public let resilienceChecksum: String
    public let table: ResilienceTable
    /// The accuracy constraint as given: an absolute target, or a drop from
    /// each split's own fault-free baseline.
    public let constraint: AccuracyConstraint
    /// The threshold the budgets decide on, on the curve set (validation when
    /// there is one): the absolute target, or the curve-set baseline - d once
    /// `prepare` has measured that baseline.
    public private(set) var target: Double
    /// `table` also tabulating `target` (a threshold b - d need not be one of
    /// Step 1's targets; `ResilienceTable.tabulating`): what budgets read.
    private var budgetTable: ResilienceTable
    public let policies: [CampaignPolicy]
    public let interpolate: Bool
    /// Where chips sit between measured rates: share of faulty PEs (`pe`) or
    /// MAC-weighted pruned share (`weights`), as in `fapsim budget --rate-metric`.
    public let metric: RateMetric
    /// The stated confidence of the `confidence` policy; nil when it is not run.
    public let confidence: Double?
    /// The adaptive policy's rule; nil when it is not run.
    public private(set) var adaptive: AdaptiveRule?
    public let seed: UInt64
    /// The chips of this run (sorted); unit i is chips[i].
    public let chips: [Int]
    public let out: String
    public let work: WorkDir

    /// `chips`: the `--chips` text (nil = every chip of the lot).
    public init(fat: FATInputs, lotPath: String, resiliencePath: String, constraint: AccuracyConstraint, policies: [CampaignPolicy],
                interpolate: Bool, metric: RateMetric = .pe, confidence: Double? = nil, checkEvery: Int? = nil,
                adaptiveCap: Int? = nil, seed: UInt64, chips chipText: String?, out: String) throws {
        let table = try ResilienceTable.read(path: resiliencePath)
        var adaptiveRule: AdaptiveRule?
        if policies.contains(.adaptive) {
            guard let every = checkEvery else {
                throw FapsimError("--check-every: the adaptive policy needs the training images between validation checks, e.g. --check-every 1000")
            }
            // The cap defaults to the largest amount Step 1 measured.
            let cap = adaptiveCap ?? table.images(atPoint: table.points - 1)
            // Its target is set with the budgets' (after the baseline, for a drop from it).
            adaptiveRule = try AdaptiveRule(checkEvery: every, cap: cap, target: constraint.threshold(baseline: 1))
            guard fat.validation != nil else {
                throw FapsimError("--policies adaptive: its checks decide on held-out validation images, and this campaign has none; give --validation N (the resilience file's split)")
            }
            guard fat.settings.scheduleName == "constant" else {
                throw FapsimError("--policies adaptive: its checks are read off one run per chip, which needs --schedule constant (got \(fat.settings.scheduleName))")
            }
        } else if checkEvery != nil || adaptiveCap != nil {
            throw FapsimError("\(checkEvery != nil ? "--check-every" : "--adaptive-cap"): only used when --policies includes adaptive")
        }
        if policies.contains(.reduce(.confidence)) {
            guard let c = confidence else {
                throw FapsimError("--confidence: the confidence policy needs a confidence level in (0, 1), e.g. --confidence 0.9")
            }
            guard c > 0, c < 1 else {
                throw FapsimError.invalid(file: nil, field: "--confidence", expected: "a probability strictly between 0 and 1 (e.g. 0.9)", got: "\(c)")
            }
            // Fails on a file without the validation data the model needs.
            _ = try ConfidenceObservations.from(table, coordinates: table.rates, source: resiliencePath)
        } else if confidence != nil {
            throw FapsimError("--confidence: only used when --policies includes confidence")
        }
        let p = table.provenance
        guard p.weightsChecksum == fat.weightsChecksum else {
            throw FapsimError("weights mismatch: resilience file \(resiliencePath) was measured from weights with checksum \(p.weightsChecksum), --weights \(fat.weightsPath) has checksum \(fat.weightsChecksum); use the weights Step 1 started from")
        }
        if metric == .weights {
            // Fails on a file without per-map weight shares.
            _ = try Budgeter.measuredWeightShares(table, source: resiliencePath)
        } else {
          guard p.rateMetric == "pe" else {
            throw FapsimError("\(resiliencePath): rate_metric \"\(p.rateMetric)\": fapsim reduce budgets chips by their share of faulty PEs (rate_metric \"pe\"); redo Step 1 with --rate-metric pe, or pass --rate-metric weights")
          }
        }
        // Budgets decide on the curves' split: a campaign must hold out the
        // same images (and so train on the same ones) as Step 1 did.
        guard p.validationSubset == fat.validation else {
            let theirs = p.validationText
            let mine = fat.validation.map { "--validation \($0)" } ?? "no --validation"
            throw FapsimError("\(resiliencePath): validation_subset: its curves were measured on \(theirs), this campaign has \(mine); use the resilience file's split\(p.validationSubset.map { " (--validation \($0))" } ?? " (drop --validation)") or redo Step 1")
        }
        if p.validationSubset != nil, p.validationSource != fat.splits.validationSource {
            throw FapsimError("\(resiliencePath): validation_source: its curves were measured on \(p.validationText), this campaign takes its validation images from the \(fat.splits.validationSource.rawValue) set; use --validation-from \(p.validationSource.rawValue) or redo Step 1")
        }
        if p.validationSubset != nil, p.trainSubset != fat.splits.trainImages {
            throw FapsimError("\(resiliencePath): train_subset: its curves were trained on the first \(p.trainSubset) training images, this campaign trains on \(fat.splits.trainImages); use --train-subset \(p.trainSubset) or redo Step 1")
        }
        let lot = try ChipLotReader(path: lotPath)
        guard lot.info.rows == p.rows, lot.info.cols == p.cols else {
            throw FapsimError("array size mismatch: lot \(lotPath) is for a \(lot.info.rows) x \(lot.info.cols) array, resilience file \(resiliencePath) was measured on \(p.rows) x \(p.cols)")
        }
        // An absolute target must be one Step 1 tabulated (as fapsim budget);
        // a drop from the baseline is resolved in `prepare`.
        var resolved = 0.0
        if case .absolute(let t) = constraint { resolved = try Budgeter.resolveTarget(t, in: table, source: resiliencePath) }
        let count = lot.info.chipCount
        let chips = try chipText.map { try UnitIndices.parse($0, field: "--chips", count: count) } ?? Array(0..<count)
        self.fat = fat
        self.lot = lot
        self.lotPath = lotPath
        self.lotChecksum = try FNV1a64.file(lotPath)
        self.resiliencePath = resiliencePath
        self.resilienceChecksum = try FNV1a64.file(resiliencePath)
        self.table = table
        self.budgetTable = table
        self.constraint = constraint
        self.target = resolved
        self.policies = policies
        self.interpolate = interpolate
        self.metric = metric
        self.confidence = confidence
        self.adaptive = adaptiveRule.map { r in var r = r; r.target = resolved; return r }
        self.seed = seed
        self.chips = chips
        self.out = out
        var id = fat.identity
        id["command"] = Self.command
        id["lot_checksum"] = lotChecksum
        id["resilience_checksum"] = resilienceChecksum
        let key = constraint.identity
        id[key.key] = key.value
        id["policies"] = policies.map(\.label).joined(separator: ",")
        id["interpolate"] = interpolate ? "1" : "0"
        id["rate_metric"] = metric.rawValue
        if let confidence { id["confidence"] = WorkDir.text(confidence) }
        if let a = adaptiveRule {
            id["check_every"] = String(a.checkEvery)
            id["adaptive_cap"] = String(a.cap)
        }
        id["seed"] = String(seed)
        work = WorkDir(out: out, command: Self.command, identity: id)
    }

    public var unitCount: Int { chips.count }
    /// The run covers a subset of the lot's chips.
    public var partial: Bool { chips.count != lot.info.chipCount }

    public func unitFileName(_ u: Int) -> String { "chip-\(chips[u]).h5" }
    public func checkpointStem(_ u: Int) -> String { "chip-\(chips[u])" }
    public func progressLabel(units: Int) -> String { "reduce: \(units) chips" }

    /// The budgets' threshold from the weights' fault-free accuracy on the
    /// curve set (the validation split when there is one: the test set
    /// decides nothing): an absolute target is refused above it, a drop d
    /// gives baseline - d. Returns the curve-set baseline.
    @discardableResult
    public mutating func checkTarget() throws -> Double {
        let base = try fat.baseline(work: work)
        target = try constraint.checkedThreshold(baseline: base, weights: fat.weightsPath,
                                                 images: "the \(try fat.curveSet().count) \(fat.splits.curveSplit) images")
        budgetTable = table.tabulating(target)
        adaptive?.target = target
        return base
    }

    /// The threshold chips are judged by on the test images, and the
    /// fault-free baseline there. Measured for the judging only, after every
    /// chip's budget is spent: nothing here reaches a budget.
    public mutating func judgedThreshold() throws -> (threshold: Double, baseline: Double) {
        let base = try fat.testBaseline(work: work)
        let t = try constraint.checkedThreshold(baseline: base, weights: fat.weightsPath,
                                                images: "the \(try fat.test().count) test images")
        return (t, base)
    }

    /// A chip's amount and flags under each policy: whole epochs, or
    /// training images (`images` non-nil: `--fixed-images`, and Reduce's
    /// budgets when the resilience file was measured at an image schedule).
    /// Unreached Reduce budgets get the file's largest amount (E epochs, or
    /// its last scheduled amount) and keep their flags.
    public func budgets(map: FaultMap) throws -> [ChipPlan.Budget] {
        try policies.map { policy in
            switch policy {
            case .fixed(let n): return .init(policy: policy.label, epochs: n, flags: "")
            // Trained by image amount (`ChipPlan.imageRuns`); no epoch run.
            case .fixedImages(let n): return .init(policy: policy.label, epochs: 0, images: n, flags: "")
            // Decided while training (`FATInputs.measuredRun`).
            case .adaptive: return .init(policy: policy.label, epochs: 0, flags: "", adaptive: true)
            case .reduce(let p):
                // The pruned share is the same under every mapping (a mapping moves
                // weights between the PEs a fold uses, not their number), so no FAM plan is needed.
                // The campaign judges each chip on its test images.
                let rule = BudgetRule(target: target, policy: p, interpolate: interpolate, metric: metric,
                                      confidence: p == .confidence ? confidence : nil, judgedImages: fat.testSubset ?? 10_000)
                let b = metric == .weights
                    ? try Budgeter.plan(budgetTable, faultyPEs: [map.faultyCount], weightShares: [PrunedShare.macWeighted(map, spec: fat.parameters.spec,
                                                                                                                    spares: fat.mitigation == .spares ? fat.spares : nil)],
                                        rule: rule, source: resiliencePath)[0]
                    : try Budgeter.plan(budgetTable, faultyPEs: [map.faultyCount], rule: rule, source: resiliencePath)[0]
                if table.measuredInImages {
                    return .init(policy: policy.label, epochs: 0, images: b.images ?? table.schedule.last!, flags: b.flags.joined(separator: ","),
                                 probability: b.probability)
                }
                return .init(policy: policy.label, epochs: b.epochs ?? table.epochs, flags: b.flags.joined(separator: ","),
                             probability: b.probability)
            }
        }
    }

    func trainingSeed(chip: Int) -> UInt64 {
        var rng = SeededRNG.derived(seed: seed, 0x4341_4D50, UInt64(chip))
        return rng.next()
    }

    /// The FAT runs a chip needs: one of the largest count (constant schedule)
    /// or one per distinct count (others).
    public func runLengths(_ counts: [Int]) -> [Int] {
        let distinct = Array(Set(counts)).sorted()
        if fat.settings.scheduleName == "constant" { return [distinct.last ?? 0] }
        let positive = distinct.filter { $0 > 0 }
        return positive.isEmpty ? [0] : positive
    }

    public mutating func prepare() throws { try checkTarget() }

    /// A chip's budgets under every policy and the FAT runs they need. (The
    /// map is read again to compute the chip rather than held: a lot may have
    /// thousands of 256x256 maps.)
    public func plan(unit u: Int) throws -> ChipPlan {
        let c = chips[u]
        let b = try budgets(map: try lot.faultMap(chip: c))
        let byEpochs = b.filter { $0.images == nil && !$0.adaptive }.map(\.epochs)
        let amounts = Array(Set(b.compactMap(\.images))).sorted()
        // As for epochs: one run to the largest amount under the constant
        // schedule (read off, bit-identical to shorter runs), else one per amount.
        let imageRuns = amounts.isEmpty ? [] : (fat.settings.scheduleName == "constant" ? [amounts] : amounts.map { [$0] })
        return ChipPlan(chip: c, budgets: b, runs: byEpochs.isEmpty ? [] : runLengths(byEpochs), imageRuns: imageRuns)
    }

    public mutating func images(of plan: ChipPlan) throws -> Int {
        plan.runs.reduce(0, +) * (try fat.train().count)
            + max(plan.imageRuns.compactMap(\.last).reduce(0, +), plan.budgets.contains(where: \.adaptive) ? adaptive?.cap ?? 0 : 0)
    }

    /// FAT on the chip's fault map for each run length, and the accuracy
    /// under each policy read off the curves.
    public mutating func compute(unit u: Int, plan: ChipPlan, progress line: ProgressLine) throws -> ResultsFile {
        let pes = lot.info.rows * lot.info.cols
        let images = try fat.train().count
        let map = try lot.faultMap(chip: plan.chip)
        var curves: [(runEpochs: Int, history: [EpochRecord])] = []
        for n in plan.runs {
            var id = work.identity
            id["chip"] = String(plan.chip)
            id["run_epochs"] = String(n)
            let h = try fat.fat(chip: fat.chip(map), epochs: n, seed: trainingSeed(chip: plan.chip),
                                checkpoint: checkpointFile(unit: u, tag: "e\(n)"), identity: id, progress: line,
                                evaluation: .test)
            curves.append((n, h))
        }
        // Image amounts: the accuracy and real images of each amount's steps.
        var byImages: [Int: AmountRecord] = [:]
        var stop: AdaptiveOutcome?
        let closedLoop = plan.budgets.contains(where: \.adaptive)
        if fat.settings.scheduleName == "constant" && (closedLoop || !plan.imageRuns.isEmpty) {
            // One run: every image budget read off it, the adaptive checks made on the way.
            let r = try fat.measuredRun(chip: fat.chip(map), testAmounts: plan.imageRuns.first ?? [], adaptive: closedLoop ? adaptive : nil,
                                        seed: trainingSeed(chip: plan.chip), progress: line)
            byImages = r.test
            stop = r.adaptive
        } else {
            for amounts in plan.imageRuns {
                let points = try fat.fatAmounts(chip: fat.chip(map), amounts: amounts, seed: trainingSeed(chip: plan.chip),
                                                progress: line, evaluation: .test).points
                for p in points where amounts.contains(p.images) { byImages[p.images] = p }
            }
        }
        // Accuracy after e epochs: the constant run's curve at e, else the
        // final point of the run of exactly e epochs (e = 0: FAP alone).
        func accuracy(_ e: Int) -> Double {
            if fat.settings.scheduleName == "constant" || e == 0 { return curves[0].history[e].testAccuracy }
            return curves.first { $0.runEpochs == e }!.history[e].testAccuracy
        }
        return CampaignUnitFile(chip: plan.chip, faultyPEs: map.faultyCount, faultRate: Double(map.faultyCount) / Double(pes),
                                faultMapChecksum: map.checksum, trainImages: images, testImages: try fat.test().count,
                                policies: plan.budgets.map { b in
                                    if b.adaptive, let o = stop {
                                        // Stopped at the cap without meeting the target: flagged like an unreached budget.
                                        return .init(policy: b.policy, epochsSpent: o.record.imagesTrained / images,
                                                     finalAccuracy: o.record.accuracy, flags: o.met ? "" : "unreached",
                                                     imagesSpent: o.record.imagesTrained, evalImagesSpent: o.evalImages)
                                    }
                                    if let n = b.images, let p = byImages[n] {
                                        return .init(policy: b.policy, epochsSpent: p.imagesTrained / images, finalAccuracy: p.accuracy,
                                                     flags: b.flags, imagesSpent: p.imagesTrained, evalImagesSpent: 0,
                                                     predictedProbability: b.probability)
                                    }
                                    return .init(policy: b.policy, epochsSpent: b.epochs, finalAccuracy: accuracy(b.epochs),
                                                 flags: b.flags, imagesSpent: b.epochs * images, evalImagesSpent: 0,
                                                 predictedProbability: b.probability)
                                },
                                runs: curves.map { .init(runEpochs: $0.runEpochs, accuracy: $0.history.map(\.testAccuracy),
                                                         seconds: $0.history.map(\.seconds)) }).resultsFile()
    }

    /// The campaign from every chip's file.
    public mutating func assemble(units files: [ResultsFile]) throws -> CampaignResults {
        let base = try checkTarget()
        let judged = try judgedThreshold()
        var rows: [CampaignResults.Row] = []
        var curves: [CampaignResults.Curve] = []
        var trainImages = 0, testImages = 0
        for (c, f) in zip(chips, files) {
            let path = work.file("chip-\(c).h5")
            let unit = try CampaignUnitFile.parse(f, path: path)
            guard unit.policies.map(\.policy) == policies.map(\.label) else {
                throw FapsimError("\(path): expected a chip's policies and curves tables (a damaged unit file; delete it to recompute the chip)")
            }
            trainImages = unit.trainImages; testImages = unit.testImages
            for p in unit.policies {
                rows.append(.init(chip: c, policy: p.policy, faultRate: unit.faultRate, epochsSpent: p.epochsSpent,
                                  finalAccuracy: p.finalAccuracy, flags: p.flags, imagesSpent: p.imagesSpent,
                                  evalImagesSpent: p.evalImagesSpent, predictedProbability: p.predictedProbability))
            }
            curves += unit.runs.map { .init(chip: c, runEpochs: $0.runEpochs, accuracy: $0.accuracy) }
        }
        var attrs: [String: AttributeValue] = [:]
        for (k, v) in work.identity { attrs[WorkDir.identityPrefix + k] = .string(v) }
        attrs["weights_file"] = .string(fat.weightsPath)
        attrs["weights_checksum"] = .string(fat.weightsChecksum)
        attrs["lot_file"] = .string(lotPath)
        attrs["lot_checksum"] = .string(lotChecksum)
        attrs["lot_chips"] = .int(Int64(lot.info.chipCount))
        attrs["resilience_file"] = .string(resiliencePath)
        attrs["resilience_checksum"] = .string(resilienceChecksum)
        attrs["resilience_epochs"] = .int(Int64(table.epochs))
        attrs["rows"] = .int(Int64(lot.info.rows))
        attrs["cols"] = .int(Int64(lot.info.cols))
        attrs["interpolate"] = .int(interpolate ? 1 : 0)
        attrs["rate_metric"] = .string(metric.rawValue)
        attrs["seed"] = .string(String(seed))
        attrs.merge(fat.settingsAttributes) { _, b in b }
        attrs["train_subset"] = .int(Int64(trainImages))
        attrs["test_subset"] = .int(Int64(testImages))
        attrs["baseline_accuracy"] = .double(base)
        // The constraint on both splits: what the budgets decided on (the
        // curve set) and what each chip is judged by (`target`, the test images).
        attrs["budget_target"] = .double(target)
        attrs["test_baseline_accuracy"] = .double(judged.baseline)
        if let d = constraint.pointsBelow { attrs["below_baseline"] = .double(d) }
        // What the campaign cost in data: every FAT run trained runEpochs
        // passes over the training subset and evaluated each of its points
        // on the test subset (a policy's own amount is epochs_spent x
        // train_subset training images).
        // Image-amount runs (--fixed-images) are not in the curves: one run to
        // a chip's largest amount (constant schedule) or one per amount, each
        // evaluated before training and after each of its amounts.
        let imageLabels = Set(policies.compactMap { p -> String? in
            switch p {
            case .fixedImages, .adaptive: return p.label
            case .reduce: return table.measuredInImages ? p.label : nil
            case .fixed: return nil
            }
        })
        var imageTrain = 0, imageEvals = 0
        for c in chips {
            let spent = rows.filter { $0.chip == c && imageLabels.contains($0.policy) }.compactMap(\.imagesSpent)
            guard !spent.isEmpty else { continue }
            if fat.settings.scheduleName == "constant" {
                imageTrain += spent.max()!
                imageEvals += Set(spent).count + 1
            } else {
                imageTrain += spent.reduce(0, +)
                imageEvals += 2 * spent.count
            }
        }
        attrs["train_images_spent"] = .int(Int64(curves.reduce(0) { $0 + $1.runEpochs } * trainImages + imageTrain))
        // The adaptive policy's validation checks are evaluation images too.
        let checkImages = rows.compactMap(\.evalImagesSpent).reduce(0, +)
        attrs["eval_images_spent"] = .int(Int64((curves.reduce(0) { $0 + $1.accuracy.count } + imageEvals) * testImages + checkImages))
        if let a = adaptive {
            attrs["check_every"] = .int(Int64(a.checkEvery))
            attrs["adaptive_cap"] = .int(Int64(a.cap))
        }
        // Budgets came from the curve split; final accuracies are on test_subset test images.
        attrs.merge(fat.splitAttributes) { _, b in b }
        attrs[CampaignResults.chipsAttribute] = .string(UnitIndices.compress(chips))
        attrs[CampaignResults.partialAttribute] = .int(partial ? 1 : 0)
        return try CampaignResults(target: judged.threshold, rows: rows, curves: curves, attributes: attrs, source: out)
    }

    /// Writes the campaign file and reads it back.
    public func write(_ results: CampaignResults, force: Bool) throws -> CampaignResults {
        try results.write(path: out, force: force)
        return try CampaignResults.read(path: out)
    }
}

/// A chip's budgets under every policy and the lengths of the FAT runs that
/// give them (one run under the constant schedule).
public struct ChipPlan: Sendable {
    /// One policy's amount for the chip: `epochs` whole epochs, or, when
    /// `images` is set, exactly that many training images (read off an image run).
    public struct Budget: Sendable, Equatable {
        public var policy: String
        public var epochs: Int
        public var images: Int? = nil
        public var flags: String
        /// The adaptive policy: the amount is decided while training.
        public var adaptive: Bool = false
        /// The confidence policy's predicted probability of meeting the target.
        public var probability: Double? = nil
    }

    public var chip: Int
    public var budgets: [Budget]
    public var runs: [Int]
    /// The image-amount runs (`--fixed-images`): each the sorted amounts one
    /// `TrainingRun.trainAmounts` run measures.
    public var imageRuns: [[Int]] = []
}
