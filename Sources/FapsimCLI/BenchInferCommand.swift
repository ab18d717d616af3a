import ArgumentParser
import Foundation
import FapsimSupport
import MaskedGEMM
import Network

/// `fapsim bench infer`: functional-engine inference throughput of VGG11 on
/// synthetic images (the figure compared with PyTorch CPU in docs/conventions.md §5).
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

    @Option(help: "Threads for OpenBLAS and the layer loops (default: all cores).")
    var threads: Int?

    @Flag(help: "Print JSON (infer_images_per_s, batch, width, peak_rss_bytes, ...).")
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
        let params = try weights.map { try VGG11Parameters.load(path: $0) }
            ?? VGG11Parameters.random(spec: try VGG11Spec(width: width), seed: 1)
        let network = VGG11Network(parameters: params, engine: FunctionalEngine())
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
        if json {
            var out: [String: Any] = [
                "infer_images_per_s": rate,
                "best_batch_images_per_s": best,
                "batch": batch,
                "batches": batches,
                "width": spec.width,
                "threads": MaskedGEMM.blasThreads,
                "gemm_gflops": gflops,
                "weights": weights ?? "random",
            ]
            if let rss { out["peak_rss_bytes"] = rss }
            out["step_seconds_per_batch"] = profile.seconds.mapValues { $0 / Double(batches) }
            JSONOutput.print(out)
        } else {
            print(String(format: "functional inference: %.1f images/s (best batch %.1f images/s), batch %d, width %g, %d threads, %.1f GFLOP/s",
                         rate, best, batch, spec.width, MaskedGEMM.blasThreads, gflops))
            if let rss { print(String(format: "peak RSS %.1f MiB", Double(rss) / 1_048_576)) }
            for (step, t) in profile.seconds.sorted(by: { $0.value > $1.value }) {
                print(String(format: "  %-8@ %.1f ms per batch", step, 1000 * t / Double(batches)))
            }
        }
    }
}
