import Foundation
import FapsimStore
import FapsimSupport

/// Post-training int8 quantization of VGG11 for the int8 array (docs/quantization.md):
///
/// - BN folded into the conv before quantizing: W'[k][n] = W[k][n] x s[n] and
///   b'[n] = the BN shift with the conv bias (`BatchNorm.inferenceAffine`);
/// - weights per output channel, symmetric: scale_w[n] = max_k |W'[k][n]| / 127,
///   q = clamp(round(W' / scale_w[n]), -127, 127);
/// - activations per tensor, symmetric: each GEMM layer's input scale is
///   max |x| / 127 over the calibration images (the first N training images,
///   normalised, no augmentation), measured on the float network;
/// - bias in int32, in units of scale_x x scale_w[n];
/// - rounding everywhere: to nearest, ties away from zero.
public enum Int8Quantizer {
    public static let calibrationRule = "per-tensor max |x| / 127 over the first N training images (float network, no augmentation)"
    public static let rounding = "round to nearest, ties away from zero; clamp to [-127, 127] (weights, inputs) or [0, 127] after ReLU"

    /// Quantizes `parameters`, calibrating the activation scales on `calibration`
    /// (its images are used in order). Refuses an empty calibration set.
    public static func quantize(parameters: VGG11Parameters, calibration: CIFAR10Set, images: Int,
                                progress: ProgressLine? = nil) throws -> QuantizedVGG11 {
        guard images > 0 else {
            throw FapsimError("--calibration: expected a positive number of training images to calibrate the activation scales on, got \(images)")
        }
        guard calibration.count >= images else {
            throw FapsimError("--calibration: expected at most \(calibration.count) images (the training split loaded), got \(images)")
        }
        let inputMax = try calibrate(parameters: parameters, data: calibration, images: images, progress: progress)
        let spec = parameters.spec
        var layers: [QuantizedLayerRecord] = []
        let all = spec.layers
        for (i, layer) in all.enumerated() {
            let name: String, k: Int, n: Int
            switch layer {
            case .conv(let c): (name, k, n) = (c.name, c.k, c.outChannels)
            case .linear(let l): (name, k, n) = (l.name, l.inFeatures, l.outFeatures)
            default: continue
            }
            let p = parameters.gemm[name]!
            var w = p.weight, b = p.bias
            if i + 1 < all.count, case .batchNorm(let bn) = all[i + 1] {
                let affine = BatchNorm.inferenceAffine(parameters.batchNorm[bn.name]!, precedingBias: p.bias)
                for kk in 0..<k { for j in 0..<n { w[kk * n + j] *= affine.scale[j] } }
                b = affine.shift
            }
            let maxInput = inputMax[name] ?? 0
            // An input that is zero on every calibration image: any positive scale
            // gives the same (all-zero) int8 tensor.
            let inputScale = maxInput > 0 ? Float(Double(maxInput) / 127) : 1
            var scales = [Float](repeating: 1, count: n)
            for j in 0..<n {
                var m: Float = 0
                for kk in 0..<k { m = max(m, abs(w[kk * n + j])) }
                if m > 0 { scales[j] = Float(Double(m) / 127) }
            }
            var q = [Int8](repeating: 0, count: k * n)
            for kk in 0..<k {
                for j in 0..<n { q[kk * n + j] = Int8(clamping: clampRound(Double(w[kk * n + j]) / Double(scales[j]), -127, 127)) }
            }
            let bias = (0..<n).map { j in
                Int32(clamping: clampRound(Double(b[j]) / (Double(inputScale) * Double(scales[j])),
                                           Int(Int32.min), Int(Int32.max)))
            }
            layers.append(QuantizedLayerRecord(name: name, k: k, n: n, weights: q, weightScales: scales, bias: bias,
                                               inputScale: inputScale))
        }
        let file = QuantizedWeightsFile(architecture: VGG11Spec.architecture, width: spec.width, calibrationImages: images,
                                        calibrationRule: calibrationRule, rounding: rounding,
                                        sourceChecksum: parameters.weightsFile().checksum, layers: layers)
        return try QuantizedVGG11(file: file, path: "quantized network")
    }

    /// max |x| of every GEMM layer's input over the first `images` images.
    static func calibrate(parameters: VGG11Parameters, data: CIFAR10Set, images: Int,
                          progress: ProgressLine?) throws -> [String: Float] {
        let network = VGG11Network(parameters: parameters, engine: FunctionalEngine())
        var maxima: [String: Float] = [:]
        network.gemmInputObserver = { layer, x in
            var m = maxima[layer] ?? 0
            for v in x { m = max(m, abs(v)) }
            maxima[layer] = m
        }
        let batch = 128
        var input = [Float](repeating: 0, count: batch * CIFAR10Set.imageBytes)
        var logits = [Float](repeating: 0, count: batch * parameters.spec.classes)
        var start = 0
        while start < images {
            let n = min(batch, images - start)
            try input.withUnsafeMutableBufferPointer { inp in
                data.normalize(start..<(start + n), into: inp.baseAddress!)
                try logits.withUnsafeMutableBufferPointer { out in
                    try network.forward(images: inp.baseAddress!, batch: n, logits: out.baseAddress!)
                }
            }
            start += n
            progress?.advance(by: n)
        }
        return maxima
    }

    /// round(x) to nearest, ties away from zero, clamped to [lo, hi].
    @inline(__always) static func clampRound(_ x: Double, _ lo: Int, _ hi: Int) -> Int {
        guard x.isFinite else { return x > 0 ? hi : lo }
        let r = x.rounded(.toNearestOrAwayFromZero)
        if r <= Double(lo) { return lo }
        if r >= Double(hi) { return hi }
        return Int(r)
    }
}
