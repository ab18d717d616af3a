import Foundation

/// Fetching a file over HTTP(S) and unpacking a .tar.gz, through the system's
/// `curl` and `tar`: every Debian machine has them (curl: `apt-get install
/// curl`), they handle proxies, redirects and TLS, and no Swift package is
/// needed. Callers own the paths: nothing here renames into place.
public enum Download {
    /// Downloads `url` into the new file `path` (whose folder must exist),
    /// with a progress line and its rate on stderr unless `quiet`. Returns the
    /// bytes received. Waits are bounded: the connection must open within
    /// `connectTimeout` seconds and the transfer may not stall (under 1 byte/s)
    /// for `stallSeconds`. On failure `path` may hold a partial file: the
    /// caller removes it.
    public static func fetch(url: String, to path: String, label: String = "download", quiet: Bool = false,
                             connectTimeout: Int = 30, stallSeconds: Int = 60) throws -> Int64 {
        let curl = try tool("curl", package: "curl")
        let headers = path + ".headers"
        defer { unlink(headers) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: curl)
        p.arguments = ["--fail", "--silent", "--show-error", "--location", "--proto", "=http,https,file",
                       "--connect-timeout", "\(connectTimeout)", "--speed-limit", "1", "--speed-time", "\(stallSeconds)",
                       "--dump-header", headers, "--output", path, url]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw FapsimError("\(url): cannot start curl: \(error.localizedDescription)")
        }
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let reader = DispatchGroup()
        reader.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); reader.leave() }
        // curl's own progress meter is off (it would not match fapsim's lines); the
        // progress is the file's growth against the Content-Length curl has saved.
        var progress: ProgressLine?
        var shown = 0
        let started = Date()
        while p.isRunning {
            usleep(100_000)
            if progress == nil, let total = contentLength(headersFile: headers) {
                progress = ProgressLine(label, total: mebibytes(total), unit: "MiB", quiet: quiet, start: started)
            }
            if let progress {
                let now = mebibytes(fileSize(path) ?? 0)
                if now > shown { progress.advance(by: now - shown); shown = now }
            }
        }
        p.waitUntilExit()
        reader.wait()
        let bytes = fileSize(path) ?? 0
        guard p.terminationStatus == 0 else {
            throw FapsimError("\(url): download failed: \(lastLine(errBox.data) ?? "curl exited with status \(p.terminationStatus)")")
        }
        if let progress {
            progress.advance(by: max(0, progress.total - shown))
            progress.finish()
        }
        return bytes
    }

    /// Unpacks the gzip'd tar `archive` into the existing folder `dir`.
    /// `source` names the archive in errors (its URL).
    public static func untarGzip(_ archive: String, into dir: String, source: String) throws {
        let tar = try tool("tar", package: "tar")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tar)
        p.arguments = ["-x", "-z", "--no-same-owner", "--no-same-permissions", "-f", archive, "-C", dir]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw FapsimError("\(source): cannot start tar: \(error.localizedDescription)")
        }
        let data = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw FapsimError("\(source): not a complete .tar.gz archive: \(lastLine(data, firstOf: true) ?? "tar exited with status \(p.terminationStatus)")")
        }
    }

    /// The absolute path of `name` on $PATH.
    static func tool(_ name: String, package: String) throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw FapsimError("\(name): not found on PATH; expected the \(name) program (Debian: apt-get install \(package))")
    }

    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : nil
    }

    static func mebibytes(_ bytes: Int64) -> Int { Int((bytes + (1 << 20) - 1) >> 20) }

    /// The last Content-Length in curl's saved headers (after redirects, the final response's).
    static func contentLength(headersFile: String) -> Int64? {
        guard let text = try? String(contentsOfFile: headersFile, encoding: .utf8) else { return nil }
        var found: Int64?
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length",
               let n = Int64(parts[1].trimmingCharacters(in: .whitespaces)) { found = n }
        }
        return found
    }

    /// A tool's message as one line: its last non-empty line (or first, when the
    /// first line says why and the rest follow from it, as with tar).
    static func lastLine(_ data: Data, firstOf: Bool = false) -> String? {
        let lines = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return firstOf ? lines.first : lines.last
    }
}
