import Foundation
import Testing
import FapsimStore
import FapsimSupport
import SystolicArray
@testable import Reduce

/// Lots are a pure function of (model, array size, lot seed); chip i is a pure
/// function of (model, array size, its chip seed).
struct ReproducibilityTests {
    static let models: [any ChipFaultModel] = [
        try! UniformRateModel(rateMin: 0.01, rateMax: 0.2),
        try! FixedRateModel(rate: 0.05),
        try! ClusteredDefectModel(meanDefects: 3, alpha: 0.8, clusterRadius: 1.5),
    ]

    @Test(arguments: 0..<3)
    func sameSeedSameLot(model: Int) throws {
        let m = Self.models[model]
        let a = try LotGenerator(model: m, rows: 12, cols: 10, lotSeed: 2024).lot(chips: 30)
        let b = try LotGenerator(model: m, rows: 12, cols: 10, lotSeed: 2024).lot(chips: 30)
        #expect(a == b)
        #expect(a.chips.map(\.faultRate.bitPattern) == b.chips.map(\.faultRate.bitPattern))
        // The maps are not all alike, nor all empty, so the equality above says something.
        #expect(Set(a.chips.map(\.faultMap.bits)).count > 15)
        let other = try LotGenerator(model: m, rows: 12, cols: 10, lotSeed: 2025).lot(chips: 30)
        #expect(other.chips.map(\.faultMap) != a.chips.map(\.faultMap))
        #expect(a.generator == m.name && a.generatorParameters == m.parameters && a.lotSeed == 2024)
    }

    /// Chip i must not depend on how many chips the lot has or are generated before it.
    @Test(arguments: 0..<3)
    func chipIndependentOfChipCount(model: Int) throws {
        let g = try LotGenerator(model: Self.models[model], rows: 9, cols: 7, lotSeed: 77)
        let small = try g.lot(chips: 4)
        let large = try g.lot(chips: 60)
        #expect(Array(large.chips.prefix(4)) == small.chips)
        // Generated on its own, chip 41 equals chip 41 of the lot ...
        #expect(g.chip(41).faultMap == large.chips[41].faultMap)
        // ... and its stored seed alone regenerates it.
        #expect(g.chip(seed: large.chips[41].seed).faultMap == large.chips[41].faultMap)
        #expect(Set(large.chips.map(\.seed)).count == 60)
    }

    /// Written twice, the lot's HDF5 datasets read back bit for bit the same, and
    /// equal to the lot generated in memory.
    @Test(arguments: 0..<3)
    func hdf5DataBitIdentical(model: Int) throws {
        let dir = try TemporaryDirectory()
        let g = try LotGenerator(model: Self.models[model], rows: 16, cols: 8, lotSeed: 9)
        let s1 = try g.write(chips: 25, to: dir.file("a.h5"), force: false)
        let s2 = try g.write(chips: 25, to: dir.file("b.h5"), force: false)
        #expect(s1 == s2)
        let a = try ChipLotFile.read(path: dir.file("a.h5"))
        let b = try ChipLotFile.read(path: dir.file("b.h5"))
        #expect(a.chips.flatMap(\.faultMap.bits) == b.chips.flatMap(\.faultMap.bits))
        #expect(a.chips.map(\.faultRate.bitPattern) == b.chips.map(\.faultRate.bitPattern))
        #expect(a.chips.map(\.seed) == b.chips.map(\.seed))
        #expect(a == b)
        #expect(a == (try g.lot(chips: 25)))
        #expect(s1.rates == a.chips.map(\.faultRate))
        // Stored rates are the maps' realised faulty fractions.
        #expect(a.chips.allSatisfy { $0.faultRate == $0.faultMap.faultRate })
    }

    @Test func refusesToOverwriteWithoutForce() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("lot.h5")
        let g1 = try LotGenerator(model: try FixedRateModel(rate: 0.1), rows: 4, cols: 4, lotSeed: 1)
        let g2 = try LotGenerator(model: try FixedRateModel(rate: 0.5), rows: 4, cols: 4, lotSeed: 1)
        try g1.write(chips: 3, to: path, force: false)
        let message = errorMessage { try g2.write(chips: 3, to: path, force: false) }
        #expect(message != nil)
        #expect(try ChipLotFile.read(path: path).generatorParameters["rate"] == 0.1)
        try g2.write(chips: 3, to: path, force: true)
        #expect(try ChipLotFile.read(path: path).generatorParameters["rate"] == 0.5)
    }

    /// The CLI's path: YAML config, options, file, summary.
    @Test func generationFromConfigFile() throws {
        let dir = try TemporaryDirectory()
        let config = try dir.config(rows: 8, cols: 6)
        let options = LotModelOptions(model: "uniform", rateRange: "0.1:0.3")
        let summary = try LotGeneration.run(configPath: config, chips: 12, seed: 5, out: dir.file("l.h5"),
                                            options: options, force: false, quiet: true)
        let info = try ChipLotFile.info(path: dir.file("l.h5"))
        #expect(info.rows == 8 && info.cols == 6 && info.chipCount == 12 && info.lotSeed == 5)
        #expect(info.generator == "uniform")
        #expect(info.generatorParameters == ["rate_min": 0.1, "rate_max": 0.3])
        #expect(summary.rates.count == 12)
        let lot = try ChipLotFile.read(path: dir.file("l.h5"))
        #expect(lot.chips.map(\.seed) == (0..<12).map { LotGenerator.chipSeed(lotSeed: 5, chip: $0) })
    }
}
