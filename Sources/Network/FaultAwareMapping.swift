import FapsimStore
import FapsimSupport
import SystolicArray

/// Fault-aware mapping (FAM, after SalvageDNN): per layer, the output channels
/// are assigned to array columns so that the weights that land on faulty PEs are
/// the least salient ones; what still lands on a faulty PE is bypassed as under
/// FAP.
///
/// Why it is free at run time (docs/hardware-model.md, "Fault-aware mapping"):
/// permuting a layer's output channels permutes its columns of W, its bias and
/// the BN and pooling that follow (all per channel), and the order in which the
/// next layer receives its input channels, so the next layer's rows of W are
/// permuted the same way. The permuted network computes the same function, and
/// the weights are simply stored in the permuted order: no extra logic on chip.
/// Here the engines keep every tensor in channel order and read the array
/// through each layer's `WeightMapping` instead, which is the same computation:
/// layer l's N slots are its chosen column assignment, and layer l + 1's K slots
/// are the ones that order induces (input channel c's K x K kernel taps, or its
/// H x W features after the flatten, move with c).
///
/// The assignment is solved exactly (Hungarian method): channel n in N slot s
/// costs the saliency of its weights on the faulty PEs of column s mod C, and
/// every slot takes one channel. The last layer keeps its order, so the logits
/// come out in class order.
public enum FaultAwareMapping {
    /// How much a weight matters.
    public enum Saliency: Sendable, Equatable {
        /// |w|.
        case magnitude
        /// First-order Taylor estimate of the loss change when w is removed,
        /// |w · dL/dw|, with dL/dw from one forward-backward pass of the fault-free
        /// network on a calibration batch of training images.
        case taylor(CalibrationBatch)

        public var name: String {
            switch self {
            case .magnitude: return "magnitude"
            case .taylor: return "taylor"
            }
        }
    }

    /// Normalized NCHW training images and their labels.
    public struct CalibrationBatch: Sendable, Equatable {
        public var images: [Float]
        public var labels: [Int]

        public init(images: [Float], labels: [Int]) {
            precondition(!labels.isEmpty && images.count % labels.count == 0)
            self.images = images
            self.labels = labels
        }

        /// The first `count` images of `set`.
        public init(_ set: CIFAR10Set, count: Int) {
            let n = min(count, set.count)
            self.init(images: set.normalized(0..<n), labels: set.labels[0..<n].map(Int.init))
        }
    }

    /// The chip under FAM: the fault map and every GEMM layer's mapping for
    /// `parameters`. A fault-free chip, or one whose faults no layer sees, keeps
    /// every layer's default mapping, so its network is bit-identical to FAP's.
    public static func chip(faults: FaultMap?, parameters: VGG11Parameters,
                            saliency: Saliency = .magnitude) -> ChipDescription {
        guard let faults, faults.faultyCount > 0 else {
            return ChipDescription(faults: faults, mitigation: .fam)
        }
        return ChipDescription(faults: faults, mitigation: .fam,
                               layerMappings: plan(faults: faults, parameters: parameters, saliency: saliency))
    }

    /// `chip` with its mitigation applied to `parameters`: under FAM, the layer
    /// mappings planned for these weights; under row/column bypass, the lines
    /// chosen for the fewest cycles of this network's GEMMs (one image);
    /// any other chip as it is.
    public static func applied(_ chip: ChipDescription, parameters: VGG11Parameters) -> ChipDescription {
        switch chip.mitigation {
        case .fam: return self.chip(faults: chip.faults, parameters: parameters)
        case .rowcol: return rowColumnChip(faults: chip.faults, spec: parameters.spec)
        case .fap: return chip
        }
    }

    /// A chip under row/column bypass whose switched-off lines are chosen for the
    /// fewest cycles per image of `spec`'s GEMM layers (docs/mitigations.md).
    public static func rowColumnChip(faults: FaultMap?, spec: VGG11Spec) -> ChipDescription {
        let gemms = spec.gemmLayers.map { layer -> RowColumnBypass.GEMMSize in
            let s = layer.shape(batch: 1)
            return RowColumnBypass.GEMMSize(m: s.m, k: s.k, n: s.n)
        }
        return ChipDescription(faults: faults, mitigation: .rowcol, rowColumnObjective: .cycles(gemms: gemms))
    }

    /// The plan of `chip` (under FAM) as a mapping file for `parameters`, so a
    /// later run can use exactly this mapping (`fapsim fam map`, docs/hdf5-schema.md).
    public static func mappingFile(_ chip: ChipDescription, parameters: VGG11Parameters, saliency: String,
                                   calibrationImages: Int? = nil, weightsFile: String, weightsChecksum: String,
                                   provenance: [String: AttributeValue] = [:]) throws -> FAMMappingFile {
        guard let faults = chip.faults else {
            throw FapsimError("fam map: expected a chip with a fault map (--lot FILE --chip I or --fault-rate P --seed S), got a fault-free chip")
        }
        let layers = parameters.spec.gemmLayers.map { layer in
            FAMMappingFile.Layer(name: layer.name, mapping: chip.mapping(layer: layer.name, k: layer.k, n: layer.n,
                                                                         rows: faults.rows, cols: faults.cols))
        }
        return FAMMappingFile(networkWidth: parameters.spec.width, rows: faults.rows, cols: faults.cols,
                              faultMapChecksum: faults.checksum, faultyPEs: faults.faultyCount, saliency: saliency,
                              calibrationImages: calibrationImages, weightsFile: weightsFile, weightsChecksum: weightsChecksum,
                              provenance: provenance, layers: layers)
    }

    /// The chip under the FAM mapping read from `file` (at `path`), after checking
    /// that the file was planned for this network and this chip's array and map.
    public static func chip(faults: FaultMap?, parameters: VGG11Parameters, mappingFile file: FAMMappingFile,
                            path: String) throws -> ChipDescription {
        guard let faults else {
            throw FapsimError("--fam-mapping \(path): expected a chip with a fault map (--lot FILE --chip I or --fault-rate P --seed S), got a fault-free chip")
        }
        try file.check(path: path, width: parameters.spec.width,
                       layers: parameters.spec.gemmLayers.map { ($0.name, $0.k, $0.n) },
                       rows: faults.rows, cols: faults.cols, faultMapChecksum: faults.checksum)
        return ChipDescription(faults: faults, mitigation: .fam, layerMappings: file.mappings)
    }

    /// Every GEMM layer's mapping, in network order.
    public static func plan(faults: FaultMap, parameters: VGG11Parameters,
                            saliency: Saliency = .magnitude) -> [String: WeightMapping] {
        let layers = parameters.spec.gemmLayers
        let scores = saliencies(parameters: parameters, saliency: saliency)
        var out: [String: WeightMapping] = [:]
        // The previous layer's N slots: the order in which this layer receives its input channels.
        var incoming: [Int]? = nil
        for (i, layer) in layers.enumerated() {
            let k = layer.k, n = layer.n
            let kSlot = inducedInputSlots(k: k, channelSlots: incoming)
            let isLast = i == layers.count - 1
            let nSlot = isLast ? Array(0..<n)
                : assignOutputs(saliency: scores[layer.name]!, k: k, n: n, kSlot: kSlot, faults: faults)
            let mapping = try! WeightMapping(k: k, n: n, rows: faults.rows, cols: faults.cols, kSlot: kSlot, nSlot: nSlot)
            out[layer.name] = mapping
            incoming = nSlot
        }
        return out
    }

    /// A lone GEMM under FAM (`fapsim gemm`, `fapsim vectors`): its output
    /// channels assigned to columns by `saliency` (W[K][N] order), its input
    /// channels in order, as no earlier layer passes an order on.
    public static func loneGEMM(saliency: [Double], k: Int, n: Int, faults: FaultMap) throws -> WeightMapping {
        let kSlot = Array(0..<k)
        return try WeightMapping(k: k, n: n, rows: faults.rows, cols: faults.cols, kSlot: kSlot,
                                 nSlot: assignOutputs(saliency: saliency, k: k, n: n, kSlot: kSlot, faults: faults))
    }

    /// The K slots of a layer whose input channels arrive in `channelSlots`
    /// order (nil: in channel order). K = channels x group (3 x 3 taps of a conv,
    /// H x W features of the linear layer after the flatten), grouped by channel.
    static func inducedInputSlots(k: Int, channelSlots: [Int]?) -> [Int] {
        guard let channelSlots, !channelSlots.isEmpty, k % channelSlots.count == 0 else { return Array(0..<k) }
        let group = k / channelSlots.count
        return (0..<k).map { channelSlots[$0 / group] * group + $0 % group }
    }

    /// Every GEMM layer's weight saliencies, W[K][N] order.
    public static func saliencies(parameters: VGG11Parameters, saliency: Saliency) -> [String: [Double]] {
        var out: [String: [Double]] = [:]
        switch saliency {
        case .magnitude:
            for layer in parameters.spec.gemmLayers {
                out[layer.name] = parameters.gemm[layer.name]!.weight.map { Double(abs($0)) }
            }
        case .taylor(let batch):
            // Gradients of the fault-free network: FAM decides where weights go
            // before any of them is pruned.
            let trainer = VGG11Trainer(parameters: parameters, chip: .faultFree)
            batch.images.withUnsafeBufferPointer { _ = trainer.forwardBackward(images: $0.baseAddress!, labels: batch.labels) }
            for (i, layer) in parameters.spec.gemmLayers.enumerated() {
                let w = parameters.gemm[layer.name]!.weight, g = trainer.dW[i]
                out[layer.name] = (0..<w.count).map { Double(abs(w[$0] * g[$0])) }
            }
        }
        return out
    }

    /// The N slots (a permutation) minimising the total saliency of the weights
    /// on faulty PEs, given where the rows go (`kSlot`).
    public static func assignOutputs(saliency s: [Double], k: Int, n: Int, kSlot: [Int], faults: FaultMap) -> [Int] {
        let rows = faults.rows, cols = faults.cols
        // Where rows and slots land, from the one mapping rule: the inherited K
        // slots, and N slots in order (so peCol[s] is slot s's column).
        let placement = try! WeightMapping(k: k, n: n, rows: rows, cols: cols, kSlot: kSlot, nSlot: Array(0..<n))
        // Saliency of channel n's weights on array row r: T[r][n].
        var t = [Double](repeating: 0, count: rows * n)
        for kk in 0..<k {
            let r = placement.peRow[kk]
            for nn in 0..<n { t[r * n + nn] += s[kk * n + nn] }
        }
        // Cost of channel n in column c: its saliency on the faulty PEs of column c.
        let usedCols = min(cols, n)
        var cost = [Double](repeating: 0, count: n * usedCols)
        for r in 0..<rows {
            for c in 0..<usedCols where faults.isFaulty(r, c) {
                for nn in 0..<n { cost[nn * usedCols + c] += t[r * n + nn] }
            }
        }
        // Slot s is column s mod C: the square problem channel x slot.
        var square = [Double](repeating: 0, count: n * n)
        for nn in 0..<n {
            for slot in 0..<n { square[nn * n + slot] = cost[nn * usedCols + placement.peCol[slot]] }
        }
        return Assignment.minimumCost(square, size: n)
    }
}

/// The linear assignment problem, solved exactly.
public enum Assignment {
    /// For a size x size cost matrix (row-major), the column assigned to each row
    /// such that the total cost is minimal (Hungarian method with potentials,
    /// O(size^3)). Ties go to the lower column, so equal costs keep the identity.
    public static func minimumCost(_ cost: [Double], size n: Int) -> [Int] {
        precondition(cost.count == n * n)
        if n == 0 { return [] }
        let inf = Double.infinity
        // 1-based potentials u (rows), v (columns); p[j] = row matched to column j.
        var u = [Double](repeating: 0, count: n + 1), v = [Double](repeating: 0, count: n + 1)
        var p = [Int](repeating: 0, count: n + 1), way = [Int](repeating: 0, count: n + 1)
        var minv = [Double](repeating: 0, count: n + 1)
        var used = [Bool](repeating: false, count: n + 1)
        for i in 1...n {
            p[0] = i
            var j0 = 0
            for j in 0...n { minv[j] = inf; used[j] = false }
            repeat {
                used[j0] = true
                let i0 = p[j0]
                var delta = inf, j1 = 0
                let base = (i0 - 1) * n
                for j in 1...n where !used[j] {
                    let cur = cost[base + j - 1] - u[i0] - v[j]
                    if cur < minv[j] { minv[j] = cur; way[j] = j0 }
                    if minv[j] < delta { delta = minv[j]; j1 = j }
                }
                for j in 0...n {
                    if used[j] { u[p[j]] += delta; v[j] -= delta } else { minv[j] -= delta }
                }
                j0 = j1
            } while p[j0] != 0
            repeat {
                let j1 = way[j0]
                p[j0] = p[j1]
                j0 = j1
            } while j0 != 0
        }
        var rowToCol = [Int](repeating: 0, count: n)
        for j in 1...n where p[j] != 0 { rowToCol[p[j] - 1] = j - 1 }
        return rowToCol
    }
}
