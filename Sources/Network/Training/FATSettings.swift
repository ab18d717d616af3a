import Foundation
import FapsimSupport

/// The hyper-parameters of a (fault-aware) training run apart from its length
/// and its seed: learning rate and schedule, batch, SGD momentum, weight decay,
/// Nesterov, augmentation and the convolution algorithm. `fapsim fat`,
/// `resilience` and `reduce` (and a campaign) take exactly these; `fapsim
/// train` takes them too, with its own defaults (`trainDefaults`).
///
/// With the starting weights, the fault map, the data, the epochs and the
/// seed, these decide a run's result bit for bit, so every one of them is part
/// of the run identity (`identity`) that checkpoints and unit files carry.
public struct FATSettings: Sendable, Equatable {
    public var lr: Double
    /// `LRSchedule.names`: constant, onecycle, cosine or step.
    public var scheduleName: String
    /// Images per SGD step (>= 2: BatchNorm needs batch statistics).
    public var batch: Int
    public var momentum: Float
    public var weightDecay: Float
    public var nesterov: Bool
    /// Random crop (pad 4) and horizontal flip of the training images.
    public var augment: Bool
    public var convolution: ConvAlgorithm

    /// Checks every value; errors name the command-line option.
    public init(lr: Double = 0.01, scheduleName: String = "constant", batch: Int = 128, momentum: Float = 0.9,
                weightDecay: Float = 5e-4, nesterov: Bool = false, augment: Bool = true,
                convolution: ConvAlgorithm = .winograd) throws {
        guard batch >= 2 else { throw FapsimError("--batch: expected at least 2 images per batch (BatchNorm needs batch statistics), got \(batch)") }
        guard lr.isFinite, lr > 0 else { throw FapsimError("--lr: expected a positive learning rate, got \(lr)") }
        guard LRSchedule.named(scheduleName, lr: lr) != nil else {
            throw FapsimError("--schedule: expected one of \(LRSchedule.names.joined(separator: ", ")), got \(scheduleName)")
        }
        guard momentum.isFinite, momentum >= 0, momentum < 1 else {
            throw FapsimError.invalid(file: nil, field: "--momentum", expected: "an SGD momentum in [0, 1)", got: "\(momentum)")
        }
        guard weightDecay.isFinite, weightDecay >= 0 else {
            throw FapsimError.invalid(file: nil, field: "--weight-decay", expected: "an L2 weight decay >= 0", got: "\(weightDecay)")
        }
        self.lr = lr
        self.scheduleName = scheduleName
        self.batch = batch
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        self.augment = augment
        self.convolution = convolution
    }

    /// FAT's defaults (docs/reduce.md): a constant rate of 0.01, under which the
    /// first e epochs of a run are an e-epoch run, batch 128, momentum 0.9,
    /// weight decay 5e-4, augmentation on.
    public static let fatDefaults = try! FATSettings()

    /// `fapsim train`'s defaults: a one-cycle schedule peaking at 0.1.
    public static let trainDefaults = try! FATSettings(lr: 0.1, scheduleName: "onecycle")

    /// The optimizer's part, as the trainer takes it.
    public var hyperparameters: VGG11Trainer.Hyperparameters {
        .init(momentum: momentum, weightDecay: weightDecay, nesterov: nesterov, convolution: convolution)
    }

    public var schedule: LRSchedule { LRSchedule.named(scheduleName, lr: lr)! }

    /// The settings of a run of `epochs` epochs whose order and augmentation
    /// are drawn from `seed`.
    public func training(epochs: Int, seed: UInt64) throws -> TrainingSettings {
        try TrainingSettings(epochs: epochs, batch: batch, scheduleName: scheduleName, lr: lr,
                             hyperparameters: hyperparameters, seed: seed, augment: augment)
    }

    /// The settings as run-identity (key, value) strings. Doubles and floats
    /// are written so they read back to the same bits; the keys and the text of
    /// the defaults are those work directories and checkpoints have always
    /// carried, so existing runs still resume.
    public var identity: [String: String] {
        [
            "lr": String(lr), "schedule": scheduleName, "batch": String(batch),
            "momentum": String(momentum), "weight_decay": String(weightDecay),
            "nesterov": String(nesterov), "augment": String(augment),
            "conv_algorithm": convolution.rawValue,
        ]
    }
}
