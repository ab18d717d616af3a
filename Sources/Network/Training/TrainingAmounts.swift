import Foundation
import FapsimStore
import FapsimSupport

/// Retraining amounts in training images, finer than an epoch.
///
/// An amount of A images on a training subset of N images with batch B maps
/// to optimizer steps in the epoch structure every run follows (each epoch
/// one seeded pass over the N images, `ceil(N / B)` steps, the last one
/// partial when B does not divide N):
///
///     steps(A) = (A / N) * ceil(N / B) + ceil((A mod N) / B)
///
/// So an amount is rounded up to whole batches, and the images actually
/// trained are those of its steps: `imagesTrained(s) = (s / S) * N +
/// min((s mod S) * B, N)` for S = ceil(N / B) (a partial last batch counts its
/// real images). A whole number of epochs is E x N images, exactly as many
/// steps as an E-epoch run. Because a run's first s steps do not depend on how
/// long it goes on under a constant learning rate, the accuracy after A
/// images read off a longer run equals a run of exactly A images, bit for bit.
public enum TrainingAmounts {
    /// Optimizer steps that train `images` images (rounded up to whole batches).
    public static func steps(images: Int, trainImages n: Int, batch: Int) -> Int {
        precondition(images >= 0 && n > 0 && batch > 0)
        let perEpoch = (n + batch - 1) / batch
        let rest = images % n
        return (images / n) * perEpoch + (rest + batch - 1) / batch
    }

    /// Images the first `steps` steps go through.
    public static func imagesTrained(steps: Int, trainImages n: Int, batch: Int) -> Int {
        precondition(steps >= 0 && n > 0 && batch > 0)
        let perEpoch = (n + batch - 1) / batch
        return (steps / perEpoch) * n + min((steps % perEpoch) * batch, n)
    }

    /// "0,500,1000" -> [0, 500, 1000], checked: image counts >= 0, strictly
    /// increasing, at least one. A schedule not starting at 0 gets 0 (FAP
    /// alone) put in front. Errors are one line naming `option`.
    public static func parse(_ text: String, option: String = "--amounts") throws -> [Int] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var out: [Int] = []
        for s in items {
            guard let v = Int(s), v >= 0 else {
                throw FapsimError.invalid(file: nil, field: option, expected: "comma-separated training-image counts >= 0 (e.g. 0,500,1000,5000)", got: "\"\(s)\" in \"\(text)\"")
            }
            out.append(v)
        }
        return try validate(out, option: option)
    }

    /// The checks of `parse` on a list; returns it with 0 in front if missing.
    public static func validate(_ amounts: [Int], option: String = "--amounts") throws -> [Int] {
        guard !amounts.isEmpty else { throw FapsimError("\(option): expected at least one amount of training images, got an empty list") }
        for (i, a) in amounts.enumerated() {
            guard a >= 0 else { throw FapsimError.invalid(file: nil, field: option, expected: "training-image counts >= 0", got: "\(a)") }
            if i > 0 && !(a > amounts[i - 1]) {
                throw FapsimError.invalid(file: nil, field: option, expected: "strictly increasing amounts of training images", got: "\(amounts[i - 1]) then \(a)")
            }
        }
        return amounts[0] == 0 ? amounts : [0] + amounts
    }
}

/// The accuracy of a run after one amount of training.
public struct AmountRecord: Sendable, Equatable {
    /// The amount asked for, in training images.
    public var images: Int
    /// Optimizer steps taken (`TrainingAmounts.steps`).
    public var steps: Int
    /// Images those steps went through (>= `images`, by less than a batch).
    public var imagesTrained: Int
    /// `imagesTrained` in epochs of the training subset.
    public var epochs: Double
    /// Correct of `evaluated` images of the run's evaluation set.
    public var correct: Int
    public var evaluated: Int
    /// `VGG11Parameters.digest` of the weights measured: equal digests at
    /// one amount show two runs reached the same network bit for bit.
    public var parametersDigest: String
    public var accuracy: Double { evaluated == 0 ? 0 : Double(correct) / Double(evaluated) }

    public init(images: Int, steps: Int, imagesTrained: Int, epochs: Double, correct: Int, evaluated: Int, parametersDigest: String) {
        self.parametersDigest = parametersDigest
        self.images = images
        self.steps = steps
        self.imagesTrained = imagesTrained
        self.epochs = epochs
        self.correct = correct
        self.evaluated = evaluated
    }
}

extension TrainingRun {
    /// The epochs a run of `amounts` needs in its settings: enough whole or
    /// partial epochs for the largest amount.
    public static func epochs(for amounts: [Int], trainImages n: Int) -> Int {
        let top = amounts.max() ?? 0
        return n == 0 ? 0 : (top + n - 1) / n
    }

    /// Trains up to the largest of `amounts` (sorted, strictly increasing
    /// training-image counts) from the run's current state, which must be the
    /// start (nothing trained yet), and measures the evaluation set after each
    /// amount: epoch boundaries are crossed with the usual seeded per-epoch
    /// order and augmentation, and a last partial epoch stops after the
    /// amount's step (the run is then `truncated`). The settings' epochs must
    /// be `TrainingRun.epochs(for:trainImages:)` so the learning-rate schedule
    /// sees the run's length. No checkpoint is written: a run measured inside
    /// epochs restarts from the beginning after a kill.
    public func trainAmounts(_ amounts: [Int], progress: ProgressLine? = nil) throws -> [AmountRecord] {
        let amounts = try TrainingAmounts.validate(amounts)
        let n = train.count, b = settings.batch
        let steps = amounts.map { TrainingAmounts.steps(images: $0, trainImages: n, batch: b) }
        // Correct of evaluated images after each step count measured.
        var byStep: [Int: (correct: Int, images: Int, digest: String)] = [:]
        try trainSteps(steps, amounts: amounts, progress: progress) { s in
            let r = try self.evaluation()
            byStep[s] = (r.correct, r.images, self.trainer.parameters.digest)
            return true
        }
        return zip(amounts, steps).map { a, s in
            let r = byStep[s]!
            let trained = TrainingAmounts.imagesTrained(steps: s, trainImages: n, batch: b)
            return AmountRecord(images: a, steps: s, imagesTrained: trained, epochs: Double(trained) / Double(n),
                                correct: r.correct, evaluated: r.images, parametersDigest: r.digest)
        }
    }

    /// The training loop of `trainAmounts`: trains from the start up to the
    /// largest of `steps` (sorted step counts, 0 first) and calls `measure`
    /// with each distinct step count once the weights are there, so a caller
    /// can measure what it needs at each (the campaign: validation checks at
    /// some amounts, test accuracy at others); `measure` returning false ends
    /// the run there (a closed-loop stop). `amounts` (the images asked for)
    /// only size the learning-rate schedule's run, which must be
    /// `TrainingRun.epochs(for:trainImages:)` long.
    public func trainSteps(_ steps: [Int], amounts: [Int], progress: ProgressLine? = nil,
                           measure: (Int) throws -> Bool) throws {
        precondition(history.count <= 1, "trainAmounts starts from an untrained run")
        precondition(settings.epochs == Self.epochs(for: amounts, trainImages: train.count), "settings.epochs must fit the amounts")
        precondition(steps.first == 0 && zip(steps, steps.dropFirst()).allSatisfy { $0 <= $1 }, "steps sorted, from 0")
        try start()
        guard try measure(0) else { return }
        let last = steps.last ?? 0
        var epoch = 1
        var going = true
        while going && (epoch - 1) * stepsPerEpoch < last {
            let first = (epoch - 1) * stepsPerEpoch
            let inEpoch = Set(steps.filter { $0 > first && $0 <= first + stepsPerEpoch }.map { $0 - first })
            let stop = min(last - first, stepsPerEpoch)
            // Evaluating does not touch the training state, so measuring more
            // often trains bit for bit the same.
            let record = try trainEpoch(progress: progress, evaluateAfter: [], stopAfterSteps: stop, atStep: { s in
                guard inEpoch.contains(s) && s < self.stepsPerEpoch else { return true }
                going = try measure(first + s)
                return going
            })
            if record != nil, inEpoch.contains(stepsPerEpoch) { going = try measure(first + stepsPerEpoch) }
            epoch += 1
        }
    }
}

extension AmountsTable {
    /// The store's `amounts` table of a run's measured amounts (`fapsim fat
    /// --amounts`, the units of `fapsim resilience --amounts`).
    public init(_ records: [AmountRecord]) {
        self.init(images: records.map { Int64($0.images) }, steps: records.map { Int64($0.steps) },
                  imagesTrained: records.map { Int64($0.imagesTrained) }, epochs: records.map(\.epochs),
                  correct: records.map { Int64($0.correct) }, evaluated: records.map { Int64($0.evaluated) })
    }
}

extension VGG11Parameters {
    /// FNV-1a 64 over every tensor's bits in a fixed (sorted-name) order: the
    /// weights, biases and BN parameters and running statistics.
    public var digest: String {
        var h = FNV1a64()
        for name in gemm.keys.sorted() {
            h.update(string: name)
            h.update(array: gemm[name]!.weight)
            h.update(array: gemm[name]!.bias)
        }
        for name in batchNorm.keys.sorted() {
            let b = batchNorm[name]!
            h.update(string: name)
            for t in [b.gamma, b.beta, b.runningMean, b.runningVar] { h.update(array: t) }
            h.update(array: [b.batchesTracked])
        }
        return h.hex
    }
}
