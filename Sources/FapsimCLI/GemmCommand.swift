import ArgumentParser
import Foundation
import FapsimSupport
import MaskedGEMM
import Network
import SystolicArray

/// `fapsim gemm`: one random GEMM through the register-level array.
struct GemmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "Run one random GEMM Out[MxN] = A[MxK] x W[KxN] through the register-level array.",
        discussion: "Prints cycles (weight load, fill, steady, drain), MACs performed and bypassed and utilization. "
            + "--check also runs the closed-form timing model and the functional masked GEMM and compares them.")

    @Option(help: "Hardware config YAML (see hw-configs/).") var config: String
    @Option(name: .customLong("m"), parsing: .unconditional, help: "Rows of A (output pixels x batch).") var m: Int
    @Option(name: .customLong("k"), parsing: .unconditional, help: "Inner dimension.") var k: Int
    @Option(name: .customLong("n"), parsing: .unconditional, help: "Columns of W (output channels).") var n: Int
    @Option(name: .customLong("fault-rate"), parsing: .unconditional, help: "Fraction of faulty (bypassed) PEs, in [0, 1].") var faultRate: Double = 0
    @Option(help: "Seed for the fault map and the random operands.") var seed: UInt64 = 1
    @Option(name: .customLong("stuck-at"), help: "Unmitigated fault ROW,COL,BIT,VALUE on a PE's partial-sum output.") var stuckAt: String?
    @Option(help: "Threads clocking column strips (default 1; see docs/hardware-model.md).") var threads: Int?
    @OptionGroup var mitigation: MitigationOptions
    @Flag(help: "Also run the closed-form and functional paths and compare.") var check = false
    @Flag(help: "Machine-readable output.") var json = false

    func run() throws {
        let cfg = try HardwareConfig.load(path: config)
        try FaultMap.validateRate(faultRate, field: "--fault-rate")
        try FoldPlan.validate(m: m, k: k, n: n)
        if let threads, threads < 1 { throw FapsimError("--threads: expected a positive integer, got \(threads)") }
        let drawn = try FaultMap.uniform(rows: cfg.rows, cols: cfg.cols, rate: faultRate, seed: seed)
        // Row/column bypass chooses its lines for the fewest cycles of this GEMM.
        let chosen = try mitigation.resolve()
        let chip = ChipDescription(faults: drawn, mitigation: chosen,
                                   rowColumnObjective: .cycles(gemms: [RowColumnBypass.GEMMSize(m: m, k: k, n: n)]),
                                   spares: try cfg.spares(for: chosen, path: config))
        try chip.checkUsable()
        // What the array bypasses: the drawn faults less those a spare replaced.
        let faults = chip.effectiveFaults ?? drawn
        var mapping = chip.mapping(layer: "gemm", k: k, n: n, rows: cfg.rows, cols: cfg.cols)
        let stuck = try stuckAt.map { try StuckAtFault(parsing: $0, rows: cfg.rows, cols: cfg.cols) }
        if stuck != nil, chip.mitigation == .rowcol || chip.mitigation == .spares {
            throw FapsimError("--stuck-at: an unmitigated stuck-at fault is modelled under fap or fam only, got --mitigation \(chip.mitigation.rawValue)")
        }
        var rng = SeededRNG.derived(seed: seed, 0x6F70)
        var report: [String: Any] = ["config": cfg.name, "m": m, "k": k, "n": n, "fault_rate": drawn.faultRate,
                                     "mitigation": chip.mitigation.rawValue, "datapath": cfg.datapath.rawValue, "weight_load": cfg.weightLoad.rawValue]
        report.merge(chip.spareReport) { $1 }
        let t0 = ProcessStats.now()
        let stats: GEMMStats
        switch cfg.datapath {
        case .float32:
            let a = (0..<(m * k)).map { _ in Float(rng.nextGaussian()) }
            let w = (0..<(k * n)).map { _ in Float(rng.nextGaussian()) }
            if chip.mitigation == .fam { mapping = try FaultAwareMapping.loneGEMM(saliency: w.map { Double(abs($0)) }, k: k, n: n, faults: faults) }
            let run = try ArrayGEMM.run(config: cfg, faults: faults, a: a, m: m, k: k, w: w, n: n, mapping: mapping,
                                        stuckAt: stuck, threads: threads)
            stats = run.stats
            if check {
                let fast = MaskedGEMM.forward(a: a, m: m, k: k, w: w, n: n, faults: faults, mapping: mapping)
                report["max_abs_diff"] = Double(zip(run.output, fast).map { abs($0 - $1) }.max() ?? 0)
            }
        case .int8:
            let a = (0..<(m * k)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            let w = (0..<(k * n)).map { _ in Int8(truncatingIfNeeded: rng.next()) }
            if chip.mitigation == .fam { mapping = try FaultAwareMapping.loneGEMM(saliency: w.map { Double(abs(Int($0))) }, k: k, n: n, faults: faults) }
            let run = try ArrayGEMM.runInt8(config: cfg, faults: faults, a: a, m: m, k: k, w: w, n: n, mapping: mapping,
                                            stuckAt: stuck, threads: threads)
            stats = run.stats
            if check {
                let fast = MaskedGEMM.forwardInt8(a: a, m: m, k: k, w: w, n: n, faults: faults, mapping: mapping)
                report["max_abs_diff"] = Double(zip(run.output, fast).map { abs(Int64($0) - Int64($1)) }.max() ?? 0)
            }
        }
        let wall = ProcessStats.now() - t0
        report.merge(StatsJSON.gemm(stats, config: cfg)) { $1 }
        report["wall_s"] = wall
        if check {
            let closed = try ClosedFormTiming.gemm(config: cfg, m: m, k: k, n: n, faults: faults, mapping: mapping)
            report["cycles_match_closed_form"] = closed == stats
            report["closed_form_cycles"] = closed.cycles
        }
        if json {
            JSONOutput.print(report)
            return
        }
        print("\(cfg.name): \(cfg.rows)x\(cfg.cols) \(cfg.weightLoad.rawValue), \(cfg.datapath.rawValue); GEMM \(m)x\(k)x\(n), \(stats.folds) folds, fault rate \(String(format: "%.4f", drawn.faultRate))")
        if let line = chip.spareSummary { print(line) }
        print("cycles \(stats.cycles) = weight load \(stats.weightLoadCycles) + fill \(stats.fillCycles) + steady \(stats.steadyCycles) + drain \(stats.drainCycles)  (\(String(format: "%.3f", cfg.seconds(cycles: stats.cycles) * 1e6)) us at \(cfg.clockMHz) MHz)")
        print("MACs performed \(stats.macsPerformed), bypassed \(stats.macsBypassed); idle PE-cycles \(stats.idlePECycles); utilization \(String(format: "%.4f", stats.utilization))")
        if check {
            print("closed form matches: \(report["cycles_match_closed_form"] as! Bool); max |array - functional| = \(report["max_abs_diff"]!)")
        }
    }
}

/// The JSON field names shared by `gemm`, `bench` and traces.
enum StatsJSON {
    static func gemm(_ s: GEMMStats, config: HardwareConfig) -> [String: Any] {
        [
            "cycles": s.cycles, "weight_load_cycles": s.weightLoadCycles, "fill_cycles": s.fillCycles,
            "steady_cycles": s.steadyCycles, "drain_cycles": s.drainCycles, "folds": s.folds,
            "macs_performed": s.macsPerformed, "macs_bypassed": s.macsBypassed, "idle_pe_cycles": s.idlePECycles,
            "utilization": s.utilization, "time_s": config.seconds(cycles: s.cycles),
        ]
    }
}
