import FapsimSupport

/// Which CIFAR-10 images a FAT run trains on, decides on and reports on.
///
/// Training uses the first `trainImages` training images. With a held-out
/// validation split of N images, those are the LAST N of the 50,000 training
/// images (indices 50,000 - N ..< 50,000, a fixed slice so that every run with
/// the same N holds out the same images), never trained on; the accuracy
/// curves Reduce decides on are measured there. Without one, curves are
/// measured on the test set (fapsim's behaviour before validation splits).
/// The test set is the first `testImages` test images.
///
/// Weights pre-trained on all 50,000 training images (the shared VGG11) have
/// seen every training image, so a validation split taken from the training
/// set is contaminated for them (the shared model scores 95.08% on the last
/// 5,000 training images against 86.70% on the test set). For those the
/// split comes from the test set instead (`ValidationSource.test`): the first
/// N test images decide, and the test images after them judge (the first
/// `testSubset` of those).
public struct HeldOutSplits: Sendable, Equatable {
    /// Where the held-out validation images come from.
    public enum ValidationSource: String, Sendable, Equatable, CaseIterable {
        /// The last N training images (never trained on).
        case train
        /// The first N test images; the judging images are the test images after them.
        case test
    }

    /// Requested training images (nil = all that the validation split leaves).
    public var trainSubset: Int?
    /// Held-out validation images at the end of the training split (nil = none).
    public var validation: Int?
    /// Requested test images (nil = all 10,000, or all after a validation
    /// split taken from the test set).
    public var testSubset: Int?
    public var validationSource: ValidationSource

    /// The test images there are (one batch file of 10,000).
    public static let testImagesTotal = 10_000

    /// Checks the splits; errors are one line naming the flag.
    public init(trainSubset: Int?, validation: Int?, testSubset: Int?, validationSource: ValidationSource = .train) throws {
        let total = CIFAR10Set.trainImagesTotal
        self.validationSource = validationSource
        if validationSource == .test {
            guard let v = validation else {
                throw FapsimError("--validation-from: test needs --validation N (the first N test images decide the budgets)")
            }
            if let n = trainSubset, n < 1 {
                throw FapsimError.invalid(file: nil, field: "--train-subset", expected: "a positive number of training images", got: "\(n)")
            }
            let tests = Self.testImagesTotal
            guard v >= 1 else {
                throw FapsimError.invalid(file: nil, field: "--validation", expected: "a positive number of held-out test images", got: "\(v)")
            }
            guard v < tests else {
                throw FapsimError.invalid(file: nil, field: "--validation", expected: "fewer than the \(tests) test images with --validation-from test (some must be left to judge on)", got: "\(v)")
            }
            if let t = testSubset {
                guard t >= 1 else {
                    throw FapsimError.invalid(file: nil, field: "--test-subset", expected: "a positive number of test images", got: "\(t)")
                }
                guard v + t <= tests else {
                    throw FapsimError("--test-subset: the first \(v) test images are the validation split (--validation-from test) and the judging images follow them; --test-subset \(t) would need \(v + t) test images, expected --validation + --test-subset <= \(tests)")
                }
            }
            self.trainSubset = trainSubset
            self.validation = v
            self.testSubset = testSubset
            return
        }
        if let n = trainSubset, n < 1 {
            throw FapsimError.invalid(file: nil, field: "--train-subset", expected: "a positive number of training images", got: "\(n)")
        }
        if let n = testSubset, n < 1 {
            throw FapsimError.invalid(file: nil, field: "--test-subset", expected: "a positive number of test images", got: "\(n)")
        }
        if let v = validation {
            guard v >= 1 else {
                throw FapsimError.invalid(file: nil, field: "--validation", expected: "a positive number of held-out training images", got: "\(v)")
            }
            guard v < total else {
                throw FapsimError.invalid(file: nil, field: "--validation", expected: "fewer than the \(total) training images (some must be left to train on)", got: "\(v)")
            }
            if let t = trainSubset, t + v > total {
                throw FapsimError("--validation: the last \(v) training images (from index \(total - v)) overlap --train-subset \(t) (the first \(t)); expected --train-subset + --validation <= \(total)")
            }
        }
        self.trainSubset = trainSubset
        self.validation = validation
        self.testSubset = testSubset
    }

    /// Training images used: the requested subset, else all but the validation split.
    public var trainImages: Int {
        let held = validationSource == .train ? validation ?? 0 : 0
        return min(trainSubset ?? CIFAR10Set.trainImagesTotal, CIFAR10Set.trainImagesTotal - held)
    }

    /// Indices of the validation images (into the training split, or into
    /// the test split under `ValidationSource.test`); nil without a split.
    public var validationRange: Range<Int>? {
        guard let v = validation else { return nil }
        return validationSource == .test ? 0..<v : (CIFAR10Set.trainImagesTotal - v)..<CIFAR10Set.trainImagesTotal
    }

    /// Indices into the test split of the judging images: the first
    /// `testSubset` (all without one), after the validation split when it
    /// comes from the test set.
    public var testRange: Range<Int> {
        let first = validationSource == .test ? validation ?? 0 : 0
        return first..<(first + (testSubset ?? Self.testImagesTotal - first))
    }

    /// The validation split's run-identity fields (`validation`,
    /// `validation_first`, `curve_split`, and `validation_source` "test"
    /// when it comes from the test set); none without one, so runs and work
    /// directories from before validation splits keep their identity.
    public var identity: [String: String] {
        guard let r = validationRange else { return [:] }
        var id = ["validation": String(r.count), "validation_first": String(r.lowerBound), "curve_split": curveSplit]
        if validationSource == .test { id["validation_source"] = validationSource.rawValue }
        return id
    }

    /// Where the accuracy curves are measured: "validation" or "test".
    public var curveSplit: String { validation == nil ? "test" : "validation" }

    public func loadTrain(directory: String) throws -> CIFAR10Set {
        try CIFAR10Set.load(directory: directory, split: .train, limit: validation == nil || validationSource == .test ? trainSubset : trainImages)
    }

    public func loadTest(directory: String) throws -> CIFAR10Set {
        validationSource == .test ? try CIFAR10Set.load(directory: directory, split: .test, range: testRange)
            : try CIFAR10Set.load(directory: directory, split: .test, limit: testSubset)
    }

    /// The validation images; nil without a split.
    public func loadValidation(directory: String) throws -> CIFAR10Set? {
        try validationRange.map { try CIFAR10Set.load(directory: directory, split: validationSource == .test ? .test : .train, range: $0) }
    }
}
