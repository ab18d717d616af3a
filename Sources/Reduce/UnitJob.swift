import Foundation
import FapsimStore
import FapsimSupport

/// A run split into resumable units (`fapsim resilience`: one (rate, repeat)
/// per unit; `fapsim reduce`: one chip): the unit contract of docs/reduce.md
/// that `fapsim slurm` drives. A conforming type says what a unit is, how to
/// compute one and how finished units make the final file; the skeleton
/// (this protocol's extension) does the rest the same way for every kind:
/// listing done and missing units, skipping finished ones, clearing the
/// checkpoints a kill left behind, one progress line over the whole request,
/// refusing to assemble an incomplete set, and writing the final file.
///
/// Every unit file lives in `work` (`OUT.work/`), stamped with the run
/// identity and checked against it on every read (`WorkDir`).
public protocol UnitJob {
    /// What the skeleton learns about a unit before computing it (so the
    /// progress line knows the total): e.g. a chip's budgets.
    associatedtype UnitPlan
    /// What the finished units assemble into, before it is written.
    associatedtype Assembled
    /// What the written final file reads back as.
    associatedtype Final

    /// The command (`resilience`, `reduce`): `--list-units --json`'s `command`.
    static var command: String { get }
    /// The `content` attribute of a finished unit's file.
    static var unitContent: String { get }

    var work: WorkDir { get }
    var unitCount: Int { get }

    /// The finished unit's file name in `work` (e.g. `unit-3.h5`, `chip-17.h5`).
    func unitFileName(_ unit: Int) -> String
    /// The stem of the unit's checkpoint files in `work`: they are named
    /// `<stem>.checkpoint` or `<stem>-<tag>.checkpoint` (`checkpointFile`).
    func checkpointStem(_ unit: Int) -> String
    /// The progress line's label for `units` units about to be computed.
    func progressLabel(units: Int) -> String

    /// Checks that need the data before any unit is computed or assembled
    /// (e.g. targets against the fault-free baseline).
    mutating func prepare() throws
    mutating func plan(unit: Int) throws -> UnitPlan
    /// Training images the unit will go through (the progress line's total).
    mutating func images(of plan: UnitPlan) throws -> Int
    /// Computes one unit and returns its file (the skeleton stamps the
    /// identity and writes it). `progress` advances by images trained.
    mutating func compute(unit: Int, plan: UnitPlan, progress: ProgressLine) throws -> ResultsFile
    /// The final result from every unit's file (unit order, identity checked).
    mutating func assemble(units: [ResultsFile]) throws -> Assembled
    /// Writes `assembled` to `out` (atomically; `force` to replace) and reads it back.
    func write(_ assembled: Assembled, force: Bool) throws -> Final
}

extension UnitJob {
    /// The final output the units are assembled into.
    public var out: String { work.out }

    /// A checkpoint file of `unit` in the work directory; `tag` tells apart
    /// several runs of one unit (e.g. `e3` for a chip's 3-epoch run).
    public func checkpointFile(unit: Int, tag: String? = nil) -> String {
        work.file(checkpointStem(unit) + (tag.map { "-" + $0 } ?? "") + ".checkpoint")
    }

    /// The unit's finished file, identity checked; nil when not finished.
    public func readUnit(_ unit: Int) throws -> ResultsFile? {
        try work.read(name: unitFileName(unit), content: Self.unitContent)
    }

    /// Finished units (every file's identity checked against this run).
    public func progress() throws -> UnitProgress {
        let done = try (0..<unitCount).filter { try readUnit($0) != nil }
        return UnitProgress(command: Self.command, units: unitCount, done: done, out: out)
    }

    /// Removes the checkpoints of `unit` (all tags).
    func removeCheckpoints(unit: Int, names: [String]) {
        let stem = checkpointStem(unit)
        for name in names where name.hasPrefix(stem) && name.hasSuffix(".checkpoint") {
            let tag = name.dropFirst(stem.count).dropLast(".checkpoint".count)
            if tag.isEmpty || tag.hasPrefix("-") { unlink(work.file(name)) }
        }
    }

    /// Computes `units` (sorted, in 0..<unitCount), skipping finished ones.
    /// Returns the units computed now.
    @discardableResult
    public mutating func compute(units: [Int], quiet: Bool) throws -> [Int] {
        try work.create()
        // Only the requested units' files are opened (identity checked): a
        // Slurm task of a large run does not read every other task's result.
        let todo = try units.filter { try readUnit($0) == nil }
        // A kill between a unit's file and its checkpoints' removal leaves stale checkpoints.
        let finished = Set(units).subtracting(todo)
        if !finished.isEmpty, let names = try? FileManager.default.contentsOfDirectory(atPath: work.path) {
            for u in finished { removeCheckpoints(unit: u, names: names) }
        }
        guard !todo.isEmpty else { return [] }
        try prepare()
        var plans: [UnitPlan] = []
        var images = 0
        for u in todo {
            let p = try plan(unit: u)
            images += try self.images(of: p)
            plans.append(p)
        }
        let line = ProgressLine(progressLabel(units: todo.count), total: images, unit: "images", quiet: quiet)
        for (u, p) in zip(todo, plans) {
            let file = try compute(unit: u, plan: p, progress: line)
            try work.write(file, name: unitFileName(u))
            let names = (try? FileManager.default.contentsOfDirectory(atPath: work.path)) ?? []
            removeCheckpoints(unit: u, names: names)
        }
        line.finish()
        return todo
    }

    /// Assembles the final result from the finished units, or fails naming
    /// the missing ones. Writes nothing.
    public mutating func assemble() throws -> Assembled {
        try progress().requireComplete()
        try prepare()
        let files = try (0..<unitCount).map { u -> ResultsFile in
            guard let f = try readUnit(u) else { throw FapsimError("\(work.file(unitFileName(u))): missing") }
            return f
        }
        return try assemble(units: files)
    }

    /// Assembles and writes `out` (atomically; `force` to replace).
    public mutating func merge(force: Bool) throws -> Final {
        try AtomicWrite.checkOverwrite(out, force: force)
        return try write(try assemble(), force: force)
    }

    /// The whole run: every missing unit, then the final file.
    public mutating func run(force: Bool, quiet: Bool) throws -> Final {
        try AtomicWrite.checkOverwrite(out, force: force)
        try compute(units: Array(0..<unitCount), quiet: quiet)
        return try merge(force: force)
    }
}
