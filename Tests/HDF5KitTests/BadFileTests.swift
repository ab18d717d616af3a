import Testing
import Foundation
import HDF5Kit

/// Every failure is one line naming the file (and the object, where there is one).
private func message(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch { return "\(error)" }
}

@Suite struct BadFileTests {
    @Test func missingFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("nope.h5")
        #expect(message { _ = try H5File.open(path) } == "\(path): no such file")
    }

    @Test func nonHDF5File() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("notes.h5")
        try "rows: 256\ncols: 256\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(message { _ = try H5File.open(path) } == "\(path): not an HDF5 file (no HDF5 signature)")
        #expect(!H5File.hasHDF5Signature(path))
    }

    @Test func truncatedFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("cut.h5")
        do {
            let f = try H5File.create(path)
            try f.write("big", [Double](repeating: 1.25, count: 100_000))
            try f.close()
        }
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(truncate(path, off_t(size / 2)) == 0)
        let m = try #require(message { _ = try H5File.open(path) })
        #expect(m.hasPrefix("\(path): truncated or incomplete HDF5 file ("), "got: \(m)")
        #expect(!m.contains("\n"))
    }

    @Test func fileCutInsideTheHeaderIsStillOneLine() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("stub.h5")
        do {
            let f = try H5File.create(path)
            try f.write("x", [Int32](0..<100))
            try f.close()
        }
        #expect(truncate(path, 40) == 0)
        let m = try #require(message { _ = try H5File.open(path) })
        #expect(m.hasPrefix("\(path): "), "got: \(m)")
        #expect(!m.contains("\n"))
    }

    @Test func missingDatasetOrGroupNamesTheObject() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("m.h5")
        let f = try H5File.create(path)
        let g = try f.createGroup("tensors")
        try g.write("w", [Float(1)])
        #expect(message { _ = try f.openDataset("fault_maps") } == "\(path): /fault_maps: missing dataset")
        #expect(message { _ = try g.openDataset("b") } == "\(path): /tensors/b: missing dataset")
        #expect(message { _ = try f.openDataset("tensors") } == "\(path): /tensors: expected a dataset, found a group")
        #expect(message { _ = try f.openGroup("tensors/w") } == "\(path): /tensors/w: expected a group, found a dataset")
        #expect(message { _ = try f.openGroup("results") } == "\(path): /results: missing group")
    }

    @Test func wrongTypeOrShapeNamesWhatWasFound() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("lot.h5")
        let f = try H5File.create(path)
        try f.write("fault_maps", [Float](repeating: 0, count: 6), shape: [2, 3])
        try f.write("fault_rate", [Double](repeating: 0, count: 4))
        #expect(message { _ = try f.openDataset("fault_maps", expecting: .uint8, rank: 3) }
                == "\(path): /fault_maps: expected UInt8 dataset of rank 3, got Float rank 2")
        #expect(message { _ = try f.openDataset("fault_rate", expecting: .double, rank: 1, shape: [5]) }
                == "\(path): /fault_rate: expected shape [5], got [4]")
        #expect(message { _ = try f.openDataset("fault_maps").read(UInt8.self) }
                == "\(path): /fault_maps: expected UInt8 dataset, got Float rank 2")
        #expect(message { _ = try f.openDataset("fault_rate").read(Double.self, start: [3], count: [2]) }
                == "\(path): /fault_rate: slice start [3] count [2] is outside shape [4]")
        #expect(message { try f.openDataset("fault_rate").write([1.0]) }
                == "\(path): /fault_rate: 1 values do not fill shape [4]")
    }

    @Test func creatingOverAnExistingFileNeedsOverwrite() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("e.h5")
        try H5File.create(path).close()
        #expect(message { _ = try H5File.create(path) } == "\(path): already exists")
        try H5File.create(path, overwrite: true).close()
    }

    @Test func closingAFileClosesItsObjects() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("o.h5")
        let f = try H5File.create(path)
        let d = try f.write("x", [Int64(1)])
        #expect(f.openObjectCount == 1)
        try f.close()
        #expect(f.openObjectCount == 0)
        // The file is really closed: it can be reopened and truncated at once.
        try H5File.create(path, overwrite: true).close()
        #expect(message { _ = try d.read(Int64.self) } == "\(path): /x: is closed (its file was closed)")
    }
}
