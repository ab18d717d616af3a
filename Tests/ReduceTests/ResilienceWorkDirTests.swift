import Foundation
import Testing
import FapsimStore
import FapsimSupport
@testable import Reduce

/// The work directory of resumable runs: identity stamps, finished-unit scan,
/// refusal of unit files from another run.
struct ResilienceWorkDirTests {
    func unit(_ value: Double) -> ResultsFile {
        ResultsFile(content: "resilience-unit", attributes: ["value": .double(value)],
                    tables: [ResultsTable(name: "curve", columns: [.double("test_accuracy", units: "1", [value])])])
    }

    @Test func unitsAreStampedScannedAndChecked() throws {
        let dir = try TemporaryDirectory()
        let id = ["seed": "5", "rates": "0.1,0.2", "weights_checksum": "abc"]
        let work = WorkDir(out: dir.file("res.h5"), command: "resilience", identity: id)
        try work.create()
        try work.write(unit(0.5), name: "unit-3.h5")
        try work.write(unit(0.25), name: "unit-10.h5")
        // Debris of a killed write (hidden temporaries) and checkpoints are not units.
        try "x".write(toFile: work.file(".unit-4.h5.tmp-1-2"), atomically: false, encoding: .utf8)
        try "x".write(toFile: work.file("unit-5.checkpoint"), atomically: false, encoding: .utf8)
        #expect(work.indices(prefix: "unit-") == [3, 10])
        let back = try #require(try work.read(name: "unit-3.h5", content: "resilience-unit"))
        #expect(back.attributes["value"] == .double(0.5))
        #expect(back.attributes["run_seed"] == .string("5"))
        #expect(WorkDir.identity(of: back.attributes) == id)
        #expect(try work.read(name: "unit-7.h5", content: "resilience-unit") == nil)

        // Another run (other seed) over the same directory: named field, both values.
        var otherID = id
        otherID["seed"] = "6"
        let other = WorkDir(out: dir.file("res.h5"), command: "resilience", identity: otherID)
        let msg = errorMessage { _ = try other.read(name: "unit-3.h5", content: "resilience-unit") }
        #expect(msg == "\(work.file("unit-3.h5")): seed: this unit file is from a different run (seed 5 there, 6 in this run); rerun with the original settings, use another --out, or remove \(work.path) to start over")
        // A field only one side has is a difference too.
        var extra = id
        extra["epochs"] = "3"
        #expect(errorMessage { _ = try WorkDir(out: dir.file("res.h5"), command: "resilience", identity: extra)
            .read(name: "unit-3.h5", content: "resilience-unit") }?.contains("epochs: this unit file is from a different run (epochs unset there, 3 in this run)") == true)
        // A file of the other command's kind.
        #expect(errorMessage { _ = try work.read(name: "unit-3.h5", content: "campaign-unit") }?.contains("not a unit file of fapsim resilience") == true)
    }

    @Test func outputDirectoryMustExist() throws {
        let dir = try TemporaryDirectory()
        let work = WorkDir(out: dir.file("nowhere/res.h5"), command: "resilience", identity: [:])
        #expect(errorMessage { try work.create() } == "\(dir.file("nowhere/res.h5")): directory \(dir.file("nowhere")) does not exist")
    }

    @Test func sweepOptionChecks() {
        func check(_ rates: [Double], _ repeats: Int = 2, _ epochs: Int = 3, _ targets: [Double] = [0.8], _ metric: String = "pe") -> String? {
            errorMessage { try ResilienceSweep.validate(rates: rates, repeats: repeats, epochs: epochs, targets: targets, rateMetric: metric) }
        }
        #expect(check([0.01, 0.05]) == nil)
        #expect(check([]) == "--rates: expected at least one fault rate (e.g. 0.01,0.05,0.1), got an empty list")
        #expect(check([0.1, 0.1]) == "--rates: expected strictly increasing fault rates, got 0.1 then 0.1")
        #expect(check([-0.1]) == "--rates: expected fault rates in [0, 1], got -0.1 (rate 1)")
        #expect(check([0.1], 0) == "--repeats: expected at least 1 fault map per rate, got 0")
        #expect(check([0.1], 1, 0) == "--epochs: expected at least 1 FAT epoch, got 0")
        #expect(check([0.1], 1, 1, []) == "--targets: expected at least one accuracy target (e.g. 0.8,0.85), got an empty list")
        #expect(check([0.1], 1, 1, [1.5]) == "--targets: expected accuracy fractions in (0, 1] (0.85 = 85 %), got 1.5")
        #expect(check([0.1], 1, 1, [0.8, 0.8]) == "--targets: expected distinct values, got 0.8,0.8")
        #expect(check([0.1], 1, 1, [0.8], "macs") == "--rate-metric: expected pe or weights, got macs")
    }
}
