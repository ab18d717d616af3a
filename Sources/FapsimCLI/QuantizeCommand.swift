import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import Network

/// `fapsim quantize`: post-training int8 quantization of VGG11 weights for the
/// int8 array (docs/quantization.md), written as a `fapsim.quantized` file.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize VGG11 float weights to int8 (BN folded, per-channel weights, per-tensor activations).",
        discussion: """
        BN is folded into each conv; weights are quantized per output channel, symmetric, to \
        [-127, 127]; each GEMM layer's input activations get one symmetric scale, max |x| / 127 \
        over the first N training images (--calibration N) on the float network; biases are int32. \
        Rounding is to nearest, ties away from zero. Evaluate the result with \
        `fapsim evaluate --quantized FILE`.
        """)

    @Option(help: "Float weights: a fapsim weights file or a PyTorch state_dict in HDF5.")
    var weights: String

    @Option(help: "Training images to calibrate the activation scales on (the first N of the training split).")
    var calibration: Int = 1000

    @Option(help: "Output quantized network (fapsim.quantized).")
    var out: String

    @Flag(help: "Replace --out if it exists.")
    var force = false

    @Option(help: "CIFAR-10 binary directory (default: as for evaluate).")
    var data: String?

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    func validate() throws {
        guard calibration > 0 else {
            throw ValidationError("--calibration: expected a positive number of training images to calibrate the activation scales on, got \(calibration)")
        }
        guard calibration <= CIFAR10Set.trainImagesTotal else {
            throw ValidationError("--calibration: expected at most \(CIFAR10Set.trainImagesTotal) training images, got \(calibration)")
        }
    }

    func run() throws {
        try AtomicWrite.checkOverwrite(out, force: force)
        let params = try VGG11Parameters.load(path: weights)
        let train = try CIFAR10Set.load(directory: CIFAR10Set.resolveDirectory(data), split: .train, limit: calibration)
        let progress = ProgressLine("calibrate", total: calibration, unit: "images", quiet: quiet)
        let model = try Int8Quantizer.quantize(parameters: params, calibration: train, images: calibration, progress: progress)
        progress.finish()
        try model.file.write(path: out, force: force)
        if json {
            JSONOutput.print([
                "out": out, "weights": weights, "calibration_images": calibration,
                "layers": model.layers.map { ["name": $0.name, "input_scale": Double($0.inputScale)] as [String: Any] },
            ])
        } else {
            print("wrote \(out): int8 VGG11 width \(model.spec.width), \(model.layers.count) GEMM layers, activations calibrated on \(calibration) training images")
        }
    }
}
