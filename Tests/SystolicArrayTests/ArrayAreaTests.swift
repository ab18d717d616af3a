import Foundation
import Testing
import FapsimSupport
@testable import SystolicArray

/// The array area per mitigation from synthesized PE cells (`ArrayArea`) and
/// the file it reads (`PECellCounts`, hw/synth/pe-cells.json).
struct ArrayAreaTests {
    /// The committed file (this file is Tests/SystolicArrayTests/ArrayAreaTests.swift).
    static let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(PECellCounts.defaultPath).path

    /// Round numbers, so every figure below can be checked by hand.
    static let cells = PECellCounts(variants: [
        "fap": .init(cells: 100, flipFlops: 10, logic: 90),
        "rowcol-reg": .init(cells: 110, flipFlops: 10, logic: 100),
        "spare-host-g4": .init(cells: 120, flipFlops: 10, logic: 110),
        "spare-g4": .init(cells: 300, flipFlops: 8, logic: 292),
    ], tool: "hand", path: "hand.json")

    @Test func eachMitigationOnAnEightByEightArray() {
        func est(_ m: Mitigation, _ s: SpareLayout? = nil) -> ArrayArea.Estimate {
            ArrayArea.estimate(mitigation: m, rows: 8, cols: 8, spares: s, cells: Self.cells)
        }
        // 64 FAP PEs x 100 cells.
        #expect(est(.fap) == .init(cells: 6_400, fapArrayCells: 6_400, basis: "64 fap PEs") && est(.fap).ratio == 1)
        // FAM's permutation and lanes add no PE logic.
        #expect(est(.fam).cells == 6_400 && est(.fam).ratio == 1)
        // 64 x 110 + 8 + 8 line-enable flip-flops = 7,056; / 6,400 = 1.1025.
        #expect(est(.rowcol).cells == 7_056 && est(.rowcol).ratio == 1.1025)
        #expect(est(.rowcol).basis == "64 rowcol-reg PEs + 16 line-enable flip-flops")
        // column-groups:4: 64 x 120 + (64 / 4 = 16 spares) x 300 = 7,680 + 4,800 = 12,480; / 6,400 = 1.95.
        let g4 = est(.spares, .columnGroups(groupCols: 4))
        #expect(g4.cells == 12_480 && g4.ratio == 1.95 && g4.basis == "64 spare-host-g4 PEs + 16 spare-g4 spare PEs")
        // Layouts without RTL or without a synthesized group width: no figure, and why.
        let diagonal = est(.spares, .diagonal)
        #expect(diagonal.cells == nil && diagonal.ratio.isNaN && diagonal.basis.contains("diagonal spare layout is not in the RTL"))
        let g8 = est(.spares, .columnGroups(groupCols: 8))
        #expect(g8.cells == nil && g8.basis.contains("column-groups:8 is not synthesized"))
        #expect(est(.spares).basis.contains("no spares layout"))
        // A file without rowcol-reg: rowcol's area is not available, naming the file.
        let fapOnly = PECellCounts(variants: ["fap": Self.cells.variants["fap"]!], tool: "hand", path: "fap-only.json")
        #expect(ArrayArea.estimate(mitigation: .rowcol, rows: 8, cols: 8, spares: nil, cells: fapOnly).basis
                == "not available: no variant rowcol-reg in fap-only.json")
    }

    /// docs/mitigations.md's array-level table for 256x256 comes out of the
    /// function and the committed cell counts.
    @Test func theDocsArrayFiguresComeFromTheCommittedCounts() throws {
        let c = try PECellCounts.load(path: Self.committed)
        func est(_ m: Mitigation, _ s: SpareLayout? = nil) -> ArrayArea.Estimate {
            ArrayArea.estimate(mitigation: m, rows: 256, cols: 256, spares: s, cells: c)
        }
        #expect(est(.fap).cells == 43_646_976)  // 65,536 x 666
        for (g, cells, ratio) in [(4, 59_162_624, 1.355), (16, 53_456_896, 1.225), (32, 52_449_280, 1.202)] {
            let e = est(.spares, .columnGroups(groupCols: g))
            #expect(e.cells == cells, "column-groups:\(g)")
            #expect((e.ratio * 1000).rounded() / 1000 == ratio, "column-groups:\(g): \(e.ratio)")
        }
        // Row/column bypass: 65,536 x 663 + 512 = 43,450,880 cells, 0.9955 of FAP.
        #expect(est(.rowcol).cells == 43_450_880)
        #expect((est(.rowcol).ratio * 10_000).rounded() / 10_000 == 0.9955)
    }

    @Test func theCommittedFileNamesItsTool() throws {
        let c = try PECellCounts.load(path: Self.committed)
        #expect(c.tool.hasPrefix("Yosys 0.23"))
        for v in ["nobypass", "fap", "rowcol-reg", "rowcol-wire"] + [4, 16, 32].flatMap({ ["spare-host-g\($0)", "spare-g\($0)"] }) {
            #expect(c.variants[v] != nil, "\(v)")
        }
    }

    @Test func badFilesAreOneLineNamingTheFileAndField() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fapsim-pe-cells-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func message(_ text: String) throws -> String {
            let path = dir + "/c.json"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            do { _ = try PECellCounts.load(path: path); return "" } catch { return "\(error)" }
        }
        let head = #"{"content": "fapsim_pe_cells", "tool": "t", "variants": "#
        let cases: [(String, String)] = [
            ("not json", "c.json: (file): expected JSON"),
            (#"{"content": "other", "tool": "t", "variants": {}}"#, "c.json: content: expected \"fapsim_pe_cells\""),
            (#"{"content": "fapsim_pe_cells", "variants": {}}"#, "c.json: tool: expected"),
            (#"{"content": "fapsim_pe_cells", "tool": "t"}"#, "c.json: variants: expected an object"),
            (head + #"{"fap": {"cells": 666, "flip_flops": 51}}}"#, "c.json: variants.fap.logic: expected a non-negative whole number, got none"),
            (head + #"{"fap": {"cells": 66.5, "flip_flops": 51, "logic": 615}}}"#, "c.json: variants.fap.cells: expected a non-negative whole number, got 66.5"),
            (head + #"{"fap": {"cells": 666, "flip_flops": 51, "logic": 600}}}"#, "c.json: variants.fap.logic: expected cells - flip_flops = 615, got 600"),
            (head + #"{"rowcol-reg": {"cells": 663, "flip_flops": 51, "logic": 612}}}"#, "c.json: variants.fap: expected the FAP PE's cell count"),
        ]
        for (text, expected) in cases {
            let m = try message(text)
            #expect(m.contains(expected), "\(text) -> \(m)")
            #expect(!m.contains("\n"), "\(m)")
        }
        #expect(try message(head + #"{"fap": {"cells": 666, "flip_flops": 51, "logic": 615}}}"#) == "")
        let missing = (try? PECellCounts.load(path: dir + "/none.json")) == nil
        #expect(missing)
    }

    /// A named file (flag or variable) must load; an absent default is "no counts".
    @Test func resolveTakesTheFlagThenTheVariableThenTheDefault() throws {
        let none = "/nonexistent/pe-cells.json"
        func error(_ body: () throws -> PECellCounts?) -> String {
            do { _ = try body(); return "" } catch { return "\(error)" }
        }
        #expect(error { try PECellCounts.resolve(flag: none, environment: [:], defaultPath: Self.committed) }.contains("\(none): PE cell counts not found"))
        #expect(error { try PECellCounts.resolve(flag: nil, environment: [PECellCounts.environmentVariable: none], defaultPath: Self.committed) }
                .contains(none))
        #expect(try PECellCounts.resolve(flag: nil, environment: [:], defaultPath: none) == nil)
        #expect(try PECellCounts.resolve(flag: nil, environment: [:], defaultPath: Self.committed)?.path == Self.committed)
        #expect(try PECellCounts.resolve(flag: Self.committed, environment: [PECellCounts.environmentVariable: none], defaultPath: none)?.path
                == Self.committed)
    }
}
