import Foundation
import Reduce
import FapsimSupport

// The pure parts of `fapsim slurm`: unit lists, option checks, the sbatch script,
// the state file and the filesystem checks. No process is started here, so the
// unit tests run without Slurm (Tests/CLITests/SlurmScriptTests.swift).

/// Unit index lists in Slurm's array syntax (`0-4,7`).
public enum UnitList {
    /// Sorted, de-duplicated indices as ranges: [0,1,2,3,4,7] -> "0-4,7"
    /// (the same text the local commands print for their units).
    public static func compress(_ indices: [Int]) -> String { UnitIndices.compress(indices) }

    /// The inverse of `compress` ("0-4,7" -> [0,1,2,3,4,7]); nil for malformed text.
    public static func expand(_ text: String) -> [Int]? {
        if text.isEmpty { return [] }
        var out: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(ends.count), let a = Int(ends[0]), a >= 0,
                  let b = ends.count == 2 ? Int(ends[1]) : a, b >= a else { return nil }
            out.append(contentsOf: a...b)
        }
        return Array(Set(out)).sorted()
    }
}

/// The local command's `--list-units --json` answer (the contract in docs/cluster.md).
public struct UnitStatus: Equatable, Sendable {
    public var command: String
    public var units: Int
    public var done: [Int]
    public var missing: [Int]
    public var out: String

    public init(command: String, units: Int, done: [Int], missing: [Int], out: String) {
        self.command = command; self.units = units; self.done = done; self.missing = missing; self.out = out
    }

    /// Parses the JSON object; `source` names the command for the error message.
    public static func parse(_ text: String, source: String) throws -> UnitStatus {
        // Tolerate anything printed before the object (it must be the last thing on stdout).
        guard let start = text.firstIndex(of: "{"),
              let obj = try? JSONSerialization.jsonObject(with: Data(text[start...].utf8)) as? [String: Any] else {
            throw FapsimError("\(source) --list-units --json: expected one JSON object on stdout, got \(text.prefix(200).debugDescription)")
        }
        func ints(_ key: String) throws -> [Int] {
            guard let a = obj[key] as? [Any] else {
                throw FapsimError("\(source) --list-units --json: \(key): expected an array of unit indices")
            }
            return try a.map {
                guard let n = ($0 as? NSNumber)?.intValue else {
                    throw FapsimError("\(source) --list-units --json: \(key): expected integers, got \($0)")
                }
                return n
            }
        }
        guard let units = (obj["units"] as? NSNumber)?.intValue, units >= 0 else {
            throw FapsimError("\(source) --list-units --json: units: expected a non-negative integer")
        }
        guard let out = obj["out"] as? String, !out.isEmpty else {
            throw FapsimError("\(source) --list-units --json: out: expected the output path")
        }
        let s = UnitStatus(command: obj["command"] as? String ?? source, units: units,
                           done: try ints("done").sorted(), missing: try ints("missing").sorted(), out: out)
        if let bad = (s.done + s.missing).first(where: { $0 < 0 || $0 >= units }) {
            throw FapsimError("\(source) --list-units --json: unit \(bad) is outside 0..<\(units)")
        }
        return s
    }
}

/// The Slurm side of a submission: what goes into the `#SBATCH` lines.
public struct SlurmSettings: Equatable, Sendable {
    public var partition: String?
    public var time: String?
    public var cpusPerTask: Int = 2
    public var maxParallel: Int?
    public var account: String?

    public init(partition: String? = nil, time: String? = nil, cpusPerTask: Int = 2, maxParallel: Int? = nil, account: String? = nil) {
        self.partition = partition; self.time = time; self.cpusPerTask = cpusPerTask
        self.maxParallel = maxParallel; self.account = account
    }

    /// One-line errors for values Slurm would reject later (or that would break the script).
    public func validate() throws {
        if cpusPerTask < 1 { throw FapsimError.invalid(file: nil, field: "--cpus-per-task", expected: "a positive integer", got: "\(cpusPerTask)") }
        if let m = maxParallel, m < 1 { throw FapsimError.invalid(file: nil, field: "--max-parallel", expected: "a positive integer", got: "\(m)") }
        if let t = time, !Self.isSlurmTime(t) {
            throw FapsimError.invalid(file: nil, field: "--time", expected: "a Slurm time limit (MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)", got: t)
        }
        for (flag, value) in [("--partition", partition), ("--account", account)] {
            if let v = value, !Self.isSlurmName(v) {
                throw FapsimError.invalid(file: nil, field: flag, expected: "a Slurm name (letters, digits, . _ -)", got: v.debugDescription)
            }
        }
    }

    /// Slurm's time formats: minutes, minutes:seconds, hours:minutes:seconds,
    /// days-hours, days-hours:minutes, days-hours:minutes:seconds (or UNLIMITED).
    public static func isSlurmTime(_ s: String) -> Bool {
        if ["UNLIMITED", "INFINITE", "unlimited", "infinite"].contains(s) { return true }
        func num(_ x: Substring) -> Bool { !x.isEmpty && x.count <= 6 && x.allSatisfy(\.isASCII) && x.allSatisfy(\.isNumber) }
        let dayParts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard dayParts.count <= 2 else { return false }
        let clock = dayParts.last!.split(separator: ":", omittingEmptySubsequences: false)
        guard clock.allSatisfy(num) else { return false }
        if dayParts.count == 2 { return num(dayParts[0]) && (1...3).contains(clock.count) }
        return (1...3).contains(clock.count)
    }

    public static func isSlurmName(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }
    }

    func json() -> [String: Any] {
        var j: [String: Any] = ["cpus_per_task": cpusPerTask]
        if let partition { j["partition"] = partition }
        if let time { j["time"] = time }
        if let maxParallel { j["max_parallel"] = maxParallel }
        if let account { j["account"] = account }
        return j
    }

    init(json j: [String: Any]) {
        partition = j["partition"] as? String
        time = j["time"] as? String
        cpusPerTask = (j["cpus_per_task"] as? NSNumber)?.intValue ?? 2
        maxParallel = (j["max_parallel"] as? NSNumber)?.intValue
        account = j["account"] as? String
    }
}

/// The local command line a task runs, and checks on the user's ARGS.
public enum SlurmCommandLine {
    /// The local commands `fapsim slurm` can spread over a cluster.
    public static let commands = ["resilience", "reduce"]

    /// Flags `fapsim slurm` adds itself; the user must not pass them after `--`.
    static let reserved = ["--units", "--list-units", "--merge-only"]

    /// Checks the ARGS after `--` and returns the `--out` value given there.
    public static func validate(args: [String], command: String) throws -> String {
        guard !args.isEmpty else {
            throw FapsimError("fapsim slurm \(command): expected the \(command) arguments after --, e.g. fapsim slurm \(command) --partition P -- ... --out FILE")
        }
        for a in args {
            let name = a.split(separator: "=", maxSplits: 1).first.map(String.init) ?? a
            if reserved.contains(name) {
                throw FapsimError("fapsim slurm \(command): \(name) is added by fapsim slurm itself; remove it from the arguments after --")
            }
        }
        guard let out = outValue(args) else {
            throw FapsimError("fapsim slurm \(command): the arguments after -- must include --out FILE")
        }
        return out
    }

    /// The value of `--out` (`--out X` or `--out=X`), the last one if repeated.
    public static func outValue(_ args: [String]) -> String? {
        var found: String?
        var i = 0
        while i < args.count {
            if args[i] == "--out", i + 1 < args.count { found = args[i + 1]; i += 1 }
            else if args[i].hasPrefix("--out=") { found = String(args[i].dropFirst(6)) }
            i += 1
        }
        return found
    }

    /// ARGS plus `extra`, leaving out extra flags ARGS already have (`--quiet`, `--json`).
    public static func with(_ args: [String], _ extra: [String]) -> [String] {
        args + extra.filter { !(["--quiet", "--json"].contains($0) && args.contains($0)) }
    }
}

/// POSIX shell single quoting (only where needed, so the script stays readable).
public func shellQuote(_ s: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")
    if !s.isEmpty && s.unicodeScalars.allSatisfy({ safe.contains($0) }) { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

/// Everything one sbatch job-array script needs.
public struct SlurmScript: Sendable {
    public var command: String          // resilience | reduce
    public var args: [String]           // the local command's ARGS (as the user gave them)
    public var fapsim: String           // absolute path of the executable the tasks run
    public var submitDir: String        // absolute; tasks cd here so relative ARGS resolve
    public var jobDir: String           // absolute; logs and state
    public var units: [Int]             // the array indices of this submission
    public var totalUnits: Int
    public var settings: SlurmSettings
    public var scriptPath: String
    public var createdAt: Date = Date()

    public init(command: String, args: [String], fapsim: String, submitDir: String, jobDir: String,
                units: [Int], totalUnits: Int, settings: SlurmSettings, scriptPath: String) {
        self.command = command; self.args = args; self.fapsim = fapsim; self.submitDir = submitDir
        self.jobDir = jobDir; self.units = units; self.totalUnits = totalUnits; self.settings = settings
        self.scriptPath = scriptPath
    }

    public var arraySpec: String {
        UnitList.compress(units) + (settings.maxParallel.map { "%\($0)" } ?? "")
    }

    public var logPattern: String { jobDir + "/logs/unit-%a.out" }
    public func logPath(unit: Int) -> String { jobDir + "/logs/unit-\(unit).out" }

    public var jobName: String { "fapsim-\(command)" }

    /// The task's command line, with `$SLURM_ARRAY_TASK_ID` left for the shell.
    var taskLine: String {
        let quoted = ([fapsim, command] + args).map(shellQuote).joined(separator: " ")
        return "exec \(quoted) --units \"$SLURM_ARRAY_TASK_ID\" --quiet"
    }

    public var text: String {
        let stamp = ISO8601DateFormatter().string(from: createdAt)
        let localArgs = ([command] + args).map(shellQuote).joined(separator: " ")
        var s = """
        #!/bin/bash
        # fapsim \(command) on Slurm: \(units.count) of \(totalUnits) units in this job array
        # (one array task = one unit; a unit already finished is skipped, never recomputed).
        # Written by `fapsim slurm \(command)` at \(stamp); state in \(shellQuote(jobDir + "/state.json")).
        #
        # Follow and finish (resubmits only the missing units, then merges):
        #   fapsim slurm resume --job-dir \(shellQuote(jobDir))
        # Resubmit by hand with plain Slurm (change --array to the missing units:
        #   \(shellQuote(fapsim)) \(localArgs) --list-units --json):
        #   cd \(shellQuote(submitDir)) && sbatch --array=\(arraySpec) \(shellQuote(scriptPath))
        # Merge once every unit is done:
        #   cd \(shellQuote(submitDir)) && \(shellQuote(fapsim)) \(localArgs) --merge-only
        #SBATCH --job-name=\(jobName)
        #SBATCH --array=\(arraySpec)
        #SBATCH --output=\(logPattern)
        #SBATCH --open-mode=append
        #SBATCH --ntasks=1
        #SBATCH --cpus-per-task=\(settings.cpusPerTask)

        """
        if let p = settings.partition { s += "#SBATCH --partition=\(p)\n" }
        if let t = settings.time { s += "#SBATCH --time=\(t)\n" }
        if let a = settings.account { s += "#SBATCH --account=\(a)\n" }
        s += """
        set -euo pipefail
        cd \(shellQuote(submitDir))
        # HDF5's file locks fail or hang on many NFS/Lustre mounts; every unit writes its own file.
        export HDF5_USE_FILE_LOCKING="${HDF5_USE_FILE_LOCKING:-FALSE}"
        export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}"
        export FAPSIM_THREADS="${FAPSIM_THREADS:-${SLURM_CPUS_PER_TASK:-1}}"
        echo "fapsim \(command) unit ${SLURM_ARRAY_TASK_ID} (job ${SLURM_ARRAY_JOB_ID}) on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        \(taskLine)

        """
        return s
    }
}

/// Where a job's files may live: the compute nodes must see the same files.
public enum SharedFilesystem {
    /// Paths that are local to each node on practically every cluster.
    public static let nodeLocalPrefixes = ["/tmp", "/var/tmp", "/dev/shm", "/run", "/scratch/local", "/local", "/localscratch"]

    /// Why `path` looks node-local (a prefix or a tmpfs mount), or nil.
    public static func nodeLocalReason(_ path: String) -> String? {
        let p = URL(fileURLWithPath: path).standardizedFileURL.path
        for prefix in nodeLocalPrefixes where p == prefix || p.hasPrefix(prefix + "/") {
            return "it is under \(prefix), which is local to each node"
        }
        // The filesystem the path lives on (longest mount point above it): tmpfs and ramfs are node-local.
        if let type = filesystemType(p), ["tmpfs", "ramfs"].contains(type) {
            return "it is on a \(type) (memory) filesystem, which is local to each node"
        }
        return nil
    }

    /// The type of the filesystem holding `path`, from /proc/self/mounts (Linux); nil elsewhere.
    public static func filesystemType(_ path: String) -> String? {
        guard let mounts = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return nil }
        var best: (point: String, type: String)?
        for line in mounts.split(whereSeparator: \.isNewline) {
            let f = line.split(separator: " ")
            guard f.count >= 3 else { continue }
            // Mount points escape spaces as \040.
            let point = String(f[1]).replacingOccurrences(of: "\\040", with: " ")
            let under = point == "/" || path == point || path.hasPrefix(point + "/")
            if under && point.count >= (best?.point.count ?? -1) { best = (point, String(f[2])) }
        }
        return best?.type
    }

    /// Creates `dir` if needed and proves it writable by writing a probe file.
    public static func ensureWritableDirectory(_ dir: String, what: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: dir, isDirectory: &isDir) {
            guard isDir.boolValue else { throw FapsimError("\(what) \(dir): exists and is not a directory") }
        } else {
            do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw FapsimError("\(what) \(dir): cannot create it: \(error.localizedDescription)")
            }
        }
        let probe = dir + "/.fapsim-write-probe-\(getpid())"
        guard fm.createFile(atPath: probe, contents: Data("probe\n".utf8)) else {
            throw FapsimError("\(what) \(dir): not writable (\(String(cString: strerror(errno))))")
        }
        try? fm.removeItem(atPath: probe)
    }
}

/// The job directory's state.json: enough to resume without the original command line.
public struct SlurmState: Sendable {
    public struct Submission: Sendable, Equatable {
        public var jobID: String
        public var units: [Int]
        public var script: String
        public var submittedAt: String
    }

    public var command: String
    public var args: [String]
    public var fapsim: String
    public var submitDir: String
    public var jobDir: String
    public var out: String
    public var totalUnits: Int
    public var settings: SlurmSettings
    public var pollSeconds: Double
    public var allowLocalFS: Bool
    public var submissions: [Submission] = []

    public static func path(jobDir: String) -> String { jobDir + "/state.json" }

    public func json() -> [String: Any] {
        [
            "version": 1,
            "command": command,
            "args": args,
            "fapsim": fapsim,
            "working_directory": submitDir,
            "job_dir": jobDir,
            "out": out,
            "units": totalUnits,
            "slurm": settings.json(),
            "poll_seconds": pollSeconds,
            "allow_local_fs": allowLocalFS,
            "job_ids": submissions.map(\.jobID),
            "submissions": submissions.map {
                ["job_id": $0.jobID, "array": UnitList.compress($0.units), "script": $0.script, "submitted_at": $0.submittedAt] as [String: Any]
            },
        ]
    }

    public func save() throws {
        let p = Self.path(jobDir: jobDir)
        try AtomicWrite.write(text: JSONOutput.string(json()) + "\n", to: p, force: true)
    }

    public static func load(jobDir: String) throws -> SlurmState {
        let p = path(jobDir: jobDir)
        guard let data = FileManager.default.contents(atPath: p) else {
            throw FapsimError("\(p): no such file; --job-dir must be the directory `fapsim slurm resilience|reduce` wrote")
        }
        guard let j = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FapsimError("\(p): not a JSON object")
        }
        func str(_ k: String) throws -> String {
            guard let v = j[k] as? String else { throw FapsimError.invalid(file: p, field: k, expected: "a string") }
            return v
        }
        guard let args = j["args"] as? [String] else { throw FapsimError.invalid(file: p, field: "args", expected: "an array of strings") }
        var s = SlurmState(command: try str("command"), args: args, fapsim: try str("fapsim"),
                           submitDir: try str("working_directory"), jobDir: try str("job_dir"), out: try str("out"),
                           totalUnits: (j["units"] as? NSNumber)?.intValue ?? 0,
                           settings: SlurmSettings(json: j["slurm"] as? [String: Any] ?? [:]),
                           pollSeconds: (j["poll_seconds"] as? NSNumber)?.doubleValue ?? 10,
                           allowLocalFS: j["allow_local_fs"] as? Bool ?? false)
        guard SlurmCommandLine.commands.contains(s.command) else {
            throw FapsimError.invalid(file: p, field: "command", expected: "resilience or reduce", got: s.command)
        }
        for sub in j["submissions"] as? [[String: Any]] ?? [] {
            s.submissions.append(Submission(jobID: sub["job_id"] as? String ?? "", units: UnitList.expand(sub["array"] as? String ?? "") ?? [],
                                            script: sub["script"] as? String ?? "", submittedAt: sub["submitted_at"] as? String ?? ""))
        }
        return s
    }
}
