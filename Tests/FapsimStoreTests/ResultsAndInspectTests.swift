import Testing
import Foundation
import HDF5Kit
import FapsimSupport
@testable import FapsimStore

func sampleResults() -> ResultsFile {
    let perChip = ResultsTable(name: "per_chip", columns: [
        .int64("chip", units: "index", [0, 1, 2]),
        .double("fault_rate", units: "1", [0.01, 0.05, 0.1], description: "fraction of faulty PEs"),
        .double("accuracy", units: "1", [0.86, 0.84, 0.79]),
        .string("status", ["ok", "ok", "retrained"]),
    ], attributes: ["description": .string("test accuracy per chip")])
    let layers = ResultsTable(name: "cycles", columns: [
        .string("layer", ["conv1", "fc"]),
        .int64("cycles", units: "cycles", [123_456_789_012, 42]),
    ])
    return ResultsFile(content: "resilience",
                       attributes: ["lot_file": .string("lot.h5"), "lot_checksum": .string("00ff"),
                                    "batch": .int(128), "rates": .doubles([0.01, 0.1])],
                       tables: [perChip, layers])
}

@Suite struct ResultsTableTests {
    @Test func resultsRoundTripKeepingColumnOrderAndUnits() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("r.h5")
        let r = sampleResults()
        try r.write(path: path, force: false)
        let back = try ResultsFile.read(path: path)
        #expect(back == r)
        #expect(back[table: "per_chip"]?["fault_rate"]?.units == "1")
        #expect(try ResultsFile.readTable(path: path, name: "cycles") == r.tables[1])
        let g = try H5File.open(path).openGroup("per_chip")
        #expect(try g.stringArrayAttribute("columns") == ["chip", "fault_rate", "accuracy", "status"])
        #expect(try g.openDataset("accuracy").stringAttribute("units") == "1")
    }

    @Test func nestedTablesRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("traces.h5")
        let traces = ["conv1", "conv2"].map { layer in
            ResultsTable(name: "traces/\(layer)", columns: [
                .int64("fold", units: "index", [0, 1]),
                .int64("cycles", units: "cycles", [100, 90]),
            ], attributes: ["layer": .string(layer)])
        }
        let r = ResultsFile(content: "cycle-trace", tables: [sampleResults().tables[0]] + traces)
        try r.write(path: path, force: false)
        #expect(try ResultsFile.read(path: path) == r)
        #expect(try ResultsFile.readTable(path: path, name: "traces/conv2") == traces[1])
        #expect(try H5File.open(path).openGroup("traces").members() == ["conv1", "conv2"])
    }

    @Test func badTablesAreRefusedBeforeWriting() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("r.h5")
        var r = sampleResults()
        r.tables[0].columns[1].values = .double([0.1])
        #expect(errorMessage { try r.write(path: path, force: false) }
                == "\(path): /per_chip/fault_rate: has 1 rows, expected 3 like column chip")
        r = sampleResults()
        r.tables[0].columns[0].units = ""
        #expect(errorMessage { try r.write(path: path, force: false) }
                == "\(path): /per_chip/chip: missing units (use \"1\" for dimensionless numbers)")
        r = sampleResults()
        r.attributes["schema"] = .string("x")
        #expect(errorMessage { try r.write(path: path, force: false) } == "\(path): attribute 'schema' is reserved; set `content` instead")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func tableWithAMissingColumnIsNamed() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("r.h5")
        do {
            let f = try H5File.create(path)
            try Schema.stamp(f, as: .results)
            try f.setAttribute("content", "campaign")
            let g = try f.createGroup("t")
            try g.setAttribute("columns", ["a", "b"])
            try g.write("a", [Int64(1)]).setAttribute("units", "count")
            try f.close()
        }
        #expect(errorMessage { _ = try ResultsFile.read(path: path) } == "\(path): /t/b: missing dataset")
    }
}

@Suite struct InspectTests {
    @Test func inspectDescribesEachKind() throws {
        let dir = try TemporaryDirectory()
        let lot = dir.file("lot.h5"), weights = dir.file("w.h5"), torch = dir.file("t.h5"), results = dir.file("r.h5")
        try ChipLotFile.write(try sampleLot(chips: 4), to: lot, force: false)
        try sampleWeights().write(path: weights, force: false)
        try sampleWeights().exportPyTorch(path: torch, force: false)
        try sampleResults().write(path: results, force: false)

        let l = try FapsimInspect.inspect(path: lot)
        #expect(l.kind == "lot" && l.schemaVersion == 1)
        #expect(l.lines == [
            "\(lot): fapsim chip lot (schema fapsim.lot v1)",
            "  written by fapsim \(FapsimVersion.description)",
            "  4 chips of 8 x 6 PEs; fault_maps uint8 [4, 8, 6] chunked [1, 8, 6] shuffle+deflate",
            "  fault rate 0.0500 .. 0.2000 (mean 0.1250)",
            "  generator uniform (rate_max=0.2, rate_min=0.05), lot seed 42",
        ])
        #expect(l.json["chips"] as? Int == 4)

        let w = try FapsimInspect.inspect(path: weights)
        #expect(w.kind == "weights")
        #expect(w.lines.contains("  test accuracy 81.25 %"))
        #expect(w.lines.contains("  provenance: parent vgg11_cifar10.h5 (checksum 0123456789abcdef), chip 17 (fault map fedcba9876543210), 3 FAT epochs"))
        #expect((w.json["provenance"] as? [String: Any])?["chip_index"] as? Int == 17)

        let t = try FapsimInspect.inspect(path: torch)
        #expect(t.kind == "pytorch-state_dict" && t.schemaVersion == nil)
        #expect(t.lines[0] == "\(torch): PyTorch state_dict in HDF5 (docs/conventions.md §4 layout, no fapsim schema)")

        let r = try FapsimInspect.inspect(path: results)
        #expect(r.lines.contains("  table per_chip: 3 rows; chip [index], fault_rate [1], accuracy [1], status [label]"))
        for report in [l, w, t, r] {
            let json = JSONOutput.string(report.json)
            #expect(json != "{}", "\(report.kind) JSON is not serialisable")
            #expect(report.json["fapsim_version"] as? String == FapsimVersion.description, "\(report.kind)")
        }
    }

    /// Every kind FapsimStore writes carries the writer's version, and a file
    /// from before the attribute (or from another tool) still reads and inspects.
    @Test func everyWrittenKindRecordsTheFapsimThatWroteIt() throws {
        let dir = try TemporaryDirectory()
        let lot = dir.file("lot.h5"), weights = dir.file("w.h5"), torch = dir.file("t.h5"), results = dir.file("r.h5")
        try ChipLotFile.write(try sampleLot(chips: 2), to: lot, force: false)
        try sampleWeights().write(path: weights, force: false)
        try sampleWeights().exportPyTorch(path: torch, force: false)
        try sampleResults().write(path: results, force: false)
        let version = FapsimVersion.description
        #expect(version.hasPrefix(FapsimVersion.number + " (git "))
        for path in [lot, weights, torch, results] {
            #expect(try Schema.writer(of: try H5File.open(path)) == version, "\(path)")
        }
        // The export's stamp is not mistaken for free-text provenance on import.
        #expect(try WeightsFile.read(path: torch) == sampleWeights())
        // Results: the stamp is the writer's, never an attribute carried over.
        #expect(try ResultsFile.read(path: results).attributes[Schema.writerAttribute] == nil)
        var carried = sampleResults()
        carried.attributes[Schema.writerAttribute] = .string("0.0.1 (git 0000000)")
        let m = errorMessage { try carried.write(path: dir.file("c.h5"), force: false) }
        #expect(m == "\(dir.file("c.h5")): attribute 'fapsim_version' is reserved; fapsim stamps the version that writes the file")

        // A lot written before the stamp existed.
        do {
            let f = try H5File.open(lot, writable: true)
            try f.deleteAttribute(Schema.writerAttribute)
            try f.close()
        }
        let old = try FapsimInspect.inspect(path: lot)
        #expect(old.lines[1] == "  written by a fapsim without version stamps (no fapsim_version attribute)")
        #expect(old.json["fapsim_version"] == nil)
    }
}
