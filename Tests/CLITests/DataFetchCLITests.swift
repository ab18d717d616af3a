import Foundation
import Testing
import FapsimSupport
import FapsimTestSupport
import Network

/// Python's http.server on 127.0.0.1 and a free port, serving `directory`.
/// Only a loopback address: these machines have no internet and tests must
/// not need it.
final class LocalHTTPServer {
    let process = Process()
    let port: Int

    init(directory: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", directory]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // The server prints "Serving HTTP on 127.0.0.1 port N ..." once listening; wait at most 20 s.
        final class Box: @unchecked Sendable { var text = ""; let lock = NSLock() }
        let box = Box()
        out.fileHandleForReading.readabilityHandler = { h in
            let d = h.availableData
            box.lock.lock(); box.text += String(decoding: d, as: UTF8.self); box.lock.unlock()
        }
        var found: Int?
        let deadline = Date().addingTimeInterval(20)
        while found == nil && Date() < deadline && process.isRunning {
            usleep(50_000)
            box.lock.lock(); let text = box.text; box.lock.unlock()
            if let r = text.range(of: #"port (\d+)"#, options: .regularExpression) {
                found = Int(text[r].dropFirst("port ".count))
            }
        }
        out.fileHandleForReading.readabilityHandler = nil
        guard let found else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            throw FapsimError("python3 -m http.server did not start listening within 20 s")
        }
        port = found
    }

    func url(_ name: String) -> String { "http://127.0.0.1:\(port)/\(name)" }

    /// SIGKILL, not terminate(): children spawned from the test runner's
    /// threads inherit a signal mask that blocks SIGTERM, so a terminated
    /// server would live on and waitUntilExit would never return.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

/// `fapsim data fetch` end to end against a local server, the CIFAR-10
/// directory resolution order, and the MD5 it verifies with.
@Suite(.serialized) struct DataFetchCLITests {
    static let shared = TestPaths.sharedDir + "/datasets/cifar-10-batches-bin"
    static let haveData = CIFAR10Set.layoutProblem(directory: shared) == nil

    /// Everything in `dir`, recursively, relative names: what a failed fetch must not leave.
    func contents(_ dir: String) -> [String] {
        (FileManager.default.enumerator(atPath: dir)?.allObjects as? [String] ?? []).sorted()
    }

    func md5sum(_ path: String) throws -> String {
        let r = try runProcess("/usr/bin/env", ["md5sum", path])
        return String(r.1.prefix(32))
    }

    @Test(.requiresSharedData(.cifarTrainingBatches, .cifarTestBatch),
          .timeLimit(.minutes(10)))
    func fetchFromALocalServer() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-fetch")
        let www = dir.file("www")
        try FileManager.default.createDirectory(atPath: www, withIntermediateDirectories: true)
        // The served archive: ../shared's folder as the official one is laid out (gzip -1: fast, still a real gzip).
        let parent = (Self.shared as NSString).deletingLastPathComponent
        let tar = try runProcess("/usr/bin/env", ["tar", "-c", "-I", "gzip -1", "--mode=u+w", "-f", www + "/cifar-10-binary.tar.gz",
                                                  "-C", parent, "cifar-10-batches-bin"])
        #expect(tar.0 == 0, "\(tar.2)")
        let archive = www + "/cifar-10-binary.tar.gz"
        let md5 = try md5sum(archive)
        #expect(try MD5.file(archive) == md5, "fapsim's MD5 disagrees with md5sum")
        // A truncated copy (the first 8 MiB) to serve too.
        let whole = try #require(FileManager.default.contents(atPath: archive))
        try whole.prefix(8 << 20).write(to: URL(fileURLWithPath: www + "/truncated.tar.gz"))
        let truncatedMD5 = try md5sum(www + "/truncated.tar.gz")

        let server = try LocalHTTPServer(directory: www)
        defer { server.stop() }

        // A wrong checksum: one line naming the URL and both sums, and no cache folder, no temp files.
        // The folders above the data directory do not exist yet: a failure must not leave them either.
        let cache = dir.file("cache")
        let target = cache + "/fapsim/cifar-10-batches-bin"
        let wrong = try runFapsim(["data", "fetch", "--url", server.url("cifar-10-binary.tar.gz"), "--md5", String(repeating: "0", count: 32),
                                   "--dir", target, "--quiet"])
        #expect(wrong.status != 0)
        #expect(wrong.stderr.split(separator: "\n").count == 1, "\(wrong.stderr)")
        #expect(wrong.stderr.contains("MD5 mismatch") && wrong.stderr.contains(md5) && wrong.stderr.contains(server.url("cifar-10-binary.tar.gz")), "\(wrong.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cache + "/fapsim"), "left behind: \(contents(cache))")

        // A truncated archive whose MD5 matches: tar fails, one line, nothing left.
        let cut = try runFapsim(["data", "fetch", "--url", server.url("truncated.tar.gz"), "--md5", truncatedMD5, "--dir", target, "--quiet"])
        #expect(cut.status != 0)
        #expect(cut.stderr.split(separator: "\n").count == 1, "\(cut.stderr)")
        #expect(cut.stderr.contains("not a complete .tar.gz archive"), "\(cut.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cache + "/fapsim"), "left behind: \(contents(cache))")

        // A missing file on the server: curl's HTTP error, one line.
        let missing = try runFapsim(["data", "fetch", "--url", server.url("nothing-here.tar.gz"), "--dir", target, "--quiet"])
        #expect(missing.status != 0 && missing.stderr.contains("404") && missing.stderr.split(separator: "\n").count == 1, "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: cache + "/fapsim"), "left behind: \(contents(cache))")

        // The good archive into the default cache ($XDG_CACHE_HOME/fapsim/...): the same bytes as ../shared.
        let xdg = dir.file("xdg")
        let env = ["XDG_CACHE_HOME": xdg]
        let ok = try runFapsim(["data", "fetch", "--url", server.url("cifar-10-binary.tar.gz"), "--md5", md5.uppercased()], environment: env)
        #expect(ok.status == 0, "\(ok.stderr)")
        let fetched = xdg + "/fapsim/cifar-10-batches-bin"
        #expect(ok.stdout == fetched + "\n")
        #expect(ok.stderr.contains("data fetch:") && ok.stderr.contains("MiB/s"), "no progress line with a rate: \(ok.stderr)")
        for name in CIFAR10Set.trainFiles + [CIFAR10Set.testFile, "batches.meta.txt"] {
            #expect(FileManager.default.contentsEqual(atPath: fetched + "/" + name, andPath: Self.shared + "/" + name), "\(name)")
        }
        // Only the data folder is left beside it: no archive, no work folder.
        #expect(contents(xdg + "/fapsim") == (["cifar-10-batches-bin"] + contents(Self.shared).map { "cifar-10-batches-bin/" + $0 }).sorted())
        let loaded = try CIFAR10Set.load(directory: fetched, split: .test, limit: 10)
        #expect(loaded.count == 10)

        // Again: already complete, nothing downloaded (the server could be gone); --json says so.
        let again = try runFapsim(["data", "fetch", "--url", server.url("nothing-here.tar.gz"), "--json"], environment: env)
        #expect(again.status == 0, "\(again.stderr)")
        let j = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect(j["downloaded"] as? Bool == false && j["directory"] as? String == fetched)

        // --force with a bad checksum fails and keeps the complete folder as it was.
        let forced = try runFapsim(["data", "fetch", "--url", server.url("cifar-10-binary.tar.gz"), "--md5", String(repeating: "f", count: 32),
                                    "--force", "--quiet"], environment: env)
        #expect(forced.status != 0 && forced.stderr.contains("MD5 mismatch"), "\(forced.stderr)")
        #expect(CIFAR10Set.layoutProblem(directory: fetched) == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: xdg + "/fapsim") == ["cifar-10-batches-bin"])

        // --force with the right one replaces it; --json reports the download.
        let replaced = try runFapsim(["data", "fetch", "--url", server.url("cifar-10-binary.tar.gz"), "--md5", md5,
                                      "--force", "--json", "--quiet"], environment: env)
        #expect(replaced.status == 0, "\(replaced.stderr)")
        let r = try #require(try JSONSerialization.jsonObject(with: Data(replaced.stdout.utf8)) as? [String: Any])
        #expect(r["downloaded"] as? Bool == true && r["md5"] as? String == md5 && r["archive_bytes"] as? Int == whole.count)
        #expect(try FileManager.default.contentsOfDirectory(atPath: xdg + "/fapsim") == ["cifar-10-batches-bin"])

    }

    @Test func incompleteFolderIsRefusedWithoutForce() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-fetch")
        let target = dir.file("cifar-10-batches-bin")
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        try Data(count: 100).write(to: URL(fileURLWithPath: target + "/data_batch_1.bin"))
        // Refused before any download: the URL is never contacted (port 9 on loopback: discard, nothing listens).
        let r = try runFapsim(["data", "fetch", "--url", "http://127.0.0.1:9/x.tar.gz", "--dir", target, "--quiet"])
        #expect(r.status != 0 && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("not a complete CIFAR-10 folder") && r.stderr.contains("--force"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["data_batch_1.bin"])
        // A bad --md5 is named as such.
        let md5 = try runFapsim(["data", "fetch", "--md5", "xyz", "--dir", dir.file("other"), "--quiet"])
        #expect(md5.status != 0 && md5.stderr.contains("--md5: expected 32 hexadecimal digits, got xyz"), "\(md5.stderr)")
        // Nothing listening: curl's error in one line, nothing left.
        let refused = try runFapsim(["data", "fetch", "--url", "http://127.0.0.1:9/x.tar.gz", "--dir", dir.file("c/cifar"), "--quiet"])
        #expect(refused.status != 0 && refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains("download failed"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("c")))
    }

    @Test func directoryResolutionOrder() throws {
        let dir = try TemporaryDirectory(prefix: "fapsim-resolve")
        let shared = dir.file("shared-cifar")
        let env = ["FAPSIM_CIFAR_DIR": "/from/env", "XDG_CACHE_HOME": dir.file("xdg"), "HOME": "/home/h"]
        func resolved(_ flag: String?, _ env: [String: String]) -> String {
            let r = CIFAR10Set.resolveDirectory(flag: flag, environment: env, shared: shared)
            return "\(r.source.rawValue) \(r.path)"
        }
        // --data wins over everything, then the environment variable.
        #expect(resolved("/from/flag", env) == "flag /from/flag")
        #expect(resolved(nil, env) == "environment /from/env")
        // ../shared only when it exists; else the cache.
        var noEnv = env
        noEnv["FAPSIM_CIFAR_DIR"] = ""
        #expect(resolved(nil, noEnv) == "cache " + dir.file("xdg") + "/fapsim/cifar-10-batches-bin")
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        #expect(resolved("", noEnv) == "shared " + shared)
        // The cache without XDG_CACHE_HOME (or with a relative one, which the XDG spec says to ignore) is under $HOME.
        #expect(CIFAR10Set.cacheDirectory(environment: ["HOME": "/home/h"]) == "/home/h/.cache/fapsim/cifar-10-batches-bin")
        #expect(CIFAR10Set.cacheDirectory(environment: ["HOME": "/home/h", "XDG_CACHE_HOME": "rel"]) == "/home/h/.cache/fapsim/cifar-10-batches-bin")

        // The CLI reports the same (run from the package root, where ../shared is the shared folder).
        let viaEnv = try runFapsim(["data", "path", "--json"], environment: ["FAPSIM_CIFAR_DIR": "/from/env"])
        let j = try #require(try JSONSerialization.jsonObject(with: Data(viaEnv.stdout.utf8)) as? [String: Any])
        #expect(j["source"] as? String == "environment" && j["directory"] as? String == "/from/env" && j["complete"] as? Bool == false)
        let viaFlag = try runFapsim(["data", "path", "--data", "/from/flag"], environment: ["FAPSIM_CIFAR_DIR": "/from/env"])
        #expect(viaFlag.stdout == "/from/flag\n")
        // A command that reads CIFAR-10 and finds nothing says how to get it.
        let missing = try runFapsim(["evaluate", "--weights", TestPaths.pretrainedModel, "--limit", "1", "--quiet"],
                                    environment: ["FAPSIM_CIFAR_DIR": dir.file("none")])
        if FileManager.default.fileExists(atPath: TestPaths.pretrainedModel) {
            #expect(missing.status != 0 && missing.stderr.contains("fapsim data fetch"), "\(missing.stderr)")
        }
    }

    @Test func md5MatchesRFC1321() {
        func md5(_ s: String) -> String { var m = MD5(); m.update(Data(s.utf8)); return m.hex }
        #expect(md5("") == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(md5("abc") == "900150983cd24fb0d6963f7d28e17f72")
        #expect(md5("message digest") == "f96b697d7cb7938d525a2f31aaf161d0")
        #expect(md5("12345678901234567890123456789012345678901234567890123456789012345678901234567890") == "57edf4a22be3c955ac49da2e2107b67a")
        // Fed in uneven pieces across block boundaries, the same digest.
        let text = String(repeating: "fapsim systolic array ", count: 50)
        var pieces = MD5()
        var rest = Substring(text)
        var n = 1
        while !rest.isEmpty { pieces.update(Data(rest.prefix(n).utf8)); rest = rest.dropFirst(n); n = n % 70 + 7 }
        #expect(pieces.hex == md5(text))
    }
}
