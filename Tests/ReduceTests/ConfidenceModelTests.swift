import Foundation
import Testing
import FapsimSupport
@testable import Reduce

/// A known truth for the confidence model: mean accuracy mu(x, a) decreasing
/// in the chip's fault rate x, rising in the amount a (in thousands of
/// training images) and dipping at a = 5, a chip's map effect drawn from
/// N(0, sigma²), and binomial measurement noise on the validation and judging
/// sets (drawn in the normal approximation, rounded to whole images). A share
/// `setCorrelation` (ρ) of each set's binomial variance is common to every
/// measurement on that set: one draw per lot for the validation set (all maps,
/// rates and amounts) and one for the judging set (all chips), as when every
/// measurement uses the same images; the rest is drawn per measurement.
struct SyntheticTruth {
    var sigma = 0.01
    var setCorrelation = 0.0
    var validationImages = 2_000
    var judgedImages = 10_000
    var target = 0.80
    var rates: [Double] = [0.05, 0.10, 0.15, 0.20, 0.25, 0.30]
    /// Amounts every 250 images: finer than the curves' rise, so that the
    /// budget's steps do not hide an optimistic model, and many chances for
    /// noise to make an amount look good early.
    var amounts: [Double] = Array(0...32).map { Double($0) * 250 }

    func mu(_ x: Double, _ amount: Double) -> Double {
        let a = amount / 1_000
        return 0.92 - 0.15 * exp(-a / 2) - 0.25 * x - (a >= 5 && a < 6 ? 0.012 : 0)
    }

    /// Correct count out of `n` images for true accuracy `p`.
    /// `shared` is the set's common standard-normal draw, `rho` its share of the variance.
    static func measure(_ p: Double, images n: Int, _ rng: inout SeededRNG, shared: Double = 0, rho: Double = 0) -> Int {
        let q = min(max(p, 0), 1)
        let z = rho.squareRoot() * shared + (1 - rho).squareRoot() * rng.nextGaussian()
        let count = (Double(n) * q + (Double(n) * q * (1 - q)).squareRoot() * z).rounded()
        return Int(min(max(count, 0), Double(n)))
    }

    /// One resilience measurement: K maps per rate, each measured at every amount.
    func resilience(maps k: Int, _ rng: inout SeededRNG, validationShift: Double = 0) -> [AccuracyObservation] {
        var out: [AccuracyObservation] = []
        for x in rates {
            for m in 0..<k {
                let effect = sigma * rng.nextGaussian()
                for a in amounts {
                    out.append(AccuracyObservation(x: x, map: m, amount: a,
                                                   correct: Self.measure(mu(x, a) + effect, images: validationImages, &rng,
                                                                         shared: validationShift, rho: setCorrelation),
                                                   images: validationImages))
                }
            }
        }
        return out
    }

    /// Whether a chip at x with map effect `effect`, retrained on `amount`, meets the target on the judging set.
    func meets(_ x: Double, effect: Double, amount: Double, _ rng: inout SeededRNG, judgingShift: Double = 0) -> Bool {
        let k = Int((target * Double(judgedImages) - 1e-9).rounded(.up))
        return Self.measure(mu(x, amount) + effect, images: judgedImages, &rng, shared: judgingShift, rho: setCorrelation) >= k
    }

    /// The true probability that a chip at x meets the target at `amount` (normal approximation).
    func probability(_ x: Double, amount: Double) -> Double {
        let m = mu(x, amount), n = Double(judgedImages)
        let threshold = ((target * n - 1e-9).rounded(.up) - 0.5) / n
        let sd = (sigma * sigma + m * (1 - m) / n).squareRoot()
        return 0.5 * erfc(-(m - threshold) / sd / 2.0.squareRoot())
    }

    /// The least amount a with true probability >= c: what an oracle would budget.
    func minimalAmount(_ x: Double, confidence c: Double) -> Double? {
        amounts.first { probability(x, amount: $0) >= c }
    }
}

struct CoverageResult {
    var meanShare: Double
    var lots: Int
    var budgetedChips: Int
    var unreachedChips: Int
    var meanBudget: Double
    var meanMinimal: Double
    /// Mean over budgeted chips of the true probability of meeting at the
    /// oracle's amount, and of the model's predicted probability at its own.
    var oracleShare: Double
    var meanPredicted: Double
}

/// Simulates `lots` independent resilience measurements, each followed by a lot
/// of `chips` chips at uniform random rates within the measured range.
func simulateCoverage(_ truth: SyntheticTruth, maps k: Int, confidence c: Double, lots: Int, chips: Int, seed: UInt64) throws -> CoverageResult {
    var rng = SeededRNG(seed: seed)
    var shareSum = 0.0, lotsCounted = 0, budgeted = 0, unreached = 0, budgetSum = 0.0, minimalSum = 0.0
    var oracleSum = 0.0, predictedSum = 0.0
    for _ in 0..<lots {
        // The lot's validation and test sets: their common sampling errors.
        let validationShift = rng.nextGaussian(), judgingShift = rng.nextGaussian()
        let model = try ConfidenceModel(observations: truth.resilience(maps: k, &rng, validationShift: validationShift), target: truth.target,
                                        confidence: c, judgedImages: truth.judgedImages)
        var met = 0, given = 0
        for _ in 0..<chips {
            let x = truth.rates[0] + (truth.rates.last! - truth.rates[0]) * rng.nextUnitDouble()
            let effect = truth.sigma * rng.nextGaussian()
            let b = model.budget(x: x)
            guard let amount = b.amount else { unreached += 1; continue }
            given += 1
            if truth.meets(x, effect: effect, amount: amount, &rng, judgingShift: judgingShift) { met += 1 }
            budgetSum += amount
            let minimal = truth.minimalAmount(x, confidence: c) ?? truth.amounts.last!
            minimalSum += minimal
            oracleSum += truth.probability(x, amount: minimal)
            predictedSum += b.prediction.probability
        }
        budgeted += given
        if given > 0 {
            shareSum += Double(met) / Double(given)
            lotsCounted += 1
        }
    }
    return CoverageResult(meanShare: shareSum / Double(lotsCounted), lots: lotsCounted, budgetedChips: budgeted,
                          unreachedChips: unreached, meanBudget: budgetSum / Double(budgeted),
                          meanMinimal: minimalSum / Double(budgeted), oracleShare: oracleSum / Double(budgeted),
                          meanPredicted: predictedSum / Double(budgeted))
}

/// The synthetic-coverage tests. Each simulated lot has its own resilience
/// measurement (6 rates x K maps x 33 amounts), its own fitted model and 20
/// chips; the claim is that a chip budgeted at confidence c meets the target
/// with probability >= c, averaged over measurements and chips.
///
/// Tolerance: lots are independent, and each lot's share of chips meeting the
/// target is a number in [0, 1] with mean s, so its variance is at most
/// s(1 - s) whatever the correlation between a lot's chips (they share one
/// fitted model). The mean share over L lots therefore has a standard error
/// of at most sqrt(c(1 - c) / L) at s = c; the tests allow three of those,
/// 3 sqrt(0.9 x 0.1 / 600) = 0.037 at c = 0.9 and 0.061 at c = 0.5, a false
/// alarm below 0.2 % each.
///
/// Not wildly conservative: budgets are compared with an oracle that knows
/// the truth and gives each chip the least amount whose true probability is
/// at least c. Amounts are discrete, so even the oracle's chips meet the
/// target more often than c; the model's share may exceed the oracle's by
/// at most 0.05 (its stated conservatism: it keeps the validation noise in
/// the spread) plus three standard errors, and its mean budget may be at
/// most 1.3 times the oracle's (1.23 in the noisiest case, 500 validation images).
struct ConfidenceModelTests {
    static let lots = 600, chips = 20

    static func standardError(_ c: Double) -> Double { (c * (1 - c) / Double(lots)).squareRoot() }

    /// K maps per rate; sigma the spread between maps; n_val validation images.
    /// rho the share of each set's sampling variance common to all its measurements
    /// (0: independent noise per measurement; 0.8: networks that mostly miss the same images).
    static let cases: [(maps: Int, sigma: Double, validation: Int, rho: Double)] =
        [(3, 0.01, 2_000, 0), (5, 0.01, 2_000, 0), (3, 0.015, 500, 0), (3, 0.01, 5_000, 0.8), (3, 0.01, 2_000, 0.8)]

    func check(_ k: Int, sigma: Double, validation: Int, rho: Double, confidence c: Double, seed: UInt64) throws {
        var truth = SyntheticTruth()
        truth.sigma = sigma
        truth.setCorrelation = rho
        truth.validationImages = validation
        let r = try simulateCoverage(truth, maps: k, confidence: c, lots: Self.lots, chips: Self.chips, seed: seed)
        let label = "K = \(k), sigma = \(sigma), n_val = \(validation), rho = \(rho), c = \(c)"
        #expect(r.lots == Self.lots)
        #expect(r.meanShare >= c - 3 * Self.standardError(c), "\(label): share \(r.meanShare) over \(r.budgetedChips) chips")
        #expect(r.meanShare <= r.oracleShare + 0.05 + 3 * Self.standardError(c), "\(label): share \(r.meanShare), oracle \(r.oracleShare)")
        #expect(r.meanBudget <= 1.3 * r.meanMinimal, "\(label): mean budget \(r.meanBudget), oracle \(r.meanMinimal)")
        // The truth reaches the target at every rate: few chips may be unreached.
        #expect(Double(r.unreachedChips) <= 0.01 * Double(Self.lots * Self.chips), "\(label): \(r.unreachedChips) unreached")
        print("coverage \(label): share \(r.meanShare), predicted \(r.meanPredicted), oracle share \(r.oracleShare), mean budget \(r.meanBudget), oracle \(r.meanMinimal), unreached \(r.unreachedChips)")
    }

    @Test(arguments: cases.indices)
    func coverageAtNinetyPercent(_ i: Int) throws {
        let t = Self.cases[i]
        try check(t.maps, sigma: t.sigma, validation: t.validation, rho: t.rho, confidence: 0.9, seed: 0xC0F1_0000 + UInt64(i))
    }

    @Test(arguments: cases.indices)
    func coverageAtFiftyPercent(_ i: Int) throws {
        let t = Self.cases[i]
        try check(t.maps, sigma: t.sigma, validation: t.validation, rho: t.rho, confidence: 0.5, seed: 0xC0F2_0000 + UInt64(i))
    }

    @Test func sameSeedSameResult() throws {
        let a = try simulateCoverage(SyntheticTruth(), maps: 3, confidence: 0.9, lots: 20, chips: 10, seed: 7)
        let b = try simulateCoverage(SyntheticTruth(), maps: 3, confidence: 0.9, lots: 20, chips: 10, seed: 7)
        #expect(a.meanShare == b.meanShare && a.meanBudget == b.meanBudget)
    }
}

/// The model's parts on hand-made numbers.
struct ConfidenceModelPartsTests {
    func obs(_ x: Double, _ map: Int, _ amount: Double, _ correct: Int, n: Int = 1_000) -> AccuracyObservation {
        AccuracyObservation(x: x, map: map, amount: amount, correct: correct, images: n)
    }

    @Test func isotonicRegressionPoolsViolators() {
        #expect(ConfidenceModel.nonIncreasing([0.9, 0.8, 0.85, 0.7], weights: [1, 1, 1, 1]) == [0.9, 0.825, 0.825, 0.7])
        // Weights pull the pooled mean towards the heavier point.
        let w = ConfidenceModel.nonIncreasing([0.8, 0.9], weights: [3, 1])
        #expect(abs(w[0] - 0.825) < 1e-12 && w[0] == w[1])
        #expect(ConfidenceModel.nonIncreasing([0.5, 0.4, 0.3], weights: [1, 1, 1]) == [0.5, 0.4, 0.3])
    }

    @Test func studentTMatchesTables() {
        // t(0.95; 2) = 2.919986, t(0.975; 10) = 2.228139, and t -> normal for large df.
        #expect(abs(StudentT.cdf(2.919986, degreesOfFreedom: 2) - 0.95) < 1e-6)
        #expect(abs(StudentT.cdf(-2.228139, degreesOfFreedom: 10) - 0.025) < 1e-6)
        #expect(abs(StudentT.cdf(1.959964, degreesOfFreedom: 1e6) - 0.975) < 1e-5)
        #expect(StudentT.cdf(0, degreesOfFreedom: 3) == 0.5)
    }

    /// The rate-0.2 maps beat the rate-0.1 maps at amount 0 by noise: the fit
    /// pools them, so the prediction never rises with the rate.
    @Test func predictionsAreMonotoneInTheRate() throws {
        var o: [AccuracyObservation] = []
        for (x, base) in [(0.1, 800), (0.2, 810), (0.3, 760)] {
            for m in 0..<3 { o.append(obs(x, m, 0, base + 5 * m)) }
        }
        // Judged on more images than validated, and on fewer (the added judging variance must not depend on x).
        for judged in [10_000, 200] {
            let model = try ConfidenceModel(observations: o, target: 0.75, confidence: 0.9, judgedImages: judged)
            let xs = stride(from: 0.0, through: 0.35, by: 0.01).map { $0 }
            let means = xs.map { model.predict(x: $0, amount: 0).meanAccuracy }
            let probs = xs.map { model.predict(x: $0, amount: 0).probability }
            #expect(zip(means, means.dropFirst()).allSatisfy { $0 >= $1 })
            #expect(zip(probs, probs.dropFirst()).allSatisfy { $0 >= $1 }, "judged on \(judged): \(probs)")
            #expect(probs.first! > probs.last!)
            #expect(abs(model.fittedMean[0][0] - model.fittedMean[0][1]) < 1e-12)
            #expect(model.budget(x: 0.35).aboveRange && !model.budget(x: 0.3).aboveRange)
        }
    }

    /// A dip at a later amount never pushes a chip past the earlier amount that reached the confidence.
    @Test func aDipDoesNotMoveTheBudget() throws {
        var o: [AccuracyObservation] = []
        for (amount, base) in [(0.0, 700), (1_000.0, 850), (2_000.0, 780), (3_000.0, 860)] {
            for m in 0..<3 { o.append(obs(0.1, m, amount, base + 3 * m)) }
        }
        let b = try ConfidenceModel(observations: o, target: 0.8, confidence: 0.9).budget(x: 0.1)
        #expect(b.amount == 1_000 && b.amountIndex == 1)
        #expect(b.prediction.probability >= 0.9)
        #expect(abs(b.prediction.meanAccuracy - 0.853) < 1e-9)
    }

    @Test func unreachedReportsTheBestProbability() throws {
        var o: [AccuracyObservation] = []
        for (amount, base) in [(0.0, 700), (1_000.0, 790), (2_000.0, 760)] {
            for m in 0..<3 { o.append(obs(0.1, m, amount, base + 10 * m)) }
        }
        let model = try ConfidenceModel(observations: o, target: 0.8, confidence: 0.9)
        let b = model.budget(x: 0.1)
        #expect(b.unreached && b.amount == nil)
        #expect(b.prediction == model.predict(x: 0.1, amount: 1))
        #expect(b.prediction.probability > 0.3 && b.prediction.probability < 0.9)
    }

    @Test func badInputIsOneLineNamingTheFlagOrFile() throws {
        let good = (0..<2).map { obs(0.1, $0, 0, 800) }
        for c in [0.0, 1.0, -0.5, 1.5, .nan] {
            let e = #expect(throws: FapsimError.self) { try ConfidenceModel(observations: good, target: 0.8, confidence: c) }
            #expect(e?.message.contains("--confidence") == true)
        }
        let one = try #require(#expect(throws: FapsimError.self) {
            try ConfidenceModel(observations: [obs(0.1, 0, 0, 800), obs(0.2, 0, 0, 790)], target: 0.8, confidence: 0.9, source: "r.h5")
        })
        #expect(one.message.hasPrefix("r.h5: ") && one.message.contains("2 maps") && !one.message.contains("\n"))
        let missing = try #require(#expect(throws: FapsimError.self) {
            try ConfidenceModel(observations: good + [obs(0.2, 0, 1_000, 800)], target: 0.8, confidence: 0.9, source: "r.h5")
        })
        #expect(missing.message.contains("every measured rate at every amount"))
        #expect(throws: FapsimError.self) { try ConfidenceModel(observations: [], target: 0.8, confidence: 0.9) }
        #expect(throws: FapsimError.self) { try ConfidenceModel(observations: [obs(0.1, 0, 0, 1_200)], target: 0.8, confidence: 0.9) }
    }
}
