import Testing
import Foundation
import FapsimSupport
import FapsimTestSupport
import SystolicArray
@testable import FapsimStore

/// The FAM mapping file: written and read back unchanged; a damaged slot table
/// and a file that does not fit the network, the array or the chip are
/// one-line errors naming the file and the field.
@Suite struct FAMMappingFileTests {
    func sample() throws -> FAMMappingFile {
        let a = try WeightMapping(k: 6, n: 3, rows: 4, cols: 2, kSlot: [3, 4, 5, 0, 1, 2], nSlot: [2, 0, 1])
        let b = try WeightMapping(k: 3, n: 2, rows: 4, cols: 2, kSlot: [1, 2, 0], nSlot: [0, 1])
        return FAMMappingFile(networkWidth: 0.5, rows: 4, cols: 2, faultMapChecksum: "00ff", faultyPEs: 2,
                              saliency: "taylor", method: "joint", calibrationImages: 64, weightsFile: "w.h5", weightsChecksum: "abcd",
                              provenance: ["lot": .string("lot.h5"), "chip": .int(3), "ignored": .int(1)],
                              layers: [.init(name: "features.0", mapping: a), .init(name: "classifier", mapping: b)])
    }

    @Test func roundTrips() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("map.h5")
        let file = try sample()
        #expect(file.provenance.keys.sorted() == ["chip", "lot"])
        try file.write(path: path, force: false)
        #expect(try FAMMappingFile.read(path: path) == file)
        #expect(throws: FapsimError.self) { try file.write(path: path, force: false) }
        try file.write(path: path, force: true)
    }

    /// A layer on chosen lanes (method `lanes`) keeps them through the file;
    /// layers on every lane are written as before lanes existed (no lane
    /// tables), so older files read as every lane; a file with one lane table
    /// of the two, or lanes out of order, is a one-line error.
    @Test func laneListsRoundTripAndAFileWithoutThemUsesEveryLane() throws {
        let dir = try TemporaryDirectory()
        let onLanes = try WeightMapping(k: 3, n: 2, rows: 4, cols: 5,
                                        lanes: try ArrayLanes(rows: [0, 2, 3], cols: [1, 4], arrayRows: 4, arrayCols: 5),
                                        kSlot: [2, 0, 1], nSlot: [1, 0])
        let everyLane = try WeightMapping(k: 6, n: 7, rows: 4, cols: 5, kSlot: [5, 4, 3, 2, 1, 0], nSlot: Array(0..<7))
        let file = FAMMappingFile(networkWidth: 0.5, rows: 4, cols: 5, faultMapChecksum: "00ff", faultyPEs: 2,
                                  saliency: "bn", method: "lanes", weightsFile: "w.h5", weightsChecksum: "abcd",
                                  layers: [.init(name: "features.0", mapping: onLanes), .init(name: "classifier", mapping: everyLane)])
        let path = dir.file("lanes.h5")
        try file.write(path: path, force: false)
        let back = try FAMMappingFile.read(path: path)
        #expect(back == file)
        let m = try #require(back.mappings["features.0"])
        #expect(m.rowLanes == [0, 2, 3] && m.colLanes == [1, 4] && !m.usesEveryLane)
        let p = m.placement(k: 0, n: 0)
        #expect(p.kFold == 0 && p.nFold == 0 && p.row == 3 && p.col == 4)
        let results = file.resultsFile()
        #expect(results[table: "features.0/row_lanes"] != nil && results[table: "classifier/row_lanes"] == nil)

        var oneTable = results
        oneTable.tables.removeAll { $0.name == "features.0/col_lanes" }
        let bad = dir.file("one.h5")
        try oneTable.write(path: bad, force: false)
        #expect(errorMessage { _ = try FAMMappingFile.read(path: bad) }
                == "\(bad): /features.0: expected both row_lanes and col_lanes tables or neither, got only row_lanes")

        var unordered = results
        let i = try #require(unordered.tables.firstIndex { $0.name == "features.0/row_lanes" })
        unordered.tables[i] = ResultsTable(name: "features.0/row_lanes", columns: [.int64("row", units: "index", [3, 0, 2])])
        let disordered = dir.file("disordered.h5")
        try unordered.write(path: disordered, force: false)
        #expect(errorMessage { _ = try FAMMappingFile.read(path: disordered) }
                == "\(disordered): /features.0: weight mapping row lanes: expected a non-empty ascending list of distinct rows in 0..<4, got 3 entries")
    }

    @Test func aSlotTableThatIsNoPermutationIsAOneLineError() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("map.h5")
        var results = try sample().resultsFile()
        let i = try #require(results.tables.firstIndex { $0.name == "features.0/output_slots" })
        results.tables[i] = ResultsTable(name: "features.0/output_slots", columns: [.int64("slot", units: "index", [0, 0, 1])])
        try results.write(path: path, force: false)
        let message = errorMessage { _ = try FAMMappingFile.read(path: path) }
        #expect(message == "\(path): /features.0: weight mapping output-channel slots: expected a permutation of 0..<3, got 3 entries")
    }

    @Test func aFileForAnotherNetworkArrayOrChipIsAOneLineError() throws {
        let file = try sample()
        let layers = [(name: "features.0", k: 6, n: 3), (name: "classifier", k: 3, n: 2)]
        try file.check(path: "m.h5", width: 0.5, layers: layers, rows: 4, cols: 2, faultMapChecksum: "00ff")
        let cases: [(() throws -> Void, String)] = [
            ({ try file.check(path: "m.h5", width: 0.5, layers: layers, rows: 8, cols: 8, faultMapChecksum: "00ff") },
             "m.h5: array_rows, array_cols: expected the chip's 8x8 array, got a mapping for 4x2"),
            ({ try file.check(path: "m.h5", width: 1, layers: layers, rows: 4, cols: 2, faultMapChecksum: "00ff") },
             "m.h5: network_width: expected 1.0 (the weights' VGG11 width), got 0.5"),
            ({ try file.check(path: "m.h5", width: 0.5, layers: [layers[0], (name: "classifier", k: 3, n: 10)], rows: 4, cols: 2,
                              faultMapChecksum: "00ff") },
             "m.h5: /classifier: expected K x N = 3 x 10, got 3 x 2"),
            ({ try file.check(path: "m.h5", width: 0.5, layers: [layers[0]], rows: 4, cols: 2, faultMapChecksum: "00ff") },
             "m.h5: layers: expected the network's GEMM layers [\"features.0\"], got [\"features.0\", \"classifier\"]"),
            ({ try file.check(path: "m.h5", width: 0.5, layers: layers, rows: 4, cols: 2, faultMapChecksum: "1234") },
             "m.h5: fault_map_checksum: expected the chip's fault map 1234 (a mapping is planned for one chip), got 00ff"),
        ]
        for (body, message) in cases { #expect(errorMessage(body) == message) }
    }

    /// A file written before mappings recorded their method was made by
    /// `columns`, and reads back as such; an unknown method is a one-line error.
    @Test func theMethodIsRecordedAndAFileWithoutOneWasMadeByColumns() throws {
        let dir = try TemporaryDirectory()
        var results = try sample().resultsFile()
        #expect(results.attributes["method"] == .string("joint"))
        results.attributes["method"] = nil
        let old = dir.file("old.h5")
        try results.write(path: old, force: false)
        #expect(try FAMMappingFile.read(path: old).method == "columns")
        results.attributes["method"] = .string("greedy")
        let bad = dir.file("bad.h5")
        try results.write(path: bad, force: false)
        #expect(errorMessage { _ = try FAMMappingFile.read(path: bad) }
                == "\(bad): /: attribute method: expected one of columns, joint, lanes, got greedy")
    }
}
