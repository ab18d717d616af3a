import Foundation
import FapsimSupport

/// The resilience table seen by the confidence model (`ConfidenceModel`).
/// This is the one place that knows how the table stores its measurements:
/// per-(rate, repeat, point) accuracies on n curve images (the validation
/// split, else `test_subset`), a point being an amount of the table's image
/// schedule or, in epoch tables, epoch e = e x `train_subset` images.
public enum ConfidenceObservations {
    /// Every (rate, repeat, epoch) accuracy as an observation at the rate's
    /// coordinate `coordinates[rate]` (whole faulty PEs under `pe`, the mean
    /// weight share under `weights`). Refuses a table without the image counts
    /// the binomial noise and the amounts need.
    public static func from(_ table: ResilienceTable, coordinates: [Double], source: String) throws -> [AccuracyObservation] {
        let p = table.provenance
        // The model's predictions are only honest on images the campaign is
        // not judged by: a budget fitted to test-set curves would be judged on
        // the noise it was fitted to (docs/reduce.md).
        guard p.validationSubset != nil else {
            throw FapsimError.invalid(file: source, field: "curve_split",
                                      expected: "curves on a held-out validation split (--policy confidence decides on validation data, never on the test set); redo Step 1 with --validation N",
                                      got: "\"\(p.curveSplit)\" (no validation data)")
        }
        guard p.curveImages > 0 else {
            throw FapsimError.invalid(file: source, field: p.curveSplit == "validation" ? "validation_subset" : "test_subset",
                                      expected: "the number of images behind each accuracy (--policy confidence needs it for the binomial noise); redo Step 1",
                                      got: "\(p.curveImages)")
        }
        guard p.trainSubset > 0 || table.measuredInImages else {
            throw FapsimError.invalid(file: source, field: "train_subset",
                                      expected: "the training images per epoch (--policy confidence measures amounts in images); redo Step 1",
                                      got: "\(p.trainSubset)")
        }
        guard table.repeats >= 2 else {
            throw FapsimError("\(source): repeats 1: --policy confidence needs at least 2 fault maps per rate to estimate the spread between maps; redo Step 1 with --repeats 3 or more")
        }
        // Accuracies are correct / n; `correctCounts` recovers the counts.
        return table.correctCounts.map { c in
            AccuracyObservation(x: coordinates[c.rateIndex], map: c.repeatIndex, amount: Double(c.images),
                                correct: c.correct, images: c.n)
        }
    }

    /// The budget in the table's unit for a model amount in images (the
    /// model chooses among the measured amounts): the amount itself for an
    /// image schedule, FAT epochs for an epoch table.
    public static func epochs(amount: Double, in table: ResilienceTable) -> Int {
        if table.measuredInImages { return Int(amount.rounded()) }
        return Int((amount / Double(table.provenance.trainSubset)).rounded())
    }
}

extension Budgeter {
    /// Budgets chips at `chipCoordinates` (in the same unit as `measured`, the
    /// measured rates' coordinates) under `rule.policy == .confidence`. The
    /// caller fills in `faultRate` and `weightShare`.
    static func planConfidence(_ table: ResilienceTable, measured: [Double], chipCoordinates: [Double], rule: BudgetRule,
                               source: String) throws -> [ChipBudget] {
        guard let c = rule.confidence else {
            throw FapsimError("--confidence: --policy confidence needs a confidence level in (0, 1), e.g. --confidence 0.9")
        }
        let target = try resolveTarget(rule.target, in: table, source: source)
        for i in measured.indices.dropFirst() where !(measured[i] > measured[i - 1]) {
            throw FapsimError("\(source): rates \(table.rates[i - 1]) and \(table.rates[i]) sit at the same chip coordinate \(measured[i]): the confidence model needs measured rates further apart")
        }
        let model = try ConfidenceModel(observations: ConfidenceObservations.from(table, coordinates: measured, source: source),
                                        target: target, confidence: c, judgedImages: rule.judgedImages, source: source)
        return chipCoordinates.enumerated().map { chip, x in
            let b = model.budget(x: x)
            return ChipBudget(chip: chip, faultRate: 0, epochs: b.amount.map { ConfidenceObservations.epochs(amount: $0, in: table) },
                              aboveRange: b.aboveRange, unreached: b.unreached,
                              rateLow: table.rates[b.low], rateHigh: table.rates[b.high],
                              probability: b.prediction.probability, predictedAccuracy: b.prediction.meanAccuracy)
        }
    }
}
