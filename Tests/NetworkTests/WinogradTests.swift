import Testing
import FapsimSupport
import SystolicArray
@testable import Network

/// Winograd F(2x2, 3x3) against the im2col + GEMM path (itself proven equal to
/// the register-level array), for the forward pass and both gradients, over
/// many shapes, FAP masks and seeds.
///
/// Tolerance, and why: both paths compute the same sums of Cin * 9 products
/// (or, for dW, of batch * H * W * ... products) in float, in different
/// orders, and Winograd's transforms add a few roundings of their own (every
/// coefficient is 0, ±1/2 or ±1, so they cannot amplify beyond a small constant).
/// The error of such a sum is bounded by (a multiple of the unit roundoff)
/// x (the sum of the absolute values of its terms), not by the size of the
/// result, which may cancel to near 0. So each element is checked against
///     |winograd - gemm| <= 2e-5 * S,   S = the same operation on |inputs|
/// (computed through the gemm path). 2e-5 is ~170 units of float's roundoff;
/// each case must also stay below a quarter of it, so the bound has room
/// (measured worst over all cases: 1.4e-6, about 12 roundoffs; printed per case).
@Suite struct WinogradTests {
    static let tolerance: Float = 2e-5

    struct Case: CustomStringConvertible, Sendable {
        let cin, cout, height, width, batch: Int
        let faultRate: Double
        let seed: UInt64
        var description: String { "\(cin)->\(cout) \(height)x\(width) b\(batch) faults \(faultRate) seed \(seed)" }
        var spec: ConvSpec { ConvSpec(name: "c", inChannels: cin, outChannels: cout, height: height, width: width) }
    }

    /// Odd channel counts (vector tails), non-square maps, every VGG11 map size
    /// (2, 4, 8, 16, 32), batches that do not fill the 8-tile staging blocks,
    /// and FAP masks of several rates on an 8x8 array.
    static let cases: [Case] = [
        Case(cin: 1, cout: 1, height: 2, width: 2, batch: 1, faultRate: 0, seed: 1),
        Case(cin: 4, cout: 8, height: 2, width: 2, batch: 3, faultRate: 0.2, seed: 2),
        Case(cin: 5, cout: 3, height: 4, width: 6, batch: 2, faultRate: 0.1, seed: 3),
        Case(cin: 13, cout: 11, height: 6, width: 10, batch: 3, faultRate: 0.3, seed: 4),
        Case(cin: 16, cout: 16, height: 8, width: 8, batch: 4, faultRate: 0.05, seed: 5),
        Case(cin: 8, cout: 24, height: 16, width: 16, batch: 2, faultRate: 0.5, seed: 6),
        Case(cin: 3, cout: 9, height: 32, width: 32, batch: 2, faultRate: 0.2, seed: 7),
        Case(cin: 32, cout: 17, height: 4, width: 4, batch: 9, faultRate: 0.25, seed: 8),
        Case(cin: 40, cout: 64, height: 2, width: 8, batch: 5, faultRate: 1.0, seed: 9),
        Case(cin: 64, cout: 32, height: 8, width: 4, batch: 7, faultRate: 0.15, seed: 10),
        Case(cin: 7, cout: 7, height: 12, width: 2, batch: 11, faultRate: 0.4, seed: 11),
    ]

    static func gaussian(_ n: Int, _ rng: inout SeededRNG) -> [Float] {
        (0..<n).map { _ in Float(rng.nextGaussian()) }
    }

    /// Inputs of a case: CNHW input, FAP-masked weights W[K][Cout], output gradient.
    static func inputs(_ c: Case) -> (x: [Float], w: [Float], dy: [Float]) {
        var rng = SeededRNG(seed: c.seed)
        let m = c.batch * c.height * c.width
        let x = gaussian(c.cin * m, &rng)
        var w = gaussian(c.cin * 9 * c.cout, &rng)
        let dy = gaussian(c.cout * m, &rng)
        let faults = try! FaultMap.uniform(rows: 8, cols: 8, rate: c.faultRate, seed: c.seed &+ 100)
        let mask = faults.weightMask(k: c.cin * 9, n: c.cout)
        for i in w.indices { w[i] *= mask[i] }
        return (x, w, dy)
    }

    /// The largest |a - b| / S over the elements (S > 0), and a check of every element.
    static func check(_ a: [Float], _ b: [Float], scale s: [Float], _ what: String, _ c: Case) -> Float {
        #expect(a.count == b.count && a.count == s.count)
        var worst: Float = 0
        for i in a.indices {
            let bound = tolerance * s[i]
            let diff = abs(a[i] - b[i])
            #expect(diff <= bound, "\(what) [\(i)] of \(c): winograd \(a[i]) gemm \(b[i]) bound \(bound)")
            if s[i] > 0 { worst = max(worst, diff / s[i]) }
        }
        return worst
    }

    static func gemmForward(_ x: [Float], _ w: [Float], _ c: Case) -> [Float] {
        Conv2D.forward(input: x, batch: c.batch, spec: c.spec, weights: w, bias: [Float](repeating: 0, count: c.cout))
    }

    @Test(arguments: cases) func forwardMatchesGEMMPath(_ c: Case) {
        let (x, w, _) = Self.inputs(c)
        let wino = WinogradConv.forward(input: x, batch: c.batch, spec: c.spec, weights: w)
        let gemm = Self.gemmForward(x, w, c)
        let scale = Self.gemmForward(x.map(abs), w.map(abs), c)
        Self.expectRoom(Self.check(wino, gemm, scale: scale, "output", c), "output", c)
    }

    @Test(arguments: cases) func gradientsMatchGEMMPath(_ c: Case) {
        let (x, w, dy) = Self.inputs(c)
        let wino = WinogradConv.backward(input: x, batch: c.batch, spec: c.spec, weights: w, outputGradient: dy)
        let gemm = ConvBackward.backward(input: x, batch: c.batch, spec: c.spec, weights: w, outputGradient: dy)
        let absX = x.map(abs), absW = w.map(abs), absDy = dy.map(abs)
        let scale = ConvBackward.backward(input: absX, batch: c.batch, spec: c.spec, weights: absW, outputGradient: absDy)
        Self.expectRoom(Self.check(wino.weight, gemm.weight, scale: scale.weight, "dW", c), "dW", c)
        Self.expectRoom(Self.check(wino.input, gemm.input, scale: scale.input, "dX", c), "dX", c)
    }

    /// The bound has room: a case's worst ratio stays below a quarter of it.
    static func expectRoom(_ worst: Float, _ what: String, _ c: Case) {
        print("WinogradTests: \(what) of \(c): worst |winograd - gemm| / S = \(worst) (bound \(tolerance))")
        #expect(worst < tolerance / 4, "\(what) of \(c): worst ratio \(worst)")
    }

    /// Pruned weights (FAP) contribute nothing: with every weight pruned
    /// (fault rate 1 on an array the layer folds over completely) the output
    /// is exactly zero, as on the array.
    @Test func fullyPrunedLayerGivesExactZeros() {
        let c = Case(cin: 6, cout: 5, height: 4, width: 4, batch: 2, faultRate: 1.0, seed: 21)
        let (x, w, _) = Self.inputs(c)
        #expect(w.allSatisfy { $0 == 0 })
        #expect(WinogradConv.forward(input: x, batch: c.batch, spec: c.spec, weights: w).allSatisfy { $0 == 0 })
    }

    /// A 3x3 filter that is a single centre tap of 1 reproduces the input
    /// bit for bit (the transforms of such a filter and their inverses are exact).
    @Test func identityFilterReproducesTheInput() {
        var rng = SeededRNG(seed: 31)
        let spec = ConvSpec(name: "id", inChannels: 3, outChannels: 3, height: 6, width: 4)
        let x = Self.gaussian(3 * 2 * 24, &rng).map { Float(Int($0 * 64)) / 64 }   // exact in a few bits
        var w = [Float](repeating: 0, count: 27 * 3)
        for c in 0..<3 { w[(c * 9 + 4) * 3 + c] = 1 }
        #expect(WinogradConv.forward(input: x, batch: 2, spec: spec, weights: w) == x)
    }

    /// Which layers take the Winograd path: every 3x3 layer with >= 4 input
    /// channels and even maps; the RGB input layer stays on im2col.
    @Test func algorithmChoice() throws {
        let spec = try VGG11Spec(width: 1)
        let convs = spec.layers.compactMap { layer -> ConvSpec? in if case .conv(let c) = layer { return c }; return nil }
        #expect(convs.map { ConvAlgorithm.winograd.usesWinograd($0) } == [false] + Array(repeating: true, count: 7))
        #expect(convs.allSatisfy { !ConvAlgorithm.gemm.usesWinograd($0) })
        #expect(!WinogradF2x3.supports(ConvSpec(name: "odd", inChannels: 8, outChannels: 8, height: 5, width: 4)))
    }

    /// The whole network: one forward/backward step of a width-1/16 VGG11 with
    /// faults on every layer, Winograd against im2col. The loss and every
    /// gradient tensor agree to a relative (L2) error of 1e-3: the per-layer
    /// differences above (~1e-6 relative) grow through 8 BN layers whose batch
    /// statistics over few values amplify them (measured: see the printed worst).
    @Test func trainerStepMatchesGEMMTrainer() throws {
        let spec = try VGG11Spec(width: 0.0625)
        let faults = try FaultMap.uniform(rows: 8, cols: 8, rate: 0.2, seed: 5)
        let start = VGG11Parameters.random(spec: spec, seed: 11)
        var rng = SeededRNG(seed: 12)
        let images = Self.gaussian(8 * 3 * 32 * 32, &rng)
        let labels = (0..<8).map { _ in rng.nextInt(below: 10) }
        func run(_ algorithm: ConvAlgorithm) -> (VGG11Trainer, Double) {
            let t = VGG11Trainer(parameters: start, faults: faults, hyperparameters: .init(convolution: algorithm))
            let loss = images.withUnsafeBufferPointer { t.forwardBackward(images: $0.baseAddress!, labels: labels).loss }
            return (t, loss)
        }
        let (w, lw) = run(.winograd)
        let (g, lg) = run(.gemm)
        #expect(abs(lw - lg) <= 1e-5 * abs(lg))
        func relative(_ a: [Float], _ b: [Float]) -> Double {
            var d = 0.0, n = 0.0
            for i in a.indices { d += Double(a[i] - b[i]) * Double(a[i] - b[i]); n += Double(b[i]) * Double(b[i]) }
            return n == 0 ? d.squareRoot() : (d / n).squareRoot()
        }
        var worst = 0.0
        for i in spec.gemmLayers.indices {
            let r = relative(w.dW[i], g.dW[i])
            worst = max(worst, r)
            #expect(r <= 1e-3, "dW of \(spec.gemmLayers[i].name): relative error \(r)")
            if let m = w.masks[i] { for p in m.pruned { #expect(w.dW[i][p] == 0) } }
        }
        for i in spec.batchNormLayers.indices {
            worst = max(worst, relative(w.dGamma[i], g.dGamma[i]))
            #expect(relative(w.dGamma[i], g.dGamma[i]) <= 1e-3)
            #expect(relative(w.dBeta[i], g.dBeta[i]) <= 1e-3)
        }
        print("WinogradTests: whole-network gradient relative error, worst \(worst)")
    }
}
