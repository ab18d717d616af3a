import Foundation
import Testing
import FapsimCLI
import FapsimTestSupport

/// `fapsim slurm`: the parts that need no Slurm (unit lists, the sbatch script,
/// option checks, the errors before anything is submitted). The end-to-end run
/// on a real one-node Slurm is tools/slurm/ci.sh.
@Suite struct SlurmScriptTests {
    static let stub = TestPaths.packageRoot + "/Tests/CLITests/Fixtures/fake-units.sh"

    @Test(arguments: [
        ([0, 1, 2, 3, 4, 7], "0-4,7"),
        ([], ""),
        ([5], "5"),
        ([9, 3, 3, 4, 1], "1,3-4,9"),
        ([0, 2, 4], "0,2,4"),
        ([10, 11, 12, 20, 21], "10-12,20-21"),
    ])
    func unitListCompresses(units: [Int], text: String) {
        #expect(UnitList.compress(units) == text)
        #expect(UnitList.expand(text) == Array(Set(units)).sorted())
    }

    @Test func unitListRejectsMalformedText() {
        for bad in ["a", "1-", "-3", "4-2", "1,,2", "1-2-3"] {
            #expect(UnitList.expand(bad) == nil, "\(bad)")
        }
    }

    func script(_ settings: SlurmSettings = SlurmSettings(), args: [String] = ["--out", "runs/res.h5", "--seed", "7"]) -> SlurmScript {
        SlurmScript(command: "resilience", args: args, fapsim: "/opt/fapsim/bin/fapsim", submitDir: "/shared/proj",
                    jobDir: "/shared/proj/runs/res.h5.slurm", units: [0, 1, 2, 3, 4, 7], totalUnits: 10,
                    settings: settings, scriptPath: "/shared/proj/runs/res.h5.slurm/submit-1.sbatch")
    }

    @Test func scriptHasArrayOutputAndTaskLine() {
        let text = script(SlurmSettings(partition: "gpu", time: "1:00:00", cpusPerTask: 4, maxParallel: 3, account: "proj-42")).text
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.first == "#!/bin/bash")
        #expect(lines.contains("#SBATCH --array=0-4,7%3"))
        #expect(lines.contains("#SBATCH --output=/shared/proj/runs/res.h5.slurm/logs/unit-%a.out"))
        #expect(lines.contains("#SBATCH --job-name=fapsim-resilience"))
        #expect(lines.contains("#SBATCH --cpus-per-task=4"))
        #expect(lines.contains("#SBATCH --partition=gpu"))
        #expect(lines.contains("#SBATCH --time=1:00:00"))
        #expect(lines.contains("#SBATCH --account=proj-42"))
        #expect(lines.contains("cd /shared/proj"))
        #expect(lines.contains("exec /opt/fapsim/bin/fapsim resilience --out runs/res.h5 --seed 7 --units \"$SLURM_ARRAY_TASK_ID\" --quiet"))
        #expect(text.contains("fapsim slurm resume --job-dir /shared/proj/runs/res.h5.slurm"))
        // sbatch reads #SBATCH lines only before the first command: every line above them is a comment.
        let firstCommand = lines.firstIndex { !$0.hasPrefix("#") && !$0.isEmpty }!
        let lastDirective = lines.lastIndex { $0.hasPrefix("#SBATCH") }!
        #expect(lastDirective < firstCommand)
    }

    @Test func scriptLeavesOutUnsetOptions() {
        let text = script().text
        #expect(text.contains("#SBATCH --array=0-4,7\n"))
        #expect(text.contains("#SBATCH --cpus-per-task=2\n"))
        #expect(!text.contains("--partition=") && !text.contains("--time=") && !text.contains("--account="))
    }

    @Test func scriptQuotesArguments() {
        let text = script(args: ["--out", "my runs/res.h5", "--label", "it's"]).text
        #expect(text.contains("resilience --out 'my runs/res.h5' --label 'it'\\''s' --units"))
        #expect(shellQuote("plain-1.5/x") == "plain-1.5/x")
        #expect(shellQuote("") == "''")
        #expect(shellQuote("$HOME") == "'$HOME'")
    }

    @Test(arguments: ["30", "1:30", "1:30:00", "2-0", "2-12:00", "2-12:00:00", "UNLIMITED"])
    func slurmTimesAccepted(time: String) throws {
        try SlurmSettings(time: time).validate()
    }

    @Test(arguments: [
        (SlurmSettings(time: "1h"), "--time: expected a Slurm time limit"),
        (SlurmSettings(time: "1:2:3:4"), "--time: expected a Slurm time limit"),
        (SlurmSettings(cpusPerTask: 0), "--cpus-per-task: expected a positive integer, got 0"),
        (SlurmSettings(maxParallel: 0), "--max-parallel: expected a positive integer, got 0"),
        (SlurmSettings(partition: "a b"), "--partition: expected a Slurm name"),
        (SlurmSettings(account: "x;rm"), "--account: expected a Slurm name"),
    ])
    func badSettingsRejected(settings: SlurmSettings, message: String) {
        let m = errorMessage { try settings.validate() }
        #expect(m?.contains(message) == true, "\(m ?? "no error")")
    }

    @Test func argsMustNameOutAndNotReservedFlags() throws {
        #expect(try SlurmCommandLine.validate(args: ["--seed", "1", "--out", "a.h5"], command: "reduce") == "a.h5")
        #expect(try SlurmCommandLine.validate(args: ["--out=b.h5"], command: "reduce") == "b.h5")
        #expect(errorMessage { _ = try SlurmCommandLine.validate(args: [], command: "reduce") }?.contains("after --") == true)
        #expect(errorMessage { _ = try SlurmCommandLine.validate(args: ["--seed", "1"], command: "reduce") }?.contains("--out FILE") == true)
        #expect(errorMessage { _ = try SlurmCommandLine.validate(args: ["--out", "a", "--units", "3"], command: "reduce") }?
            .contains("--units is added by fapsim slurm") == true)
        #expect(SlurmCommandLine.with(["--out", "a", "--quiet"], ["--units", "3", "--quiet"]) == ["--out", "a", "--quiet", "--units", "3"])
    }

    @Test func unitStatusParsesTheContract() throws {
        let s = try UnitStatus.parse(#"{"command": "reduce", "units": 4, "done": [2, 0], "missing": [1, 3], "out": "r.h5"}"#, source: "fapsim reduce")
        #expect(s == UnitStatus(command: "reduce", units: 4, done: [0, 2], missing: [1, 3], out: "r.h5"))
        #expect(errorMessage { _ = try UnitStatus.parse("nope", source: "fapsim reduce") }?.contains("expected one JSON object") == true)
        #expect(errorMessage { _ = try UnitStatus.parse(#"{"units": 2, "done": [5], "missing": [], "out": "x"}"#, source: "f") }?
            .contains("unit 5 is outside") == true)
    }

    @Test func nodeLocalPathsAreRecognised() {
        #expect(SharedFilesystem.nodeLocalReason("/tmp/run/out.h5") != nil)
        #expect(SharedFilesystem.nodeLocalReason("/dev/shm/x") != nil)
        #expect(SharedFilesystem.nodeLocalReason("/var/tmp") != nil)
        #expect(SharedFilesystem.nodeLocalReason("/tmpfoo/x") == nil || SharedFilesystem.filesystemType("/tmpfoo") == "tmpfs")
        #expect(SharedFilesystem.nodeLocalReason("/srv/project/out.h5") == nil || SharedFilesystem.filesystemType("/srv") == "tmpfs")
    }

    /// The tests below work under the package's .build; a clone under /tmp
    /// (as CI may make) is node-local, which a one-node test must allow.
    static let localFS: [String] = SharedFilesystem.nodeLocalReason(TestPaths.packageRoot) == nil ? [] : ["--allow-local-fs"]

    // MARK: the binary

    func runBinary(_ args: [String], path: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let bin = try #require(TestPaths.fapsimBinary)
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = path
        let r = try runProcess(bin, args, environment: env, currentDirectory: TestPaths.packageRoot)
        return (r.0, r.1, r.2)
    }

    @Test func noSlurmIsOneLineError() throws {
        // PATH is one empty directory: no sbatch, whatever this machine has installed.
        let dir = try TemporaryDirectory(prefix: "fapsim-slurm-nosbatch")
        let r = try runBinary(["slurm", "resilience", "--fapsim", Self.stub, "--", "--out", dir.file("r.txt")], path: dir.path)
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("sbatch not found on PATH"), "\(r.stderr)")
        #expect(r.stderr.contains("tools/slurm/local-cluster.sh"), "\(r.stderr)")
        let resume = try runBinary(["slurm", "resume", "--job-dir", dir.path], path: dir.path)
        #expect(resume.status != 0)
        #expect(resume.stderr.contains("state.json: no such file"), "\(resume.stderr)")
    }

    @Test func dryRunWritesScriptForMissingUnits() throws {
        // Under the package (not /tmp) so the node-local check passes without --allow-local-fs.
        let dir = TestPaths.packageRoot + "/.build/slurm-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/res.txt"
        // Units 1 and 2 already done: the array holds only the others.
        let pre = try runProcess(Self.stub, ["resilience", "--out", out, "--units-total", "6", "--units", "1-2", "--quiet"])
        #expect(pre.0 == 0, "\(pre.2)")
        let r = try runBinary(["slurm", "resilience", "--dry-run", "--max-parallel", "2", "--partition", "debug",
                               "--fapsim", Self.stub] + Self.localFS + ["--", "--out", out, "--units-total", "6"], path: "/usr/bin:/bin")
        #expect(r.status == 0, "\(r.stderr)")
        let path = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(path == dir + "/res.txt.slurm/submit-1.sbatch")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("#SBATCH --array=0,3-5%2\n"))
        #expect(text.contains("#SBATCH --partition=debug\n"))
        #expect(text.contains("exec \(Self.stub) resilience --out \(out) --units-total 6 --units \"$SLURM_ARRAY_TASK_ID\" --quiet"))
    }

    @Test func nodeLocalOutputIsRefused() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-slurm-local")
        guard dir.path.hasPrefix("/tmp/") else { return }
        let r = try runBinary(["slurm", "reduce", "--dry-run", "--fapsim", Self.stub, "--", "--out", dir.file("r.txt")], path: "/usr/bin:/bin")
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("local to each node") && r.stderr.contains("--allow-local-fs"), "\(r.stderr)")
        let ok = try runBinary(["slurm", "reduce", "--dry-run", "--allow-local-fs", "--fapsim", Self.stub, "--", "--out", dir.file("r.txt")],
                               path: "/usr/bin:/bin")
        #expect(ok.status == 0, "\(ok.stderr)")
    }

    @Test func unwritableJobDirIsRefused() throws {
        guard getuid() != 0 else { return }   // root writes anywhere
        let r = try runBinary(["slurm", "reduce", "--dry-run", "--job-dir", "/proc/fapsim-job", "--fapsim", Self.stub, "--",
                               "--out", TestPaths.packageRoot + "/.build/x.txt"], path: "/usr/bin:/bin")
        #expect(r.status != 0)
        #expect(r.stderr.contains("--job-dir /proc/fapsim-job"), "\(r.stderr)")
    }

    @Test func jobDirThatIsAFileIsRefused() throws {
        let dir = TestPaths.packageRoot + "/.build/slurm-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/file", contents: Data())
        let r = try runBinary(["slurm", "reduce", "--dry-run", "--job-dir", dir + "/file", "--fapsim", Self.stub] + Self.localFS
                              + ["--", "--out", dir + "/r.txt"], path: "/usr/bin:/bin")
        #expect(r.status != 0)
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.contains("exists and is not a directory"), "\(r.stderr)")
    }

    @Test func badOptionsAreOneLineErrors() throws {
        for (args, message) in [
            (["slurm", "reduce", "--cpus-per-task", "0", "--", "--out", "x"], "--cpus-per-task: expected a positive integer, got 0"),
            (["slurm", "reduce", "--time", "soon", "--", "--out", "x"], "--time: expected a Slurm time limit"),
            (["slurm", "reduce", "--poll-seconds", "0", "--", "--out", "x"], "--poll-seconds: expected a positive number"),
            (["slurm", "reduce", "--", "--seed", "1"], "must include --out FILE"),
            (["slurm", "resilience", "--", "--out", "x", "--merge-only"], "--merge-only is added by fapsim slurm"),
            (["slurm", "resume", "--job-dir", "/nonexistent/job"], "/nonexistent/job/state.json: no such file"),
        ] {
            let r = try runBinary(args, path: "/usr/bin:/bin")
            #expect(r.status != 0)
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
        }
    }

    @Test func listUnitsFailureIsPassedThrough() throws {
        let dir = TestPaths.packageRoot + "/.build/slurm-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runBinary(["slurm", "reduce", "--dry-run", "--fapsim", Self.stub, "--", "--out", dir + "/r.txt", "--bogus"],
                              path: "/usr/bin:/bin")
        #expect(r.status != 0)
        #expect(r.stderr.contains("fapsim reduce --list-units failed: Error: fake-units.sh: unknown argument --bogus"), "\(r.stderr)")
    }

    // MARK: the whole driver against a fake Slurm (Fixtures/fake-slurm: sbatch runs the tasks at once)

    func runWithFakeSlurm(_ args: [String], state: String, cancel: String = "") throws -> (status: Int32, stdout: String, stderr: String) {
        let bin = try #require(TestPaths.fapsimBinary)
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = TestPaths.packageRoot + "/Tests/CLITests/Fixtures/fake-slurm:/usr/bin:/bin"
        env["FAKE_SLURM_DIR"] = state
        env["FAKE_SLURM_CANCEL"] = cancel
        let r = try runProcess(bin, args, environment: env, currentDirectory: TestPaths.packageRoot)
        return (r.0, r.1, r.2)
    }

    @Test func failedUnitIsReportedAndResumeComputesOnlyIt() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-slurm-fake")
        let out = dir.file("r.txt"), jobDir = dir.file("r.txt.slurm")
        let args = ["slurm", "resilience", "--fapsim", Self.stub, "--allow-local-fs", "--poll-seconds", "0.05", "--quiet",
                    "--", "--out", out, "--units-total", "5", "--seed", "4"]
        // Task 2 is cancelled: the driver names it, its state and its log, and says how to resume.
        let first = try runWithFakeSlurm(args, state: dir.file("slurm"), cancel: "2")
        #expect(first.status != 0)
        #expect(first.stderr.contains("unit 2 failed (CANCELLED): log \(jobDir)/logs/unit-2.out"), "\(first.stderr)")
        #expect(first.stderr.contains("Error: 1 of 5 units are not done after job 100 ended (units 2)"), "\(first.stderr)")
        #expect(first.stderr.contains("fapsim slurm resume --job-dir \(jobDir)"), "\(first.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let unit0 = out + ".work/unit-0.txt"
        let before = try FileManager.default.attributesOfItem(atPath: unit0)[.modificationDate] as? Date

        let resumed = try runWithFakeSlurm(["slurm", "resume", "--job-dir", jobDir, "--json"], state: dir.file("slurm"))
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any])
        #expect(j["status"] as? String == "merged")
        #expect(j["submitted_units"] as? Int == 1)
        #expect(j["job_ids"] as? [String] == ["100", "101"])
        #expect(try FileManager.default.attributesOfItem(atPath: unit0)[.modificationDate] as? Date == before)

        // The state file records both submissions; the merged file equals a local run.
        let state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: jobDir + "/state.json"))) as? [String: Any])
        let subs = try #require(state["submissions"] as? [[String: Any]])
        #expect(subs.map { $0["array"] as? String } == ["0-4", "2"])
        #expect(state["working_directory"] as? String == TestPaths.packageRoot)
        #expect(state["args"] as? [String] == ["--out", out, "--units-total", "5", "--seed", "4"])
        let local = dir.file("local.txt")
        let l = try runProcess(Self.stub, ["resilience", "--out", local, "--units-total", "5", "--seed", "4"])
        #expect(l.0 == 0, "\(l.2)")
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: local))
        let script = try String(contentsOfFile: jobDir + "/submit-2.sbatch", encoding: .utf8)
        #expect(script.contains("#SBATCH --array=2\n"))

        // Everything done and merged: nothing to do.
        let again = try runWithFakeSlurm(["slurm", "resume", "--job-dir", jobDir], state: dir.file("slurm"))
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("nothing to do"), "\(again.stdout)")
    }

    @Test func missingPartitionAndExistingOutputAreRefused() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-slurm-fake")
        let r = try runWithFakeSlurm(["slurm", "reduce", "--partition", "gpu", "--fapsim", Self.stub, "--allow-local-fs", "--",
                                      "--out", dir.file("r.txt")], state: dir.file("slurm"))
        #expect(r.status != 0)
        #expect(r.stderr == "Error: --partition gpu: no such partition on this cluster (sinfo lists: debug)\n", "\(r.stderr)")
        FileManager.default.createFile(atPath: dir.file("x.txt"), contents: Data("old".utf8))
        let e = try runWithFakeSlurm(["slurm", "reduce", "--fapsim", Self.stub, "--allow-local-fs", "--", "--out", dir.file("x.txt")],
                                     state: dir.file("slurm"))
        #expect(e.status != 0)
        #expect(e.stderr.contains("already exists; pass --force after --"), "\(e.stderr)")
    }
}
