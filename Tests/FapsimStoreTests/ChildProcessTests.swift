import Testing
import Foundation
import HDF5Kit
import SystolicArray
@testable import FapsimStore

/// Tests that need a second process: a writer holding a file lock, a writer
/// killed with SIGKILL (both the test-only `fapsim-test-h5-writer`), and the
/// `fapsim inspect` command line. They run the binaries SwiftPM builds next to
/// the test bundle.
@Suite(.serialized) struct ChildProcessTests {
    /// Starts `fapsim-test-h5-writer args...` and returns it once its stdout
    /// printed a line starting with `ready` (or nil if it exited first; its
    /// stderr is then printed).
    private func start(_ args: [String], ready: String) throws -> (Process, FileHandle)? {
        let binary = try #require(TestPaths.helperBinary("fapsim-test-h5-writer"),
                                  "fapsim-test-h5-writer not found next to the fapsim binary")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        let errPath = NSTemporaryDirectory() + "fapsim-child-\(UUID().uuidString).err"
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errPath) }
        p.standardError = FileHandle(forWritingAtPath: errPath)
        try p.run()
        var seen = ""
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }  // EOF: the child exited
            seen += String(decoding: chunk, as: UTF8.self)
            if seen.contains(ready) { return (p, out.fileHandleForReading) }
        }
        p.terminate()
        p.waitUntilExit()
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        print("fapsim-test-h5-writer \(args.joined(separator: " ")) exited before '\(ready)': \(err)")
        return nil
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["HDF5_USE_FILE_LOCKING"]?.uppercased() != "FALSE",
                   "HDF5_USE_FILE_LOCKING=FALSE turns HDF5 file locking off in this environment"))
    func fileBeingWrittenByAnotherProcessGivesALockError() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("busy.h5")
        guard let (child, _) = try start(["hold", path, "--seconds", "60"], ready: "holding") else {
            // E.g. a file system without flock(2): no second writer can be made here.
            print("skipped: could not make a second process hold \(path) open for writing")
            return
        }
        defer { kill(child.processIdentifier, SIGKILL); child.waitUntilExit() }
        #expect(errorMessage { _ = try H5File.open(path) } == "\(path): is being written by another process (HDF5 file lock)")
        #expect(errorMessage { _ = try ChipLotFile.info(path: path) } == "\(path): is being written by another process (HDF5 file lock)")
        #expect(errorMessage { _ = try FapsimInspect.inspect(path: path) } == "\(path): is being written by another process (HDF5 file lock)")
    }

    @Test func killDuringALargeWriteLeavesTheOldFileOrNone() throws {
        let dir = try TemporaryDirectory()
        // 1. No old file: after the kill there must be no file under the final name.
        let fresh = dir.file("fresh.h5")
        try killMidWrite(fresh, force: false, dir: dir)
        #expect(!FileManager.default.fileExists(atPath: fresh), "a killed writer left a file under the final name")

        // 2. An old file: after the kill it must still be there, intact.
        let existing = dir.file("existing.h5")
        let old = try sampleLot(chips: 3)
        try ChipLotFile.write(old, to: existing, force: false)
        try killMidWrite(existing, force: true, dir: dir)
        #expect(try ChipLotFile.read(path: existing) == old)
    }

    private func killMidWrite(_ path: String, force: Bool, dir: TemporaryDirectory) throws {
        let name = URL(fileURLWithPath: path).lastPathComponent
        var args = ["lot", path, "--chips", "4000", "--size", "256"]
        if force { args.append("--force") }
        let started = try start(args, ready: "writing")
        let (child, _) = try #require(started, "the writer did not start")
        // Wait until the temporary file has grown past a few chips, then kill.
        let deadline = Date().addingTimeInterval(60)
        var grown = false
        while Date() < deadline && !grown {
            let temps = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".\(name).tmp-") }
            for t in temps {
                let size = (try? FileManager.default.attributesOfItem(atPath: dir.file(t))[.size] as? Int) ?? 0
                if size > 1 << 20 { grown = true }
            }
            if !grown { usleep(20_000) }
        }
        #expect(grown, "the temporary file never grew; cannot test an interrupted write")
        #expect(child.isRunning, "the writer finished before it could be killed; make the lot larger")
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        #expect(child.terminationReason == .uncaughtSignal)
    }

    @Test func inspectCommandPrintsLinesAndJSON() throws {
        let binary = try #require(TestPaths.fapsimBinary, "fapsim binary not found next to the test bundle")
        let dir = try TemporaryDirectory()
        let lot = dir.file("lot.h5")
        try ChipLotFile.write(try sampleLot(chips: 2), to: lot, force: false)
        let (status, out, _) = try runProcess(binary, ["inspect", lot])
        #expect(status == 0)
        #expect(out.hasPrefix("\(lot): fapsim chip lot (schema fapsim.lot v1)\n"))
        let (jsonStatus, json, _) = try runProcess(binary, ["inspect", lot, "--json"])
        #expect(jsonStatus == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        #expect(object?["kind"] as? String == "lot")
        #expect(object?["chips"] as? Int == 2)
        #expect(object?["schema_version"] as? Int == 1)

        let text = dir.file("notes.txt")
        try "hello".write(toFile: text, atomically: true, encoding: .utf8)
        let (badStatus, _, err) = try runProcess(binary, ["inspect", text])
        #expect(badStatus != 0)
        #expect(err.contains("Error: \(text): not an HDF5 file (no HDF5 signature)"))
    }
}
