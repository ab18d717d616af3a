import Foundation
import FapsimSupport
import SystolicArray

/// Cycle accounting of one layer's GEMM on the array.
public struct LayerRun: Sendable, Equatable {
    public let layer: String
    public let m: Int
    public let k: Int
    public let n: Int
    public let stats: GEMMStats

    public init(layer: String, m: Int, k: Int, n: Int, stats: GEMMStats) {
        self.layer = layer
        self.m = m
        self.k = k
        self.n = n
        self.stats = stats
    }
}

/// Every conv and linear GEMM runs fold by fold on the register-level PE array,
/// with the chip's fault map in the bypass muxes and each layer's weights where
/// the chip's mitigation maps them.
public final class ArrayEngine: GEMMEngine {
    public let config: HardwareConfig
    public let chip: ChipDescription
    /// Worker threads the array simulation may use (nil = the array's default).
    public let threads: Int?
    /// Steps every PE on every edge (no idle skipping): same results, for
    /// measuring what skipping saves.
    public var stepEveryPE = false
    /// One record per GEMM executed, in execution order (a layer run on several
    /// batches appears once per batch).
    public private(set) var runs: [LayerRun] = []
    /// Called after each layer's GEMM, for progress and streaming traces.
    public var onLayer: ((LayerRun) -> Void)?
    /// Optional per-layer observer of the PE registers (waveform dumps): return
    /// one for the layers to watch, nil for the rest.
    public var observerForLayer: ((String) -> ArrayObserver?)?

    public init(config: HardwareConfig, chip: ChipDescription, threads: Int? = nil) throws {
        if let faults = chip.faults, faults.rows != config.rows || faults.cols != config.cols {
            throw FapsimError("fault map is \(faults.rows)x\(faults.cols) but the array in config \(config.name) is \(config.rows)x\(config.cols)")
        }
        self.config = config
        self.chip = chip
        self.threads = threads
    }

    /// A chip under FAP with this fault map.
    public convenience init(config: HardwareConfig, faults: FaultMap?, threads: Int? = nil) throws {
        try self.init(config: config, chip: ChipDescription(faults: faults), threads: threads)
    }

    public func prepare(layer: String, weights: [Float], k: Int, n: Int) -> [Float] {
        weights
    }

    public func gemm(layer: String, weights: UnsafePointer<Float>, k: Int, n: Int,
                     columns at: UnsafePointer<Float>, m: Int, out: UnsafeMutablePointer<Float>) throws {
        // The array takes A[M][K] and returns Out[M][N]; the network keeps the
        // transposes (At, Out^T). One allocation per layer is nothing next to
        // the cycle-by-cycle simulation.
        var a = [Float](repeating: 0, count: m * k)
        a.withUnsafeMutableBufferPointer { Layout.transpose(src: at, rows: k, cols: m, dst: $0.baseAddress!) }
        let w = Array(UnsafeBufferPointer(start: weights, count: k * n))
        let mapping = chip.mapping(layer: layer, k: k, n: n, rows: config.rows, cols: config.cols)
        let result = try ArrayGEMM.run(config: config, faults: chip.effectiveFaults, a: a, m: m, k: k, w: w, n: n,
                                       mapping: mapping, threads: threads, observer: observerForLayer?(layer),
                                       stepEveryPE: stepEveryPE)
        result.output.withUnsafeBufferPointer { o in
            Layout.transpose(src: o.baseAddress!, rows: m, cols: n, dst: out)
        }
        let record = LayerRun(layer: layer, m: m, k: k, n: n, stats: result.stats)
        runs.append(record)
        onLayer?(record)
    }

    /// Another engine for the same chip, config and threads (no observer, no
    /// records): what a second evaluation worker runs on.
    public func copy() throws -> ArrayEngine {
        let engine = try ArrayEngine(config: config, chip: chip, threads: threads)
        engine.stepEveryPE = stepEveryPE
        return engine
    }

    /// Total cycles of every GEMM run so far.
    public var totalCycles: Int { runs.reduce(0) { $0 + $1.stats.cycles } }

    public func resetRuns() { runs.removeAll() }
}

extension Evaluator {
    /// Evaluation on the register-level array with one worker per engine (each
    /// engine a copy of the same chip and config): whole batches run in parallel,
    /// each simulated exactly as on one worker, so predictions and cycle records
    /// are bit-identical to a one-worker run. Returns the result and every GEMM's
    /// record in batch order, as one engine would have recorded them.
    /// Batch 0 runs on `engines[0]`, so an observer given only to that engine
    /// sees the first batch, as with one worker.
    public static func evaluate(parameters: VGG11Parameters, engines: [ArrayEngine], data: CIFAR10Set, limit: Int? = nil,
                                batch: Int, progress: ProgressLine? = nil,
                                profile: ForwardProfile? = nil) throws -> (EvaluationResult, [LayerRun]) {
        precondition(!engines.isEmpty && (profile == nil || engines.count == 1), "a step profile times one worker")
        let networks = engines.map { VGG11Network(parameters: parameters, engine: $0) }
        networks[0].profile = profile
        let lock = NSLock()
        nonisolated(unsafe) var perBatch: [Int: [LayerRun]] = [:]
        nonisolated(unsafe) let engines = engines
        let result = try evaluate(networks: networks, data: data, limit: limit, batch: batch, progress: progress) { w, index in
            let runs = engines[w].runs
            engines[w].resetRuns()
            lock.lock(); defer { lock.unlock() }
            perBatch[index] = runs
        }
        return (result, perBatch.keys.sorted().flatMap { perBatch[$0]! })
    }
}
