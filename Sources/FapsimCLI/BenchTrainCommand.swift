import ArgumentParser
import Foundation
import FapsimSupport
import Network
import SystolicArray

/// Training throughput: forward + backward + SGD step of VGG11 on synthetic
/// batches (the data pipeline is measured separately by `fapsim train`'s own
/// img/s), the figure to hold against PyTorch's 183-192 images/s (docs/conventions.md §5).
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "VGG11 training images per second (forward, backward, SGD step) and peak memory, as JSON.")

    @Option(help: "VGG11 width multiplier.") var width: Double = 1.0
    @Option(help: "Images per step.") var batch: Int = 128
    @Option(help: "Timed steps.") var steps: Int = 5
    @Option(help: "Untimed warm-up steps (buffers are allocated on the first).") var warmup: Int = 1
    @Option(name: .customLong("fault-rate"), help: "Train under a uniform fault map of this rate on a 256x256 array (FAT); 0 = plain training.")
    var faultRate: Double = 0
    @Option(name: .customLong("conv-algorithm"), help: ArgumentHelp(ConvAlgorithm.help))
    var convAlgorithm: ConvAlgorithm = .winograd
    @Flag(help: "JSON output (the default; kept for symmetry with other commands).") var json = false

    func run() throws {
        guard batch >= 2 else { throw FapsimError("--batch: expected at least 2 images, got \(batch)") }
        guard steps >= 1, warmup >= 0 else { throw FapsimError("--steps: expected >= 1 timed steps and --warmup >= 0") }
        try FaultMap.validateRate(faultRate, field: "--fault-rate")
        let spec = try VGG11Spec(width: width)
        let faults = faultRate > 0 ? try FaultMap.uniform(rows: 256, cols: 256, rate: faultRate, seed: 1) : nil
        let trainer = VGG11Trainer(parameters: .random(spec: spec, seed: 1), faults: faults,
                                   hyperparameters: .init(convolution: convAlgorithm))
        var rng = SeededRNG(seed: 7)
        let images = (0..<(batch * CIFAR10Set.imageBytes)).map { _ in Float(rng.nextGaussian()) }
        let labels = (0..<batch).map { _ in rng.nextInt(below: spec.classes) }
        var phase = [String: Double]()
        var losses: [Double] = []
        let timed: Double = try images.withUnsafeBufferPointer { img in
            for _ in 0..<warmup { trainer.step(images: img.baseAddress!, labels: labels, lr: 0.01) }
            trainer.profile = [:]
            let t0 = ProcessStats.now()
            for _ in 0..<steps {
                losses.append(trainer.step(images: img.baseAddress!, labels: labels, lr: 0.01).loss)
                // As training does after every step (phase finite_check).
                if let bad = trainer.firstNonFiniteState() {
                    throw FapsimError("bench train: \(bad.tensor) is \(bad.value) at index \(bad.index) (diverged)")
                }
            }
            let t = ProcessStats.now() - t0
            phase = trainer.profile ?? [:]
            trainer.profile = nil
            return t
        }
        var out: [String: Any] = [
            "benchmark": "train", "width": width, "batch": batch, "steps": steps,
            "conv_algorithm": convAlgorithm.rawValue,
            "train_images_per_s": Double(batch * steps) / timed, "wall_s": timed,
            "peak_rss_bytes": ProcessStats.peakRSSBytes() ?? 0,
            // The trainer's GEMMs are single-threaded OpenBLAS calls spread over `workers` (TrainerGEMMs).
            "blas_threads_per_call": 1, "workers": Parallel.threads,
            "fault_rate": faults?.faultRate ?? 0, "last_loss": losses.last ?? .nan,
            "gflop_per_s": 3.0 * 2.0 * Double(spec.macsPerImage) * Double(batch * steps) / timed / 1e9,
        ]
        out["phase_seconds"] = phase
        JSONOutput.print(out)
    }
}
