import SystolicArray
import FapsimSupport

/// The negative-binomial yield model with spatial clusters (docs/fault-models.md):
///
/// - the chip's defect count N is Poisson with a Gamma-distributed mean
///   Lambda ~ Gamma(shape alpha, scale D / alpha), so E[N] = D and
///   Var[N] = D + D^2 / alpha (Stapper's clustering parameter alpha; alpha -> infinity
///   is plain Poisson, small alpha packs the defects into fewer chips);
/// - each defect has a centre drawn uniformly from the R x C PE positions and makes
///   every PE within Euclidean distance rho of it faulty (a disc of `clusterArea`
///   PEs when it lies wholly inside the array; clipped at the array's edges;
///   overlapping discs simply overlap).
public struct ClusteredDefectModel: ChipFaultModel, Equatable {
    /// D: expected defects (clusters) per chip.
    public let meanDefects: Double
    /// alpha: the Gamma shape (clustering parameter), > 0.
    public let alpha: Double
    /// rho: cluster radius in PE pitches, >= 0 (0 = one PE per defect).
    public let clusterRadius: Double
    /// The fault rate D was derived from (`forRate`), kept for the lot's record.
    public let targetRate: Double?
    /// Offsets (dr, dc) with dr^2 + dc^2 <= rho^2, row-major.
    public let clusterOffsets: [PECoordinate]

    /// Large enough for any cluster an architect would model, small enough that
    /// the offset table (about pi rho^2 entries) stays cheap.
    public static let maxClusterRadius = 256.0

    public init(meanDefects: Double, alpha: Double, clusterRadius: Double) throws {
        try self.init(meanDefects: meanDefects, alpha: alpha, clusterRadius: clusterRadius, targetRate: nil)
    }

    /// D chosen so that, ignoring overlaps and edge clipping, the expected faulty
    /// fraction is `rate`: D = rate x R x C / clusterArea.
    public static func forRate(_ rate: Double, rows: Int, cols: Int, alpha: Double, clusterRadius: Double) throws -> ClusteredDefectModel {
        try FaultModelValidation.rate(rate, option: "--rate", what: "target fault rate P")
        try validateRadius(clusterRadius)
        let area = Double(offsets(radius: clusterRadius).count)
        return try ClusteredDefectModel(meanDefects: rate * Double(rows * cols) / area, alpha: alpha,
                                        clusterRadius: clusterRadius, targetRate: rate)
    }

    private init(meanDefects: Double, alpha: Double, clusterRadius: Double, targetRate: Double?) throws {
        guard meanDefects.isFinite, meanDefects >= 0 else {
            throw FapsimError("--mean-defects: expected a finite number of defects per chip >= 0, got \(meanDefects)")
        }
        guard alpha.isFinite, alpha > 0 else {
            throw FapsimError("--alpha: expected the clustering parameter as a finite number > 0, got \(alpha)")
        }
        try Self.validateRadius(clusterRadius)
        self.meanDefects = meanDefects
        self.alpha = alpha
        self.clusterRadius = clusterRadius
        self.targetRate = targetRate
        self.clusterOffsets = Self.offsets(radius: clusterRadius)
    }

    private static func validateRadius(_ r: Double) throws {
        guard r.isFinite, r >= 0, r <= maxClusterRadius else {
            throw FapsimError("--cluster-radius: expected a radius in PE pitches from 0 to \(Int(maxClusterRadius)), got \(r)")
        }
    }

    /// The lattice points of the closed disc of radius `radius` around (0, 0).
    public static func offsets(radius: Double) -> [PECoordinate] {
        let reach = Int(radius.rounded(.down))
        let r2 = radius * radius
        var out: [PECoordinate] = []
        for dr in -reach...reach {
            for dc in -reach...reach where Double(dr * dr + dc * dc) <= r2 {
                out.append(PECoordinate(row: dr, col: dc))
            }
        }
        return out
    }

    /// PEs one defect makes faulty when its disc lies wholly inside the array.
    public var clusterArea: Int { clusterOffsets.count }

    public var name: String { "clustered" }

    public var parameters: [String: Double] {
        var p = ["mean_defects": meanDefects, "alpha": alpha, "cluster_radius": clusterRadius,
                 "cluster_area": Double(clusterArea)]
        if let targetRate { p["rate"] = targetRate }
        return p
    }

    public func generate(rows: Int, cols: Int, rng: inout SeededRNG) -> GeneratedChip {
        // Gamma(alpha, D / alpha) has mean D; mixing the Poisson over it gives the
        // negative binomial. D = 0 means a defect-free lot (Gamma needs scale > 0).
        let lambda = meanDefects > 0 ? rng.nextGamma(shape: alpha, scale: meanDefects / alpha) : 0
        let defects = rng.nextPoisson(mean: lambda)
        var map = FaultMap.none(rows: rows, cols: cols)
        var centres: [PECoordinate] = []
        centres.reserveCapacity(defects)
        for _ in 0..<defects {
            let p = rng.nextInt(below: rows * cols)
            let centre = PECoordinate(row: p / cols, col: p % cols)
            centres.append(centre)
            stamp(centre, on: &map)
        }
        let drawn = min(1, lambda * Double(clusterArea) / Double(rows * cols))
        return GeneratedChip(faultMap: map, drawnRate: drawn, defects: defects, clusterCentres: centres)
    }

    /// Marks the disc around `centre`, clipped to the array.
    public func stamp(_ centre: PECoordinate, on map: inout FaultMap) {
        for o in clusterOffsets {
            let r = centre.row + o.row, c = centre.col + o.col
            if r >= 0, r < map.rows, c >= 0, c < map.cols { map.setFaulty(r, c, true) }
        }
    }
}
