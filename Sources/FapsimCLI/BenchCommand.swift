import ArgumentParser
import Foundation
import FapsimSupport
import SystolicArray

/// `fapsim bench ...`: speed and memory benchmarks, and the measurements docs/
/// quote, printing JSON. Speed goals are checked here, on release builds, never
/// by timed unit tests; measurements live here rather than in tests, which
/// must assert something.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks and measurements for the docs (release builds only give meaningful speed figures).",
        subcommands: [BenchArrayCommand.self, BenchInferCommand.self, BenchTrainCommand.self,
                      BenchRateMetricShareCommand.self, BenchRateMetricCompareCommand.self])
}

/// Register-level PE-cycle updates per second on a realistic layer.
struct BenchArrayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "array",
        abstract: "Register-level array speed on VGG11's conv 512->512 at 4x4 (M=16, K=4608, N=512) for one image.")

    @Option(help: "Hardware config YAML.") var config: String = "hw-configs/tpu-256x256.yaml"
    @Option(help: "Threads clocking column strips (default 1; see docs/hardware-model.md).") var threads: Int?
    @Option(help: "Timed repetitions (the best is reported).") var repeats: Int = 3
    @Option(name: .customLong("strip-width"), help: "Columns per strip (default: one strip per thread; results do not depend on it).")
    var stripWidth: Int?
    @Option(help: "Fault rate of the chip in the bypass muxes.") var faultRate: Double = 0.1
    @Option(name: .customLong("m")) var m: Int = 16
    @Option(name: .customLong("k")) var k: Int = 4608
    @Option(name: .customLong("n")) var n: Int = 512
    @Flag(help: "JSON output (the default; kept for symmetry with other commands).") var json = false

    func run() throws {
        let cfg = try HardwareConfig.load(path: config)
        try FaultMap.validateRate(faultRate, field: "--fault-rate")
        guard repeats >= 1 else { throw FapsimError("--repeats: expected a positive integer, got \(repeats)") }
        let faults = try FaultMap.uniform(rows: cfg.rows, cols: cfg.cols, rate: faultRate, seed: 1)
        var rng = SeededRNG(seed: 42)
        let a = (0..<(m * k)).map { _ in Float(rng.nextGaussian()) }
        let w = (0..<(k * n)).map { _ in Float(rng.nextGaussian()) }
        var best = Double.infinity
        var stats: GEMMStats?
        for _ in 0..<repeats {
            let t0 = ProcessStats.now()
            let run = try ArrayGEMM.run(config: cfg, faults: faults, a: a, m: m, k: k, w: w, n: n, threads: threads,
                                        stripWidth: stripWidth)
            best = min(best, ProcessStats.now() - t0)
            stats = run.stats
        }
        let s = stats!
        JSONOutput.print([
            "benchmark": "array", "config": cfg.name, "m": m, "k": k, "n": n, "cycles": s.cycles,
            "pe_cycles": s.peCycles, "wall_s": best, "pe_cycles_per_s": Double(s.peCycles) / best,
            "threads": threads ?? 1, "strip_width": stripWidth ?? 0,
            "peak_rss_bytes": ProcessStats.peakRSSBytes() ?? 0,
        ])
    }
}
