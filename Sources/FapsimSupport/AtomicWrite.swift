import Foundation

/// Results are never written in place: a writer fills a temporary file beside the
/// target and renames it over the final name only when complete, so a kill at
/// any point leaves either the old file or none, never a broken one.
public enum AtomicWrite {
    /// Refuses to replace an existing `path` unless `force`.
    public static func checkOverwrite(_ path: String, force: Bool) throws {
        if !force && FileManager.default.fileExists(atPath: path) {
            throw FapsimError("\(path): already exists; pass --force to overwrite it")
        }
    }

    /// Temporary name beside `path` (same directory, so rename(2) is atomic).
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        return dir + "/." + name + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Runs `body` with a temporary path, then renames it to `path`.
    /// The temporary file is removed if `body` throws.
    public static func write(to path: String, force: Bool, _ body: (String) throws -> Void) throws {
        try checkOverwrite(path, force: force)
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw FapsimError("\(path): directory \(dir) does not exist")
        }
        let tmp = temporaryPath(for: path)
        do {
            try body(tmp)
        } catch {
            unlink(tmp)
            throw error
        }
        // fsync the data before the rename so a power cut cannot expose an empty file.
        let fd = open(tmp, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
        guard rename(tmp, path) == 0 else {
            let err = String(cString: strerror(errno))
            unlink(tmp)
            throw FapsimError("\(path): cannot move finished file into place: \(err)")
        }
    }

    /// Convenience for small text outputs (CSV, JSON, Markdown, SVG).
    public static func write(text: String, to path: String, force: Bool) throws {
        try write(to: path, force: force) { tmp in
            do { try text.write(toFile: tmp, atomically: false, encoding: .utf8) } catch {
                throw FapsimError("\(path): cannot write: \(error.localizedDescription)")
            }
        }
    }
}
