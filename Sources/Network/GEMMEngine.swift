import MaskedGEMM
import SystolicArray

/// Where the network's conv and linear GEMMs run. The network description, im2col,
/// BN, ReLU and pooling are shared; only this step differs between engines.
public protocol GEMMEngine: AnyObject {
    /// The chip the GEMMs run on: its faulty PEs and its mitigation, which says
    /// where each layer's weights sit.
    var chip: ChipDescription { get }

    /// The weights this engine multiplies with, derived once per layer from the
    /// trained W[K][N]: the functional engine applies the FAP mask here, the array
    /// engine keeps them unmasked because its bypass muxes skip the faulty PEs.
    func prepare(layer: String, weights: [Float], k: Int, n: Int) -> [Float]

    /// Out^T[N][M] = (W[K][N])^T x At[K][M], i.e. Out = A x W stored transposed
    /// (CNHW for a conv). `weights` is what `prepare` returned.
    func gemm(layer: String, weights: UnsafePointer<Float>, k: Int, n: Int,
              columns at: UnsafePointer<Float>, m: Int, out: UnsafeMutablePointer<Float>) throws
}

extension GEMMEngine {
    /// The chip's fault map (nil = fault-free chip).
    public var faults: FaultMap? { chip.effectiveFaults }
}

/// im2col + FAP-masked GEMM through OpenBLAS: the fast path for evaluation,
/// sweeps and training. With a fault map, the mask zeroes every weight that the
/// layer's `WeightMapping` puts on a faulty PE.
public final class FunctionalEngine: GEMMEngine {
    public let chip: ChipDescription

    public init(chip: ChipDescription = .faultFree) {
        self.chip = chip
    }

    /// A chip under FAP with this fault map.
    public convenience init(faults: FaultMap?) {
        self.init(chip: ChipDescription(faults: faults))
    }

    public func prepare(layer: String, weights: [Float], k: Int, n: Int) -> [Float] {
        MaskedGEMM.maskedWeights(weights, k: k, n: n, faults: chip.effectiveFaults, mapping: chip.mapping(layer: layer, k: k, n: n))
    }

    /// The trainer's way (`TrainerGEMMs`): two single-threaded OpenBLAS calls on
    /// the two halves of the output's columns, on fapsim's own workers. With
    /// OpenBLAS threading its own calls, its spinning worker slowed the im2col,
    /// BN and pooling passes between GEMMs; and the split is fixed, so the bits
    /// do not depend on the core count.
    public func gemm(layer: String, weights: UnsafePointer<Float>, k: Int, n: Int,
                     columns at: UnsafePointer<Float>, m: Int, out: UnsafeMutablePointer<Float>) throws {
        Self.product(weights: weights, k: k, n: n, columns: at, m: m, out: out)
    }

    /// The functional engine's GEMM, Out^T[N][M] = W^T x At as `Conv2D.gemm`, for
    /// code that must reproduce the engine's bits (the tests' reference forward).
    public static func product(weights: UnsafePointer<Float>, k: Int, n: Int, columns at: UnsafePointer<Float>, m: Int,
                               out: UnsafeMutablePointer<Float>) {
        TrainerGEMMs.sgemm(m: n, n: m, k: k, a: weights, lda: n, transA: true, b: at, ldb: m, c: out, ldc: m)
    }

    /// The same product for a tile of `m` columns in one call, on the calling
    /// thread's OpenBLAS (single-threaded inside `TrainerGEMMs.singleThreadedBLAS`):
    /// out[n][j] (row stride `ldOut`) = column j of W^T x At. Each column comes
    /// out with the bits `product` gives it in the whole layer: OpenBLAS's sum
    /// for one output element depends on K, not on which or how many columns
    /// share the call (`TiledConvBlockTests`).
    public static func tileProduct(weights: UnsafePointer<Float>, k: Int, n: Int, columns at: UnsafePointer<Float>, m: Int,
                                   out: UnsafeMutablePointer<Float>, ldOut: Int) {
        MaskedGEMM.sgemm(m: n, n: m, k: k, a: weights, lda: n, transA: true, b: at, ldb: m, c: out, ldc: ldOut)
    }
}
