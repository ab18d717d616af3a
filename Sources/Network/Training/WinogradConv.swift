import MaskedGEMM

/// How the trainer computes its 3x3 convolutions. Both give the convolution of
/// the masked weights (the faulty array's function); they differ in the last
/// bits, so a run's checkpoints record which one it used.
public enum ConvAlgorithm: String, Sendable, Equatable, CaseIterable {
    /// im2col + GEMM (+ col2im backward): the path proven equal to the array.
    case gemm
    /// Winograd F(2x2, 3x3) (`WinogradF2x3`): 2.25x fewer multiplies; within
    /// the bound of `WinogradTests` of the gemm path.
    case winograd

    /// Inputs with fewer channels than this stay on im2col: VGG11's RGB layer
    /// has a GEMM inner dimension of 3 in the Winograd domain (too short for
    /// BLAS to gain) and is 1% of the MACs.
    public static let winogradMinInChannels = 4

    /// Whether `spec` runs through Winograd under this algorithm.
    public func usesWinograd(_ spec: ConvSpec) -> Bool {
        self == .winograd && spec.inChannels >= Self.winogradMinInChannels && WinogradF2x3.supports(spec)
    }
}

/// A 3x3 convolution layer computed through F(2x2, 3x3): the 16 transformed
/// positions are 16 independent GEMMs whose work adds up to 16/36 of the
/// layer's im2col GEMM:
///   forward:          M[ξ] (Cout x T) = U[ξ]ᵀ · V[ξ]   (U[ξ]: Cin x Cout, V[ξ]: Cin x T)
///   weight gradient: dU[ξ] (Cin x Cout) = V[ξ] · E[ξ]ᵀ
///   input gradient:  dV[ξ] (Cin x T)  = U[ξ] · E[ξ]
/// (E: the transformed output gradient). The bias is not part of it (the
/// trainer folds it into BatchNorm).
public enum WinogradConv {
    /// Floats of V (or dV) for a batch: 16 * Cin * T.
    public static func inputTransformCount(_ spec: ConvSpec, batch: Int) -> Int {
        WinogradF2x3.positions * spec.inChannels * WinogradF2x3.tiles(batch: batch, height: spec.height, width: spec.width)
    }
    /// Floats of M (or E) for a batch: 16 * Cout * T.
    public static func outputTransformCount(_ spec: ConvSpec, batch: Int) -> Int {
        WinogradF2x3.positions * spec.outChannels * WinogradF2x3.tiles(batch: batch, height: spec.height, width: spec.width)
    }
    /// Floats of U (or dU): 16 * Cout * Cin.
    public static func weightTransformCount(_ spec: ConvSpec) -> Int {
        WinogradF2x3.positions * spec.outChannels * spec.inChannels
    }

    /// Forward without bias: out (CNHW) = conv(x, W). Leaves U and V (needed by
    /// `backward`) in `u` and `v`; `m` is scratch of `outputTransformCount`.
    public static func forward(input x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, batch: Int, spec: ConvSpec,
                               u: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                               m: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>,
                               timed: (String, () -> Void) -> Void = { $1() }) {
        precondition(WinogradF2x3.supports(spec))
        let cin = spec.inChannels, cout = spec.outChannels
        let t = WinogradF2x3.tiles(batch: batch, height: spec.height, width: spec.width)
        timed("winograd_weights") {
            WinogradF2x3.transformWeights(w, inChannels: cin, outChannels: cout, dst: u)
        }
        timed("winograd_input") {
            WinogradF2x3.transformInput(x, channels: cin, batch: batch, height: spec.height, width: spec.width, dst: v)
        }
        timed("gemm_forward.\(spec.name)") {
            TrainerGEMMs.each(WinogradF2x3.positions) { xi in
                MaskedGEMM.sgemm(m: cout, n: t, k: cin, a: u + xi * cin * cout, lda: cout, transA: true,
                                 b: v + xi * cin * t, ldb: t, c: m + xi * cout * t, ldc: t)
            }
        }
        timed("winograd_output") {
            WinogradF2x3.inverseOutput(m, channels: cout, batch: batch, height: spec.height, width: spec.width, dst: out)
        }
    }

    /// Backward from the U and V that `forward` left: dW (overwritten), and dX
    /// (CNHW, overwritten) unless nil. `e` is scratch of `outputTransformCount`,
    /// `du` of `weightTransformCount`. `v` is overwritten by dV when dX is wanted
    /// (after dU, the only other use of V, is done). The bias gradient is the
    /// caller's (a sum of the output gradient).
    public static func backward(outputGradient dy: UnsafePointer<Float>, batch: Int, spec: ConvSpec,
                                u: UnsafePointer<Float>, v: UnsafeMutablePointer<Float>,
                                e: UnsafeMutablePointer<Float>, du: UnsafeMutablePointer<Float>,
                                weightGradient dw: UnsafeMutablePointer<Float>,
                                inputGradient dx: UnsafeMutablePointer<Float>?,
                                timed: (String, () -> Void) -> Void = { $1() }) {
        precondition(WinogradF2x3.supports(spec))
        let cin = spec.inChannels, cout = spec.outChannels
        let t = WinogradF2x3.tiles(batch: batch, height: spec.height, width: spec.width)
        timed("winograd_output_gradient") {
            WinogradF2x3.transformOutputGradient(dy, channels: cout, batch: batch, height: spec.height,
                                                 width: spec.width, dst: e)
        }
        timed("gemm_weight_gradient.\(spec.name)") {
            TrainerGEMMs.each(WinogradF2x3.positions) { xi in
                MaskedGEMM.sgemm(m: cin, n: cout, k: t, a: v + xi * cin * t, lda: t,
                                 b: e + xi * cout * t, ldb: t, transB: true, c: du + xi * cin * cout, ldc: cout)
            }
        }
        timed("winograd_weight_gradient") {
            WinogradF2x3.weightGradient(du, inChannels: cin, outChannels: cout, dst: dw)
        }
        guard let dx else { return }
        timed("gemm_input_gradient.\(spec.name)") {
            TrainerGEMMs.each(WinogradF2x3.positions) { xi in
                MaskedGEMM.sgemm(m: cin, n: t, k: cout, a: u + xi * cin * cout, lda: cout,
                                 b: e + xi * cout * t, ldb: t, c: v + xi * cin * t, ldc: t)
            }
        }
        timed("winograd_input_gradient") {
            WinogradF2x3.inputGradient(v, channels: cin, batch: batch, height: spec.height, width: spec.width, dst: dx)
        }
    }

    /// Array convenience (allocates): forward without bias of a CNHW input.
    public static func forward(input: [Float], batch: Int, spec: ConvSpec, weights: [Float]) -> [Float] {
        let m = batch * spec.height * spec.width
        precondition(input.count == spec.inChannels * m && weights.count == spec.k * spec.outChannels)
        var out = [Float](repeating: 0, count: spec.outChannels * m)
        var u = [Float](repeating: 0, count: weightTransformCount(spec))
        var v = [Float](repeating: 0, count: inputTransformCount(spec, batch: batch))
        var mm = [Float](repeating: 0, count: outputTransformCount(spec, batch: batch))
        input.withUnsafeBufferPointer { x in
            weights.withUnsafeBufferPointer { w in
                forward(input: x.baseAddress!, weights: w.baseAddress!, batch: batch, spec: spec,
                        u: &u, v: &v, m: &mm, out: &out)
            }
        }
        return out
    }

    /// Array convenience (allocates): (dW, dX) of one conv for a CNHW input.
    public static func backward(input: [Float], batch: Int, spec: ConvSpec, weights: [Float], outputGradient: [Float])
        -> (weight: [Float], input: [Float]) {
        let m = batch * spec.height * spec.width
        precondition(input.count == spec.inChannels * m && weights.count == spec.k * spec.outChannels
                     && outputGradient.count == spec.outChannels * m)
        var u = [Float](repeating: 0, count: weightTransformCount(spec))
        var v = [Float](repeating: 0, count: inputTransformCount(spec, batch: batch))
        var e = [Float](repeating: 0, count: outputTransformCount(spec, batch: batch))
        var du = [Float](repeating: 0, count: weightTransformCount(spec))
        var dW = [Float](repeating: 0, count: spec.k * spec.outChannels)
        var dX = [Float](repeating: 0, count: input.count)
        var out = [Float](repeating: 0, count: spec.outChannels * m)
        input.withUnsafeBufferPointer { x in
            weights.withUnsafeBufferPointer { w in
                forward(input: x.baseAddress!, weights: w.baseAddress!, batch: batch, spec: spec,
                        u: &u, v: &v, m: &e, out: &out)
            }
        }
        outputGradient.withUnsafeBufferPointer { g in
            u.withUnsafeBufferPointer { uu in
                backward(outputGradient: g.baseAddress!, batch: batch, spec: spec, u: uu.baseAddress!, v: &v,
                         e: &e, du: &du, weightGradient: &dW, inputGradient: &dX)
            }
        }
        return (dW, dX)
    }
}
