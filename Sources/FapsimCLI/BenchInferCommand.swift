import ArgumentParser
import Foundation
import FapsimSupport
import MaskedGEMM
import Network
import SystolicArray

/// `fapsim bench infer`: functional-engine inference throughput of VGG11 on
/// synthetic images (the figure compared with PyTorch CPU in docs/conventions.md §5
/// and by tools/bench-vs-pytorch.sh), fault-free or under a FAP mask.
struct BenchInferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Functional VGG11 inference throughput (images/s) on synthetic images.")

    @Option(help: "Images per forward pass.")
    var batch = 128

    @Option(help: "Width multiplier of the random network (ignored with --weights).")
    var width = 1.0

    @Option(help: "Weights file to run instead of random weights.")
    var weights: String?

    @Option(help: "Timed forward passes.")
    var batches = 8

    @Option(help: "Untimed forward passes first (thread pools, page faults).")
    var warmup = 1

    @Option(help: "Workers for the layer loops and the single-threaded GEMM calls (default: all cores).")
    var threads: Int?

    @Option(name: .customLong("fault-rate"), help: "Prune under a uniform fault map of this rate on a 256x256 array (FAP mask, seed 1); 0 = fault-free.")
    var faultRate: Double = 0

    @Option(name: .customLong("conv-algorithm"),
            help: "gemm (im2col, the reference `evaluate` uses) or winograd (F(2x2, 3x3), `evaluate --conv-algorithm winograd`).")
    var convAlgorithm: ConvAlgorithm = .gemm

    @Flag(help: "Print JSON (infer_images_per_s, batch, width, peak_rss_bytes, logits_fnv1a64, ...).")
    var json = false

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch: expected a positive batch size, got \(batch)") }
        guard batches > 0 else { throw ValidationError("--batches: expected a positive count, got \(batches)") }
        guard warmup >= 0 else { throw ValidationError("--warmup: expected a count >= 0, got \(warmup)") }
        if let threads, threads <= 0 { throw ValidationError("--threads: expected a positive count, got \(threads)") }
    }

    func run() throws {
        if let threads {
            MaskedGEMM.blasThreads = threads
            Parallel.threads = threads
        }
        try FaultMap.validateRate(faultRate, field: "--fault-rate")
        let faults = faultRate > 0 ? try FaultMap.uniform(rows: 256, cols: 256, rate: faultRate, seed: 1) : nil
        let params = try weights.map { try VGG11Parameters.load(path: $0) }
            ?? VGG11Parameters.random(spec: try VGG11Spec(width: width), seed: 1)
        let network = VGG11Network(parameters: params, engine: FunctionalEngine(faults: faults), convolution: convAlgorithm)
        let spec = params.spec
        // Synthetic images: standard-normal values, the scale normalized CIFAR has.
        var rng = SeededRNG(seed: 7)
        let images = (0..<(batch * spec.inputChannels * spec.inputSize * spec.inputSize)).map { _ in Float(rng.nextGaussian()) }
        var logits = [Float](repeating: 0, count: batch * spec.classes)
        func pass() throws {
            try images.withUnsafeBufferPointer { img in
                try logits.withUnsafeMutableBufferPointer { out in
                    try network.forward(images: img.baseAddress!, batch: batch, logits: out.baseAddress!)
                }
            }
        }
        for _ in 0..<warmup { try pass() }
        // Per-step times of the timed passes (two clock reads per layer step: negligible).
        let profile = ForwardProfile()
        network.profile = profile
        var times: [Double] = []
        for _ in 0..<batches {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try pass()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        let total = times.reduce(0, +)
        let rate = Double(batch * batches) / total
        let best = Double(batch) / (times.min() ?? total)
        let rss = ProcessStats.peakRSSBytes()
        let gflops = rate * Double(2 * spec.macsPerImage) / 1e9
        // Every pass sees the same images, so the last pass's logits stand for all:
        // their bits' checksum shows whether a speed change kept the arithmetic.
        var hash = FNV1a64()
        hash.update(array: logits)
        if json {
            var out: [String: Any] = [
                "benchmark": "infer",
                "infer_images_per_s": rate,
                "wall_s": total,
                "conv_algorithm": convAlgorithm.rawValue,
                "fault_rate": faults?.faultRate ?? 0,
                // GEMMs are single-threaded OpenBLAS calls spread over `workers` (TrainerGEMMs).
                "blas_threads_per_call": 1,
                "workers": Parallel.threads,
                "best_batch_images_per_s": best,
                "batch": batch,
                "batches": batches,
                "width": spec.width,
                "gemm_gflops": gflops,
                "weights": weights ?? "random",
                "logits_fnv1a64": hash.hex,
            ]
            if let rss { out["peak_rss_bytes"] = rss }
            // As `bench train`: each phase's seconds summed over the timed passes.
            out["phase_seconds"] = profile.seconds
            out["step_seconds_per_batch"] = profile.seconds.mapValues { $0 / Double(batches) }
            JSONOutput.print(out)
        } else {
            print(String(format: "functional inference (%@): %.1f images/s (best batch %.1f images/s), batch %d, width %g, %d workers, %.1f GFLOP/s",
                         convAlgorithm.rawValue, rate, best, batch, spec.width, Parallel.threads, gflops))
            if let rss { print(String(format: "peak RSS %.1f MiB", Double(rss) / 1_048_576)) }
            print("logits checksum (FNV-1a 64 of their bits) \(hash.hex)")
            for (step, t) in profile.seconds.sorted(by: { $0.value > $1.value }) {
                print(String(format: "  %-8@ %.1f ms per batch", step, 1000 * t / Double(batches)))
            }
        }
    }
}
