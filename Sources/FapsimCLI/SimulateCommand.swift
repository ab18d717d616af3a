import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import Network
import SystolicArray

/// `fapsim simulate`: CIFAR-10 test images through VGG11 on the register-level
/// array, with a per-layer cycle trace (CSV + results file) and optionally a
/// VCD of one fold of one layer's GEMM.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run test images through VGG11 on the register-level array and write a per-layer cycle trace (CSV + HDF5), optionally a VCD.",
        discussion: """
        The trace has one row per conv/linear layer, its GEMMs summed over all batches, and a \
        final `total` row; PATH gets the CSV and PATH with extension .h5 the results file \
        (content "cycle-trace", table cycle_trace). --vcd dumps every PE's registers over \
        fold F of layer NAME's GEMM in the first batch (VCD time t = state after clock edge t \
        of that GEMM), optionally cut to edges [A, B).
        """)

    @Option(help: "Hardware config YAML (rows, cols, weight_load, clock_mhz, ...).")
    var config: String

    @Option(help: "Weights file: a fapsim weights file or a PyTorch state_dict in HDF5.")
    var weights: String

    @Option(help: "CIFAR-10 binary directory (default: $FAPSIM_CIFAR_DIR, else ../shared/datasets/cifar-10-batches-bin if present, else the `fapsim data fetch` cache).")
    var data: String?

    @OptionGroup var chip: ChipOptions

    @Option(help: "Test images to run (the first N).")
    var images = 1

    @Option(help: "Images per forward pass (each layer's GEMM has M = output pixels x batch).")
    var batch = 1

    @Option(help: "Trace CSV path; the results file goes to the same path with extension .h5.")
    var trace: String

    @Option(help: "VCD file of every PE's registers over one fold (with --layer and --fold).")
    var vcd: String?

    @Option(help: "Layer whose GEMM the VCD shows (e.g. features.0, classifier).")
    var layer: String?

    @Option(help: "Fold of that GEMM (0-based, execution order).")
    var fold: Int?

    @Option(help: "A:B: only the GEMM's clock edges A <= t < B (must lie in the fold).")
    var cycles: String?

    @Option(help: "Threads clocking column strips of one GEMM (default 1; the VCD layer runs on one; see docs/performance.md).")
    var threads: Int?

    @Option(help: "Batches simulated in parallel, one worker each (default: all cores); the trace is bit-identical for any count.")
    var workers: Int?

    @Flag(name: .customLong("step-every-pe"),
          help: ArgumentHelp("Step every PE on every edge (no idle skipping): the same trace, slower; for measuring.", visibility: .hidden))
    var stepEveryPE = false

    @Flag(help: "Overwrite existing trace and VCD files.")
    var force = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @Flag(help: "No progress line or size warnings on stderr.")
    var quiet = false

    func validate() throws {
        if images <= 0 { throw ValidationError("--images: expected a positive number of images, got \(images)") }
        if batch <= 0 { throw ValidationError("--batch: expected a positive batch size, got \(batch)") }
        if let threads, threads <= 0 { throw ValidationError("--threads: expected a positive count, got \(threads)") }
        if let workers, workers <= 0 { throw ValidationError("--workers: expected a positive count, got \(workers)") }
        if (trace as NSString).pathExtension.lowercased() == "h5" {
            throw ValidationError("--trace \(trace): give the CSV path (e.g. trace.csv); the .h5 results file is written beside it")
        }
        let vcdParts = [vcd != nil, layer != nil, fold != nil]
        if vcdParts.contains(true) && vcdParts.contains(false) {
            throw ValidationError("--vcd, --layer and --fold go together")
        }
        if cycles != nil && vcd == nil { throw ValidationError("--cycles is only used with --vcd") }
    }

    func run() throws {
        let hw = try HardwareConfig.load(path: config)
        let params = try VGG11Parameters.load(path: weights)
        let chipState = try chip.chipDescription(config: hw, configPath: config, parameters: params) {
            try CIFAR10Set.load(directory: CIFAR10Set.resolveDirectory(data), split: .train, limit: chip.mitigation.famCalibration)
        }
        let faults = chipState.faults
        let h5 = CycleTrace.h5Path(for: trace)
        // Refuse before hours of simulation, not after.
        try AtomicWrite.checkOverwrite(trace, force: force)
        try AtomicWrite.checkOverwrite(h5, force: force)
        if let vcd { try AtomicWrite.checkOverwrite(vcd, force: force) }
        for path in [trace] + (vcd.map { [$0] } ?? []) {
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
                throw FapsimError("\(path): directory \(dir) does not exist")
            }
        }
        let firstBatch = min(batch, images)
        let window = try vcd == nil ? nil : waveformWindow(spec: params.spec, config: hw, faults: faults, batch: firstBatch)

        let test = try CIFAR10Set.load(directory: CIFAR10Set.resolveDirectory(data), split: .test, limit: images)
        guard test.count == images else {
            throw FapsimError("--images \(images): the test split has only \(test.count) images")
        }
        let engine = try ArrayEngine(config: hw, chip: chipState, threads: threads)
        engine.stepEveryPE = stepEveryPE
        var recorder: WaveformRecorder?
        var vcdTemp: String?
        if let vcd, let layer, let window {
            let tmp = AtomicWrite.temporaryPath(for: vcd)
            vcdTemp = tmp
            let peSignals = hw.rows * hw.cols * (hw.weightLoad == .doubleBuffered ? 8 : 7)
            if !quiet && peSignals * window.count > 50_000_000 {
                warn("--vcd: \(hw.rows)x\(hw.cols) PEs x \(window.count) edges may write a VCD of several GB; "
                     + "narrow it with --cycles A:B or use a small config such as hw-configs/small-8x8.yaml")
            }
            recorder = try WaveformRecorder(
                path: tmp, config: hw, window: window,
                comment: "fapsim simulate: \(layer) fold \(fold!) edges \(window.lowerBound)..<\(window.upperBound), "
                    + "\(hw.name) \(hw.rows)x\(hw.cols) \(hw.weightLoad.rawValue) \(hw.datapath.rawValue); "
                    + "time t = registers after GEMM clock edge t")
            var handed = false
            engine.observerForLayer = { name in
                guard name == layer, !handed else { return nil }
                handed = true
                return recorder
            }
        }

        // Extra workers take later batches; the first engine, the only one with
        // the VCD observer, always runs batch 0.
        let engines = try [engine] + (1..<max(1, workers ?? Parallel.threads)).map { _ in try engine.copy() }
        let progress = ProgressLine("simulate on \(hw.name)", total: images, unit: "images", quiet: quiet)
        let start = Date()
        var runs: [LayerRun] = []
        do {
            (_, runs) = try Evaluator.evaluate(parameters: params, engines: engines, data: test, batch: batch, progress: progress)
            try recorder?.finish()
        } catch {
            if let vcdTemp { unlink(vcdTemp) }
            throw error
        }
        progress.finish()
        let wall = Date().timeIntervalSince(start)
        if let vcd, let vcdTemp {
            try AtomicWrite.write(to: vcd, force: force) { tmp in
                guard rename(vcdTemp, tmp) == 0 else { throw FapsimError("\(vcd): cannot move the finished VCD into place") }
            }
        }

        let result = CycleTrace(runs: runs, config: hw)
        var attrs: [String: AttributeValue] = [
            "config": .string(hw.name), "rows": .int(Int64(hw.rows)), "cols": .int(Int64(hw.cols)),
            "weight_load": .string(hw.weightLoad.rawValue), "clock_mhz": .double(hw.clockMHz),
            "weights": .string(weights), "images": .int(Int64(images)), "batch": .int(Int64(batch)),
            "fault_rate": .double(faults?.faultRate ?? 0),
        ]
        if let faults { attrs["fault_map_checksum"] = .string(faults.checksum) }
        attrs["mitigation"] = .string(chipState.mitigation.rawValue)
        attrs.merge(chipState.spareAttributes) { a, _ in a }
        if let famMapping = chip.famMapping { attrs["fam_mapping"] = .string(famMapping) }
        if let lot = chip.lot, let index = chip.chip { attrs["lot"] = .string(lot); attrs["chip"] = .int(Int64(index)) }
        if let seed = chip.seed { attrs["seed"] = .int(Int64(bitPattern: seed)) }
        try result.write(csvPath: trace, h5Path: h5, attributes: attrs, force: force)

        let t = result.total
        if json {
            var out: [String: Any] = [
                "config": hw.name, "images": images, "batch": batch, "wall_s": wall,
                "workers": min(engines.count, (images + batch - 1) / batch),
                "total_cycles": t.totalCycles, "macs_performed": t.macsPerformed, "macs_bypassed": t.macsBypassed,
                "time_s_at_clock": t.timeSeconds, "fault_rate": faults?.faultRate ?? 0, "trace": trace, "trace_h5": h5,
                "layers": result.layers.map { r -> [String: Any] in
                    ["layer": r.layer, "m": r.m, "k": r.k, "n": r.n, "folds": r.folds,
                     "weight_load_cycles": r.weightLoadCycles, "fill_cycles": r.fillCycles,
                     "steady_cycles": r.steadyCycles, "drain_cycles": r.drainCycles, "total_cycles": r.totalCycles,
                     "macs_performed": r.macsPerformed, "macs_bypassed": r.macsBypassed, "utilization": r.utilization]
                },
            ]
            out.merge(chip.provenance) { a, _ in a }
            out.merge(chipState.spareReport) { a, _ in a }
            if let vcd { out["vcd"] = vcd; out["vcd_edges"] = recorder?.edgesWritten ?? 0 }
            JSONOutput.print(out)
            return
        }
        // Interpolation, not %d: MAC totals of a batch overflow 32 bits.
        print("\(images) image(s) on \(hw.name) (\(hw.rows)x\(hw.cols), \(hw.weightLoad.rawValue)), batch \(batch): "
              + "\(t.totalCycles) cycles (" + String(format: "%.6f s at %.0f MHz", t.timeSeconds, hw.clockMHz) + "), "
              + "\(t.macsPerformed) MACs performed, \(t.macsBypassed) bypassed; wall " + String(format: "%.1f s", wall))
        print("wrote \(trace) and \(h5)" + (vcd.map { " and \($0) (\(recorder?.edgesWritten ?? 0) edges)" } ?? ""))
    }

    /// The GEMM edges the VCD covers, checked before the run: the layer's first
    /// GEMM has the shape the spec gives for `batch` images, and its folds'
    /// spans are the cumulative sums of the closed-form per-fold cycles (which
    /// the register-level run equals; `WaveformRecorder.finish` rechecks).
    func waveformWindow(spec: VGG11Spec, config hw: HardwareConfig, faults: FaultMap?, batch: Int) throws -> Range<Int> {
        var shapes: [(name: String, m: Int, k: Int, n: Int)] = []
        for l in spec.layers {
            switch l {
            case .conv(let c):
                shapes.append((c.name, c.height * c.width * batch, c.inChannels * c.kernel * c.kernel, c.outChannels))
            case .linear(let f):
                shapes.append((f.name, batch, f.inFeatures, f.outFeatures))
            default: break
            }
        }
        guard let layer, let fold, let shape = shapes.first(where: { $0.name == layer }) else {
            throw FapsimError("--layer \(layer ?? ""): no such conv/linear layer; valid names: "
                              + shapes.map(\.name).joined(separator: ", "))
        }
        let stats = try ClosedFormTiming.gemm(config: hw, m: shape.m, k: shape.k, n: shape.n, faults: faults)
        guard fold >= 0 && fold < stats.folds else {
            throw FapsimError("--fold \(fold): \(layer) (M=\(shape.m) K=\(shape.k) N=\(shape.n)) has \(stats.folds) fold(s) "
                              + "on \(hw.rows)x\(hw.cols); expected 0...\(stats.folds - 1)")
        }
        let begin = stats.perFold[..<fold].reduce(0) { $0 + $1.cycles }
        let span = begin..<(begin + stats.perFold[fold].cycles)
        guard let cycles else { return span }
        let parts = cycles.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]) else {
            throw FapsimError("--cycles \(cycles): expected A:B (edge numbers of the GEMM, B exclusive)")
        }
        guard a < b else { throw FapsimError("--cycles \(cycles): expected A < B") }
        guard a >= span.lowerBound && b <= span.upperBound else {
            throw FapsimError("--cycles \(cycles): outside fold \(fold) of \(layer), which spans edges "
                              + "\(span.lowerBound):\(span.upperBound)")
        }
        return a..<b
    }

    private func warn(_ s: String) { FileHandle.standardError.write(Data("warning: \(s)\n".utf8)) }
}
