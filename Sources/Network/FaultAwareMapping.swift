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
/// The orders are chosen by exact assignments (Hungarian method): channel n in
/// N slot s costs the saliency of its weights on the faulty PEs of column
/// s mod C, and every slot takes one channel. Under `Method.columns` each
/// layer is solved for its own cost alone and the classifier keeps its order;
/// `Method.lanes` (the default) is `columns` with each layer on the rows and
/// columns it loses least on (`FaultAwareMappingLanes.swift`); under `Method.joint` the cost of a channel's slot also
/// counts what its taps lose as the next layer's rows, the first layer's input
/// rows are permuted too (the host writes the image's im2col in any order) and
/// the classifier's outputs take any columns (the host reads the logits by column).
public enum FaultAwareMapping {
    /// How the layers' channel orders are chosen (recorded in mapping files as
    /// `method`, docs/hdf5-schema.md).
    public enum Method: String, Sendable, CaseIterable, Equatable {
        /// Layer after layer, each layer's output channels assigned to columns
        /// for its own cost, given the rows the previous layer's order induces;
        /// the first layer's inputs and the classifier's outputs stay in order.
        /// The method of the first FAM mapping files (and the default before
        /// `lanes`).
        case columns
        /// One order per boundary between layers, chosen for both layers it
        /// decides: layer l's output order sets layer l's columns and layer
        /// l + 1's rows (a channel's taps on consecutive rows), so its cost is
        /// the saliency both layers would lose. Also the first layer's input rows
        /// (the host lays the image out) and the classifier's columns (the host
        /// reads the logits by column). Solved by rounds of exact assignments,
        /// each boundary given its neighbours, starting from `columns`.
        case joint
        /// `columns`, with every layer on the array rows and columns it loses
        /// least on instead of the first ones, where it does not fill the array
        /// (the first conv's 27 rows and 64 columns, a partial fold), chosen
        /// together with its output order, the first layer's input rows and the
        /// classifier's columns (`FaultAwareMappingLanes.swift`).
        case lanes

        /// The default when a run plans FAM: `lanes` is the one method that
        /// meets FAM's accuracy goals at 10% and 20% faulty PEs on the
        /// pre-trained VGG11, for about 1.3% more cycles per image
        /// (docs/hardware-model.md, "Levers measured"). Of the two methods
        /// on the first lanes, `columns` measured better than `joint`, whose
        /// lower total moves loss onto the first layer, which the network can
        /// least afford.
        public static let standard = Method.lanes

        public static var choices: String { allCases.map(\.rawValue).joined(separator: ", ") }

        /// Parses a method name; `field` names where it came from in the one-line error.
        public static func parse(_ text: String, field: String) throws -> Method {
            guard let m = Method(rawValue: text.lowercased()) else {
                throw FapsimError("\(field): expected one of \(choices), got '\(text)'")
            }
            return m
        }
    }

    /// Rounds of `joint`: each round solves every boundary once; it stops early
    /// when a round changes nothing (every round can only lower the total cost).
    static let jointRounds = 4

    /// How much a weight matters.
    public enum Saliency: Sendable, Equatable {
        /// |w|.
        case magnitude
        /// |gamma / sigma * w|: the weight as it acts after the batch norm that
        /// follows its conv (the folded weight); the classifier's |w| as it is.
        case batchNormScaled
        /// The folded weight times the root-mean-square of the input it
        /// multiplies, |gamma / sigma * w| * rms(x_k), over a calibration batch of
        /// training images: the size of the weight's contribution to its output.
        case activation(CalibrationBatch)
        /// First-order Taylor estimate of the loss change when w is removed,
        /// |w · dL/dw|, with dL/dw from one forward-backward pass of the fault-free
        /// network on a calibration batch of training images.
        case taylor(CalibrationBatch)

        public var name: String {
            switch self {
            case .magnitude: return "magnitude"
            case .batchNormScaled: return "bn"
            case .activation: return "activation"
            case .taylor: return "taylor"
            }
        }

        /// The default when a run plans FAM. `batchNormScaled` measured better at
        /// 20% faulty PEs but worse at 10% on the pre-trained VGG11
        /// (docs/hardware-model.md, "Levers measured"), so |w| stays.
        public static let standard = Saliency.magnitude

        /// The names a command line or a mapping file may give.
        public static let names = ["magnitude", "bn", "activation", "taylor"]
        /// Those that need calibration images.
        public static let calibrated = ["activation", "taylor"]
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
                            saliency: Saliency = .standard, method: Method = .standard) -> ChipDescription {
        guard let faults, faults.faultyCount > 0 else {
            return ChipDescription(faults: faults, mitigation: .fam)
        }
        return ChipDescription(faults: faults, mitigation: .fam,
                               layerMappings: plan(faults: faults, parameters: parameters, saliency: saliency, method: method))
    }

    /// `chip` with its mitigation applied to `parameters`: under FAM, the layer
    /// mappings planned for these weights; under row/column bypass, the lines
    /// chosen for the fewest cycles of this network's GEMMs (one image);
    /// any other chip as it is.
    public static func applied(_ chip: ChipDescription, parameters: VGG11Parameters) -> ChipDescription {
        switch chip.mitigation {
        case .fam: return self.chip(faults: chip.faults, parameters: parameters)
        case .rowcol: return rowColumnChip(faults: chip.faults, spec: parameters.spec)
        case .fap, .spares: return chip
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
                                   method: Method, calibrationImages: Int? = nil, weightsFile: String,
                                   weightsChecksum: String, provenance: [String: AttributeValue] = [:]) throws -> FAMMappingFile {
        guard let faults = chip.faults else {
            throw FapsimError("fam map: expected a chip with a fault map (--lot FILE --chip I or --fault-rate P --seed S), got a fault-free chip")
        }
        let layers = parameters.spec.gemmLayers.map { layer in
            FAMMappingFile.Layer(name: layer.name, mapping: chip.mapping(layer: layer.name, k: layer.k, n: layer.n,
                                                                         rows: faults.rows, cols: faults.cols))
        }
        return FAMMappingFile(networkWidth: parameters.spec.width, rows: faults.rows, cols: faults.cols,
                              faultMapChecksum: faults.checksum, faultyPEs: faults.faultyCount, saliency: saliency,
                              method: method.rawValue, calibrationImages: calibrationImages, weightsFile: weightsFile,
                              weightsChecksum: weightsChecksum, provenance: provenance, layers: layers)
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
    public static func plan(faults: FaultMap, parameters: VGG11Parameters, saliency: Saliency = .standard,
                            method: Method = .standard) -> [String: WeightMapping] {
        let layers = parameters.spec.gemmLayers
        let scores = saliencies(parameters: parameters, saliency: saliency)
        if method == .lanes { return onChosenLanes(layers: layers, scores: scores, faults: faults) }
        var inputSlots = Array(0..<layers[0].k)
        var outputSlots = layerByLayer(layers: layers, scores: scores, faults: faults)
        if method == .joint {
            // Each layer's share of its own saliency: raw units differ from layer
            // to layer, and what one boundary trades is a share of layer l's
            // saliency against a share of layer l + 1's.
            let shares = layers.map { layer -> [Double] in
                let s = scores[layer.name]!, total = s.reduce(0, +)
                return total > 0 ? s.map { $0 / total } : s
            }
            (inputSlots, outputSlots) = jointRounds(layers: layers, shares: shares, faults: faults,
                                                    inputSlots: inputSlots, outputSlots: outputSlots)
        }
        var out: [String: WeightMapping] = [:]
        for (i, layer) in layers.enumerated() {
            let kSlot = i == 0 ? inputSlots : inducedInputSlots(k: layer.k, channelSlots: outputSlots[i - 1])
            out[layer.name] = try! WeightMapping(k: layer.k, n: layer.n, rows: faults.rows, cols: faults.cols,
                                                 kSlot: kSlot, nSlot: outputSlots[i])
        }
        return out
    }

    /// `columns`: every layer's N slots, layer after layer, each assigned for its
    /// own cost on the rows it inherits; the classifier's in class order.
    static func layerByLayer(layers: [GEMMLayer], scores: [String: [Double]], faults: FaultMap) -> [[Int]] {
        var out: [[Int]] = []
        for (i, layer) in layers.enumerated() {
            let kSlot = inducedInputSlots(k: layer.k, channelSlots: out.last)
            out.append(i == layers.count - 1 ? Array(0..<layer.n)
                : assignOutputs(saliency: scores[layer.name]!, k: layer.k, n: layer.n, kSlot: kSlot, faults: faults))
        }
        return out
    }

    /// `joint`'s rounds from a starting order: the first layer's K slots, then each
    /// layer's N slots given its neighbours (its own rows fixed by the layer
    /// before, the next layer's columns fixed), each an exact assignment.
    static func jointRounds(layers: [GEMMLayer], shares: [[Double]], faults: FaultMap,
                            inputSlots start: [Int], outputSlots: [[Int]]) -> (input: [Int], output: [[Int]]) {
        var input = start, output = outputSlots
        for _ in 0..<jointRounds {
            var changed = false
            // The first layer's A is the image's im2col, which the host writes in
            // any order: a free permutation of its K rows, each row alone.
            let first = layers[0]
            let rows = Assignment.minimumCost(rowCost(saliency: shares[0], k: first.k, n: first.n, group: 1,
                                                      nSlot: output[0], faults: faults), size: first.k)
            if rows != input { input = rows; changed = true }
            for (i, layer) in layers.enumerated() {
                let kSlot = i == 0 ? input : inducedInputSlots(k: layer.k, channelSlots: output[i - 1])
                var cost = columnCost(saliency: shares[i], k: layer.k, n: layer.n, kSlot: kSlot, faults: faults)
                if i + 1 < layers.count {
                    let next = layers[i + 1]
                    let rowsOfNext = rowCost(saliency: shares[i + 1], k: next.k, n: next.n, group: next.k / layer.n,
                                             nSlot: output[i + 1], faults: faults)
                    for j in cost.indices { cost[j] += rowsOfNext[j] }
                }
                let slots = Assignment.minimumCost(cost, size: layer.n)
                if slots != output[i] { output[i] = slots; changed = true }
            }
            if !changed { break }
        }
        return (input, output)
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
        case .batchNormScaled:
            for layer in parameters.spec.gemmLayers {
                out[layer.name] = foldedMagnitudes(parameters: parameters, layer: layer)
            }
        case .activation(let batch):
            let rms = inputRMS(parameters: parameters, batch: batch)
            for layer in parameters.spec.gemmLayers {
                var s = foldedMagnitudes(parameters: parameters, layer: layer)
                let x = rms[layer.name]!, group = layer.k / x.count, n = layer.n
                for kk in 0..<layer.k {
                    let scale = x[kk / group]
                    for nn in 0..<n { s[kk * n + nn] *= scale }
                }
                out[layer.name] = s
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

    /// |gamma_n / sigma_n * w[k][n]| for a conv followed by batch norm (the
    /// scale BatchNorm.inferenceAffine folds in), |w| otherwise.
    static func foldedMagnitudes(parameters: VGG11Parameters, layer: GEMMLayer) -> [Double] {
        let w = parameters.gemm[layer.name]!.weight, n = layer.n
        guard let bn = batchNormAfter(layer.name, spec: parameters.spec).flatMap({ parameters.batchNorm[$0] }) else {
            return w.map { Double(abs($0)) }
        }
        let scale = BatchNorm.inferenceAffine(bn, precedingBias: nil).scale
        return w.indices.map { Double(abs(w[$0] * scale[$0 % n])) }
    }

    /// The batch norm directly after conv `name`, if any.
    static func batchNormAfter(_ name: String, spec: VGG11Spec) -> String? {
        let layers = spec.layers
        for (i, layer) in layers.enumerated() {
            if case .conv(let c) = layer, c.name == name, i + 1 < layers.count,
               case .batchNorm(let b) = layers[i + 1] { return b.name }
        }
        return nil
    }

    /// Root-mean-square of every GEMM layer's input, per input channel (per
    /// feature for the classifier), over `batch` on the fault-free network.
    static func inputRMS(parameters: VGG11Parameters, batch: CalibrationBatch) -> [String: [Double]] {
        let network = VGG11Network(parameters: parameters, engine: FunctionalEngine())
        var sums: [String: [Double]] = [:], counts: [String: Int] = [:]
        let channels = Dictionary(uniqueKeysWithValues: parameters.spec.gemmLayers.map { layer -> (String, Int) in
            switch layer {
            case .conv(let c): return (c.name, c.inChannels)
            case .linear(let l): return (l.name, l.inFeatures)
            }
        })
        // The observer sees CNHW before a conv's im2col and [K][B] before the
        // classifier: each channel's values are one contiguous run.
        network.gemmInputObserver = { layer, x in
            let c = channels[layer]!, run = x.count / c
            var s = sums[layer] ?? [Double](repeating: 0, count: c)
            for ch in 0..<c {
                var acc = 0.0
                for v in x[(ch * run)..<((ch + 1) * run)] { acc += Double(v) * Double(v) }
                s[ch] += acc
            }
            sums[layer] = s
            counts[layer, default: 0] += run
        }
        // In chunks, so a large calibration batch does not need all its
        // activations at once.
        let perImage = batch.images.count / batch.labels.count, chunk = 64
        var start = 0
        while start < batch.labels.count {
            let count = min(chunk, batch.labels.count - start)
            _ = try! network.forward(images: Array(batch.images[(start * perImage)..<((start + count) * perImage)]), batch: count)
            start += count
        }
        var out: [String: [Double]] = [:]
        for (layer, s) in sums {
            let n = Double(max(counts[layer] ?? 1, 1))
            out[layer] = s.map { ($0 / n).squareRoot() }
        }
        return out
    }

    /// The N slots (a permutation) minimising the total saliency of the weights
    /// on faulty PEs, given where the rows go (`kSlot`).
    public static func assignOutputs(saliency s: [Double], k: Int, n: Int, kSlot: [Int], faults: FaultMap) -> [Int] {
        Assignment.minimumCost(columnCost(saliency: s, k: k, n: n, kSlot: kSlot, faults: faults), size: n)
    }

    /// Cost of output channel n in N slot s (n x n, row-major): the saliency of
    /// its weights on the faulty PEs of slot s's column, its rows given by `kSlot`.
    static func columnCost(saliency s: [Double], k: Int, n: Int, kSlot: [Int], faults: FaultMap) -> [Double] {
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
        return square
    }

    /// Cost of input channel c in channel slot q (channels x channels, row-major,
    /// channels = K / group): the saliency of its `group` rows of W (k = c x group + t)
    /// on faulty PEs when they sit in K slots q x group + t, the columns given by
    /// `nSlot`.
    static func rowCost(saliency s: [Double], k: Int, n: Int, group: Int, nSlot: [Int], faults: FaultMap) -> [Double] {
        let rows = faults.rows, channels = k / group
        // K slots in order (so peRow[q] is slot q's row), the given columns.
        let placement = try! WeightMapping(k: k, n: n, rows: rows, cols: faults.cols, kSlot: Array(0..<k), nSlot: nSlot)
        // Output channels whose column is faulty on array row r, flattened per row.
        var faultyStart = [Int](repeating: 0, count: rows + 1), faultyOutputs: [Int] = []
        for r in 0..<rows {
            for nn in 0..<n where faults.isFaulty(r, placement.peCol[nn]) { faultyOutputs.append(nn) }
            faultyStart[r + 1] = faultyOutputs.count
        }
        // G[kk][r]: what row kk of W would lose on array row r.
        var g = [Double](repeating: 0, count: k * rows)
        s.withUnsafeBufferPointer { sb in
            faultyOutputs.withUnsafeBufferPointer { fo in
                for kk in 0..<k {
                    let base = kk * n
                    for r in 0..<rows {
                        var acc = 0.0
                        for j in faultyStart[r]..<faultyStart[r + 1] { acc += sb[base + fo[j]] }
                        g[kk * rows + r] = acc
                    }
                }
            }
        }
        var cost = [Double](repeating: 0, count: channels * channels)
        for c in 0..<channels {
            for q in 0..<channels {
                var acc = 0.0
                for t in 0..<group { acc += g[(c * group + t) * rows + placement.peRow[q * group + t]] }
                cost[c * channels + q] = acc
            }
        }
        return cost
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
