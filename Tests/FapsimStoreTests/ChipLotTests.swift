import Testing
import Foundation
import HDF5Kit
import SystolicArray
@testable import FapsimStore

@Suite struct ChipLotTests {
    @Test func lotRoundTripsExactly() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("lot.h5")
        let lot = try sampleLot()
        try ChipLotFile.write(lot, to: path, force: false)
        #expect(try ChipLotFile.read(path: path) == lot)
    }

    @Test func oneChipIsReadWithoutTheRest() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("lot.h5")
        let lot = try sampleLot(chips: 7)
        try ChipLotFile.write(lot, to: path, force: false)
        for i in [0, 3, 6] {
            #expect(try ChipLotFile.readFaultMap(path: path, chip: i) == lot.chips[i].faultMap)
            #expect(try ChipLotFile.readChip(path: path, chip: i) == lot.chips[i])
        }
        #expect(errorMessage { _ = try ChipLotFile.readFaultMap(path: path, chip: 7) }
                == "\(path): /fault_maps: chip 7 is out of range (lot has 7 chips, 0...6)")
        #expect(errorMessage { _ = try ChipLotFile.readFaultMap(path: path, chip: -1) }
                == "\(path): /fault_maps: chip -1 is out of range (lot has 7 chips, 0...6)")
    }

    @Test func mapsAreCheckedAgainstTheHardwareConfig() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("lot.h5")
        let lot = try sampleLot(chips: 2)
        try ChipLotFile.write(lot, to: path, force: false)
        let fits = HardwareConfig(name: "small", rows: 8, cols: 6)
        #expect(try ChipLotFile.readFaultMap(path: path, chip: 1, config: fits) == lot.chips[1].faultMap)
        let tpu = HardwareConfig(name: "tpu", rows: 256, cols: 256)
        #expect(errorMessage { _ = try ChipLotFile.readFaultMap(path: path, chip: 1, config: tpu) }
                == "\(path): /fault_maps: lot is for a 8 x 6 array, hardware config tpu has 256 x 256")
    }

    @Test func infoSummarisesWithoutMaps() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("lot.h5")
        try ChipLotFile.write(try sampleLot(chips: 4), to: path, force: false)
        let info = try ChipLotFile.info(path: path)
        #expect(info.rows == 8 && info.cols == 6 && info.chipCount == 4)
        #expect(info.faultRateRange == 0.05...0.2)
        #expect(abs(info.meanFaultRate! - 0.125) < 1e-12)
        #expect(info.generator == "uniform")
        #expect(info.generatorParameters == ["rate_min": 0.05, "rate_max": 0.2])
        #expect(info.lotSeed == 42)
        #expect(info.schemaVersion == 1)
    }

    @Test func storedAsOneCompressedChunkPerChip() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("lot.h5")
        try ChipLotFile.write(try sampleLot(chips: 3), to: path, force: false)
        let f = try H5File.open(path)
        let maps = try f.openDataset("fault_maps", expecting: .uint8, rank: 3, shape: [3, 8, 6])
        #expect(maps.chunkShape == [1, 8, 6])
        #expect(maps.filters == ["shuffle", "deflate"])
        try f.openDataset("fault_rate").expect(.double, rank: 1, shape: [3])
        try f.openDataset("chip_seed").expect(.uint64, rank: 1, shape: [3])
        #expect(try f.stringAttribute("schema") == "fapsim.lot")
        #expect(try f.attribute("schema_version", as: Int64.self) == 1)
        #expect(try f.attribute("rows", as: Int64.self) == 8)
        #expect(try f.attribute("generator.rate_max", as: Double.self) == 0.15000000000000002)
    }

    @Test func emptyLotRoundTrips() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("empty.h5")
        let lot = try sampleLot(chips: 0)
        try ChipLotFile.write(lot, to: path, force: false)
        #expect(try ChipLotFile.read(path: path) == lot)
        #expect(try ChipLotFile.info(path: path).faultRateRange == nil)
    }

    @Test func streamingWriterMustWriteEveryChip() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("partial.h5")
        let lot = try sampleLot(chips: 3)
        let m = errorMessage {
            try ChipLotFile.write(path: path, rows: 8, cols: 6, chips: 3, generator: "uniform", lotSeed: 1, force: false) { w in
                try w.write(chip: 2, lot.chips[2])
                try w.write(chip: 0, lot.chips[0])
            }
        }
        #expect(m == "\(path): chip 1 of 3 was never written")
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty, "temporary file left behind")
        let wrongSize = errorMessage {
            try ChipLotFile.write(path: path, rows: 4, cols: 6, chips: 1, generator: "uniform", lotSeed: 1, force: false) { w in
                try w.write(chip: 0, lot.chips[0])
            }
        }
        #expect(wrongSize == "\(path): chip 0: fault map is 8 x 6, lot is 4 x 6")
    }

    @Test func refusesToOverwriteWithoutForce() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("lot.h5")
        let first = try sampleLot(chips: 2)
        try ChipLotFile.write(first, to: path, force: false)
        let second = try sampleLot(chips: 3)
        #expect(errorMessage { try ChipLotFile.write(second, to: path, force: false) }
                == "\(path): already exists; pass --force to overwrite it")
        #expect(try ChipLotFile.read(path: path) == first)
        try ChipLotFile.write(second, to: path, force: true)
        #expect(try ChipLotFile.read(path: path) == second)
    }

    @Test func wrongDatasetTypeOrShapeIsNamed() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("bad.h5")
        do {
            let f = try H5File.create(path)
            try Schema.stamp(f, as: .lot)
            try f.setAttribute("rows", Int64(4))
            try f.setAttribute("cols", Int64(4))
            try f.setAttribute("generator", "uniform")
            try f.setAttribute("lot_seed", UInt64(1))
            try f.write("fault_maps", [Float](repeating: 0, count: 32), shape: [2, 16])
            try f.close()
        }
        #expect(errorMessage { _ = try ChipLotFile.info(path: path) }
                == "\(path): /fault_maps: expected UInt8 dataset of rank 3, got Float rank 2")
        do {
            let f = try H5File.open(path, writable: true)
            try f.write("fault_maps2", [UInt8](repeating: 0, count: 2 * 4 * 5), shape: [2, 4, 5])
            try f.close()
        }
        // rows/cols attributes disagree with the dataset's shape.
        let f = try H5File.open(path)
        #expect(errorMessage { _ = try f.openDataset("fault_maps2", expecting: .uint8, rank: 3, shape: [nil, 4, 4]) }
                == "\(path): /fault_maps2: expected shape [*, 4, 4], got [2, 4, 5]")
    }

    /// A damaged map (a PE stored as 2 or 255) is refused on read, naming the
    /// chip and PE, whether one chip or the whole lot is read.
    @Test(arguments: [UInt8(2), 255])
    func faultMapValuesOtherThanZeroAndOneAreRefused(value: UInt8) throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("damaged.h5")
        try ChipLotFile.write(try sampleLot(chips: 3), to: path, force: false)
        do {
            let f = try H5File.open(path, writable: true)
            // Chip 2, row 3, col 4 of an 8 x 6 array.
            try f.openDataset("fault_maps").write([value], start: [2, 3, 4], count: [1, 1, 1])
            try f.close()
        }
        let expected = "\(path): /fault_maps: chip 2, PE (row 3, col 4): expected 0 (healthy) or 1 (faulty), got \(value)"
        #expect(errorMessage { _ = try ChipLotFile.readFaultMap(path: path, chip: 2) } == expected)
        #expect(errorMessage { _ = try ChipLotFile.read(path: path) } == expected)
        // The undamaged chips still read.
        #expect(try ChipLotFile.readFaultMap(path: path, chip: 1) == (try sampleLot(chips: 3)).chips[1].faultMap)
    }

    @Test func missingDatasetIsNamed() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("nomaps.h5")
        do {
            let f = try H5File.create(path)
            try Schema.stamp(f, as: .lot)
            try f.setAttribute("rows", Int64(4))
            try f.setAttribute("cols", Int64(4))
            try f.close()
        }
        #expect(errorMessage { _ = try ChipLotFile.read(path: path) } == "\(path): /fault_maps: missing dataset")
    }
}
