import Foundation
import FapsimSupport

/// One validation measurement of the resilience step: a fault map measured at
/// chip coordinate `x` (its fault rate, or its weight share under the
/// `weights` rate metric), retrained on `amount` training images, then
/// `correct` of `images` validation images classified right.
public struct AccuracyObservation: Equatable, Sendable {
    /// The chip metric of the measured rate: all maps of one measured rate
    /// share one coordinate.
    public var x: Double
    /// Which of the rate's fault maps (repeats); only distinguishes maps.
    public var map: Int
    /// Fault-aware retraining amount in training images (0 = FAP alone).
    public var amount: Double
    public var correct: Int
    public var images: Int

    public init(x: Double, map: Int, amount: Double, correct: Int, images: Int) {
        self.x = x
        self.map = map
        self.amount = amount
        self.correct = correct
        self.images = images
    }

    public var accuracy: Double { Double(correct) / Double(images) }
}

/// What the confidence model predicts for a chip at one measured amount.
public struct ConfidencePrediction: Equatable, Sendable {
    /// Predicted mean accuracy of a chip at this coordinate and amount.
    public var meanAccuracy: Double
    /// Predicted probability that the chip's judged accuracy meets the target.
    public var probability: Double
}

/// A chip's budget under the confidence policy.
public struct ConfidenceBudget: Equatable, Sendable {
    /// Index into `ConfidenceModel.amounts` of the least amount whose
    /// probability reaches the confidence; nil = unreached.
    public var amountIndex: Int?
    /// The amount in training images; nil = unreached.
    public var amount: Double?
    /// Prediction at the chosen amount, or, when unreached, at the amount with
    /// the best probability (the first such, if tied).
    public var prediction: ConfidencePrediction
    /// The chip lies above the highest measured coordinate: predicted from the
    /// highest one, which is optimistic.
    public var aboveRange: Bool
    /// Indices into `ConfidenceModel.coordinates` of the measured points the
    /// prediction was interpolated between (equal at or outside the range).
    public var low: Int
    public var high: Int

    public var unreached: Bool { amountIndex == nil }
}

/// Budgets with a stated confidence (docs/reduce.md, "Budgets with a stated
/// confidence"): from the resilience step's validation accuracies of all maps,
/// rates and amounts together, the probability that a chip at coordinate x
/// retrained on amount a meets the accuracy target T when judged on
/// `judgedImages` images; a chip's budget is the least measured amount whose
/// probability is at least the confidence c.
///
/// Per measured amount, on its own (amounts are not assumed to help
/// monotonically; curves dip):
/// - the mean accuracy per measured coordinate is the mean over its maps, made
///   non-increasing in x by weighted isotonic regression (more faults never
///   help; noise otherwise makes the table non-monotone), and interpolated
///   linearly between measured coordinates;
/// - S², the variance of one map's validation accuracy about its rate's mean,
///   is pooled over rates (ν = Σ(K_r − 1) degrees of freedom). It holds both
///   the spread between fault maps and the validation set's binomial noise;
/// - a new chip's judged accuracy is predicted as Student-t with ν degrees of
///   freedom, centre the fitted mean, scale² S²·(1 + 1/K) (the mean's own
///   estimation error with K maps). The validation noise is deliberately not
///   subtracted from S²: with three maps per rate the difference is too
///   uncertain (often negative) and a floor at zero undercovers. Keeping it
///   is conservative as long as the judging set is at least as large as the
///   validation set; when it is smaller, the missing binomial variance is added
///   (taken at the amount's fitted mean nearest 1/2, so it does not depend on x).
public struct ConfidenceModel: Sendable {
    public let target: Double
    public let confidence: Double
    /// Size of the set the chip's final accuracy is judged on (the campaign
    /// judges on the test set, 10,000 images by default).
    public let judgedImages: Int
    /// Measured chip coordinates, increasing.
    public let coordinates: [Double]
    /// Measured amounts in training images, increasing.
    public let amounts: [Double]
    /// fittedMean[a][x]: isotonic mean accuracy at amount a, coordinate x.
    public let fittedMean: [[Double]]
    /// maps[a][x]: maps measured at that cell.
    public let maps: [[Int]]
    /// pooledVariance[a]: S² at amount a; degreesOfFreedom[a]: its ν.
    public let pooledVariance: [Double]
    public let degreesOfFreedom: [Int]
    /// validationVariance[a]: mean binomial variance p(1 − p)/n of one
    /// validation measurement at amount a (pooled like S²).
    public let validationVariance: [Double]

    /// Fits the model. Errors are one line and name `source` (the file the
    /// observations came from) or the flag.
    public init(observations: [AccuracyObservation], target: Double, confidence: Double, judgedImages: Int = 10_000,
                source: String = "resilience table") throws {
        guard confidence > 0, confidence < 1 else {
            throw FapsimError.invalid(file: nil, field: "--confidence", expected: "a probability strictly between 0 and 1 (e.g. 0.9)", got: "\(confidence)")
        }
        guard target > 0, target <= 1 else {
            throw FapsimError.invalid(file: nil, field: "--target", expected: "an accuracy fraction in (0, 1]", got: "\(target)")
        }
        guard judgedImages > 0 else {
            throw FapsimError.invalid(file: nil, field: "judged images", expected: "a positive image count", got: "\(judgedImages)")
        }
        guard !observations.isEmpty else {
            throw FapsimError("\(source): no validation accuracies: the confidence policy needs the resilience step's per-map accuracies")
        }
        for (i, o) in observations.enumerated() {
            guard o.x.isFinite, o.amount.isFinite, o.amount >= 0, o.images > 0, o.correct >= 0, o.correct <= o.images else {
                throw FapsimError.invalid(file: source, field: "observation \(i)", expected: "finite coordinate and amount >= 0, 0 <= correct <= images, images > 0",
                                          got: "x \(o.x), amount \(o.amount), \(o.correct)/\(o.images)")
            }
        }
        let xs = Array(Set(observations.map(\.x))).sorted(), amounts = Array(Set(observations.map(\.amount))).sorted()
        var cells = [[[AccuracyObservation]]](repeating: [[AccuracyObservation]](repeating: [], count: xs.count), count: amounts.count)
        let xIndex = Dictionary(uniqueKeysWithValues: xs.enumerated().map { ($1, $0) })
        let aIndex = Dictionary(uniqueKeysWithValues: amounts.enumerated().map { ($1, $0) })
        for o in observations { cells[aIndex[o.amount]!][xIndex[o.x]!].append(o) }

        var fitted: [[Double]] = [], maps: [[Int]] = [], pooled: [Double] = [], dfs: [Int] = [], validation: [Double] = []
        for (a, row) in cells.enumerated() {
            if let x = row.firstIndex(where: \.isEmpty) {
                throw FapsimError("\(source): no validation accuracy at coordinate \(xs[x]), amount \(amounts[a]) images: the confidence model needs every measured rate at every amount")
            }
            let means = row.map { c in c.map(\.accuracy).reduce(0, +) / Double(c.count) }
            var ss = 0.0, df = 0, binomial = 0.0
            for (c, m) in zip(row, means) {
                ss += c.map { ($0.accuracy - m) * ($0.accuracy - m) }.reduce(0, +)
                df += c.count - 1
                binomial += c.map { m * (1 - m) / Double($0.images) }.reduce(0, +) * Double(c.count - 1) / Double(c.count)
            }
            guard df >= 1 else {
                throw FapsimError("\(source): one fault map per rate: the confidence policy needs at least 2 maps (repeats) at some rate to estimate the spread between maps; redo Step 1 with --repeats 3 or more")
            }
            fitted.append(Self.nonIncreasing(means, weights: row.map { Double($0.count) }))
            maps.append(row.map(\.count))
            pooled.append(ss / Double(df))
            dfs.append(df)
            validation.append(binomial / Double(df))
        }
        self.target = target
        self.confidence = confidence
        self.judgedImages = judgedImages
        self.coordinates = xs
        self.amounts = amounts
        self.fittedMean = fitted
        self.maps = maps
        self.pooledVariance = pooled
        self.degreesOfFreedom = dfs
        self.validationVariance = validation
    }

    /// The bracketing measured coordinates of `x` and the interpolation weight
    /// of the upper one; below the range the lowest coordinate (more faults
    /// never help, so this is conservative), above it the highest (flagged).
    func bracket(_ x: Double) -> (low: Int, high: Int, weight: Double, above: Bool) {
        guard let hi = coordinates.firstIndex(where: { $0 >= x }) else {
            return (coordinates.count - 1, coordinates.count - 1, 0, true)
        }
        guard hi > 0, coordinates[hi] != x else { return (hi, hi, 0, false) }
        let lo = hi - 1
        return (lo, hi, (x - coordinates[lo]) / (coordinates[hi] - coordinates[lo]), false)
    }

    /// The judged accuracy a chip must reach, corrected for continuity: the
    /// judged count is an integer, so "accuracy >= T" is "count >= k", and
    /// the normal approximation of a count puts that boundary at k - 1/2.
    var judgedThreshold: Double {
        let n = Double(judgedImages)
        let k = (target * n - 1e-9).rounded(.up)
        return (k - 0.5) / n
    }

    /// Mean accuracy and probability of meeting the target for a chip at
    /// coordinate `x` retrained on `amounts[a]`.
    public func predict(x: Double, amount a: Int) -> ConfidencePrediction {
        let b = bracket(x)
        let w = b.weight
        // Written as a step from the lower point so that equal (pooled) ends
        // give exactly their value and the mean never rises with x.
        let mean = fittedMean[a][b.low] + w * (fittedMean[a][b.high] - fittedMean[a][b.low])
        let s2 = pooledVariance[a]
        // Estimation variance of the mean, in units of one map's variance: that
        // of the end with fewer maps. (The interpolated mean's own variance is
        // smaller between the ends, which would make the probability rise
        // with the rate there; the bound keeps it monotone and conservative.)
        let meanShare = 1 / Double(min(maps[a][b.low], maps[a][b.high]))
        // The judging set's binomial variance at the fitted mean nearest 1/2
        // over the measured rates: the same for every x, so the probability
        // never rises with the rate, and never below the chip's own.
        let judging = fittedMean[a].map { $0 * (1 - $0) }.max()! / Double(judgedImages)
        let variance = s2 * (1 + meanShare) + max(0, judging - validationVariance[a])
        let margin = mean - judgedThreshold
        let p: Double
        if variance <= 0 {
            p = margin >= 0 ? 1 : 0
        } else {
            p = StudentT.cdf(margin / variance.squareRoot(), degreesOfFreedom: Double(degreesOfFreedom[a]))
        }
        return ConfidencePrediction(meanAccuracy: mean, probability: p)
    }

    /// The least measured amount whose probability reaches the confidence.
    /// Every amount is judged on its own: a later amount that dips below the
    /// confidence never moves a chip past an earlier one that reached it.
    public func budget(x: Double) -> ConfidenceBudget {
        let b = bracket(x)
        var best: (index: Int, prediction: ConfidencePrediction)?
        for a in amounts.indices {
            let p = predict(x: x, amount: a)
            if p.probability >= confidence {
                return ConfidenceBudget(amountIndex: a, amount: amounts[a], prediction: p, aboveRange: b.above, low: b.low, high: b.high)
            }
            if best == nil || p.probability > best!.prediction.probability { best = (a, p) }
        }
        return ConfidenceBudget(amountIndex: nil, amount: nil, prediction: best!.prediction, aboveRange: b.above, low: b.low, high: b.high)
    }

    /// Weighted isotonic regression onto non-increasing sequences
    /// (pool-adjacent-violators): the least-squares fit, with `weights`, among
    /// sequences that never rise.
    static func nonIncreasing(_ y: [Double], weights: [Double]) -> [Double] {
        var blocks: [(mean: Double, weight: Double, count: Int)] = []
        for (v, w) in zip(y, weights) {
            blocks.append((v, w, 1))
            while blocks.count > 1, blocks[blocks.count - 2].mean < blocks[blocks.count - 1].mean {
                let b = blocks.removeLast(), a = blocks.removeLast()
                let weight = a.weight + b.weight
                blocks.append(((a.mean * a.weight + b.mean * b.weight) / weight, weight, a.count + b.count))
            }
        }
        return blocks.flatMap { [Double](repeating: $0.mean, count: $0.count) }
    }
}

/// Student's t distribution (the predictive distribution of a new draw when
/// mean and variance are estimated from a few samples).
enum StudentT {
    /// P(T <= t) for T ~ t with `degreesOfFreedom` (> 0).
    static func cdf(_ t: Double, degreesOfFreedom nu: Double) -> Double {
        let tail = 0.5 * regularizedIncompleteBeta(nu / (nu + t * t), a: nu / 2, b: 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// I_x(a, b) by the continued fraction of Numerical Recipes (modified
    /// Lentz), using the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where it converges faster.
    static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logBeta: Double = lgamma(a) + lgamma(b) - lgamma(a + b)
        let logPower: Double = a * log(x) + b * log(1 - x)
        let front = exp(logPower - logBeta)
        if x < (a + 1) / (a + b + 2) { return front * continuedFraction(x, a: a, b: b) / a }
        return 1 - front * continuedFraction(1 - x, a: b, b: a) / b
    }

    private static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...300 {
            let m = Double(m), m2 = 2 * m
            var aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return h
    }
}
