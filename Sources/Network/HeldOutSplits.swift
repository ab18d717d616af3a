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
public struct HeldOutSplits: Sendable, Equatable {
    /// Requested training images (nil = all that the validation split leaves).
    public var trainSubset: Int?
    /// Held-out validation images at the end of the training split (nil = none).
    public var validation: Int?
    /// Requested test images (nil = all 10,000).
    public var testSubset: Int?

    /// Checks the splits; errors are one line naming the flag.
    public init(trainSubset: Int?, validation: Int?, testSubset: Int?) throws {
        let total = CIFAR10Set.trainImagesTotal
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
        min(trainSubset ?? CIFAR10Set.trainImagesTotal, CIFAR10Set.trainImagesTotal - (validation ?? 0))
    }

    /// Indices (into the training split) of the validation images; nil without a split.
    public var validationRange: Range<Int>? {
        validation.map { (CIFAR10Set.trainImagesTotal - $0)..<CIFAR10Set.trainImagesTotal }
    }

    /// The validation split's run-identity fields (`validation`,
    /// `validation_first`, `curve_split`); none without one, so runs and work
    /// directories from before validation splits keep their identity.
    public var identity: [String: String] {
        guard let r = validationRange else { return [:] }
        return ["validation": String(r.count), "validation_first": String(r.lowerBound), "curve_split": curveSplit]
    }

    /// Where the accuracy curves are measured: "validation" or "test".
    public var curveSplit: String { validation == nil ? "test" : "validation" }

    public func loadTrain(directory: String) throws -> CIFAR10Set {
        try CIFAR10Set.load(directory: directory, split: .train, limit: validation == nil ? trainSubset : trainImages)
    }

    public func loadTest(directory: String) throws -> CIFAR10Set {
        try CIFAR10Set.load(directory: directory, split: .test, limit: testSubset)
    }

    /// The validation images; nil without a split.
    public func loadValidation(directory: String) throws -> CIFAR10Set? {
        try validationRange.map { try CIFAR10Set.load(directory: directory, split: .train, range: $0) }
    }
}
