import Testing
import SystolicArray
@testable import Network

/// Spares + FAP above the array: the trainer's prune masks and the pruned
/// share come from the chip's repaired map, so a weight on a repaired PE is
/// trained and one on an unrepaired fault is pruned.
@Suite struct SparesNetworkTests {
    @Test func trainerPrunesOnlyTheUnrepairedFaults() throws {
        let params = VGG11Parameters.random(spec: try VGG11Spec(width: 0.25), seed: 3)
        let faults = try FaultMap.uniform(rows: 16, cols: 16, rate: 0.1, seed: 5)
        let chip = ChipDescription(faults: faults, mitigation: .spares, spares: .diagonal)
        let repair = try #require(chip.spareRepair)
        #expect(!repair.repaired.isEmpty && !repair.unrepaired.isEmpty)
        let trainer = VGG11Trainer(parameters: params, chip: chip)
        #expect(trainer.faults == repair.effectiveFaults)
        let unrepaired = Set(repair.unrepaired.map { $0.row * 16 + $0.col })
        let repaired = Set(repair.repaired.map { $0.row * 16 + $0.col })
        for (i, layer) in params.spec.gemmLayers.enumerated() {
            let original = params.gemm[layer.name]!.weight
            var onRepaired = 0
            for kk in 0..<layer.k {
                for nn in 0..<layer.n {
                    let pe = (kk % 16) * 16 + nn % 16
                    let w = trainer.weights[i][kk * layer.n + nn]
                    if unrepaired.contains(pe) {
                        #expect(w == 0, "\(layer.name) W[\(kk)][\(nn)] on an unrepaired fault")
                    } else {
                        #expect(w == original[kk * layer.n + nn], "\(layer.name) W[\(kk)][\(nn)]")
                        if repaired.contains(pe) { onRepaired += 1 }
                    }
                }
            }
            #expect(onRepaired > 0, "\(layer.name): some weight sits on a repaired PE")
        }
        let fapShare = PrunedShare.weightCounted(ChipDescription(faults: faults), spec: params.spec)
        let sparesShare = PrunedShare.weightCounted(chip, spec: params.spec)
        #expect(sparesShare < fapShare)
        #expect(sparesShare == PrunedShare.weightCounted(repair.effectiveFaults, spec: params.spec))
        // The share a budget reads (weights metric): the repaired chip's under spares.
        let budgetShare = PrunedShare.macWeighted(faults, spec: params.spec, spares: .diagonal)
        #expect(budgetShare == PrunedShare.macWeighted(chip, spec: params.spec))
        #expect(budgetShare < PrunedShare.macWeighted(faults, spec: params.spec, spares: nil))
    }
}
