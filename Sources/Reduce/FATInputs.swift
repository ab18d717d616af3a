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
    /// Learning rate and schedule, batch, optimizer, augmentation and the
    /// convolution algorithm, all recorded in the run identity.
    public let settings: FATSettings
    /// The mitigation every chip of the run uses (its fault maps vary per unit).
    public var mitigation: Mitigation = .fap

    private var trainSet: CIFAR10Set?
    private var testSet: CIFAR10Set?

    /// Loads and checks the weights (width against `width` when given); the
    /// data is loaded on first use.
    public init(weightsPath: String, width: Double?, dataDir: String, trainSubset: Int?, testSubset: Int?,
                settings: FATSettings = .fatDefaults) throws {
        if let n = trainSubset, n < 1 { throw FapsimError.invalid(file: nil, field: "--train-subset", expected: "a positive number of training images", got: "\(n)") }
        if let n = testSubset, n < 1 { throw FapsimError.invalid(file: nil, field: "--test-subset", expected: "a positive number of test images", got: "\(n)") }
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
        // FAP adds no key, so work directories from before mitigations existed resume.
        var extra: [String: String] = [:]
        if mitigation != .fap { extra["mitigation"] = mitigation.rawValue }
        return settings.identity.merging(extra) { a, _ in a }.merging([
            "weights_checksum": weightsChecksum, "width": WorkDir.text(parameters.spec.width),
            "data_dir": URL(fileURLWithPath: dataDir).standardizedFileURL.lastPathComponent,
            "train_subset": trainSubset.map(String.init) ?? "all", "test_subset": testSubset.map(String.init) ?? "all",
        ]) { a, _ in a }
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

    /// A chip of this run: `faults` under the run's mitigation.
    public func chip(_ faults: FaultMap?) -> ChipDescription {
        FaultAwareMapping.applied(ChipDescription(faults: faults, mitigation: mitigation), parameters: parameters)
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
        let s = try CIFAR10Set.load(directory: dataDir, split: .train, limit: trainSubset)
        trainSet = s
        return s
    }

    public mutating func test() throws -> CIFAR10Set {
        if let testSet { return testSet }
        let s = try CIFAR10Set.load(directory: dataDir, split: .test, limit: testSubset)
        testSet = s
        return s
    }

    /// Fault-free accuracy of the weights on the test subset (what FAT starts from
    /// on a perfect chip), cached in the work directory so a run measures it once.
    public mutating func baseline(work: WorkDir) throws -> Double {
        let name = "baseline.h5"
        if let f = try work.read(name: name, content: BaselineFile.content), let a = BaselineFile.accuracy(of: f) {
            return a
        }
        let test = try test()
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
    public mutating func fat(chip: ChipDescription, epochs: Int, seed: UInt64, checkpoint: String?,
                             identity: [String: String], progress: ProgressLine?) throws -> [EpochRecord] {
        let train = try train(), test = try test()
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
