import Foundation
import Testing
import FapsimTestSupport

/// `fapsim --version` and the `fapsim_version` every written file carries:
/// both name the commit the binary was built from.
@Suite(.serialized) struct VersionCLITests {
    /// `git rev-parse HEAD` of the package, or nil outside a git checkout.
    static func head() throws -> String? {
        let r = try runProcess("/usr/bin/env", ["git", "-C", TestPaths.packageRoot, "rev-parse", "HEAD"])
        let out = r.1.trimmingCharacters(in: .whitespacesAndNewlines)
        return r.0 == 0 && !out.isEmpty ? out : nil
    }

    /// The version line without "fapsim ", as files record it.
    static func version() throws -> String {
        let r = try runFapsim(["--version"])
        #expect(r.status == 0 && r.stderr.isEmpty, "\(r.stderr)")
        let line = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.hasPrefix("fapsim ") && !line.contains("\n"), "\(line)")
        return String(line.dropFirst("fapsim ".count))
    }

    func inspectedVersion(_ path: String) throws -> String? {
        let r = try runFapsim(["inspect", path, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return json?["fapsim_version"] as? String
    }

    @Test func versionNamesTheReleaseAndTheCommitOfHEAD() throws {
        let version = try Self.version()
        #expect(version.range(of: #"^\d+\.\d+\.\d+ \(git "#, options: .regularExpression) != nil, "\(version)")
        if let head = try Self.head() {
            let short = try runProcess("/usr/bin/env", ["git", "-C", TestPaths.packageRoot, "rev-parse", "--short", "HEAD"])
                .1.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(version.contains("git \(head)") && head.hasPrefix(short),
                    "fapsim --version says \(version), HEAD is \(head): rebuild after committing")
        } else {
            #expect(version.hasSuffix("(git commit unknown)"), "\(version)")
        }
        // A subcommand's --version is the same line.
        #expect(try runFapsim(["lot", "--version"]).stdout == (try runFapsim(["--version"])).stdout)
    }

    @Test func aLotRecordsTheVersionAndInspectShowsIt() throws {
        let dir = try TemporaryDirectory()
        let lot = dir.file("lot.h5")
        let g = try runFapsim(["lot", "generate", "--config", "hw-configs/small-8x8.yaml", "--chips", "2", "--seed", "1",
                               "--model", "fixed", "--rate", "0.1", "--out", lot, "--quiet"])
        #expect(g.status == 0, "\(g.stderr)")
        let version = try Self.version()
        #expect(try inspectedVersion(lot) == version)
        let text = try runFapsim(["inspect", lot])
        #expect(text.stdout.split(separator: "\n").dropFirst().first == "  written by fapsim \(version)", "\(text.stdout)")
    }

    /// Checkpoint, weights and results written by `train` carry it too.
    @Test(.requiresSharedData(.cifarTrainingBatches, .cifarTestBatch))
    func trainingOutputsRecordTheVersion() throws {
        let dir = try TemporaryDirectory()
        let out = dir.file("w.h5"), history = dir.file("history.h5")
        let args = ["train", "--data", TrainCLITests.cifar, "--epochs", "1", "--out", out, "--history", history] + TrainCLITests.tiny
        let stopped = try runFapsim(args + ["--stop-after-epochs", "0"])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let version = try Self.version()
        #expect(try inspectedVersion(out + ".checkpoint.h5") == version)
        let done = try runFapsim(args + ["--resume"])
        #expect(done.status == 0, "\(done.stderr)")
        #expect(try inspectedVersion(out) == version)
        #expect(try inspectedVersion(history) == version)
    }
}
