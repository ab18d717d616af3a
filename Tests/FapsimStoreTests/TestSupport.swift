import Foundation
@_exported import FapsimTestSupport
import SystolicArray
import FapsimStore


/// A small deterministic lot; chip seeds near UInt64.max check that seeds
/// round-trip as unsigned 64-bit numbers.
func sampleLot(chips: Int = 5, rows: Int = 8, cols: Int = 6) throws -> ChipLot {
    let list = try (0..<chips).map { i -> ChipLot.Chip in
        let rate = 0.05 * Double(i % 10 + 1)
        let map = try FaultMap.uniform(rows: rows, cols: cols, rate: rate, seed: UInt64(1000 + i))
        return ChipLot.Chip(faultMap: map, faultRate: rate, seed: UInt64.max - UInt64(i))
    }
    return ChipLot(rows: rows, cols: cols, generator: "uniform",
                   generatorParameters: ["rate_min": 0.05, "rate_max": 0.05 * Double(chips)],
                   lotSeed: 42, chips: list)
}

/// Small weights with a VGG-like state_dict (two conv+BN blocks and a linear layer).
func sampleWeights() -> WeightsFile {
    func tensor(_ name: String, _ shape: [Int], _ base: Float) -> NamedTensor {
        let n = shape.reduce(1, *)
        return NamedTensor(name: name, shape: shape, data: (0..<n).map { base + Float($0) * 0.001 - Float($0 % 7) * 0.25 })
    }
    var tensors: [NamedTensor] = []
    for (conv, bn, cin, cout) in [(0, 1, 3, 4), (4, 5, 4, 8)] {
        tensors.append(tensor("features.\(conv).weight", [cout, cin, 3, 3], Float(conv)))
        tensors.append(tensor("features.\(conv).bias", [cout], 0.5))
        tensors.append(tensor("features.\(bn).weight", [cout], 1))
        tensors.append(tensor("features.\(bn).bias", [cout], -0.5))
        tensors.append(tensor("features.\(bn).running_mean", [cout], 0.1))
        tensors.append(tensor("features.\(bn).running_var", [cout], 2))
    }
    tensors.append(tensor("classifier.weight", [10, 8], -1))
    tensors.append(tensor("classifier.bias", [10], 0))
    return WeightsFile(architecture: "vgg11", width: 0.125, tensors: tensors,
                       batchesTracked: ["features.1.num_batches_tracked": 5865, "features.5.num_batches_tracked": 42],
                       provenance: WeightsProvenance(parentFile: "vgg11_cifar10.h5", parentChecksum: "0123456789abcdef",
                                                     chipIndex: 17, faultMapChecksum: "fedcba9876543210", fatEpochs: 3,
                                                     testAccuracy: 0.8125, notes: "unit test weights"))
}
