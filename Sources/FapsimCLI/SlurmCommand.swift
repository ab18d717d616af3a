import ArgumentParser
import Foundation
import FapsimSupport

/// `fapsim slurm`: spread a resilience sweep (Reduce Step 1) or a chip-lot
/// campaign (Step 3) over a Slurm cluster as one job array, one task per unit,
/// then merge the units into the same file a local run writes (docs/cluster.md).
public struct SlurmCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Run `fapsim resilience` or `fapsim reduce` as a Slurm job array, follow it, and merge the result.",
        discussion: """
        fapsim slurm resilience [slurm options] -- <resilience arguments> (and likewise reduce): lists the units \
        the local command would compute, writes an sbatch job-array script (one task per missing unit) into the \
        job directory (default OUT.slurm/), submits it, follows it with squeue, reports failed units with their \
        logs, and merges. fapsim slurm resume --job-dir DIR submits only the units still missing. Inputs and \
        outputs must be on a filesystem the compute nodes share (docs/cluster.md).
        """,
        subcommands: [SlurmResilienceCommand.self, SlurmReduceCommand.self, SlurmResumeCommand.self])

    public init() {}
}

/// The `#SBATCH` settings; optional so `resume` can override only what is given.
struct SlurmSettingOptions: ParsableArguments {
    @Option(help: "Slurm partition (default: the cluster's default partition).")
    var partition: String?

    @Option(help: "Time limit of each task (one unit), in Slurm's formats: 30, 1:30:00, 1-00:00:00.")
    var time: String?

    @Option(help: "CPUs per task (default 2).")
    var cpusPerTask: Int?

    @Option(help: "Run at most N units at once (the job array's %N throttle).")
    var maxParallel: Int?

    @Option(help: "Slurm account to charge.")
    var account: String?

    func apply(to s: inout SlurmSettings) {
        if let partition { s.partition = partition }
        if let time { s.time = time }
        if let cpusPerTask { s.cpusPerTask = cpusPerTask }
        if let maxParallel { s.maxParallel = maxParallel }
        if let account { s.account = account }
    }
}

/// How `fapsim slurm` behaves on this machine while it follows the job.
struct SlurmFollowOptions: ParsableArguments {
    @Option(help: "Seconds between squeue polls while following the job (default 10).")
    var pollSeconds: Double?

    @Flag(help: "Allow --out and --job-dir on a node-local path (/tmp, tmpfs): only right on a one-node cluster.")
    var allowLocalFs = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @Option(help: .hidden)
    var fapsim: String?

    func validate() throws {
        if let p = pollSeconds, !(p > 0 && p.isFinite) {
            throw FapsimError.invalid(file: nil, field: "--poll-seconds", expected: "a positive number", got: "\(p)")
        }
    }
}

enum SlurmPaths {
    static var cwd: String { FileManager.default.currentDirectoryPath }

    static func absolute(_ p: String, base: String = cwd) -> String {
        let full = p.hasPrefix("/") ? p : base + "/" + p
        return URL(fileURLWithPath: full).standardizedFileURL.path
    }

    /// The executable the tasks run: --fapsim, else this very binary.
    static func fapsim(_ given: String?) throws -> String {
        if let given {
            let p = absolute(given)
            guard FileManager.default.isExecutableFile(atPath: p) else {
                throw FapsimError("--fapsim \(given): not an executable file")
            }
            return p
        }
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        return Bundle.main.executablePath ?? absolute(CommandLine.arguments[0])
    }

    /// Job and output folders must be writable here and visible from the compute nodes.
    static func check(jobDir: String, outDir: String, submitDir: String, fapsim: String, allowLocal: Bool, note: (String) -> Void) throws {
        for (what, dir) in [("--job-dir", jobDir), ("output folder", outDir)] {
            if !allowLocal, let reason = SharedFilesystem.nodeLocalReason(dir) {
                throw FapsimError("\(what) \(dir): \(reason): tasks on other nodes would write their units there and this "
                                  + "machine would never see them; put --out (and --job-dir) on a filesystem shared with the "
                                  + "compute nodes, or pass --allow-local-fs on a one-node cluster")
            }
            try SharedFilesystem.ensureWritableDirectory(dir, what: what)
        }
        if !allowLocal {
            for (what, path) in [("working directory", submitDir), ("fapsim executable", fapsim)] {
                if let reason = SharedFilesystem.nodeLocalReason(path) {
                    note("warning: \(what) \(path): \(reason); the compute nodes may not see it")
                }
            }
        }
    }
}

/// The shared body of `fapsim slurm resilience` and `fapsim slurm reduce`.
struct SlurmSubmit {
    var command: String
    var settings: SlurmSettingOptions
    var follow: SlurmFollowOptions
    var jobDir: String?
    var dryRun: Bool
    var args: [String]

    func run() throws {
        var s = SlurmSettings()
        settings.apply(to: &s)
        try s.validate()
        try follow.validate()
        _ = try SlurmCommandLine.validate(args: args, command: command)
        if !dryRun {
            try SlurmDriver.requireSlurm()
            try SlurmDriver.checkPartition(s.partition)
        }
        let submitDir = SlurmPaths.cwd
        let fapsim = try SlurmPaths.fapsim(follow.fapsim)
        var state = SlurmState(command: command, args: args, fapsim: fapsim, submitDir: submitDir, jobDir: "", out: "",
                               totalUnits: 0, settings: s, pollSeconds: follow.pollSeconds ?? 10, allowLocalFS: follow.allowLocalFs)
        let probe = SlurmDriver(state: state, quiet: follow.quiet, json: follow.json)
        let st = try probe.listUnits()
        state.out = SlurmPaths.absolute(st.out, base: submitDir)
        state.totalUnits = st.units
        state.jobDir = SlurmPaths.absolute(jobDir ?? (state.out + ".slurm"), base: submitDir)
        let outDir = (state.out as NSString).deletingLastPathComponent
        try SlurmPaths.check(jobDir: state.jobDir, outDir: outDir, submitDir: submitDir, fapsim: fapsim,
                             allowLocal: follow.allowLocalFs, note: probe.note)

        let driver = SlurmDriver(state: state, quiet: follow.quiet, json: follow.json)
        try driver.checkOutput(st)
        if dryRun {
            if st.missing.isEmpty {
                driver.note("fapsim slurm \(command): all \(st.units) units are done; nothing to submit (merge with --merge-only)")
                if follow.json { JSONOutput.print(["command": command, "units": st.units, "missing": [Int](), "job_dir": state.jobDir] as [String: Any]) }
                return
            }
            let script = try driver.writeScript(units: st.missing)
            if follow.json {
                JSONOutput.print(["command": command, "script": script.scriptPath, "units": st.units, "missing": st.missing,
                                  "array": script.arraySpec, "job_dir": state.jobDir] as [String: Any])
            } else {
                print(script.scriptPath)
            }
            return
        }
        // A job dir whose job is still queued belongs to that job; the history of
        // an earlier run of the same command line is kept.
        if FileManager.default.fileExists(atPath: SlurmState.path(jobDir: state.jobDir)),
           let old = try? SlurmState.load(jobDir: state.jobDir) {
            let oldDriver = SlurmDriver(state: old, quiet: true, json: false)
            if let active = try oldDriver.activeJob() {
                throw FapsimError("--job-dir \(state.jobDir): job \(active) of an earlier submission is still in the queue; "
                                  + "follow it with fapsim slurm resume --job-dir \(shellQuote(state.jobDir)), or scancel \(active) first")
            }
            if old.command == state.command && old.args == state.args && old.submitDir == state.submitDir {
                driver.state.submissions = old.submissions
            }
        }
        try driver.state.save()
        var submitted: [Int] = []
        try driver.runToCompletion(st, submittedNow: &submitted)
    }
}

/// What `slurm resilience` and `slurm reduce` share: the Slurm settings, the
/// job directory and the local command's arguments after `--`.
struct SlurmSubmitOptions: ParsableArguments {
    @OptionGroup var settings: SlurmSettingOptions
    @OptionGroup var follow: SlurmFollowOptions

    @Option(help: "Where the sbatch script, the task logs and state.json go (default: OUT.slurm/).")
    var jobDir: String?

    @Flag(help: "Only write the sbatch script and print its path; submit nothing.")
    var dryRun = false

    @Argument(parsing: .postTerminator, help: "The local command's arguments (including --out FILE), after --.")
    var args: [String] = []

    func submit(_ command: String) throws {
        try SlurmSubmit(command: command, settings: settings, follow: follow, jobDir: jobDir, dryRun: dryRun, args: args).run()
    }
}

public struct SlurmResilienceCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "resilience",
        abstract: "Run `fapsim resilience` (Reduce Step 1) as a Slurm job array: one task per (rate, repeat) unit.",
        usage: "fapsim slurm resilience [slurm options] -- <fapsim resilience arguments, including --out FILE>")

    @OptionGroup var options: SlurmSubmitOptions

    public init() {}

    public func run() throws { try options.submit("resilience") }
}

public struct SlurmReduceCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "reduce",
        abstract: "Run `fapsim reduce` (Reduce Step 3) as a Slurm job array: one task per chip.",
        usage: "fapsim slurm reduce [slurm options] -- <fapsim reduce arguments, including --out FILE>")

    @OptionGroup var options: SlurmSubmitOptions

    public init() {}

    public func run() throws { try options.submit("reduce") }
}

public struct SlurmResumeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Finish a `fapsim slurm` run: follow its job if still queued, resubmit only the missing units, merge.",
        discussion: """
        Reads DIR/state.json. Units already done are never recomputed. Slurm options given here (e.g. a longer \
        --time after tasks hit their limit) replace the saved ones for the new submission.
        """)

    @Option(help: "The job directory of an earlier `fapsim slurm resilience|reduce` run.")
    var jobDir: String

    @OptionGroup var settings: SlurmSettingOptions
    @OptionGroup var follow: SlurmFollowOptions

    public init() {}

    public func run() throws {
        var state = try SlurmState.load(jobDir: SlurmPaths.absolute(jobDir))
        settings.apply(to: &state.settings)
        try state.settings.validate()
        try follow.validate()
        if let p = follow.pollSeconds { state.pollSeconds = p }
        if follow.fapsim != nil { state.fapsim = try SlurmPaths.fapsim(follow.fapsim) }
        if follow.allowLocalFs { state.allowLocalFS = true }
        try SlurmDriver.requireSlurm()
        try SlurmDriver.checkPartition(state.settings.partition)
        let driver = SlurmDriver(state: state, quiet: follow.quiet, json: follow.json)
        try SlurmPaths.check(jobDir: state.jobDir, outDir: (state.out as NSString).deletingLastPathComponent,
                             submitDir: state.submitDir, fapsim: state.fapsim, allowLocal: state.allowLocalFS, note: driver.note)
        if let active = try driver.activeJob() {
            driver.note("fapsim slurm resume: job \(active) is still in the queue; following it")
            _ = try driver.follow(active)
        }
        let st = try driver.listUnits()
        try driver.state.save()
        var submitted: [Int] = []
        try driver.runToCompletion(st, submittedNow: &submitted)
    }
}
