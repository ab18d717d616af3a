import Foundation
import FapsimStore
import FapsimSupport
import Network
import SystolicArray

/// What decides a FAT run besides the fault map, the epochs and the seed: the
/// starting weights, the data subsets and the hyper-parameters
/// (`FATSettings`). Shared by Step 1 (`ResilienceSweep`) and Step 3
/// (`Campaign`).
public struct FATInputs {
    public let weightsPath: String
    public let weights: WeightsFile
    public let parameters: VGG11Parameters
    public let weightsChecksum: String
    public let dataDir: String
    /// Requested subsets (nil = the whole split).
    public let trainSubset: Int?
    public let testSubset: Int?
    /// Held-out validation images, the last N of the training split (nil =
    /// none: curves are measured on the test set, as before validation splits).
    public let validation: Int?
    /// The three splits, checked (`HeldOutSplits`).
    public let splits: HeldOutSplits
    /// Learning rate and schedule, batch, optimizer, augmentation and the
    /// convolution algorithm, all recorded in the run identity.
    public let settings: FATSettings
    /// The mitigation every chip of the run uses (its fault maps vary per unit).
    public var mitigation: Mitigation = .fap
    /// The spare PEs of the run's array (its config's), which `Mitigation.spares` repairs with.
    public var spares: SpareLayout?

    private var trainSet: CIFAR10Set?
    private var testSet: CIFAR10Set?
    private var validationSet: CIFAR10Set?

    /// Loads and checks the weights (width against `width` when given); the
    /// data is loaded on first use.
    public init(weightsPath: String, width: Double?, dataDir: String, trainSubset: Int?, testSubset: Int?,
                validation: Int? = nil, validationSource: HeldOutSplits.ValidationSource = .train,
                settings: FATSettings = .fatDefaults) throws {
        splits = try HeldOutSplits(trainSubset: trainSubset, validation: validation, testSubset: testSubset,
                                   validationSource: validationSource)
        self.validation = validation
        self.weightsPath = weightsPath
        weights = try WeightsFile.read(path: weightsPath)
        parameters = try VGG11Parameters.load(weights, path: weightsPath, width: width)
        weightsChecksum = weights.checksum
        self.dataDir = dataDir
        self.trainSubset = trainSubset
        self.testSubset = testSubset
        self.settings = settings
    }

    /// The identity fields every unit of a run shares. For FAT's default
    /// settings the keys and values are those of earlier fapsim versions, so
    /// their work directories still resume.
    public var identity: [String: String] {
        var inputs: [String: String] = [
            "weights_checksum": weightsChecksum, "width": WorkDir.text(parameters.spec.width),
            "data_dir": URL(fileURLWithPath: dataDir).standardizedFileURL.lastPathComponent,
            "train_subset": trainSubset.map(String.init) ?? "all", "test_subset": testSubset.map(String.init) ?? "all",
        ]
        inputs.merge(splitIdentity) { a, _ in a }
        // FAP adds no key, so work directories from before mitigations existed resume.
        if mitigation != .fap { inputs["mitigation"] = mitigation.rawValue }
        return settings.identity.merging(inputs) { a, _ in a }
    }

    /// The validation split's identity fields; none without one, so the work
    /// directories of runs before validation splits still resume.
    public var splitIdentity: [String: String] { splits.identity }

    /// The splits as root attributes of a results file: `curve_split` (where
    /// accuracy curves were measured: "validation" or "test"), and with a
    /// validation split `validation_subset` (its size) and `validation_first`
    /// (the index of its first image), and with a split from the test set
    /// `validation_source` "test" and `test_first` (the index of the first
    /// judging image, after the split).
    public var splitAttributes: [String: AttributeValue] {
        var a: [String: AttributeValue] = ["curve_split": .string(splits.curveSplit)]
        if let r = splits.validationRange {
            a["validation_subset"] = .int(Int64(r.count))
            a["validation_first"] = .int(Int64(r.lowerBound))
            if splits.validationSource == .test {
                a["validation_source"] = .string(splits.validationSource.rawValue)
                a["test_first"] = .int(Int64(splits.testRange.lowerBound))
            }
        }
        return a
    }
    /// The hyper-parameters as the root attributes of a final results file
    /// (resilience, campaign): lr, schedule, batch and conv_algorithm as
    /// always, and momentum, weight_decay, nesterov and augment, which `fapsim
    /// reduce` takes over from the resilience file when not given.
    public var settingsAttributes: [String: AttributeValue] {
        [
            "lr": .double(settings.lr), "schedule": .string(settings.scheduleName),
            "conv_algorithm": .string(settings.convolution.rawValue), "batch": .int(Int64(settings.batch)),
            "momentum": .double(Double(settings.momentum)), "weight_decay": .double(Double(settings.weightDecay)),
            "nesterov": .int(settings.nesterov ? 1 : 0), "augment": .int(settings.augment ? 1 : 0),
            "mitigation": .string(mitigation.rawValue),
        ]
    }

    /// The mitigation a results file records (files of earlier versions, which
    /// record none, were made under FAP).
    public static func recordedMitigation(_ attributes: [String: AttributeValue], source: String) throws -> Mitigation {
        guard let value = attributes["mitigation"] else { return .fap }
        guard case .string(let text) = value else {
            throw FapsimError.invalid(file: source, field: "attribute mitigation", expected: "a string (\(Mitigation.choices))", got: "\(value)")
        }
        return try Mitigation.parse(text, field: "\(source): attribute mitigation")
    }

    /// A chip of this run: `faults` under the run's mitigation (throws, in one
    /// line, for a chip the mitigation cannot use: rowcol with every PE faulty).
    public func chip(_ faults: FaultMap?) throws -> ChipDescription {
        let chip = ChipDescription(faults: faults, mitigation: mitigation, spares: spares)
        try chip.checkUsable()
        return FaultAwareMapping.applied(chip, parameters: parameters)
    }

    /// The settings a results file records (`settingsAttributes`) over
    /// `defaults` for those it lacks (files of earlier versions record only
    /// lr, schedule and batch, and were made with FAT's fixed optimizer).
    public static func recordedSettings(_ attributes: [String: AttributeValue], defaults: FATSettings = .fatDefaults,
                                        source: String) throws -> FATSettings {
        func int(_ k: String) -> Int? { if case .int(let v)? = attributes[k] { return Int(v) }; return nil }
        func double(_ k: String) -> Double? { if case .double(let v)? = attributes[k] { return v }; return nil }
        func string(_ k: String) -> String? { if case .string(let v)? = attributes[k] { return v }; return nil }
        do {
            return try FATSettings(lr: double("lr") ?? defaults.lr, scheduleName: string("schedule") ?? defaults.scheduleName,
                                   batch: int("batch") ?? defaults.batch,
                                   momentum: double("momentum").map { Float($0) } ?? defaults.momentum,
                                   weightDecay: double("weight_decay").map { Float($0) } ?? defaults.weightDecay,
                                   nesterov: int("nesterov").map { $0 != 0 } ?? defaults.nesterov,
                                   augment: int("augment").map { $0 != 0 } ?? defaults.augment,
                                   convolution: defaults.convolution)
        } catch let e as FapsimError {
            throw FapsimError("\(source): recorded FAT settings: \(e.message)")
        }
    }

    public mutating func train() throws -> CIFAR10Set {
        if let trainSet { return trainSet }
        let s = try splits.loadTrain(directory: dataDir)
        trainSet = s
        return s
    }

    public mutating func test() throws -> CIFAR10Set {
        if let testSet { return testSet }
        let s = try splits.loadTest(directory: dataDir)
        testSet = s
        return s
    }

    /// The held-out validation images, or nil without a validation split.
    public mutating func validationImages() throws -> CIFAR10Set? {
        if let validationSet { return validationSet }
        let s = try splits.loadValidation(directory: dataDir)
        validationSet = s
        return s
    }

    /// Where a run's decisions are measured: the validation split when there
    /// is one, else the test set.
    public mutating func curveSet() throws -> CIFAR10Set {
        try validationImages() ?? test()
    }

    /// Which images a FAT run's accuracy is measured on.
    public enum Evaluation: Sendable {
        /// The curve set (validation when there is one): what budgets decide on.
        case curves
        /// The test set: a campaign's reported final accuracy.
        case test
    }

    /// Fault-free accuracy of the weights on the curve set (validation when
    /// there is one, else the test subset: what FAT starts from on a perfect
    /// chip, and what targets are checked against), cached in the work
    /// directory so a run measures it once.
    public mutating func baseline(work: WorkDir) throws -> Double {
        let parameters = parameters
        return try Self.cachedBaseline(parameters, work: work, name: "baseline.h5") { try curveSet() }
    }

    /// Fault-free accuracy of the weights on the test images (the judging
    /// set of a campaign), cached in the work directory as
    /// `test-baseline.h5`: what a constraint below the baseline judges
    /// chips against. Never a budget's input.
    public mutating func testBaseline(work: WorkDir) throws -> Double {
        let parameters = parameters
        return try Self.cachedBaseline(parameters, work: work, name: "test-baseline.h5") { try test() }
    }

    /// The data is loaded only when the cache misses.
    static func cachedBaseline(_ parameters: VGG11Parameters, work: WorkDir, name: String,
                                       data: () throws -> CIFAR10Set) throws -> Double {
        if let f = try work.read(name: name, content: BaselineFile.content), let a = BaselineFile.accuracy(of: f) {
            return a
        }
        let test = try data()
        let net = VGG11Network(parameters: parameters, engine: FunctionalEngine(faults: nil))
        let r = try Evaluator.evaluate(network: net, data: test, batch: 250)
        try work.create()
        try work.write(BaselineFile(accuracy: r.accuracy, correct: r.correct, images: r.images).resultsFile(), name: name)
        return r.accuracy
    }

    /// Trains `epochs` FAT epochs on `chip` from the starting weights and
    /// returns the history (epoch 0 = FAP alone), through the epoch loop of
    /// every training command (`TrainingRun.execute`). After every epoch the
    /// run's state goes to `checkpoint` (atomically); an existing checkpoint of
    /// the same run is resumed, so a kill loses at most the epoch in progress.
    /// `progress` (shared by the units of a run) advances by images trained,
    /// the resumed epochs included.
    /// FAT on `chip` up to the largest of `amounts` (training images,
    /// `TrainingRun.trainAmounts`), measuring after each amount on the
    /// `evaluation` set, with the whole epochs' history (epoch 0 = FAP
    /// alone). Not checkpointed: a kill restarts the run.
    public mutating func fatAmounts(chip: ChipDescription, amounts: [Int], seed: UInt64, progress: ProgressLine?,
                                    evaluation: Evaluation = .curves) throws -> (points: [AmountRecord], history: [EpochRecord]) {
        let run = try amountRun(chip: chip, amounts: amounts, seed: seed, evaluation: evaluation)
        let points = try run.trainAmounts(amounts, progress: progress)
        return (points, run.history)
    }

    /// An untrained FAT run on `chip` long enough for the largest of
    /// `amounts` (training images), measuring on the `evaluation` set.
    public mutating func amountRun(chip: ChipDescription, amounts: [Int], seed: UInt64,
                                   evaluation: Evaluation = .curves) throws -> TrainingRun {
        let train = try train()
        let test = evaluation == .test ? try test() : try curveSet()
        let trainer = VGG11Trainer(parameters: parameters, chip: chip, hyperparameters: settings.hyperparameters)
        let epochs = TrainingRun.epochs(for: amounts, trainImages: train.count)
        return try TrainingRun(trainer: trainer, settings: try settings.training(epochs: epochs, seed: seed),
                               train: train, test: test)
    }

    public mutating func fat(chip: ChipDescription, epochs: Int, seed: UInt64, checkpoint: String?,
                             identity: [String: String], progress: ProgressLine?,
                             evaluation: Evaluation = .curves) throws -> [EpochRecord] {
        let train = try train()
        let test = evaluation == .test ? try test() : try curveSet()
        let trainer = VGG11Trainer(parameters: parameters, chip: chip, hyperparameters: settings.hyperparameters)
        let run = try TrainingRun(trainer: trainer, settings: try settings.training(epochs: epochs, seed: seed),
                                  train: train, test: test)
        try run.execute(checkpoints: checkpoint.map { EpochCheckpoints(path: $0, identity: identity, resume: true) },
                        progress: { _ in progress },
                        events: { event in
                            if case .resumed(_, let done) = event { progress?.advance(by: done * train.count) }
                        })
        return run.history
    }
}
