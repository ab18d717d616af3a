import SystolicArray
import FapsimSupport

/// One chip as a fault model drew it, with the draws that the lot file does not
/// keep but a summary or a statistical test needs.
public struct GeneratedChip: Equatable, Sendable {
    public var faultMap: FaultMap
    /// The rate the model drew before placing faults (uniform: the U(A, B) draw;
    /// fixed: P; clustered: the Gamma-distributed Poisson mean / (R x C x cluster area)).
    public var drawnRate: Double
    /// Clustered model: the number of defects (clusters) placed; nil otherwise.
    public var defects: Int?
    /// Clustered model: each defect's centre (row, col); empty otherwise.
    public var clusterCentres: [PECoordinate]

    public init(faultMap: FaultMap, drawnRate: Double, defects: Int? = nil, clusterCentres: [PECoordinate] = []) {
        self.faultMap = faultMap
        self.drawnRate = drawnRate
        self.defects = defects
        self.clusterCentres = clusterCentres
    }

    /// The rate stored in the lot: the map's realised faulty fraction, because
    /// that (not the draw) is what the chip's retraining budget must follow.
    public var realisedRate: Double { faultMap.faultRate }
}

public struct PECoordinate: Equatable, Hashable, Sendable {
    public var row: Int
    public var col: Int
    public init(row: Int, col: Int) { self.row = row; self.col = col }
}

/// A generator of per-chip permanent-fault maps. Implementations validate their
/// parameters on construction, so `generate` cannot fail.
public protocol ChipFaultModel: Sendable {
    /// Stored as the lot's `generator` attribute.
    var name: String { get }
    /// Stored as the lot's `generator.<key>` attributes.
    var parameters: [String: Double] { get }
    /// One chip of `rows` x `cols` PEs, drawing only from `rng`.
    func generate(rows: Int, cols: Int, rng: inout SeededRNG) -> GeneratedChip
}
