import ArgumentParser
import Network

/// The training hyper-parameters (`FATSettings`) as options, one group for
/// `fat`, `resilience`, `reduce` and `train`. Every option is optional: the
/// command fills in its own defaults (FAT's constant 0.01, train's one-cycle
/// 0.1; reduce: the values the resilience file records).
struct FATSettingsOptions: ParsableArguments {
    @Option(help: "Learning rate: the constant or base rate, the peak for onecycle (default: 0.01; train: 0.1; reduce: the resilience file's).")
    var lr: Double?

    @Option(help: "Learning-rate schedule: constant, onecycle, cosine or step (default: constant, FAT's; train: onecycle; reduce: the resilience file's).")
    var schedule: String?

    @Option(help: "Training images per SGD step, >= 2 (default: 128; reduce: the resilience file's).")
    var batch: Int?

    @Option(help: "SGD momentum in [0, 1) (default: 0.9; reduce: the resilience file's).")
    var momentum: Float?

    @Option(name: .customLong("weight-decay"), help: "L2 weight decay >= 0 (default: 5e-4; reduce: the resilience file's).")
    var weightDecay: Float?

    @Flag(inversion: .prefixedNo, help: "Nesterov momentum (default: off; reduce: the resilience file's).")
    var nesterov: Bool?

    @Flag(inversion: .prefixedNo, help: "Random crop and horizontal flip of the training images (default: on; reduce: the resilience file's).")
    var augment: Bool?

    /// The options over `defaults`, checked (errors name the option).
    func settings(defaults d: FATSettings, convolution: ConvAlgorithm) throws -> FATSettings {
        try FATSettings(lr: lr ?? d.lr, scheduleName: schedule ?? d.scheduleName, batch: batch ?? d.batch,
                        momentum: momentum ?? d.momentum, weightDecay: weightDecay ?? d.weightDecay,
                        nesterov: nesterov ?? d.nesterov, augment: augment ?? d.augment, convolution: convolution)
    }
}
