import Foundation
import FapsimStore
import FapsimSupport
import MaskedGEMM
import SystolicArray

/// A VGG11 quantized to int8 (`Int8Quantizer`), checked against the network
/// description: one `QuantizedLayerRecord` per GEMM layer, in network order.
public struct QuantizedVGG11: Sendable, Equatable {
    public let spec: VGG11Spec
    public let file: QuantizedWeightsFile

    public var layers: [QuantizedLayerRecord] { file.layers }

    /// Checks the layers against VGG11 at the file's width; `path` labels errors.
    public init(file: QuantizedWeightsFile, path: String) throws {
        guard VGG11Parameters.acceptedArchitectures.contains(file.architecture) else {
            throw FapsimError("\(path): architecture: expected \(VGG11Spec.architecture), got '\(file.architecture)'")
        }
        let spec = try VGG11Spec(width: file.width)
        let expected = spec.gemmLayers
        guard expected.map(\.name) == file.layers.map(\.name) else {
            throw FapsimError("\(path): layers: expected \(expected.map(\.name).joined(separator: ", ")), got \(file.layers.map(\.name).joined(separator: ", "))")
        }
        for (e, l) in zip(expected, file.layers) where e.k != l.k || e.n != l.n {
            throw FapsimError("\(path): /layers/\(l.name)/weights: expected shape [\(e.k), \(e.n)] for VGG11 width \(file.width), got [\(l.k), \(l.n)]")
        }
        self.spec = spec
        self.file = file
    }

    public static func load(path: String) throws -> QuantizedVGG11 {
        try QuantizedVGG11(file: try QuantizedWeightsFile.read(path: path), path: path)
    }
}

/// Where the quantized network's GEMMs run: int8 values (held in float32, the
/// network's im2col layout) in, int32 accumulators out.
public protocol Int8GEMMEngine: AnyObject {
    var chip: ChipDescription { get }
    /// The engine's copy of a layer's K x N int8 weights (as float32 values):
    /// the functional engine masks the FAP-bypassed ones, the array keeps them all.
    func prepare(layer: String, weights: [Float], k: Int, n: Int) -> [Float]
    /// OutT[N][M] = (W[K][N])^T x At[K][M] in wrapping int32.
    func gemm(layer: String, weights: UnsafePointer<Float>, k: Int, n: Int,
              columns at: UnsafePointer<Float>, m: Int, out: UnsafeMutablePointer<Int32>) throws
}

/// The fast exact int8 path: FAP-masked weights through the chunked float32 GEMM
/// (`MaskedGEMM.int8GEMMTransposed`), then what the unmitigated stuck-at faults
/// change (`MaskedGEMM.applyStuckAt`). Bit-identical to `Int8ArrayEngine`.
public final class Int8FunctionalEngine: Int8GEMMEngine {
    public let chip: ChipDescription
    public let stuckAt: [StuckAtFault]
    let rows: Int, cols: Int
    private var scratch: [Float] = []
    /// Wall seconds spent in the stuck-at correction so far (`fapsim bench
    /// stuck-at` reports its share); two clock reads per GEMM, only when the
    /// chip has stuck-at faults.
    public private(set) var stuckAtSeconds: Double = 0

    /// `stuckAt`: unmitigated faults on `config`'s array (PEs the chip's map
    /// bypasses are never corrupted).
    public init(config: HardwareConfig, chip: ChipDescription = .faultFree, stuckAt: [StuckAtFault] = []) throws {
        try StuckAtFault.validate(stuckAt, rows: config.rows, cols: config.cols)
        if let f = chip.faults, f.rows != config.rows || f.cols != config.cols {
            throw FapsimError("fault map is \(f.rows)x\(f.cols) but the array (\(config.name)) is \(config.rows)x\(config.cols)")
        }
        self.chip = chip
        self.stuckAt = stuckAt
        rows = config.rows
        cols = config.cols
    }

    public func prepare(layer: String, weights: [Float], k: Int, n: Int) -> [Float] {
        MaskedGEMM.maskedWeights(weights, k: k, n: n, faults: chip.effectiveFaults, mapping: chip.mapping(layer: layer, k: k, n: n))
    }

    public func gemm(layer: String, weights: UnsafePointer<Float>, k: Int, n: Int,
                     columns at: UnsafePointer<Float>, m: Int, out: UnsafeMutablePointer<Int32>) throws {
        if scratch.count < n * m { scratch = [Float](repeating: 0, count: n * m) }
        scratch.withUnsafeMutableBufferPointer { s in
            MaskedGEMM.int8GEMMTransposed(weights: weights, k: k, n: n, columns: at, m: m, out: out, scratch: s.baseAddress!)
        }
        guard !stuckAt.isEmpty else { return }
        let t0 = ProcessStats.now()
        let mapping = chip.mapping(layer: layer, k: k, n: n, rows: rows, cols: cols)
        MaskedGEMM.applyStuckAt(stuckAt, bypass: chip.effectiveFaults, mapping: mapping, weights: weights, columns: at, m: m, outT: out)
        stuckAtSeconds += ProcessStats.now() - t0
    }
}

/// Every GEMM on the register-level int8 array (`ArrayGEMM.runInt8`), with the
/// chip's bypassed PEs and its unmitigated stuck-at faults.
public final class Int8ArrayEngine: Int8GEMMEngine {
    public let chip: ChipDescription
    public let config: HardwareConfig
    public let stuckAt: [StuckAtFault]
    public let threads: Int?

    public init(config: HardwareConfig, chip: ChipDescription = .faultFree, stuckAt: [StuckAtFault] = [],
                threads: Int? = nil) throws {
        try StuckAtFault.validate(stuckAt, rows: config.rows, cols: config.cols)
        self.config = config
        self.chip = chip
        self.stuckAt = stuckAt
        self.threads = threads
    }

    public func prepare(layer: String, weights: [Float], k: Int, n: Int) -> [Float] { weights }

    public func gemm(layer: String, weights: UnsafePointer<Float>, k: Int, n: Int,
                     columns at: UnsafePointer<Float>, m: Int, out: UnsafeMutablePointer<Int32>) throws {
        var a = [Int8](repeating: 0, count: m * k)
        for kk in 0..<k { for i in 0..<m { a[i * k + kk] = Int8(at[kk * m + i]) } }
        let w = (0..<(k * n)).map { Int8(weights[$0]) }
        let mapping = chip.mapping(layer: layer, k: k, n: n, rows: config.rows, cols: config.cols)
        let run = try ArrayGEMM.runInt8(config: config, faults: chip.effectiveFaults, a: a, m: m, k: k, w: w, n: n,
                                        mapping: mapping, stuckAtFaults: stuckAt, threads: threads)
        for j in 0..<n { for i in 0..<m { out[j * m + i] = run.output[i * n + j] } }
    }
}

/// The quantized VGG11's forward pass: int8 activations between layers (held in
/// float32 so im2col, max-pooling and flatten are the float network's own),
/// int32 GEMMs on an `Int8GEMMEngine`, then per output channel
/// q_out = clamp(round((acc + bias) x scale_x x scale_w[n] / scale_out)) with the
/// rounding of `Int8Quantizer`, [0, 127] where a ReLU follows. The classifier's
/// accumulators are dequantized to float logits.
public final class QuantizedNetwork: ImageClassifier {
    public let model: QuantizedVGG11
    public let engine: any Int8GEMMEngine
    public var spec: VGG11Spec { model.spec }

    private var engineWeights: [String: [Float]] = [:]
    /// Per GEMM layer and output channel: scale_x x scale_w[n] / scale_out (or
    /// scale_x x scale_w[n] for the classifier, whose output is the logits).
    private var multiplier: [String: [Double]] = [:]
    private var record: [String: QuantizedLayerRecord] = [:]

    public init(model: QuantizedVGG11, engine: any Int8GEMMEngine) {
        self.model = model
        self.engine = engine
        let layers = model.layers
        for (g, l) in layers.enumerated() {
            record[l.name] = l
            engineWeights[l.name] = engine.prepare(layer: l.name, weights: l.weights.map(Float.init), k: l.k, n: l.n)
            let outScale = g + 1 < layers.count ? Double(layers[g + 1].inputScale) : 1
            multiplier[l.name] = l.weightScales.map { Double(l.inputScale) * Double($0) / outScale }
        }
    }

    public func forward(images: UnsafePointer<Float>, batch: Int, logits: UnsafeMutablePointer<Float>) throws {
        let spec = model.spec
        var channels = spec.inputChannels, height = spec.inputSize, width = spec.inputSize
        let plane = height * width
        var cur = [Float](repeating: 0, count: channels * batch * plane)
        cur.withUnsafeMutableBufferPointer { c in
            Layout.swapLeadingAxes(src: images, outer: batch, inner: channels, plane: plane, dst: c.baseAddress!)
        }
        let s0 = Double(model.layers[0].inputScale)
        for i in cur.indices { cur[i] = Float(Int8Quantizer.clampRound(Double(cur[i]) / s0, -127, 127)) }
        let layers = spec.layers
        var i = 0
        while i < layers.count {
            switch layers[i] {
            case .conv(let c):
                let m = batch * height * width
                let cols = Im2Col.columns(cur, channels: c.inChannels, batch: batch, height: height, width: width,
                                          kernel: c.kernel, padding: c.padding)
                let acc = try gemm(c.name, k: c.k, n: c.outChannels, columns: cols, m: m)
                var relu = false
                if i + 1 < layers.count, case .batchNorm = layers[i + 1] { i += 1 }
                if i + 1 < layers.count, case .relu = layers[i + 1] { relu = true; i += 1 }
                cur = requantize(acc, layer: c.name, n: c.outChannels, m: m, relu: relu)
                channels = c.outChannels
            case .batchNorm, .relu:
                preconditionFailure("quantized VGG11: a BN or ReLU that does not follow a conv")
            case .maxPool:
                var out = [Float](repeating: 0, count: channels * batch * height * width / 4)
                cur.withUnsafeBufferPointer { s in
                    out.withUnsafeMutableBufferPointer { d in
                        MaxPool2x2.forward(src: s.baseAddress!, planes: channels * batch, height: height, width: width,
                                           dst: d.baseAddress!)
                    }
                }
                cur = out
                height /= 2
                width /= 2
            case .flatten:
                var out = [Float](repeating: 0, count: cur.count)
                cur.withUnsafeBufferPointer { s in
                    out.withUnsafeMutableBufferPointer { d in
                        Flatten.forward(src: s.baseAddress!, channels: channels, batch: batch, height: height, width: width,
                                        dst: d.baseAddress!)
                    }
                }
                cur = out
                channels *= height * width
                height = 1
                width = 1
            case .linear(let l):
                let acc = try gemm(l.name, k: l.inFeatures, n: l.outFeatures, columns: cur, m: batch)
                let r = record[l.name]!, mult = multiplier[l.name]!
                for j in 0..<l.outFeatures {
                    for b in 0..<batch {
                        logits[b * l.outFeatures + j] = Float(Double(acc[j * batch + b] &+ r.bias[j]) * mult[j])
                    }
                }
            }
            i += 1
        }
    }

    private func gemm(_ layer: String, k: Int, n: Int, columns: [Float], m: Int) throws -> [Int32] {
        var acc = [Int32](repeating: 0, count: n * m)
        try engineWeights[layer]!.withUnsafeBufferPointer { w in
            try columns.withUnsafeBufferPointer { c in
                try acc.withUnsafeMutableBufferPointer { o in
                    try engine.gemm(layer: layer, weights: w.baseAddress!, k: k, n: n, columns: c.baseAddress!, m: m,
                                    out: o.baseAddress!)
                }
            }
        }
        return acc
    }

    /// The int32 accumulators plus bias, requantized to the next layer's int8 scale.
    private func requantize(_ acc: [Int32], layer: String, n: Int, m: Int, relu: Bool) -> [Float] {
        let r = record[layer]!, mult = multiplier[layer]!
        var out = [Float](repeating: 0, count: n * m)
        let lo = relu ? 0 : -127
        for j in 0..<n {
            let b = r.bias[j], s = mult[j]
            for p in 0..<m {
                out[j * m + p] = Float(Int8Quantizer.clampRound(Double(acc[j * m + p] &+ b) * s, lo, 127))
            }
        }
        return out
    }
}
