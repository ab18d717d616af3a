import Foundation
import FapsimSupport

/// Drives one `fapsim slurm` run: lists units, writes and submits job-array
/// scripts, follows the array, reports failed units and merges.
final class SlurmDriver {
    var state: SlurmState
    let quiet: Bool
    let json: Bool
    let started = Date()

    init(state: SlurmState, quiet: Bool, json: Bool) {
        self.state = state
        self.quiet = quiet
        self.json = json
    }

    static let missingSlurmMessage = "sbatch not found on PATH: fapsim slurm needs a Slurm client (sbatch, squeue, scontrol, sinfo) on this machine; "
        + "to try it on one machine run `bash tools/slurm/local-cluster.sh start` and export the SLURM_CONF it prints"

    /// The Slurm client tools, or a one-line error saying how to get them.
    static func requireSlurm() throws {
        guard ChildProcess.which("sbatch") != nil else { throw FapsimError(missingSlurmMessage) }
        for tool in ["squeue", "scontrol", "sinfo"] where ChildProcess.which(tool) == nil {
            throw FapsimError("\(tool) not found on PATH (sbatch is there): install the full Slurm client (Debian: slurm-client)")
        }
    }

    /// Checks that the controller answers and that `partition` exists.
    static func checkPartition(_ partition: String?) throws {
        let all = try ChildProcess.run(ChildProcess.which("sinfo")!, ["-h", "-o", "%P"])
        guard all.status == 0 else {
            let line = all.lastLine.hasPrefix("sinfo:") ? all.lastLine : "sinfo: " + all.lastLine
            throw FapsimError("cannot reach the Slurm controller (is SLURM_CONF set? a one-node test cluster: tools/slurm/local-cluster.sh): \(line)")
        }
        guard let partition else { return }
        let names = all.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "* ")) }
        if !names.contains(partition) {
            throw FapsimError("--partition \(partition): no such partition on this cluster (sinfo lists: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
        }
    }

    func note(_ s: String) {
        if !quiet { FileHandle.standardError.write(Data((s + "\n").utf8)) }
    }

    // MARK: the local command

    func localArgs(_ extra: [String]) -> [String] {
        [state.command] + SlurmCommandLine.with(state.args, extra)
    }

    func listUnits() throws -> UnitStatus {
        let r = try ChildProcess.run(state.fapsim, localArgs(["--list-units", "--json"]), directory: state.submitDir)
        guard r.status == 0 else {
            throw FapsimError("fapsim \(state.command) --list-units failed: \(r.lastLine)")
        }
        return try UnitStatus.parse(r.stdout, source: "fapsim \(state.command)")
    }

    func merge() throws {
        let r = try ChildProcess.run(state.fapsim, localArgs(["--merge-only"]), directory: state.submitDir)
        guard r.status == 0 else {
            // The local command names the missing units itself; pass its line through.
            throw FapsimError("fapsim \(state.command) --merge-only failed: \(r.lastLine.replacingOccurrences(of: "Error: ", with: ""))")
        }
    }

    // MARK: scripts and submission

    func nextScriptPath() -> String {
        let existing = (try? FileManager.default.contentsOfDirectory(atPath: state.jobDir)) ?? []
        var k = existing.filter { $0.hasPrefix("submit-") && $0.hasSuffix(".sbatch") }.count + 1
        while existing.contains("submit-\(k).sbatch") { k += 1 }
        return state.jobDir + "/submit-\(k).sbatch"
    }

    func writeScript(units: [Int]) throws -> SlurmScript {
        try FileManager.default.createDirectory(atPath: state.jobDir + "/logs", withIntermediateDirectories: true)
        let script = SlurmScript(command: state.command, args: state.args, fapsim: state.fapsim, submitDir: state.submitDir,
                                 jobDir: state.jobDir, units: units, totalUnits: state.totalUnits, settings: state.settings,
                                 scriptPath: nextScriptPath())
        try AtomicWrite.write(text: script.text, to: script.scriptPath, force: true)
        chmod(script.scriptPath, 0o755)
        return script
    }

    func submit(_ script: SlurmScript) throws -> String {
        let r = try ChildProcess.run(ChildProcess.which("sbatch")!, ["--parsable", script.scriptPath], directory: state.submitDir)
        guard r.status == 0 else {
            let line = r.lastLine
            if line.lowercased().contains("invalid partition") {
                throw FapsimError("sbatch: partition \(state.settings.partition ?? "(default)") is not usable: \(line)")
            }
            throw FapsimError("sbatch \(script.scriptPath) failed: \(line)")
        }
        // --parsable prints "jobid" or "jobid;cluster".
        guard let id = r.stdout.split(whereSeparator: \.isNewline).last?.split(separator: ";").first.map(String.init),
              !id.isEmpty, id.allSatisfy(\.isNumber) else {
            throw FapsimError("sbatch --parsable: expected a job id, got \(r.stdout.debugDescription)")
        }
        state.submissions.append(.init(jobID: id, units: script.units, script: script.scriptPath,
                                       submittedAt: ISO8601DateFormatter().string(from: Date())))
        try state.save()
        note("fapsim slurm \(state.command): submitted job \(id), units \(UnitList.compress(script.units)) of 0-\(state.totalUnits - 1); "
             + "script \(script.scriptPath), logs \(state.jobDir)/logs/ (Ctrl-C stops following, not the job; continue with fapsim slurm resume --job-dir \(shellQuote(state.jobDir)))")
        return id
    }

    // MARK: following

    /// The states of the job's tasks still in the queue; [] once the array has ended.
    func queuedTasks(_ jobID: String) throws -> [String] {
        var failures = 0
        while true {
            let r = try ChildProcess.run(ChildProcess.which("squeue")!, ["-h", "-r", "-j", jobID, "-o", "%T"])
            if r.status == 0 {
                return r.stdout.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            // Purged from the controller (older than MinJobAge): it has ended.
            if r.stderr.contains("Invalid job id") { return [] }
            failures += 1
            if failures >= 10 { throw FapsimError("squeue -j \(jobID) failed 10 times: \(r.lastLine)") }
            Thread.sleep(forTimeInterval: min(state.pollSeconds, 5))
        }
    }

    /// Polls until the array `jobID` has left the queue, with a progress line; returns the final unit status.
    func follow(_ jobID: String) throws -> UnitStatus {
        let isTTY = isatty(2) != 0
        let t0 = Date()
        var first: Int?
        var lastLine = "", lastPrint = Date.distantPast
        var listFailures = 0
        while true {
            let tasks = try queuedTasks(jobID)
            // A failing --list-units while tasks run (a busy filesystem) is retried a few times.
            let st: UnitStatus
            do {
                st = try listUnits()
                listFailures = 0
            } catch {
                listFailures += 1
                if listFailures >= 5 || tasks.isEmpty { throw error }
                note("fapsim slurm \(state.command): \(error) (retrying)")
                Thread.sleep(forTimeInterval: state.pollSeconds)
                continue
            }
            if first == nil { first = st.done.count }
            let running = tasks.filter { $0 == "RUNNING" || $0 == "COMPLETING" }.count
            let pending = tasks.filter { $0 == "PENDING" || $0 == "CONFIGURING" || $0 == "REQUEUED" }.count
            let elapsed = Date().timeIntervalSince(t0)
            let gained = st.done.count - first!
            let rate = elapsed > 0 ? Double(gained) / elapsed : 0
            var line = "fapsim slurm \(state.command) (job \(jobID)): \(st.done.count)/\(st.units) units done, \(running) running, \(pending) pending"
            line += String(format: ", %.2f units/min", rate * 60)
            line += gained > 0 ? ", ETA \(ProgressLine.duration(Double(st.missing.count) / rate))" : ", ETA ?"
            if !quiet {
                let key = "\(st.done.count) \(running) \(pending)"
                if isTTY {
                    FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
                } else if key != lastLine || Date().timeIntervalSince(lastPrint) >= 60 {
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                    lastPrint = Date()
                }
                lastLine = key
            }
            if tasks.isEmpty {
                if !quiet && isTTY { FileHandle.standardError.write(Data("\n".utf8)) }
                note("fapsim slurm \(state.command): job \(jobID) ended after \(ProgressLine.duration(elapsed))")
                return st
            }
            Thread.sleep(forTimeInterval: state.pollSeconds)
        }
    }

    /// Each array task's final state, best effort (`scontrol -o show job` lists one line per task).
    func taskStates(_ jobID: String) -> [Int: String] {
        guard let scontrol = ChildProcess.which("scontrol"),
              let r = try? ChildProcess.run(scontrol, ["-o", "show", "job", jobID]), r.status == 0 else { return [:] }
        var states: [Int: String] = [:]
        for line in r.stdout.split(whereSeparator: \.isNewline) {
            var task: Int?, jobState: String?
            for field in line.split(separator: " ") {
                if field.hasPrefix("ArrayTaskId=") { task = Int(field.dropFirst("ArrayTaskId=".count)) }
                if field.hasPrefix("JobState=") { jobState = String(field.dropFirst("JobState=".count)) }
            }
            if let task, let jobState { states[task] = jobState }
        }
        return states
    }

    static func lastLogLine(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.split(whereSeparator: \.isNewline).last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty })
            .map { String($0.prefix(300)) }
    }

    /// After the array ended: units of this submission that are not done are failed.
    func checkFinished(_ st: UnitStatus, jobID: String, submitted: [Int]) throws {
        let failed = submitted.filter { Set(st.missing).contains($0) }
        if failed.isEmpty && st.missing.isEmpty { return }
        let states = taskStates(jobID)
        var items: [[String: Any]] = []
        for u in failed {
            let log = state.jobDir + "/logs/unit-\(u).out"
            let taskState = states[u] ?? "unknown"
            var item: [String: Any] = ["unit": u, "state": taskState, "log": log]
            var line = "unit \(u) failed (\(taskState)): log \(log)"
            if let last = Self.lastLogLine(log) { line += ": \(last)"; item["last_log_line"] = last }
            FileHandle.standardError.write(Data((line + "\n").utf8))
            items.append(item)
        }
        if json {
            JSONOutput.print(summary(status: "incomplete", extra: ["failed": items, "missing": st.missing]))
        }
        throw FapsimError("\(st.missing.count) of \(st.units) units are not done after job \(jobID) ended (units \(UnitList.compress(st.missing))); "
                          + "logs in \(state.jobDir)/logs/; compute the missing ones with: fapsim slurm resume --job-dir \(shellQuote(state.jobDir))")
    }

    func summary(status: String, extra: [String: Any] = [:]) -> [String: Any] {
        var j: [String: Any] = [
            "command": state.command, "status": status, "units": state.totalUnits, "out": state.out,
            "job_dir": state.jobDir, "job_ids": state.submissions.map(\.jobID),
            "seconds": (Date().timeIntervalSince(started) * 10).rounded() / 10,
        ]
        for (k, v) in extra { j[k] = v }
        return j
    }

    /// The local commands never replace an existing output without --force; say so
    /// before any unit is submitted rather than after the last one.
    var forced: Bool { state.args.contains("--force") }

    func checkOutput(_ st: UnitStatus) throws {
        if !st.missing.isEmpty && !forced && FileManager.default.fileExists(atPath: state.out) {
            throw FapsimError("\(state.out): already exists; pass --force after -- to replace it, or use another --out")
        }
    }

    /// Submits the missing units (if any), follows the array, then merges.
    func runToCompletion(_ initial: UnitStatus, submittedNow: inout [Int]) throws {
        var st = initial
        try checkOutput(st)
        if st.missing.isEmpty && !forced && FileManager.default.fileExists(atPath: state.out) {
            // Done and merged before: nothing to compute, nothing to replace.
            if json {
                JSONOutput.print(summary(status: "already_merged", extra: ["submitted_units": 0]))
            } else {
                print("fapsim slurm \(state.command): all \(st.units) units done and \(state.out) exists; nothing to do")
            }
            return
        }
        if !st.missing.isEmpty {
            let script = try writeScript(units: st.missing)
            let id = try submit(script)
            submittedNow += script.units
            st = try follow(id)
            try checkFinished(st, jobID: id, submitted: script.units)
        }
        try merge()
        let s = summary(status: "merged", extra: ["submitted_units": submittedNow.count])
        if json {
            JSONOutput.print(s)
        } else {
            let jobs = state.submissions.map(\.jobID)
            print("fapsim slurm \(state.command): \(st.units)/\(st.units) units done (\(submittedNow.count) computed on Slurm now"
                  + (jobs.isEmpty ? "" : ", jobs \(jobs.joined(separator: ", "))")
                  + "), merged into \(state.out) in \(ProgressLine.duration(Date().timeIntervalSince(started)))")
        }
    }

    /// The last submission's job if it is still queued or running.
    func activeJob() throws -> String? {
        guard let last = state.submissions.last, !last.jobID.isEmpty else { return nil }
        return try queuedTasks(last.jobID).isEmpty ? nil : last.jobID
    }
}
