import ArgumentParser
import Foundation
import FapsimSupport
import Network
import Reduce
import SystolicArray

/// `fapsim bench stuck-at`: what unmitigated stuck-at faults cost the int8
/// functional path. Per rate, one uniform map (as `stuck-at-curve` draws map 0)
/// is run twice on the same test images: its PEs bypassed by FAP (the
/// fault-free-speed BLAS path on masked weights) and left unmitigated (the same
/// BLAS GEMM plus the vectorised correction, `MaskedGEMM.applyStuckAt`). The
/// correction's share is timed inside the engine. No scalar version of the
/// correction is kept to compare with: its reference is the register-level
/// array, checked bit for bit in `Int8GEMMTests` (docs/stuck-at.md).
struct BenchStuckAtCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stuck-at",
        abstract: "Int8 functional path speed (images/s) with unmitigated stuck-at faults against FAP on the same map, and the correction's time share (JSON).")

    @Option(help: "Int8 quantized network (from `fapsim quantize`).")
    var quantized: String?

    @Option(help: "Float weights to quantize in memory first, as `fapsim quantize` does (instead of --quantized).")
    var weights: String?

    @Option(help: "With --weights: training images to calibrate the activation scales on.")
    var calibration: Int = 200

    @Option(help: "Hardware config YAML.")
    var config: String = "hw-configs/tpu-256x256.yaml"

    @Option(help: "Comma-separated fractions of faulty PEs; each rounds to a whole number of PEs (at least one).")
    var rates: String = "0.0001,0.01,0.1"

    @Option(help: "Test images run per rate and mitigation (the first N of the test split).")
    var images: Int = 256

    @Option(help: "Images per forward pass.")
    var batch: Int = 128

    @Option(help: "Seed of the fault maps and of their stuck bits (map 0 of `stuck-at-curve --seed S`).")
    var seed: UInt64 = 1

    @Option(name: .customLong("stuck-bits"), help: "Which partial-sum bit is stuck: uniform (0-31), high (24-31) or fixed:B.")
    var stuckBits: String = "uniform"

    @Option(help: "CIFAR-10 binary directory (default: as for evaluate).")
    var data: String?

    @Flag(help: "JSON output (the default; kept for symmetry with other commands).")
    var json = false

    func validate() throws {
        if (weights == nil) == (quantized == nil) {
            throw ValidationError("expected one network: --quantized FILE (int8) or --weights FILE (float, quantized in memory)")
        }
        guard images > 0 else { throw ValidationError("--images: expected a positive number of test images, got \(images)") }
        guard batch > 0 else { throw ValidationError("--batch: expected a positive batch size, got \(batch)") }
        guard calibration > 0 else {
            throw ValidationError("--calibration: expected a positive number of training images to calibrate the activation scales on, got \(calibration)")
        }
        do { _ = try StuckBitDistribution(parsing: stuckBits) } catch let e as FapsimError { throw ValidationError(e.message) }
    }

    func run() throws {
        let hw = try HardwareConfig.load(path: config)
        let rateList = try StuckAtCurveCommand.parseRates(rates)
        try StuckAtCurve.checkRates(rateList, config: hw)
        let bits = try StuckBitDistribution(parsing: stuckBits)
        let dataDir = CIFAR10Set.resolveDirectory(data)
        let model: QuantizedVGG11
        if let quantized {
            model = try QuantizedVGG11.load(path: quantized)
        } else {
            let params = try VGG11Parameters.load(path: weights!)
            let train = try CIFAR10Set.load(directory: dataDir, split: .train, limit: calibration)
            model = try Int8Quantizer.quantize(parameters: params, calibration: train, images: calibration)
        }
        let test = try CIFAR10Set.load(directory: dataDir, split: .test, limit: images)
        var points: [[String: Any]] = []
        for rate in rateList {
            let faults = try FaultMap.uniform(rows: hw.rows, cols: hw.cols, rate: rate, seed: seed)
            let stuckAt = bits.draw(faults: faults, seed: seed)
            let fapEngine = try Int8FunctionalEngine(config: hw, chip: ChipDescription(faults: faults))
            let stuckEngine = try Int8FunctionalEngine(config: hw, stuckAt: stuckAt)
            func timed(_ engine: Int8FunctionalEngine) throws -> (seconds: Double, result: EvaluationResult) {
                let network = QuantizedNetwork(model: model, engine: engine)
                let t0 = ProcessStats.now()
                let result = try Evaluator.evaluate(network: network, data: test, batch: batch)
                return (ProcessStats.now() - t0, result)
            }
            let fap = try timed(fapEngine)
            let unmitigated = try timed(stuckEngine)
            points.append([
                "rate": rate, "faulty_pes": faults.faultyCount,
                "fap_images_per_s": Double(test.count) / fap.seconds,
                "unmitigated_images_per_s": Double(test.count) / unmitigated.seconds,
                "fap_s": fap.seconds, "unmitigated_s": unmitigated.seconds,
                // How much longer the unmitigated run takes than FAP on the same PEs.
                "unmitigated_over_fap": unmitigated.seconds / fap.seconds,
                "correction_s": stuckEngine.stuckAtSeconds,
                "correction_share": stuckEngine.stuckAtSeconds / unmitigated.seconds,
                "fap_accuracy": fap.result.accuracy, "unmitigated_accuracy": unmitigated.result.accuracy,
            ])
        }
        var out: [String: Any] = [
            "benchmark": "stuck-at", "config": hw.name, "rows": hw.rows, "cols": hw.cols,
            "network": quantized ?? "\(weights!) (quantized in memory on \(calibration) training images)",
            "width": model.spec.width, "images": test.count, "batch": batch, "seed": seed,
            "stuck_bits": bits.description, "workers": 1, "points": points,
            // The correction has no scalar twin to time against; its reference is the register-level array.
            "scalar_reference": false,
            "peak_rss_bytes": ProcessStats.peakRSSBytes() ?? 0,
        ]
        if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
           let first = load.split(separator: " ").first, let value = Double(first) {
            out["load_average_1min"] = value
        }
        JSONOutput.print(out)
    }
}
