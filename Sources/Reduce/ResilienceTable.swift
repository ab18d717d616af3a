import Foundation
import FapsimStore
import FapsimSupport
import Network

/// Where a resilience table came from: the inputs a budget or campaign must
/// match before it may use the table (same weights, same array).
public struct ResilienceProvenance: Equatable, Sendable {
    /// `weights_checksum` of the weights file FAT started from (WeightsFile.checksum).
    public var weightsChecksum: String
    /// Path of that weights file as given on the command line (informative only).
    public var weightsFile: String
    public var rows: Int
    public var cols: Int
    /// Name of the hardware config the array came from.
    public var configName: String
    /// What a "fault rate" measures: "pe" (share of faulty PEs, the paper's
    /// metric) or "weights" (share of pruned weights, docs/rate-metric.md).
    public var rateMetric: String
    /// Training and test images actually used per epoch / evaluation.
    public var trainSubset: Int
    public var testSubset: Int
    /// Seed the fault maps and the training order were drawn from.
    public var seed: UInt64
    /// The held-out validation split the curves were measured on (its size,
    /// the last `validationSubset` of the 50,000 training images); nil = the
    /// curves are on the `testSubset` test images (files before validation
    /// splits). With a validation split Step 1 touches no test image and
    /// `testSubset` is 0.
    public var validationSubset: Int?
    /// Width multiplier of the VGG11 FAT trained (the weights file's `width`),
    /// when the resilience step recorded it (`network_width`). The `weights`
    /// rate metric needs the network's layer shapes to turn a chip's fault map
    /// into a pruned share; nil in files written before weight shares were recorded.
    public var networkWidth: Double?
    /// Where the validation split's images come from: the training set
    /// (default, and every file before `--validation-from`) or the first
    /// `validationSubset` test images (attribute `validation_source` "test").
    public var validationSource: HeldOutSplits.ValidationSource = .train

    public init(weightsChecksum: String, weightsFile: String = "", rows: Int, cols: Int, configName: String,
                rateMetric: String = "pe", trainSubset: Int, testSubset: Int, seed: UInt64,
                networkWidth: Double? = nil, validationSubset: Int? = nil) {
        self.validationSubset = validationSubset
        self.weightsChecksum = weightsChecksum
        self.weightsFile = weightsFile
        self.rows = rows
        self.cols = cols
        self.configName = configName
        self.rateMetric = rateMetric
        self.trainSubset = trainSubset
        self.testSubset = testSubset
        self.seed = seed
        self.networkWidth = networkWidth
    }

    public static let rateMetrics = ["pe", "weights"]

    /// Where the curves were measured: "validation" or "test".
    public var curveSplit: String { validationSubset == nil ? "test" : "validation" }

    /// The data the curves were measured on, as root attributes of the files
    /// derived from them (budget): `curve_split`, `train_subset`,
    /// `test_subset` and, with a validation split, `validation_subset` and
    /// `validation_first`.
    public var splitAttributes: [String: AttributeValue] {
        var a: [String: AttributeValue] = ["curve_split": .string(curveSplit), "train_subset": .int(Int64(trainSubset)),
                                           "test_subset": .int(Int64(testSubset))]
        a.merge(validationAttributes) { _, b in b }
        return a
    }

    /// The validation split's attributes: `validation_subset`,
    /// `validation_first` (its first image's index in its own split) and,
    /// from the test set, `validation_source` "test".
    public var validationAttributes: [String: AttributeValue] {
        guard let v = validationSubset else { return [:] }
        var a: [String: AttributeValue] = ["validation_subset": .int(Int64(v))]
        a["validation_first"] = .int(Int64(validationSource == .test ? 0 : CIFAR10Set.trainImagesTotal - v))
        if validationSource == .test { a["validation_source"] = .string(validationSource.rawValue) }
        return a
    }

    /// The validation split in words, for errors: "the last 5000 training
    /// images", "the first 5000 test images", or "the test set (no validation split)".
    public var validationText: String {
        guard let v = validationSubset else { return "the test set (no validation split)" }
        return validationSource == .test ? "the first \(v) test images held out for validation (validation_source test)"
            : "the last \(v) training images held out for validation"
    }

    /// Images each accuracy point was measured on (the n of correct / n).
    public var curveImages: Int { validationSubset ?? testSubset }
}

/// Step 1 of Reduce, in memory: for each measured fault rate and each of
/// `repeats` random fault maps, the test accuracy after FAP alone (epoch 0) and
/// after each of `epochs` epochs of fault-aware training.
public struct ResilienceTable: Equatable, Sendable {
    /// Measured fault rates, strictly increasing, each in [0, 1].
    public var rates: [Double]
    public var repeats: Int
    /// E, the FAT epochs run per (rate, repeat); curves have E + 1 points.
    /// With an image schedule (`amounts`), the epochs (whole or partial) the
    /// largest amount reaches into.
    public var epochs: Int
    /// The image schedule the curves were measured at (`fapsim resilience
    /// --amounts`): point i is after `amounts.images[i]` training images.
    /// nil = epoch points 0...E.
    public var amounts: ResilienceFile.AmountAxis?
    /// accuracy[rate][repeat][point], fractions in [0, 1]; point 0 = FAP only;
    /// point = epoch, or index into `amounts`.
    public var accuracy: [[[Double]]]
    /// Accuracy constraints (fractions in (0, 1]) to tabulate epochs needed for.
    public var targets: [Double]
    public var provenance: ResilienceProvenance
    /// weightShare[rate][repeat]: the MAC-weighted pruned share
    /// (`PrunedShare.macWeighted`) of that repeat's fault map, in [0, 1]; nil
    /// when the resilience step did not record it (files written before weight shares were recorded).
    /// The `weights` rate metric of `fapsim budget` needs it (docs/rate-metric.md).
    public var weightShare: [[Double]]?

    /// Builds a table and checks it is consistent (see `validate`); errors name `source`.
    public init(rates: [Double], repeats: Int, epochs: Int, accuracy: [[[Double]]], targets: [Double],
                provenance: ResilienceProvenance, weightShare: [[Double]]? = nil,
                amounts: ResilienceFile.AmountAxis? = nil, source: String = "resilience table") throws {
        self.amounts = amounts
        self.rates = rates
        self.repeats = repeats
        self.epochs = epochs
        self.accuracy = accuracy
        self.targets = targets
        self.provenance = provenance
        self.weightShare = weightShare
        try validate(source: source)
    }

    /// Mean weight share of each measured rate's repeats (the rate's coordinate
    /// under the `weights` metric); nil without weight shares.
    public var meanWeightShare: [Double]? {
        weightShare.map { $0.map { $0.reduce(0, +) / Double(max($0.count, 1)) } }
    }

    /// Throws a one-line error naming `source` for anything a budget could not use.
    public func validate(source: String) throws {
        guard !rates.isEmpty else { throw FapsimError("\(source): rates: expected at least one fault rate, got an empty list") }
        for (i, r) in rates.enumerated() {
            guard r.isFinite, r >= 0, r <= 1 else { throw FapsimError.invalid(file: source, field: "rates[\(i)]", expected: "a fault rate in [0, 1]", got: "\(r)") }
            if i > 0 && !(r > rates[i - 1]) {
                throw FapsimError.invalid(file: source, field: "rates", expected: "strictly increasing fault rates", got: "\(rates[i - 1]) then \(r)")
            }
        }
        guard repeats >= 1 else { throw FapsimError.invalid(file: source, field: "repeats", expected: ">= 1", got: "\(repeats)") }
        guard epochs >= 0 else { throw FapsimError.invalid(file: source, field: "epochs", expected: ">= 0", got: "\(epochs)") }
        guard !targets.isEmpty else { throw FapsimError("\(source): targets: expected at least one accuracy target, got an empty list") }
        for (i, t) in targets.enumerated() where !(t > 0 && t <= 1) {
            throw FapsimError.invalid(file: source, field: "targets[\(i)]", expected: "an accuracy fraction in (0, 1] (0.85 = 85 %)", got: "\(t)")
        }
        guard Set(targets).count == targets.count else {
            throw FapsimError.invalid(file: source, field: "targets", expected: "distinct values", got: targets.map { "\($0)" }.joined(separator: ","))
        }
        if let a = amounts {
            guard !a.images.isEmpty, a.images.count == a.steps.count, a.images[0] == 0 else {
                throw FapsimError.invalid(file: source, field: "amounts", expected: "an image schedule starting at 0, one step count per amount", got: "\(a.images.count) amounts, \(a.steps.count) step counts")
            }
            for i in a.images.indices.dropFirst() where !(a.images[i] > a.images[i - 1]) {
                throw FapsimError.invalid(file: source, field: "amounts", expected: "strictly increasing amounts of training images", got: "\(a.images[i - 1]) then \(a.images[i])")
            }
        }
        guard accuracy.count == rates.count else {
            throw FapsimError.invalid(file: source, field: "accuracy", expected: "\(rates.count) rates", got: "\(accuracy.count)")
        }
        for (r, perRate) in accuracy.enumerated() {
            guard perRate.count == repeats else {
                throw FapsimError.invalid(file: source, field: "accuracy[rate \(r)]", expected: "\(repeats) repeats", got: "\(perRate.count)")
            }
            for (k, curve) in perRate.enumerated() {
                let at = "accuracy[rate \(r)][repeat \(k)]"
                guard curve.count == points else {
                    let which = amounts == nil ? "epochs 0...\(epochs)" : "one per scheduled amount"
                    throw FapsimError.invalid(file: source, field: at, expected: "\(points) points (\(which))", got: "\(curve.count)")
                }
                if let bad = curve.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
                    throw FapsimError.invalid(file: source, field: at + "[\(amounts == nil ? "epoch" : "amount") \(bad)]", expected: "an accuracy fraction in [0, 1]", got: "\(curve[bad])")
                }
            }
        }
        let p = provenance
        guard p.rows > 0, p.cols > 0 else {
            throw FapsimError.invalid(file: source, field: "rows x cols", expected: "a positive array size", got: "\(p.rows) x \(p.cols)")
        }
        guard ResilienceProvenance.rateMetrics.contains(p.rateMetric) else {
            throw FapsimError.invalid(file: source, field: "rate_metric", expected: ResilienceProvenance.rateMetrics.joined(separator: " or "), got: p.rateMetric)
        }
        if let v = p.validationSubset, v < 1 {
            throw FapsimError.invalid(file: source, field: "validation_subset", expected: "at least 1 held-out image", got: "\(v)")
        }
        guard p.trainSubset >= 0, p.testSubset >= 0 else {
            throw FapsimError.invalid(file: source, field: "train_subset/test_subset", expected: "image counts >= 0", got: "\(p.trainSubset)/\(p.testSubset)")
        }
        if let w = p.networkWidth, !(w.isFinite && w > 0) {
            throw FapsimError.invalid(file: source, field: "network_width", expected: "a positive width multiplier", got: "\(w)")
        }
        if let ws = weightShare {
            guard ws.count == rates.count else {
                throw FapsimError.invalid(file: source, field: "weight_share", expected: "\(rates.count) rates", got: "\(ws.count)")
            }
            for (r, perRate) in ws.enumerated() {
                guard perRate.count == repeats else {
                    throw FapsimError.invalid(file: source, field: "weight_share[rate \(r)]", expected: "\(repeats) repeats", got: "\(perRate.count)")
                }
                if let bad = perRate.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
                    throw FapsimError.invalid(file: source, field: "weight_share[rate \(r)][repeat \(bad)]", expected: "a pruned share in [0, 1]", got: "\(perRate[bad])")
                }
            }
        }
    }

    /// Points per curve: E + 1 epochs, or the scheduled amounts.
    public var points: Int { amounts?.images.count ?? epochs + 1 }

    /// The unit a budget read off this table comes in: images for an image
    /// schedule, epochs otherwise.
    public var measuredInImages: Bool { amounts != nil }

    /// The curves' x axis in the table's unit: epochs 0...E, or the
    /// scheduled image counts.
    public var schedule: [Int] { amounts?.images ?? Array(0...epochs) }

    /// Training images behind point `i` (epoch i x train_subset without a schedule).
    public func images(atPoint i: Int) -> Int { amounts?.images[i] ?? i * provenance.trainSubset }

    /// Index of target `t` in `targets`. Targets come from decimal text on both
    /// sides, so a tolerance far below any meaningful accuracy step absorbs
    /// printing round trips without ever merging two real targets.
    public func targetIndex(_ t: Double) -> Int? {
        targets.firstIndex { abs($0 - t) <= 1e-9 }
    }

    /// The table also tabulating target `t` (appended when it is not one of
    /// `targets`): a target derived from a measured baseline (b - d,
    /// `AccuracyConstraint.belowBaseline`) need not be one Step 1 listed,
    /// and the curves give the amount needed for any target.
    public func tabulating(_ t: Double) -> ResilienceTable {
        guard targetIndex(t) == nil else { return self }
        var copy = self
        copy.targets.append(t)
        return copy
    }

    /// One measured point of a curve, as counts: after `images` training
    /// images (`epoch` x the training subset) on map `repeat` of rate
    /// `rateIndex`, `correct` of `n` curve images (validation when the table
    /// has a validation split) were classified right.
    public struct CorrectCount: Equatable, Sendable {
        public var rateIndex: Int
        public var rate: Double
        public var repeatIndex: Int
        public var epoch: Int
        public var images: Int
        public var correct: Int
        public var n: Int
    }

    /// Every measured point as correct counts out of n, rate-major, then map,
    /// then amount: what a statistical model of the curves (e.g. a confidence
    /// policy) takes. Accuracies are stored as correct / n, so rounding
    /// accuracy x n recovers the count exactly for any n below 2^52.
    public var correctCounts: [CorrectCount] {
        let n = provenance.curveImages
        return accuracy.enumerated().flatMap { r, perRate in
            perRate.enumerated().flatMap { k, curve in
                curve.enumerated().map { e, a in
                    CorrectCount(rateIndex: r, rate: rates[r], repeatIndex: k, epoch: e, images: images(atPoint: e),
                                 correct: Int((a * Double(n)).rounded()), n: n)
                }
            }
        }
    }

    /// The first point reaching target `t` at every measured rate, in rate
    /// order: epochs needed for an epoch table, the amount index for an image schedule.
    public func epochsNeeded(target t: Double) -> [EpochStats] {
        accuracy.map { perRate in EpochStats(perRepeat: perRate.map { Self.epochsNeeded(curve: $0, target: t) }) }
    }

    /// The amount needed for target `t` at every measured rate in the table's
    /// unit (`schedule`): epochs, or training images for an image schedule.
    /// The mean over repeats is then a mean of amounts, not of indices.
    public func needed(target t: Double) -> [EpochStats] {
        let x = schedule
        return epochsNeeded(target: t).map { EpochStats(perRepeat: $0.perRepeat.map { $0.map { x[$0] } }) }
    }

    /// "epochs" or "images": the unit of `needed` and of the budgets.
    public var unit: String { measuredInImages ? "images" : "epochs" }

    /// The first epoch e with curve[e] >= target (0 = FAP alone suffices, e =
    /// after e FAT epochs), or nil if the curve never reaches it. No tolerance:
    /// an accuracy is correct / total, which IEEE division rounds exactly like
    /// the decimal target, so 850/1000 >= 0.85 holds.
    public static func epochsNeeded(curve: [Double], target: Double) -> Int? {
        curve.firstIndex { $0 >= target }
    }
}

/// Epochs needed at one fault rate over its repeats. A repeat that never
/// reaches the target within E epochs is unreached: it needs more than E epochs,
/// an unknown number, so any statistic it would enter is unknown too.
public struct EpochStats: Equatable, Sendable {
    /// Per repeat, nil = unreached.
    public var perRepeat: [Int?]

    public init(perRepeat: [Int?]) { self.perRepeat = perRepeat }

    public var reached: [Int] { perRepeat.compactMap { $0 } }
    public var reachedCount: Int { reached.count }
    public var allReached: Bool { reachedCount == perRepeat.count }
    /// Fewest epochs any repeat needed; nil only when no repeat reached.
    public var min: Int? { reached.min() }
    /// Mean over repeats; nil when any repeat is unreached (the mean of a set
    /// holding "more than E" is not a number).
    public var mean: Double? {
        allReached && !reached.isEmpty ? Double(reached.reduce(0, +)) / Double(reached.count) : nil
    }
    /// Most epochs any repeat needed; nil when any repeat is unreached.
    public var max: Int? { allReached ? reached.max() : nil }
}
