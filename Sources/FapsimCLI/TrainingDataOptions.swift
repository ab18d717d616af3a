import ArgumentParser
import FapsimSupport
import Network

extension HeldOutSplits.ValidationSource: ExpressibleByArgument {}

extension ConvAlgorithm: ExpressibleByArgument {
    static let help = "How the 3x3 convolutions are computed: winograd (F(2x2,3x3), 2.25x fewer multiplies; default) or gemm (im2col + GEMM, the path proven equal to the array). They agree to about 1e-6 relative; a checkpoint resumes only under the algorithm it was started with."
}

/// What every training command (train, fat, resilience, reduce) needs besides
/// its own settings: where CIFAR-10 is, how much of it is used, and how the
/// 3x3 convolutions are computed.
struct TrainingDataOptions: ParsableArguments {
    @Option(help: "CIFAR-10 binary directory (default: $FAPSIM_CIFAR_DIR, else ../shared/datasets/cifar-10-batches-bin if present, else the `fapsim data fetch` cache).")
    var data: String?

    @Option(name: .customLong("train-subset"),
            help: "Train on the first N training images (default: all; fapsim reduce: the resilience file's).")
    var trainSubset: Int?

    @Option(name: .customLong("test-subset"),
            help: "Measure accuracy on the first N test images (default: all; fapsim reduce: the resilience file's).")
    var testSubset: Int?

    @Option(help: ArgumentHelp("Hold out the last N of the 50,000 training images (never trained on) and measure the accuracy curves on them instead of the test set (default: no validation split; fapsim reduce: the resilience file's). Training then uses the first --train-subset images, by default all the others; --train-subset + N must not exceed 50,000."))
    var validation: Int?

    @Option(name: .customLong("validation-from"), help: ArgumentHelp("Where --validation takes its images: train (the last N training images, default) or test (the first N test images; the final accuracy is then measured on the test images after them, the first --test-subset of those). test is for weights pre-trained on all 50,000 training images, for which a training-set split is no held-out data (fapsim reduce: the resilience file's)."))
    var validationFrom: HeldOutSplits.ValidationSource?

    @Option(name: .customLong("conv-algorithm"), help: ArgumentHelp(ConvAlgorithm.help))
    var convAlgorithm: ConvAlgorithm = .winograd

    func validate() throws {
        if let n = trainSubset, n <= 0 { throw ValidationError("--train-subset: expected a positive number of images, got \(n)") }
        if let n = testSubset, n <= 0 { throw ValidationError("--test-subset: expected a positive number of images, got \(n)") }
        // One place for the split checks (overlap, size): HeldOutSplits.
        // (fapsim reduce takes --validation from the resilience file: --validation-from alone is checked there.)
        if validationFrom != nil && validation == nil { return }
        do { _ = try splits() } catch let e as FapsimError { throw ValidationError(e.message) }
    }

    /// The requested splits, checked.
    func splits(trainSubset defaultTrain: Int? = nil, validation defaultValidation: Int? = nil,
                validationFrom defaultSource: HeldOutSplits.ValidationSource? = nil) throws -> HeldOutSplits {
        try HeldOutSplits(trainSubset: trainSubset ?? defaultTrain, validation: validation ?? defaultValidation, testSubset: testSubset,
                          validationSource: validationFrom ?? defaultSource ?? .train)
    }

    /// The CIFAR-10 directory: --data, else $FAPSIM_CIFAR_DIR, else ../shared, else the fetch cache.
    var directory: String { CIFAR10Set.resolveDirectory(data) }
}
