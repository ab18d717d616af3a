import SystolicArray

/// How much of a network a fault map prunes, as opposed to how many PEs are
/// faulty. The two differ because a layer smaller than the array only touches
/// the PEs of its K x N corner (VGG11's first conv uses 27 of 256 rows), and a
/// clustered map can hit one layer's corner much harder than the array as a whole.
public enum PrunedShare {
    /// Share of the network's multiply-accumulates whose weight sits on a
    /// faulty PE: sum over GEMM layers of pruned(K, N) x M / sum of K x N x M,
    /// with M the layer's output pixels per image (1 for linear). This is the
    /// `weights` rate metric: weighting by MACs counts each pruned weight as
    /// often as the array would have used it.
    public static func macWeighted(_ faults: FaultMap, spec: VGG11Spec) -> Double {
        macWeighted(ChipDescription(faults: faults), spec: spec)
    }

    /// The share a budget reads for a chip drawn with `faults`: under spares
    /// (`spares` is the layout of a run or lot under `Mitigation.spares`), of the
    /// faults the spares leave, which is what the resilience table measured on
    /// its repaired chips; otherwise of the map as drawn.
    public static func macWeighted(_ faults: FaultMap, spec: VGG11Spec, spares: SpareLayout?) -> Double {
        guard let spares else { return macWeighted(faults, spec: spec) }
        return macWeighted(ChipDescription(faults: faults, mitigation: .spares, spares: spares), spec: spec)
    }

    /// The same for a chip under its mitigation, which decides where weights sit.
    public static func macWeighted(_ chip: ChipDescription, spec: VGG11Spec) -> Double {
        var pruned = 0.0, total = 0.0
        for layer in spec.gemmLayers {
            let s = layer.shape(batch: 1)
            pruned += Double(chip.prunedWeights(layer: layer.name, k: layer.k, n: layer.n)) * Double(s.m)
            total += Double(layer.k * layer.n) * Double(s.m)
        }
        return total > 0 ? pruned / total : 0
    }

    /// Share of the network's weights (each weight counted once) that are pruned.
    public static func weightCounted(_ faults: FaultMap, spec: VGG11Spec) -> Double {
        weightCounted(ChipDescription(faults: faults), spec: spec)
    }

    public static func weightCounted(_ chip: ChipDescription, spec: VGG11Spec) -> Double {
        var pruned = 0, total = 0
        for layer in spec.gemmLayers {
            pruned += chip.prunedWeights(layer: layer.name, k: layer.k, n: layer.n)
            total += layer.k * layer.n
        }
        return total > 0 ? Double(pruned) / Double(total) : 0
    }

    /// Share of the network's weight magnitude, sum |w|, that sits on faulty PEs:
    /// what FAM minimises (its default saliency is |w|). FAM never changes how many
    /// weights are pruned, only which, so this is the figure that tells FAM from
    /// FAP on the same map (docs/hardware-model.md, "Measured on the pre-trained VGG11").
    public static func saliencyWeighted(_ chip: ChipDescription, parameters: VGG11Parameters) -> Double {
        guard let faults = chip.effectiveFaults else { return 0 }
        var pruned = 0.0, total = 0.0
        for layer in parameters.spec.gemmLayers {
            let w = parameters.gemm[layer.name]!.weight
            for x in w { total += Double(abs(x)) }
            chip.mapping(layer: layer.name, k: layer.k, n: layer.n, rows: faults.rows, cols: faults.cols)
                .forEachPruned(faults: faults) { pruned += Double(abs(w[$0])) }
        }
        return total > 0 ? pruned / total : 0
    }
}
