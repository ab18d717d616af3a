import Foundation
import Testing
import FapsimStore
import FapsimSupport
import FapsimTestSupport
@testable import Reduce

/// The unit-job skeleton (`UnitJob`'s extension) that `ResilienceSweep` and
/// `Campaign` share, tested once on a toy job: unit u's result is u x u times
/// a factor in the run identity, and the final file holds their sum.
struct SquaresJob: UnitJob {
    static let command = "squares"
    static let unitContent = "squares-unit"

    let work: WorkDir
    let unitCount: Int
    let factor: Int
    /// Units computed by this value, in order, and the checks run.
    var computedUnits: [Int] = []
    var prepared = 0
    /// A unit whose computation throws (a crash in the middle of a run).
    var failing: Int?

    init(out: String, units: Int, factor: Int) {
        work = WorkDir(out: out, command: Self.command, identity: ["factor": String(factor), "units": String(units)])
        unitCount = units
        self.factor = factor
    }

    func unitFileName(_ u: Int) -> String { "sq-\(u).h5" }
    func checkpointStem(_ u: Int) -> String { "sq-\(u)" }
    func progressLabel(units: Int) -> String { "squares: \(units) units" }
    mutating func prepare() throws { prepared += 1 }
    func plan(unit u: Int) -> Int { u * u }
    func images(of plan: Int) -> Int { 1 }

    mutating func compute(unit u: Int, plan: Int, progress: ProgressLine) throws -> ResultsFile {
        // A checkpoint as a real unit leaves one while it works.
        try "partial".write(toFile: checkpointFile(unit: u), atomically: false, encoding: .utf8)
        if u == failing { throw FapsimError("unit \(u) failed") }
        computedUnits.append(u)
        progress.advance()
        return ResultsFile(content: Self.unitContent, attributes: ["value": .int(Int64(plan * factor))])
    }

    mutating func assemble(units files: [ResultsFile]) throws -> Int64 {
        try files.reduce(0) { sum, f in
            guard case .int(let v)? = f.attributes["value"] else { throw FapsimError("no value") }
            return sum + v
        }
    }

    func write(_ sum: Int64, force: Bool) throws -> Int64 {
        try ResultsFile(content: "squares", attributes: ["sum": .int(sum)]).write(path: out, force: force)
        guard case .int(let v)? = try ResultsFile.read(path: out).attributes["sum"] else { throw FapsimError("no sum") }
        return v
    }
}

@Suite struct UnitJobTests {
    @Test func listComputeResumeAssembleMerge() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-unitjob")
        let out = dir.file("squares.h5")
        var job = SquaresJob(out: out, units: 5, factor: 3)
        #expect(try job.progress() == UnitProgress(command: "squares", units: 5, done: [], out: out))

        // Some units, then the assembly refuses the incomplete set, naming what is missing.
        #expect(try job.compute(units: [1, 3], quiet: true) == [1, 3])
        #expect(try job.progress().done == [1, 3])
        let missing = errorMessage { _ = try job.merge(force: false) }
        #expect(missing?.contains("3 of 5 units missing: 0,2,4") == true, "\(missing ?? "")")
        #expect(!FileManager.default.fileExists(atPath: out))

        // A crash in a unit keeps the finished ones and that unit's checkpoint.
        job.failing = 2
        #expect(errorMessage { _ = try job.compute(units: [0, 2, 4], quiet: true) } == "unit 2 failed")
        #expect(try job.progress().done == [0, 1, 3])
        #expect(FileManager.default.fileExists(atPath: job.checkpointFile(unit: 2)))

        // A stale checkpoint of a finished unit (a kill between its file and the
        // clean-up) is removed; another unit's checkpoint with a longer index is not.
        let stale = job.checkpointFile(unit: 1, tag: "e2")
        try "x".write(toFile: stale, atomically: false, encoding: .utf8)
        let unrelated = job.work.file("sq-10.checkpoint")
        try "x".write(toFile: unrelated, atomically: false, encoding: .utf8)
        job.failing = nil
        job.computedUnits = []
        let prepared = job.prepared
        #expect(try job.run(force: false, quiet: true) == 3 * (0 + 1 + 4 + 9 + 16))
        #expect(job.computedUnits == [2, 4], "finished units are skipped")
        #expect(job.prepared > prepared)
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(!FileManager.default.fileExists(atPath: job.checkpointFile(unit: 2)), "a unit's checkpoint goes with its file")
        #expect(FileManager.default.fileExists(atPath: unrelated))

        // Nothing left to do: no unit computed, no preparation needed.
        let again = job.prepared
        #expect(try job.compute(units: Array(0..<5), quiet: true) == [])
        #expect(job.prepared == again)
        // The final file is not replaced without force.
        let refused = errorMessage { _ = try job.merge(force: false) }
        #expect(refused?.contains("--force") == true, "\(refused ?? "")")
        #expect(try job.merge(force: true) == 90)
    }

    @Test func unitsOfAnotherRunAreRefused() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-unitjob")
        let out = dir.file("squares.h5")
        var job = SquaresJob(out: out, units: 3, factor: 2)
        try job.compute(units: [0], quiet: true)
        var other = SquaresJob(out: out, units: 3, factor: 5)
        for message in [errorMessage { _ = try other.progress() }, errorMessage { try other.compute(units: [0, 1], quiet: true) }] {
            #expect(message?.contains("factor: this unit file is from a different run (factor 2 there, 5 in this run)") == true,
                    "\(message ?? "")")
        }
        #expect(other.computedUnits.isEmpty)
    }
}
