import Foundation
import Testing
import FapsimTestSupport

/// The CI check of the committed PE cell counts (`hw/synth/synth_pe.sh`,
/// which compares a fresh synthesis with hw/synth/pe-cells.json through
/// hw/synth/check_pe_cells.py): a file that disagrees beyond the tolerance
/// fails in one line; one within it passes. The comparison is run on files
/// here, so the test needs python3 but not Yosys.
struct SynthCellsCheckTests {
    static let committed = TestPaths.packageRoot + "/hw/synth/pe-cells.json"
    static let checker = TestPaths.packageRoot + "/hw/synth/check_pe_cells.py"

    /// The committed file with `edit` applied to its variants.
    static func variant(_ dir: TemporaryDirectory, _ name: String, _ edit: (inout [String: Any]) -> Void) throws -> String {
        var top = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: committed))) as? [String: Any])
        var variants = try #require(top["variants"] as? [String: Any])
        edit(&variants)
        top["variants"] = variants
        let path = dir.file(name)
        try JSONSerialization.data(withJSONObject: top).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func check(_ committed: String, _ fresh: String) throws -> (Int32, String, String) {
        try runProcess("/usr/bin/env", ["python3", checker, committed, fresh])
    }

    @Test func aCommittedFileThatDisagreesWithTheSynthesisFails() throws {
        let dir = try TemporaryDirectory()
        func set(_ v: String, cells: Int? = nil, flops: Int? = nil) -> (inout [String: Any]) -> Void {
            { variants in
                var e = variants[v] as! [String: Any]
                if let cells { e["cells"] = cells; e["logic"] = cells - (e["flip_flops"] as! Int) }
                if let flops { e["flip_flops"] = flops; e["logic"] = (e["cells"] as! Int) - flops }
                variants[v] = e
            }
        }
        #expect(try Self.check(Self.committed, Self.committed).0 == 0)
        // ABC noise (9 cells) is within the tolerance of 12.
        let noisy = try Self.variant(dir, "noisy.json", set("spare-g32", cells: 3082 + 9))
        #expect(try Self.check(noisy, Self.committed).0 == 0)
        for (name, edit, expected) in [
            ("cells.json", set("fap", cells: 666 + 20), "cells.json: variants.fap.cells: expected 666 +/- 12 (fresh synthesis), got 686"),
            ("flops.json", set("rowcol-reg", flops: 52), "flops.json: variants.rowcol-reg.flip_flops: expected 51 (fresh synthesis), got 52"),
            ("extra.json", { $0["spare-g64"] = ["cells": 1, "flip_flops": 0, "logic": 1] }, "extra.json: variants.spare-g64: expected a variant synth_pe.sh synthesizes"),
            ("fewer.json", { $0["nobypass"] = nil }, "fewer.json: variants.nobypass: expected an entry"),
        ] as [(String, (inout [String: Any]) -> Void, String)] {
            let wrong = try Self.variant(dir, name, edit)
            let r = try Self.check(wrong, Self.committed)
            #expect(r.0 == 1, "\(name): \(r.2)")
            #expect(r.2.split(separator: "\n").count == 1 && r.2.contains(expected), "\(name): \(r.2)")
        }
    }

    /// synth_pe.sh refuses a data file that is not there before synthesizing anything.
    @Test func theScriptRefusesAMissingDataFileInOneLine() throws {
        let r = try runProcess("/bin/bash", [TestPaths.packageRoot + "/hw/synth/synth_pe.sh", "--check", "/nonexistent/pe-cells.json"])
        #expect(r.0 != 0)
        #expect(r.2.split(separator: "\n").count == 1, "\(r.2)")
        #expect(r.2.contains("/nonexistent/pe-cells.json: not found") || r.2.contains("not found (apt-get install"), "\(r.2)")
        let bad = try runProcess("/bin/bash", [TestPaths.packageRoot + "/hw/synth/synth_pe.sh", "--area"])
        #expect(bad.0 == 2 && bad.2.contains("unknown argument '--area'"), "\(bad.2)")
    }
}
