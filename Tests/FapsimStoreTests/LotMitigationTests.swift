import Testing
import Foundation
import HDF5Kit
import SystolicArray
@testable import FapsimStore

/// The lot records the mitigation its chips run; lots written before
/// mitigations existed read as FAP, and an unknown one is a one-line error.
@Suite struct LotMitigationTests {
    func lotFile(_ dir: TemporaryDirectory, mitigation: String?) throws -> String {
        let path = dir.file("lot.h5")
        try ChipLotFile.write(try sampleLot(chips: 2), to: path, force: false)
        let f = try H5File.open(path, writable: true)
        try f.deleteAttribute("mitigation")
        if let mitigation { try f.setAttribute("mitigation", mitigation) }
        try f.close()
        return path
    }

    @Test func writtenLotsRecordTheirMitigation() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("lot.h5")
        let lot = try sampleLot(chips: 2)
        try ChipLotFile.write(lot, to: path, force: false)
        #expect(try H5File.open(path).stringAttribute("mitigation") == "fap")
        #expect(try ChipLotFile.info(path: path).mitigation == .fap)
        let config = HardwareConfig(rows: lot.rows, cols: lot.cols)
        let chip = try ChipLotFile.readChipDescription(path: path, chip: 1, config: config)
        #expect(chip == ChipDescription(faults: lot.chips[1].faultMap, mitigation: .fap))
    }

    @Test func lotsWithoutTheAttributeReadAsFAP() throws {
        let dir = try TemporaryDirectory()
        let path = try lotFile(dir, mitigation: nil)
        #expect(try ChipLotFile.info(path: path).mitigation == .fap)
        #expect(try ChipLotFile.read(path: path).mitigation == .fap)
    }

    @Test func unknownMitigationIsAOneLineError() throws {
        let dir = try TemporaryDirectory()
        let path = try lotFile(dir, mitigation: "spare-rows")
        let message = errorMessage { _ = try ChipLotFile.info(path: path) }
        #expect(message?.hasPrefix(path) == true, "\(message ?? "")")
        #expect(message?.contains("attribute mitigation: expected one of fap, fam, rowcol, spares, got 'spare-rows'") == true, "\(message ?? "")")
        #expect(message?.contains("\n") == false)
    }
}
