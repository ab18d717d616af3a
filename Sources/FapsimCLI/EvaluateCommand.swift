import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import Network
import SystolicArray

/// `fapsim evaluate`: top-1 and per-class accuracy of a VGG11 weights file on the
/// CIFAR-10 test split, on a fault-free or faulty chip, through the fast
/// functional engine or the register-level array.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Top-1 and per-class accuracy of VGG11 weights on the CIFAR-10 test images, optionally on a faulty chip.",
        discussion: """
        Faults come from a chip of a lot file (--lot FILE --chip I) or a uniform random map \
        (--fault-rate P --seed S) on the config's array; with a map, the functional engine prunes \
        the weights on faulty PEs (FAP mask) and the array engine bypasses those PEs, so both \
        compute the same network. The array engine also reports the cycles of every layer.
        """)

    enum Engine: String, ExpressibleByArgument, CaseIterable {
        case functional, array
    }

    /// Used when --config is not given: the repository's TPU-like 256x256 config if
    /// it is reachable from the working directory, else the same array built in.
    static let defaultConfigPath = "hw-configs/tpu-256x256.yaml"

    @Option(help: "Weights file: a fapsim weights file or a PyTorch state_dict in HDF5 (float engines).")
    var weights: String?

    @Option(help: "Int8 quantized network (from `fapsim quantize`): evaluated on the int8 datapath instead of float weights.")
    var quantized: String?

    @Flag(help: "Leave the chip's faulty PEs unmitigated (needs --quantized): each gets a stuck-at bit on its partial-sum output (--stuck-bits) instead of a FAP bypass.")
    var unmitigated = false

    @Option(name: .customLong("stuck-bits"), help: "With --unmitigated: which partial-sum bit is stuck, uniform (0-31), high (24-31) or fixed:B; the stuck value is 0 or 1 at random.")
    var stuckBits: String = "uniform"

    @Option(name: .customLong("stuck-seed"), help: "With --unmitigated: seed of the stuck bits and values (default: --seed, else the chip index, else 0).")
    var stuckSeed: UInt64?

    @Option(help: "CIFAR-10 binary directory (default: $FAPSIM_CIFAR_DIR, else ../shared/datasets/cifar-10-batches-bin if present, else the `fapsim data fetch` cache).")
    var data: String?

    @OptionGroup var chip: ChipOptions

    @Option(help: "Hardware config YAML (default: \(defaultConfigPath), a 256x256 array).")
    var config: String?

    @Option(help: "functional (im2col + masked OpenBLAS GEMM) or array (every GEMM on the register-level array).")
    var engine: Engine = .functional

    @Option(help: "Evaluate only the first N test images.")
    var limit: Int?

    @Option(help: "Evaluate on the held-out validation split instead: the last N of the 50,000 training images (as --validation of fat, resilience and reduce).")
    var validation: Int?

    @Option(name: .customLong("validation-from"), help: "Where --validation takes its images: train (the last N training images, default) or test (the first N test images), as for fat, resilience and reduce.")
    var validationFrom: HeldOutSplits.ValidationSource?

    @Option(help: "Images per forward pass (default 128 functional, 1 array).")
    var batch: Int?

    @Option(help: "Threads clocking column strips of one array GEMM (array engine; default 1, see docs/performance.md).")
    var threads: Int?

    @Option(help: "Array engine: batches simulated in parallel, one worker each (default: all cores); results are bit-identical for any count.")
    var workers: Int?

    @Option(name: .customLong("conv-algorithm"),
            help: "Functional engine: gemm (im2col, the reference: the chip's arithmetic) or winograd (F(2x2, 3x3): faster, other roundings, for sweeps; see docs/performance.md).")
    var convAlgorithm: ConvAlgorithm = .gemm

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    @Flag(help: ArgumentHelp("Print the time spent in each forward step (im2col, gemm, bn_relu, maxpool) on stderr.",
                             visibility: .hidden))
    var profile = false

    func validate() throws {
        if (weights == nil) == (quantized == nil) {
            throw ValidationError("expected one network: --weights FILE (float) or --quantized FILE (int8)")
        }
        if unmitigated && quantized == nil {
            throw ValidationError("--unmitigated: stuck-at faults are modelled on the int8 datapath only; give --quantized FILE (the float engines run FAP bypass)")
        }
        do { _ = try StuckBitDistribution(parsing: stuckBits) } catch let e as FapsimError { throw ValidationError(e.message) }
        if let limit, limit <= 0 { throw ValidationError("--limit: expected a positive number of images, got \(limit)") }
        if validation != nil && limit != nil { throw ValidationError("--validation: expected either --limit (test images) or --validation, got both") }
        if validationFrom != nil && validation == nil { throw ValidationError("--validation-from: only with --validation N") }
        do { _ = try HeldOutSplits(trainSubset: nil, validation: validation, testSubset: nil, validationSource: validationFrom ?? .train) } catch let e as FapsimError { throw ValidationError(e.message) }
        if let threads, threads <= 0 { throw ValidationError("--threads: expected a positive count, got \(threads)") }
        if let batch, batch <= 0 { throw ValidationError("--batch: expected a positive batch size, got \(batch)") }
        if let workers, workers <= 0 { throw ValidationError("--workers: expected a positive count, got \(workers)") }
        if workers != nil && engine != .array { throw ValidationError("--workers: only with --engine array (the functional engine spreads each GEMM over the cores itself)") }
        if convAlgorithm == .winograd && engine != .functional {
            throw ValidationError("--conv-algorithm winograd: only with --engine functional (the array computes every product on its PEs)")
        }
    }

    func run() throws {
        let hw = try Self.loadConfig(config)
        if let quantized { return try runQuantized(path: quantized, hw: hw) }
        let weights = weights!
        let params = try VGG11Parameters.load(path: weights)
        let dataDir = CIFAR10Set.resolveDirectory(data)
        let chipState = try chip.chipDescription(config: hw, configPath: config ?? EvaluateCommand.defaultConfigPath, parameters: params) {
            try CIFAR10Set.load(directory: dataDir, split: .train, limit: chip.mitigation.famCalibration)
        }
        let faults = chipState.faults
        let splits = try HeldOutSplits(trainSubset: nil, validation: validation, testSubset: limit, validationSource: validationFrom ?? .train)
        let test = try splits.loadValidation(directory: dataDir) ?? splits.loadTest(directory: dataDir)

        let images = test.count
        let progress = ProgressLine("evaluate (\(engine.rawValue))", total: images, unit: "images", quiet: quiet)
        let stepTimes = profile ? ForwardProfile() : nil
        let start = Date()
        let result: EvaluationResult
        var runs: [LayerRun] = []
        switch engine {
        case .functional:
            let network = VGG11Network(parameters: params, engine: FunctionalEngine(chip: chipState), convolution: convAlgorithm)
            network.profile = stepTimes
            result = try Evaluator.evaluate(network: network, data: test, batch: batch ?? 128, progress: progress)
        case .array:
            // --profile times one network's steps: it needs the one-worker run.
            let count = stepTimes != nil ? 1 : (workers ?? Parallel.threads)
            let first = try ArrayEngine(config: hw, chip: chipState, threads: threads)
            let engines = try [first] + (1..<max(1, count)).map { _ in try first.copy() }
            (result, runs) = try Evaluator.evaluate(parameters: params, engines: engines, data: test, batch: batch ?? 1,
                                                    progress: progress, profile: stepTimes)
        }
        progress.finish()
        let wall = Date().timeIntervalSince(start)
        if let stepTimes {
            let text = stepTimes.seconds.sorted { $0.value > $1.value }
                .map { String(format: "%@ %.2fs", $0.key, $0.value) }.joined(separator: ", ")
            FileHandle.standardError.write(Data("steps: \(text); total \(String(format: "%.2fs", wall))\n".utf8))
        }
        let layers = engine == .array ? Self.layerTotals(runs) : []
        let totalCycles = layers.reduce(0) { $0 + $1.cycles }

        if json {
            var out: [String: Any] = [
                "accuracy": result.accuracy,
                "images": result.images,
                "correct": result.correct,
                "per_class": result.perClassAccuracy,
                "engine": engine.rawValue,
                "weights": weights,
                "width": params.spec.width,
                "fault_rate": faults?.faultRate ?? 0,
                "mitigation": chipState.mitigation.rawValue,
                "wall_s": wall,
            ]
            if let famMapping = chip.famMapping { out["fam_mapping"] = famMapping }
            // Which FAM plan the figures belong to (a mapping file's own record
            // when one is given), so tables of several methods can tell runs apart.
            if chipState.mitigation == .fam && chip.famMapping == nil {
                out["fam_method"] = try chip.mitigation.method().rawValue
                out["fam_saliency"] = chip.mitigation.saliencyName
            }
            if let faults {
                out["fault_map_checksum"] = faults.checksum
                out["pruned_weight_share"] = PrunedShare.weightCounted(chipState, spec: params.spec)
                out["pruned_saliency_share"] = PrunedShare.saliencyWeighted(chipState, parameters: params)
            }
            out.merge(chip.provenance) { a, _ in a }
            out.merge(chipState.spareReport) { a, _ in a }
            if engine == .functional { out["conv_algorithm"] = convAlgorithm.rawValue }
            if engine == .array {
                out["workers"] = stepTimes != nil ? 1 : (workers ?? Parallel.threads)
                out["config"] = hw.name
                out["cycles"] = totalCycles
                out["time_s_at_clock"] = hw.seconds(cycles: totalCycles)
                out["layers"] = layers.map { l -> [String: Any] in
                    ["layer": l.layer, "m": l.m, "k": l.k, "n": l.n, "cycles": l.cycles,
                     "macs_performed": l.macsPerformed, "macs_bypassed": l.macsBypassed]
                }
            }
            JSONOutput.print(out)
            return
        }
        let faultText = faults.map { String(format: "%.4f of PEs faulty (%ld of %ld)", $0.faultRate, $0.faultyCount, $0.rows * $0.cols) }
            ?? "fault-free"
        print(String(format: "top-1 accuracy %.2f%% (%ld/%ld images), %@ engine, %@",
                     100 * result.accuracy, result.correct, result.images, engine.rawValue, faultText))
        if let line = chipState.spareSummary { print(line) }
        for (i, name) in result.classNames.enumerated() where result.perClassTotal[i] > 0 {
            let padded = name.padding(toLength: max(12, name.count), withPad: " ", startingAt: 0)
            print("  " + padded + String(format: " %6.2f%% (%ld/%ld)", 100 * Double(result.perClassCorrect[i]) / Double(result.perClassTotal[i]),
                                         result.perClassCorrect[i], result.perClassTotal[i]))
        }
        if engine == .array {
            print("array cycles on \(hw.name) (\(hw.rows)x\(hw.cols), \(hw.weightLoad.rawValue)):")
            for l in layers {
                print("  \(l.layer.padding(toLength: 12, withPad: " ", startingAt: 0)) M=\(l.m) K=\(l.k) N=\(l.n) cycles=\(l.cycles)")
            }
            print(String(format: "  total %ld cycles (%.6f s at %.0f MHz)", totalCycles, hw.seconds(cycles: totalCycles), hw.clockMHz))
        }
    }

    /// The int8 network on the int8 functional path or the register-level int8
    /// array, with the chip's faulty PEs bypassed (FAP) or, with --unmitigated,
    /// stuck-at faults on their partial sums.
    func runQuantized(path: String, hw: HardwareConfig) throws {
        let model = try QuantizedVGG11.load(path: path)
        var chipState: ChipDescription
        var stuck: [StuckAtFault] = []
        if let lot = chip.lot, let index = chip.chip {
            if unmitigated {
                throw FapsimError("--unmitigated: a lot chip's fault kinds come from the lot (lot generate --stuck-bits); drop --unmitigated")
            }
            (chipState, stuck) = try ChipLotFile.readInt8Chip(path: lot, chip: index, config: hw)
            chipState = ChipDescription(faults: chipState.faults,
                                        mitigation: try chip.mitigation.resolve(lot: chipState.mitigation, lotPath: lot),
                                        spares: try hw.spares(for: try chip.mitigation.resolve(lot: chipState.mitigation, lotPath: lot), path: config ?? EvaluateCommand.defaultConfigPath))
            try chipState.checkUsable()
        } else {
            chipState = try chip.chipDescription(config: hw, configPath: config ?? EvaluateCommand.defaultConfigPath)
        }
        // Spares only change which PEs FAP bypasses, so the int8 engines run them
        // as they are; unmitigated stuck-at PEs are not repaired (refused below).
        guard chipState.mitigation == .fap || chipState.mitigation == .spares else {
            throw FapsimError("--mitigation \(chipState.mitigation.rawValue): the int8 network runs under fap, spares or --unmitigated only (FAM plans are made for float weights, row/column bypass is not modelled on the int8 path)")
        }
        if unmitigated && chipState.mitigation == .spares {
            throw FapsimError("--unmitigated: the chip's faulty PEs are unmitigated stuck-at faults; expected no --mitigation spares (spares repair bypassed PEs only)")
        }
        let bits = try StuckBitDistribution(parsing: stuckBits)
        if unmitigated, let faults = chipState.faults {
            stuck = bits.draw(faults: faults, seed: stuckSeed ?? chip.seed ?? UInt64(chip.chip ?? 0))
            chipState = ChipDescription(faults: nil)
        }
        let faultCount = stuck.count + (chipState.effectiveFaults?.faultyCount ?? 0)
        let dataDir = CIFAR10Set.resolveDirectory(data)
        let splits = try HeldOutSplits(trainSubset: nil, validation: validation, testSubset: limit, validationSource: validationFrom ?? .train)
        let test = try splits.loadValidation(directory: dataDir) ?? splits.loadTest(directory: dataDir)
        let int8Engine: any Int8GEMMEngine = engine == .array
            ? try Int8ArrayEngine(config: hw, chip: chipState, stuckAt: stuck, threads: threads)
            : try Int8FunctionalEngine(config: hw, chip: chipState, stuckAt: stuck)
        let network = QuantizedNetwork(model: model, engine: int8Engine)
        let progress = ProgressLine("evaluate (int8 \(engine.rawValue))", total: test.count, unit: "images", quiet: quiet)
        let start = Date()
        let result = try Evaluator.evaluate(network: network, data: test, batch: batch ?? (engine == .array ? 1 : 128),
                                            progress: progress)
        progress.finish()
        let wall = Date().timeIntervalSince(start)
        let handling = unmitigated ? "unmitigated stuck-at (\(bits))"
            : stuck.isEmpty ? "fap" : "\(stuck.count) unmitigated stuck-at from the lot, the rest fap"
        if json {
            var out: [String: Any] = [
                "accuracy": result.accuracy, "images": result.images, "correct": result.correct,
                "per_class": result.perClassAccuracy, "engine": "int8-" + engine.rawValue, "quantized": path,
                "width": model.spec.width, "faulty_pes": faultCount,
                "fault_rate": Double(faultCount) / Double(hw.rows * hw.cols),
                "mitigation": unmitigated ? "none" : chipState.mitigation.rawValue, "stuck_at_pes": stuck.count, "wall_s": wall,
            ]
            out.merge(chipState.spareReport) { a, _ in a }
            if unmitigated { out["stuck_bits"] = bits.description }
            out.merge(chip.provenance) { a, _ in a }
            JSONOutput.print(out)
            return
        }
        print(String(format: "top-1 accuracy %.2f%% (%ld/%ld images), int8 %@ engine, %ld faulty PEs of %ld, %@",
                     100 * result.accuracy, result.correct, result.images, engine.rawValue, faultCount,
                     hw.rows * hw.cols, handling))
        for (i, name) in result.classNames.enumerated() where result.perClassTotal[i] > 0 {
            let padded = name.padding(toLength: max(12, name.count), withPad: " ", startingAt: 0)
            print("  " + padded + String(format: " %6.2f%% (%ld/%ld)", 100 * Double(result.perClassCorrect[i]) / Double(result.perClassTotal[i]),
                                         result.perClassCorrect[i], result.perClassTotal[i]))
        }
    }

    struct LayerTotal {
        var layer: String
        var m: Int, k: Int, n: Int
        var cycles: Int, macsPerformed: Int, macsBypassed: Int
    }

    /// Sums each layer's GEMMs over all batches (M summed too), in network order.
    static func layerTotals(_ runs: [LayerRun]) -> [LayerTotal] {
        var order: [String] = []
        var totals: [String: LayerTotal] = [:]
        for r in runs {
            if var t = totals[r.layer] {
                t.m += r.m
                t.cycles += r.stats.cycles
                t.macsPerformed += r.stats.macsPerformed
                t.macsBypassed += r.stats.macsBypassed
                totals[r.layer] = t
            } else {
                order.append(r.layer)
                totals[r.layer] = LayerTotal(layer: r.layer, m: r.m, k: r.k, n: r.n, cycles: r.stats.cycles,
                                             macsPerformed: r.stats.macsPerformed, macsBypassed: r.stats.macsBypassed)
            }
        }
        return order.map { totals[$0]! }
    }

    static func loadConfig(_ path: String?) throws -> HardwareConfig {
        if let path { return try HardwareConfig.load(path: path) }
        if FileManager.default.fileExists(atPath: defaultConfigPath) {
            return try HardwareConfig.load(path: defaultConfigPath)
        }
        return HardwareConfig(name: "tpu-256x256", rows: 256, cols: 256)
    }
}
