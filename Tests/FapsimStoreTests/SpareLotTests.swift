import Testing
import Foundation
import HDF5Kit
import FapsimSupport
import SystolicArray
@testable import FapsimStore

/// A lot whose chips run spares records the layout and each chip's repairs; its
/// chips are read only with a config of that array and that layout.
@Suite struct SpareLotTests {
    func spareLot(_ dir: TemporaryDirectory, layout: SpareLayout) throws -> (path: String, lot: ChipLot) {
        let path = dir.file("lot.h5")
        let lot = try sampleLot(chips: 3, rows: 8, cols: 6)
        try ChipLotFile.write(path: path, rows: 8, cols: 6, chips: 3, generator: lot.generator, lotSeed: lot.lotSeed,
                              mitigation: .spares, spares: layout, force: false) { writer in
            for (i, chip) in lot.chips.enumerated() { try writer.write(chip: i, chip) }
        }
        return (path, lot)
    }

    @Test func theLayoutAndTheRepairsAreRecorded() throws {
        let dir = try TemporaryDirectory()
        let (path, lot) = try spareLot(dir, layout: .columnGroups(groupCols: 3))
        #expect(try ChipLotFile.info(path: path).spareLayout == .columnGroups(groupCols: 3))
        let file = try H5File.open(path)
        #expect(try file.stringAttribute("spare_layout") == "column-groups:3")
        let repaired = try file.openDataset("faults_repaired").read(Int64.self)
        #expect(repaired == lot.chips.map { Int64(SpareRepair.repair(faults: $0.faultMap, layout: .columnGroups(groupCols: 3)).repaired.count) })
        let config = HardwareConfig(rows: 8, cols: 6, spares: .columnGroups(groupCols: 3))
        let chip = try ChipLotFile.readChipDescription(path: path, chip: 2, config: config)
        #expect(chip.mitigation == .spares)
        #expect(chip.spareRepair == SpareRepair.repair(faults: lot.chips[2].faultMap, layout: .columnGroups(groupCols: 3)))
    }

    /// Another spare layout, none, or another array size: one line each.
    @Test func aConfigOfAnotherLayoutOrSizeIsAOneLineError() throws {
        let dir = try TemporaryDirectory()
        let (path, _) = try spareLot(dir, layout: .diagonal)
        for (config, text) in [
            (HardwareConfig(name: "cg", rows: 8, cols: 6, spares: .columnGroups(groupCols: 2)),
             "attribute spare_layout: the lot's chips carry spares diagonal, but config cg has column-groups:2"),
            (HardwareConfig(name: "bare", rows: 8, cols: 6),
             "attribute spare_layout: the lot's chips carry spares diagonal, but config bare has no spares"),
            (HardwareConfig(name: "big", rows: 16, cols: 6, spares: .diagonal), "16"),
        ] {
            let message = errorMessage { _ = try ChipLotFile.readChipDescription(path: path, chip: 0, config: config) }
            #expect(message?.hasPrefix(path) == true, "\(message ?? "")")
            #expect(message?.contains(text) == true, "\(message ?? "")")
            #expect(message?.contains("\n") == false)
        }
        #expect(throws: FapsimError.self) {
            try ChipLotFile.write(path: dir.file("no-layout.h5"), rows: 8, cols: 6, chips: 0, generator: "uniform", lotSeed: 1,
                                  mitigation: .spares, force: false) { _ in }
        }
    }
}
