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
        subcommands: [BenchArrayCommand.self, BenchInferCommand.self, BenchTrainCommand.self, BenchSparesCommand.self,
                      BenchRateMetricShareCommand.self, BenchRateMetricCompareCommand.self, BenchRowColCommand.self,
                      BenchStuckAtCommand.self])
}

/// Register-level PE-cycle updates per second on a realistic layer, for one
/// worker and for several running independent GEMMs at once (as `evaluate
/// --engine array` and `simulate` run batches).
struct BenchArrayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "array",
        abstract: "Register-level array speed on VGG11's conv 512->512 at 4x4 (M=16, K=4608, N=512) for one image, on 1 and 2 workers.")

    @Option(help: "Hardware config YAML.") var config: String = "hw-configs/tpu-256x256.yaml"
    @Option(help: "Threads clocking column strips of each GEMM (default 1; see docs/performance.md).") var threads: Int?
    @Option(help: "Comma-separated worker counts to measure: each worker runs its own copy of the GEMM at the same time.")
    var workers: String = "1,2"
    @Option(help: "Timed repetitions (the best is reported).") var repeats: Int = 3
    @Option(name: .customLong("strip-width"), help: "Columns per strip (default: one strip per thread; results do not depend on it).")
    var stripWidth: Int?
    @Option(help: "Fault rate of the chip in the bypass muxes.") var faultRate: Double = 0.1
    @Option(name: .customLong("m")) var m: Int = 16
    @Option(name: .customLong("k")) var k: Int = 4608
    @Option(name: .customLong("n")) var n: Int = 512
    @Flag(name: .customLong("step-every-pe"), help: "Step every PE on every edge (no idle skipping), the speed before skipping.")
    var stepEveryPE = false
    @Flag(help: "JSON output (the default; kept for symmetry with other commands).") var json = false

    func run() throws {
        let cfg = try HardwareConfig.load(path: config)
        try FaultMap.validateRate(faultRate, field: "--fault-rate")
        guard repeats >= 1 else { throw FapsimError("--repeats: expected a positive integer, got \(repeats)") }
        let counts = workers.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw FapsimError("--workers: expected comma-separated positive counts such as 1,2, got \(workers)")
        }
        let faults = try FaultMap.uniform(rows: cfg.rows, cols: cfg.cols, rate: faultRate, seed: 1)
        var rng = SeededRNG(seed: 42)
        let a = (0..<(m * k)).map { _ in Float(rng.nextGaussian()) }
        let w = (0..<(k * n)).map { _ in Float(rng.nextGaussian()) }
        let (m, k, n, threads, stripWidth, stepEveryPE) = (m, k, n, threads, stripWidth, stepEveryPE)
        var reference: GEMMRun?
        var rates: [String: Double] = [:], walls: [String: Double] = [:]
        for count in counts.map({ $0! }) {
            var best = Double.infinity
            for _ in 0..<repeats {
                let lock = NSLock()
                nonisolated(unsafe) var runs: [GEMMRun?] = .init(repeating: nil, count: count)
                nonisolated(unsafe) var failure: (any Error)?
                let t0 = ProcessStats.now()
                DispatchQueue.concurrentPerform(iterations: count) { i in
                    do {
                        let run = try ArrayGEMM.run(config: cfg, faults: faults, a: a, m: m, k: k, w: w, n: n,
                                                    threads: threads, stripWidth: stripWidth, stepEveryPE: stepEveryPE)
                        lock.lock(); runs[i] = run; lock.unlock()
                    } catch {
                        lock.lock(); failure = error; lock.unlock()
                    }
                }
                best = min(best, ProcessStats.now() - t0)
                if let failure { throw failure }
                // Every worker computes alone: its outputs and counts must be the one-worker run's.
                for run in runs.map({ $0! }) {
                    if let ref = reference {
                        guard run.output == ref.output && run.stats == ref.stats else {
                            throw FapsimError("bench array: \(count) workers gave results that differ from one worker's")
                        }
                    } else {
                        reference = run
                    }
                }
            }
            rates[String(count)] = Double(count * reference!.stats.peCycles) / best
            walls[String(count)] = best
        }
        let s = reference!.stats
        var out: [String: Any] = [
            "benchmark": "array", "config": cfg.name, "m": m, "k": k, "n": n, "cycles": s.cycles,
            "pe_cycles": s.peCycles, "threads": threads ?? 1, "strip_width": stripWidth ?? 0,
            "idle_skipping": !stepEveryPE,
            // pe_cycles_per_s_by_workers[W]: W GEMMs' PE-cycles over the wall time of running them at once.
            "pe_cycles_per_s_by_workers": rates, "wall_s_by_workers": walls,
            "wall_s": walls[String(counts[0]!)]!, "pe_cycles_per_s": rates[String(counts[0]!)]!,
            "peak_rss_bytes": ProcessStats.peakRSSBytes() ?? 0,
        ]
        if let one = rates["1"], let two = rates["2"] { out["two_worker_speedup"] = two / one }
        JSONOutput.print(out)
    }
}
