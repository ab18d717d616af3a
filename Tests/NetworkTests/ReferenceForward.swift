import MaskedGEMM
import SystolicArray
@testable import Network

/// A layer-by-layer functional forward pass that also carries, for every
/// activation, the variance of its difference from another engine that computes
/// the same network with a different summation order. The tolerance is six
/// standard deviations of that difference.
///
/// Why this tolerance. Each GEMM output is a float32 sum of the same K nonzero
/// products in both engines (a bypassed PE adds nothing; the functional engine
/// adds 0 * a = 0 for the same pruned weight), only in another order: OpenBLAS's
/// blocked dot products versus the array's chain of R PEs plus the accumulator
/// adding K-folds. The worst-case bound of any order is gamma_K * sum |a||w|
/// (gamma_K = K u / (1 - K u), u = 2^-24; Higham, Accuracy and Stability,
/// eq. 3.5), so the engines differ by at most 2 gamma_K sum |a||w| per layer. But
/// propagated as a worst case, an input difference D grows by sum_k |w_kn| per
/// layer (about 40 here), and over nine layers the worst-case bound reached
/// ~6e5 on logits of size ~2: true but useless. Rounding errors are not aligned,
/// though. In the probabilistic model of Higham and Mary (SIAM J. Sci. Comput.
/// 41(5), 2019) each addition's relative error is an independent, mean-zero
/// variable bounded by u, so one engine's error on a K-term sum has standard
/// deviation <= sqrt(K/3) u sum |a||w| and the difference of two engines
/// <= sqrt(2K/3) u sum |a||w|; we use sqrt(2K) u sum |a||w| (a factor sqrt(3) of
/// margin). Differences already present at a layer's inputs are independent
/// across the K distinct inputs of one output (im2col puts K different pixels in
/// one dot product) and propagate to first order through the linear map:
/// Var_out = sum_k w_kn^2 Var_k. The per-channel affine (bias + BN) scales the
/// variance by scale^2 and adds its own roundings; ReLU passes the variance of
/// an active unit and zeroes it where the pre-activation is below -6 sigma (both
/// engines clamp); 2x2 max-pool passes the winner's variance, or the window's
/// largest where the runner-up is within 6 sigma. The tolerance on each logit is
/// 6 sigma (a Gaussian tail of 2e-9), plus a relative 1e-6 for the rounding of
/// the variance computation itself.
struct ReferenceForward {
    static let u: Float = 1.0 / 16_777_216

    let params: VGG11Parameters
    let faults: FaultMap?

    /// Logits [B][classes] and their bounds, for NCHW images.
    func run(images: [Float], batch: Int) -> (logits: [Float], bound: [Float]) {
        let z: Float = 6
        let spec = params.spec
        var channels = spec.inputChannels, h = spec.inputSize, w = spec.inputSize
        var x = [Float](repeating: 0, count: images.count)
        images.withUnsafeBufferPointer { s in
            x.withUnsafeMutableBufferPointer { d in
                Layout.swapLeadingAxes(src: s.baseAddress!, outer: batch, inner: channels, plane: h * w, dst: d.baseAddress!)
            }
        }
        var v = [Float](repeating: 0, count: x.count)   // variance; both engines start from the same images
        let layers = spec.layers
        var logits: [Float] = []
        var bound: [Float] = []
        var i = 0
        while i < layers.count {
            switch layers[i] {
            case .conv(let c):
                let m = batch * h * w
                let cols = Im2Col.columns(x, channels: channels, batch: batch, height: h, width: w)
                let colsV = Im2Col.columns(v, channels: channels, batch: batch, height: h, width: w)
                (x, v) = gemmWithVariance(layer: c.name, cols: cols, colsV: colsV, m: m)
                channels = c.outChannels
                guard case .batchNorm(let b) = layers[i + 1], case .relu = layers[i + 2] else {
                    fatalError("VGG11 has conv, BN, ReLU triples")
                }
                let (scale, shift) = BatchNorm.inferenceAffine(params.batchNorm[b.name]!, precedingBias: params.gemm[c.name]!.bias)
                for ch in 0..<channels {
                    let s = scale[ch], t = shift[ch]
                    for j in (ch * m)..<((ch + 1) * m) {
                        let y = x[j] * s + t
                        // Two roundings (product, sum) in each engine, each of relative size <= u.
                        let affineV = s * s * v[j] + 4 * Self.u * Self.u * (x[j] * s * x[j] * s + t * t)
                        v[j] = y < -z * affineV.squareRoot() ? 0 : affineV
                        x[j] = max(y, 0)
                    }
                }
                i += 2
            case .maxPool:
                let oh = h / 2, ow = w / 2
                var nx = [Float](repeating: 0, count: channels * batch * oh * ow)
                var nv = nx
                for p in 0..<(channels * batch) {
                    for y in 0..<oh {
                        for xx in 0..<ow {
                            let idx = [(0, 0), (0, 1), (1, 0), (1, 1)].map { (p * h + 2 * y + $0.0) * w + 2 * xx + $0.1 }
                            let win = idx.max { x[$0] < x[$1] }!
                            var outV = v[win]
                            for j in idx where j != win && x[win] - x[j] <= z * (v[win] + v[j]).squareRoot() {
                                outV = idx.map { v[$0] }.max()!   // the winner may differ between engines
                            }
                            nx[(p * oh + y) * ow + xx] = x[win]
                            nv[(p * oh + y) * ow + xx] = outV
                        }
                    }
                }
                (x, v, h, w) = (nx, nv, oh, ow)
            case .flatten:
                precondition(h == 1 && w == 1, "VGG11 on 32x32 flattens a 1x1 map, where CNHW is already [K][B]")
            case .linear(let l):
                let (y, vy) = gemmWithVariance(layer: l.name, cols: x, colsV: v, m: batch)
                let bias = params.gemm[l.name]!.bias
                logits = [Float](repeating: 0, count: batch * l.outFeatures)
                bound = logits
                for n in 0..<l.outFeatures {
                    for b in 0..<batch {
                        let v = y[n * batch + b]
                        logits[b * l.outFeatures + n] = v + bias[n]
                        let logitV = vy[n * batch + b] + 2 * Self.u * Self.u * (v * v + bias[n] * bias[n])
                        bound[b * l.outFeatures + n] = z * logitV.squareRoot() + 1e-6 * abs(v + bias[n])
                    }
                }
            default:
                break
            }
            i += 1
        }
        return (logits, bound)
    }

    /// Out^T = Wm^T x cols and the variance of the engines' difference:
    /// Var = (Wm^2)^T x colsV + 2 K u^2 (|Wm|^T x |cols|)^2.
    func gemmWithVariance(layer: String, cols: [Float], colsV: [Float], m: Int) -> ([Float], [Float]) {
        let p = params.gemm[layer]!
        let wm = MaskedGEMM.maskedWeights(p.weight, k: p.k, n: p.n, faults: faults)
        let y = gemm(wm, p.k, p.n, cols, m)
        let prop = gemm(wm.map { $0 * $0 }, p.k, p.n, colsV, m)
        let size = gemm(wm.map(abs), p.k, p.n, cols.map(abs), m)
        let c = 2 * Float(p.k) * Self.u * Self.u
        return (y, zip(prop, size).map { $0 + c * $1 * $1 })
    }

    func gemm(_ w: [Float], _ k: Int, _ n: Int, _ cols: [Float], _ m: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n * m)
        w.withUnsafeBufferPointer { wp in
            cols.withUnsafeBufferPointer { cp in
                out.withUnsafeMutableBufferPointer { op in
                    // The functional engine's own GEMM routine, so the bits are the engine's.
                    FunctionalEngine.product(weights: wp.baseAddress!, k: k, n: n, columns: cp.baseAddress!, m: m, out: op.baseAddress!)
                }
            }
        }
        return out
    }
}
