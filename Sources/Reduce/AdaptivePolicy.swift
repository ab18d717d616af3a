import Foundation
import FapsimSupport
import Network
import SystolicArray

/// The closed-loop baseline `adaptive`: train, check the validation accuracy
/// every `checkEvery` training images (and before training), stop at the
/// first check that meets the target, else at `cap`. It knows each chip's
/// curve as it goes, so it bounds what any open-loop budget fixed before
/// training can save; what it costs beside the training is its checks
/// (validation images x checks), and its compute is not known in advance.
public struct AdaptiveRule: Equatable, Sendable {
    public var checkEvery: Int
    public var cap: Int
    public var target: Double

    /// One-line errors name the flags (`--check-every`, `--adaptive-cap`).
    public init(checkEvery: Int, cap: Int, target: Double) throws {
        guard checkEvery > 0 else {
            throw FapsimError.invalid(file: nil, field: "--check-every", expected: "a positive number of training images between validation checks", got: "\(checkEvery)")
        }
        guard cap > 0 else {
            throw FapsimError.invalid(file: nil, field: "--adaptive-cap", expected: "a positive number of training images (the most the adaptive policy trains)", got: "\(cap)")
        }
        self.checkEvery = checkEvery
        self.cap = cap
        self.target = target
    }

    /// The amounts checked: 0 (FAP alone), every `checkEvery` images below
    /// the cap, and the cap.
    public var checks: [Int] {
        Array(stride(from: 0, to: cap, by: checkEvery)) + [cap]
    }
}

/// Where the adaptive policy stopped on one chip.
public struct AdaptiveOutcome: Equatable, Sendable {
    /// The stop amount (a check) and what its steps trained.
    public var record: AmountRecord
    /// Validation checks made, the stopping one included.
    public var checks: Int
    public var validationImages: Int
    /// A check met the target (false: stopped at the cap).
    public var met: Bool
    /// Images evaluated by the checks.
    public var evalImages: Int { checks * validationImages }
}

extension FATInputs {
    /// One constant-schedule FAT run on `chip` that gives the test accuracy
    /// at each of `testAmounts` (read off, bit-identical to separate runs of
    /// those amounts) and, under `adaptive`, the adaptive policy's stop and
    /// its test accuracy there. The run ends as soon as every amount is
    /// measured and the adaptive policy has stopped.
    public mutating func measuredRun(chip: ChipDescription, testAmounts: [Int], adaptive: AdaptiveRule?, seed: UInt64,
                                     progress: ProgressLine?) throws -> (test: [Int: AmountRecord], adaptive: AdaptiveOutcome?) {
        let n = try train().count
        let batch = settings.batch
        let testSet = try test()
        // Checks decide on held-out images; the campaign refuses adaptive without a validation split.
        let validation = try curveSet()
        let checks = adaptive?.checks ?? []
        let all = try TrainingAmounts.validate(Array(Set(testAmounts + checks + [0])).sorted())
        let run = try amountRun(chip: chip, amounts: all, seed: seed, evaluation: .test)
        func steps(_ a: Int) -> Int { TrainingAmounts.steps(images: a, trainImages: n, batch: batch) }
        func record(_ a: Int, _ r: EvaluationResult) -> AmountRecord {
            let s = steps(a), trained = TrainingAmounts.imagesTrained(steps: s, trainImages: n, batch: batch)
            return AmountRecord(images: a, steps: s, imagesTrained: trained, epochs: Double(trained) / Double(n),
                                correct: r.correct, evaluated: r.images, parametersDigest: run.trainer.parameters.digest)
        }
        var test: [Int: AmountRecord] = [:]
        var outcome: AdaptiveOutcome?
        var checksDone = 0
        let lastTest = testAmounts.map(steps).max() ?? 0
        try run.trainSteps(Array(Set(all.map(steps))).sorted(), amounts: all, progress: progress) { s in
            var atTest: EvaluationResult?
            func testResult() throws -> EvaluationResult {
                if let atTest { return atTest }
                let r = try run.evaluation(on: testSet)
                atTest = r
                return r
            }
            for a in testAmounts where steps(a) == s { test[a] = record(a, try testResult()) }
            if let rule = adaptive, outcome == nil, let a = checks.first(where: { steps($0) == s }) {
                checksDone += 1
                let v = try run.evaluation(on: validation)
                // The same rule as Step 1's "amount needed": no tolerance on correct / n.
                let met = v.accuracy >= rule.target
                if met || s == steps(rule.cap) {
                    outcome = AdaptiveOutcome(record: record(a, try testResult()), checks: checksDone,
                                              validationImages: validation.count, met: met)
                }
            }
            return s < lastTest || (adaptive != nil && outcome == nil)
        }
        return (test, outcome)
    }
}
