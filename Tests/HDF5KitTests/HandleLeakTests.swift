import Testing
import Foundation
import HDF5Kit

@Suite struct HandleLeakTests {
    /// Opens and closes thousands of files, groups, datasets and attributes,
    /// on success and on error paths, and checks that the process-wide counts
    /// of open files, groups, datasets, attributes and datatypes
    /// (H5Fget_obj_count over all files) return to where they started. The
    /// lock keeps other tests from opening or closing anything meanwhile, so
    /// the counts are exact.
    @Test func thousandsOfObjectsLeaveNoIdentifierOpen() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("leak.h5")
        let notHDF5 = dir.file("text.h5")
        try "not hdf5".write(toFile: notHDF5, atomically: true, encoding: .utf8)
        try HDF5Library.exclusive {
            let before = HDF5Library.openIdentifierCounts()
            do {
                let f = try H5File.create(path)
                let g = try f.createGroup("g")
                for i in 0..<200 {
                    let d = try g.write("d\(i)", [Float](repeating: Float(i), count: 16), shape: [4, 4],
                                        options: .compressed(chunk: [2, 4]))
                    try d.setAttribute("units", "cycles")
                    try d.setAttribute("scale", [1.0, 2.0])
                }
                try g.write("names", strings: ["a", "b"])
                try f.setAttribute("schema", "fapsim.test")
            }
            var opened = 0
            for round in 0..<10 {
                let f = try H5File.open(path)
                let g = try f.openGroup("g")
                for name in try g.members() where name != "names" {
                    let d = try g.openDataset(name)
                    _ = try d.read(Float.self)
                    _ = try d.read(Float.self, start: [1, 0], count: [2, 4])
                    _ = try d.stringAttribute("units")
                    _ = try d.attribute("scale")
                    _ = try d.attributeNames()
                    _ = d.chunkShape
                    _ = d.filters
                    _ = d.typeName
                    opened += 1
                    // Error paths must close what they opened too.
                    _ = try? d.read(Int32.self)
                    _ = try? d.read(Float.self, start: [9, 0], count: [1, 4])
                    _ = try? d.attribute("missing")
                    _ = try? d.attribute("units", as: Int64.self)
                }
                _ = try g.openDataset("names").readStrings()
                _ = try? g.openDataset("absent")
                _ = try? f.openGroup("absent")
                _ = try? H5File.open(notHDF5)
                _ = f.exists("g/d\(round)")
                #expect(f.openObjectCount == 1)  // only `g`
            }
            #expect(opened == 2000)
            let after = HDF5Library.openIdentifierCounts()
            #expect(after == before)
            #expect(before.count == 5)
        }
    }
}
