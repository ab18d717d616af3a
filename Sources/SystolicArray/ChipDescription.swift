import FapsimSupport

/// How a chip copes with its faulty PEs: what decides where weights sit and what
/// the array does with the weights that land on faulty PEs.
public enum Mitigation: String, Sendable, CaseIterable, Equatable {
    /// Fault-aware pruning: the default mapping, and every weight on a faulty PE
    /// is bypassed (its FAP mux passes the partial sum through).
    case fap
    /// Fault-aware mapping, then FAP: each layer's output channels are assigned
    /// to array columns so that the weights landing on faulty PEs are the least
    /// salient ones (docs/hardware-model.md); the weights still on faulty PEs are
    /// bypassed as under FAP. A layer's mapping may also put it on chosen rows
    /// and columns (its lane lists) where it does not fill the array.
    case fam
    /// Row/column bypass (after Kim & Reddy): every row and column holding a
    /// faulty PE that `RowColumnBypass` chooses is switched off, and each GEMM is
    /// mapped onto the fault-free sub-array left (`ArrayLanes`); no weight is
    /// pruned, the folds are smaller (docs/mitigations.md).
    case rowcol
    /// Spare PEs, then FAP: the config's spares replace as many faulty PEs as a
    /// maximum matching allows (`SpareRepair`); a repaired PE is healthy to every
    /// path and costs no cycle, and the faulty PEs left are pruned and bypassed
    /// as under FAP (docs/mitigations.md).
    case spares

    /// The names a command line or a file may give, for error messages.
    public static var choices: String { allCases.map(\.rawValue).joined(separator: ", ") }

    /// Parses a mitigation name; `field` names where it came from (an option or
    /// a file attribute) in the one-line error.
    public static func parse(_ text: String, field: String) throws -> Mitigation {
        guard let m = Mitigation(rawValue: text.lowercased()) else {
            throw FapsimError("\(field): expected one of \(choices), got '\(text)'")
        }
        return m
    }
}

/// Everything the engines, the trainer, the Reduce units and the run identities
/// need to know about one chip's hardware state: which PEs are faulty and which
/// mitigation the chip runs. It answers, per layer, where each weight sits
/// (`mapping`) and so which weights are pruned.
public struct ChipDescription: Sendable, Equatable {
    /// The faulty PEs (nil: a fault-free chip).
    public var faults: FaultMap?
    public var mitigation: Mitigation
    /// Under FAM, each layer's mapping by layer name (a layer without one, and
    /// every layer of a fault-free chip, uses the default mapping).
    public var layerMappings: [String: WeightMapping]
    /// Under row/column bypass, the rows and columns left on (nil: a fault-free
    /// chip, every lane; or an unusable one, see `checkUsable`).
    public private(set) var lanes: ArrayLanes?
    /// Under spares, the repair of this chip's faults (nil: a fault-free chip, or
    /// an unusable one whose config has no spares, see `checkUsable`).
    public private(set) var spareRepair: SpareRepair?
    /// The spare layout the chip carries (the config's; nil: none).
    public private(set) var spareLayout: SpareLayout?
    /// Why the chip cannot run its mitigation (rowcol on a chip with every PE
    /// faulty; spares on an array without spares).
    private var unusable: FapsimError?

    /// `rowColumnObjective` is what row/column bypass chooses its lines by (the
    /// largest sub-array unless the GEMMs it will run are known); `spares` is the
    /// config's spare layout, which `Mitigation.spares` needs.
    public init(faults: FaultMap?, mitigation: Mitigation = .fap, layerMappings: [String: WeightMapping] = [:],
                rowColumnObjective: RowColumnBypass.Objective = .area, spares: SpareLayout? = nil) {
        self.faults = faults
        self.mitigation = mitigation
        self.layerMappings = layerMappings
        spareLayout = spares
        if mitigation == .spares {
            if let spares {
                if let faults {
                    if let misfit = spares.misfit(rows: faults.rows, cols: faults.cols) {
                        unusable = FapsimError("spares: the spare layout \(spares.description) does not fit the chip's \(faults.rows)x\(faults.cols) array: expected \(misfit)")
                    } else {
                        spareRepair = SpareRepair.repair(faults: faults, layout: spares)
                    }
                }
            } else {
                unusable = FapsimError("--mitigation spares: the hardware config has no spare PEs; expected a spares: mapping (layout: diagonal or column-groups, docs/mitigations.md)")
            }
        }
        if mitigation == .rowcol, let faults {
            do { lanes = try RowColumnBypass.choose(faults: faults, objective: rowColumnObjective) } catch let error as FapsimError {
                unusable = error
            } catch {
                unusable = FapsimError("\(error)")
            }
        }
    }

    /// The PEs the array bypasses and FAP prunes: the faulty PEs, less those a
    /// spare replaced under `Mitigation.spares` (nil: a fault-free chip). Every
    /// path that prunes or bypasses (the engines, the trainer's masks, the pruned
    /// share, the closed form) takes this map; `faults` stays the chip as drawn.
    public var effectiveFaults: FaultMap? {
        spareRepair?.effectiveFaults ?? faults
    }

    /// Throws the one-line reason when the chip cannot run its mitigation (row/column
    /// bypass leaving no usable array, spares on an array without any); every
    /// command running a chip asks first.
    public func checkUsable() throws {
        if let unusable { throw unusable }
    }

    /// Whether the chip can run its mitigation.
    public var isUsable: Bool { unusable == nil }

    /// A fault-free chip under FAP (nothing to mitigate).
    public static let faultFree = ChipDescription(faults: nil)

    /// Where layer `layer`'s K x N weights sit on an R x C array. Under FAP every
    /// layer uses the default mapping.
    public func mapping(layer: String, k: Int, n: Int, rows: Int, cols: Int) -> WeightMapping {
        switch mitigation {
        case .fap, .spares: return WeightMapping(k: k, n: n, rows: rows, cols: cols)
        case .fam:
            if let m = layerMappings[layer], m.k == k, m.n == n, m.rows == rows, m.cols == cols { return m }
            return WeightMapping(k: k, n: n, rows: rows, cols: cols)
        case .rowcol:
            precondition(unusable == nil, "mapping asked of a chip that is unusable under rowcol (checkUsable first)")
            guard let lanes else { return WeightMapping(k: k, n: n, rows: rows, cols: cols) }
            precondition(faults?.rows == rows && faults?.cols == cols, "rowcol lanes of a \(faults!.rows)x\(faults!.cols) chip asked for \(rows)x\(cols)")
            // The lanes were checked against this array when they were chosen.
            return try! WeightMapping(k: k, n: n, rows: rows, cols: cols, lanes: lanes)
        }
    }

    /// The mapping of a layer on this chip's own array; nil for a fault-free chip,
    /// whose weights are all kept wherever they sit.
    public func mapping(layer: String, k: Int, n: Int) -> WeightMapping? {
        faults.map { mapping(layer: layer, k: k, n: n, rows: $0.rows, cols: $0.cols) }
    }

    /// Number of weights of layer `layer` (K x N) that sit on faulty PEs no spare
    /// replaced.
    public func prunedWeights(layer: String, k: Int, n: Int) -> Int {
        guard let faults = effectiveFaults, let map = mapping(layer: layer, k: k, n: n) else { return 0 }
        return map.prunedCount(faults: faults)
    }

    /// Checksum of the fault map and the mitigation, for run identities: two
    /// chips with the same map but different mitigations are different runs.
    /// Under FAP it is the fault map's own checksum, so identities recorded
    /// before mitigations existed stay valid.
    public var checksum: String {
        let mapSum = faults?.checksum ?? "fault-free"
        switch mitigation {
        case .fap: return mapSum
        case .fam:
            var h = FNV1a64()
            h.update(array: Array(mapSum.utf8))
            h.update(array: Array("fam".utf8))
            for name in layerMappings.keys.sorted() {
                let m = layerMappings[name]!
                h.update(array: Array(name.utf8))
                h.update(array: (m.kSlot + m.nSlot).map { UInt64($0) })
                // Lanes only when a layer has them, so the identities of FAM runs
                // on every lane are the ones recorded before FAM chose lanes.
                if !m.usesEveryLane {
                    h.update(array: ([-1] + m.rowLanes + [-1] + m.colLanes).map { UInt64(bitPattern: Int64($0)) })
                }
            }
            return h.hex
        case .rowcol:
            var h = FNV1a64()
            h.update(array: Array(mapSum.utf8))
            h.update(array: Array("rowcol".utf8))
            if let lanes { h.update(array: (lanes.rows + [-1] + lanes.cols).map { UInt64(bitPattern: Int64($0)) }) }
            return h.hex
        case .spares:
            // The layout and the repair decide which PEs are pruned.
            var h = FNV1a64()
            h.update(array: Array(mapSum.utf8))
            h.update(array: Array("spares".utf8))
            h.update(array: Array((spareLayout?.description ?? "none").utf8))
            for a in spareRepair?.repaired ?? [] { h.update(array: [UInt64(a.row), UInt64(a.col), UInt64(a.spare)]) }
            return h.hex
        }
    }
}
