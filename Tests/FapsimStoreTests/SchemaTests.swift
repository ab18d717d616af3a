import Testing
import Foundation
import HDF5Kit
@testable import FapsimStore

@Suite struct SchemaTests {
    /// A file with the given root `schema` / `schema_version` attributes, one
    /// name per stamp. Not one name rewritten: recreating a file takes HDF5's
    /// exclusive lock, and a child process another test is starting at that
    /// moment can still hold the previous file's descriptor (and its lock) for
    /// the instant between fork and its closing of inherited descriptors: the
    /// likeliest cause of a create that failed once in CI with "is open in
    /// another process" (the same name is recreated nowhere else).
    private func stamped(_ dir: TemporaryDirectory, schema: String?, version: Int64?) throws -> String {
        let path = dir.file("s-\(schema ?? "none")-\(version.map { String($0) } ?? "none").h5")
        let f = try H5File.create(path, overwrite: true)
        if let schema { try f.setAttribute("schema", schema) }
        if let version { try f.setAttribute("schema_version", version) }
        try f.close()
        return path
    }

    @Test func unknownSchemaIsRejectedByEveryReader() throws {
        let dir = try TemporaryDirectory()
        let path = try stamped(dir, schema: "fapsim.sweep", version: 1)
        let expected = "\(path): /: unknown schema 'fapsim.sweep' (this fapsim reads fapsim.lot, fapsim.weights, fapsim.results, fapsim.checkpoint, fapsim.quantized)"
        #expect(errorMessage { _ = try ChipLotFile.read(path: path) } == expected)
        #expect(errorMessage { _ = try WeightsFile.read(path: path) } == expected)
        #expect(errorMessage { _ = try ResultsFile.read(path: path) } == expected)
        #expect(errorMessage { _ = try FapsimInspect.inspect(path: path) } == expected)
    }

    @Test func newerVersionIsRejected() throws {
        let dir = try TemporaryDirectory()
        for kind in FapsimFileKind.allCases {
            let path = try stamped(dir, schema: kind.rawValue, version: 2)
            let expected = "\(path): /: \(kind.rawValue) schema_version 2 is newer than this fapsim reads (1); upgrade fapsim"
            #expect(errorMessage { _ = try ChipLotFile.info(path: path) } == expected)
            #expect(errorMessage { _ = try WeightsFile.read(path: path) } == expected)
            #expect(errorMessage { _ = try ResultsFile.read(path: path) } == expected)
        }
    }

    @Test func missingOrBadVersionIsRejected() throws {
        let dir = try TemporaryDirectory()
        var path = try stamped(dir, schema: "fapsim.lot", version: nil)
        #expect(errorMessage { _ = try ChipLotFile.info(path: path) } == "\(path): /: missing attribute schema_version (schema fapsim.lot)")
        path = try stamped(dir, schema: "fapsim.lot", version: 0)
        #expect(errorMessage { _ = try ChipLotFile.info(path: path) } == "\(path): /: schema_version: expected a version >= 1, got 0")
    }

    @Test func fileOfAnotherKindIsRejected() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("lot.h5")
        try ChipLotFile.write(try sampleLot(chips: 1), to: path, force: false)
        #expect(errorMessage { _ = try WeightsFile.read(path: path) } == "\(path): /: is a fapsim.lot file, expected fapsim.weights")
        #expect(errorMessage { _ = try ResultsFile.read(path: path) } == "\(path): /: is a fapsim.lot file, expected fapsim.results")
    }

    @Test func fileWithoutSchemaIsNotALot() throws {
        let dir = try TemporaryDirectory()
        let path = try stamped(dir, schema: nil, version: nil)
        #expect(errorMessage { _ = try ChipLotFile.info(path: path) }
                == "\(path): /: missing attribute schema: not a fapsim lot file (expected schema 'fapsim.lot')")
        #expect(errorMessage { _ = try WeightsFile.read(path: path) }
                == "\(path): /: not a fapsim weights file (no schema attribute) nor a PyTorch state_dict file (no tensors at the root)")
    }

    @Test func nonHDF5AndTruncatedFilesGiveOneLine() throws {
        let dir = try TemporaryDirectory()
        let text = dir.file("lot.h5")
        try "chip,rate\n0,0.1\n".write(toFile: text, atomically: true, encoding: .utf8)
        #expect(errorMessage { _ = try ChipLotFile.read(path: text) } == "\(text): not an HDF5 file (no HDF5 signature)")
        #expect(errorMessage { _ = try FapsimInspect.inspect(path: text) } == "\(text): not an HDF5 file (no HDF5 signature)")
        let cut = dir.file("cut.h5")
        try ChipLotFile.write(try sampleLot(chips: 50, rows: 64, cols: 64), to: cut, force: false)
        let size = try FileManager.default.attributesOfItem(atPath: cut)[.size] as! Int
        #expect(truncate(cut, off_t(size * 2 / 3)) == 0)
        let m = try #require(errorMessage { _ = try ChipLotFile.read(path: cut) })
        #expect(m.hasPrefix("\(cut): truncated or incomplete HDF5 file"), "got: \(m)")
    }
}
