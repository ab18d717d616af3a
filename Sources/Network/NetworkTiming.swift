import SystolicArray

extension VGG11Spec {
    /// Cycles of one image through every GEMM layer on `config`'s array for
    /// `chip` (its mitigation's mapping of each layer, looked up by layer name),
    /// by the closed-form timing model, which equals the register-level array
    /// cycle for cycle (`EquivalenceTests`, `RowColumnBypassTests`). The chip
    /// must be usable (`ChipDescription.checkUsable`).
    public func closedFormCyclesPerImage(config: HardwareConfig, chip: ChipDescription) throws -> Int {
        try chip.checkUsable()
        return try gemmLayers.reduce(0) { total, layer in
            let s = layer.shape(batch: 1)
            let mapping = chip.mapping(layer: layer.name, k: s.k, n: s.n, rows: config.rows, cols: config.cols)
            return total + (try ClosedFormTiming.gemm(config: config, m: s.m, k: s.k, n: s.n, faults: chip.faults,
                                                      mapping: mapping).cycles)
        }
    }
}
