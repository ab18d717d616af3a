import Foundation
import FapsimSupport

/// Where CIFAR-10 is read from, and fetching it when a machine has none.
///
/// The directory is resolved in this order (`CIFAR10Set.resolveDirectory`):
///   1. `--data DIR`
///   2. `$FAPSIM_CIFAR_DIR`
///   3. `../shared/datasets/cifar-10-batches-bin`, when that folder exists
///   4. the fetch cache, `${XDG_CACHE_HOME:-$HOME/.cache}/fapsim/cifar-10-batches-bin`,
///      which `fapsim data fetch` (CIFAR10Fetch.fetch) fills.
extension CIFAR10Set {
    public static let sharedDirectory = "../shared/datasets/cifar-10-batches-bin"
    public static let folderName = "cifar-10-batches-bin"

    /// Which rule of the resolution order picked a directory.
    public enum DirectorySource: String, Sendable {
        case flag, environment, shared, cache
    }

    /// The fetch cache's data directory (need not exist yet).
    public static func cacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let base: String
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            base = xdg
        } else {
            let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
            base = home + "/.cache"
        }
        return base + "/fapsim/" + folderName
    }

    /// The data directory and the rule that chose it. Pure apart from checking
    /// whether `shared` exists.
    public static func resolveDirectory(flag: String?, environment: [String: String],
                                        shared: String = sharedDirectory) -> (path: String, source: DirectorySource) {
        if let flag, !flag.isEmpty { return (flag, .flag) }
        if let env = environment["FAPSIM_CIFAR_DIR"], !env.isEmpty { return (env, .environment) }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: shared, isDirectory: &isDir), isDir.boolValue { return (shared, .shared) }
        return (cacheDirectory(environment: environment), .cache)
    }

    /// The data directory: `--data DIR` if given, else $FAPSIM_CIFAR_DIR, else
    /// ../shared/datasets/cifar-10-batches-bin if present, else the fetch cache.
    public static func resolveDirectory(_ flag: String?) -> String {
        resolveDirectory(flag: flag, environment: ProcessInfo.processInfo.environment).path
    }

    /// Why `directory` is not a complete CIFAR-10 folder (the six batch files
    /// at their exact sizes and the class-name file), or nil when it is.
    /// Checks sizes only, so it is cheap enough to run before every fetch.
    public static func layoutProblem(directory: String) -> String? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            return "\(directory): not a folder"
        }
        let expected = recordsPerFile * recordBytes
        for name in trainFiles + [testFile] {
            let path = directory + "/" + name
            guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int else {
                return "\(path): missing CIFAR-10 batch file"
            }
            if size != expected { return "\(path): expected \(expected) bytes, got \(size)" }
        }
        if !FileManager.default.fileExists(atPath: directory + "/batches.meta.txt") {
            return "\(directory)/batches.meta.txt: missing CIFAR-10 class-name file"
        }
        return nil
    }
}

/// `fapsim data fetch`: the official CIFAR-10 binary archive, downloaded,
/// checked against its published MD5 and unpacked into the cache.
///
/// Everything happens in one hidden work folder beside the destination
/// (`.cifar-10-batches-bin.fetch-PID-N`): the archive is downloaded there,
/// verified, unpacked there and its layout checked; only then is the folder
/// renamed into place, which is atomic on one file system. Any failure removes
/// the work folder, so there is never a partial cache.
public enum CIFAR10Fetch {
    /// The archive published at https://www.cs.toronto.edu/~kriz/cifar.html.
    public static let officialURL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    public static let officialMD5 = "c32a1d4ab5d03f1284b67883e8d87530"

    public struct Result: Sendable {
        public var directory: String
        /// False when a complete folder was already there (nothing downloaded).
        public var downloaded: Bool
        public var archiveBytes: Int64
        public var md5: String?
        public var url: String
    }

    /// Fetches into `directory` (the folder that will hold the batch files).
    /// A complete folder already there is kept unless `force`; an incomplete
    /// one is an error unless `force`, which replaces either.
    public static func fetch(url: String = officialURL, md5 expectedMD5: String = officialMD5,
                             into directory: String, force: Bool = false, quiet: Bool = false) throws -> Result {
        let wantMD5 = expectedMD5.lowercased()
        guard wantMD5.count == 32, wantMD5.allSatisfy(\.isHexDigit) else {
            throw FapsimError.invalid(file: nil, field: "--md5", expected: "32 hexadecimal digits", got: expectedMD5)
        }
        let target = URL(fileURLWithPath: directory).standardizedFileURL.path
        let fm = FileManager.default
        if fm.fileExists(atPath: target) && !force {
            if let problem = CIFAR10Set.layoutProblem(directory: target) {
                throw FapsimError("\(target): already exists but is not a complete CIFAR-10 folder (\(problem)); pass --force to fetch it again")
            }
            return Result(directory: target, downloaded: false, archiveBytes: 0, md5: nil, url: url)
        }
        let parent = (target as NSString).deletingLastPathComponent
        let createdParent = !fm.fileExists(atPath: parent)
        do { try fm.createDirectory(atPath: parent, withIntermediateDirectories: true) } catch {
            throw FapsimError("\(parent): cannot create the cache folder: \(error.localizedDescription)")
        }
        let work = parent + "/." + (target as NSString).lastPathComponent + ".fetch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do { try fm.createDirectory(atPath: work, withIntermediateDirectories: false) } catch {
            throw FapsimError("\(parent): cannot create a work folder: \(error.localizedDescription)")
        }
        do {
            let r = try fetch(url: url, md5: wantMD5, work: work, target: target, quiet: quiet)
            try? fm.removeItem(atPath: work)
            return r
        } catch {
            try? fm.removeItem(atPath: work)
            // A failed first fetch leaves no empty cache folder either (rmdir: only if empty).
            if createdParent { rmdir(parent) }
            throw error
        }
    }

    /// Download, verify, unpack and check in `work`, then rename into `target`.
    static func fetch(url: String, md5 wantMD5: String, work: String, target: String, quiet: Bool) throws -> Result {
        let fm = FileManager.default
        let archive = work + "/archive.tar.gz"
        let bytes = try Download.fetch(url: url, to: archive, label: "data fetch", quiet: quiet)
        let gotMD5 = try MD5.file(archive)
        guard gotMD5 == wantMD5 else {
            throw FapsimError("\(url): MD5 mismatch: expected \(wantMD5), got \(gotMD5) (\(bytes) bytes; a corrupt or different file); nothing was kept")
        }
        let unpacked = work + "/unpacked"
        try fm.createDirectory(atPath: unpacked, withIntermediateDirectories: false)
        try Download.untarGzip(archive, into: unpacked, source: url)
        let folder = unpacked + "/" + CIFAR10Set.folderName
        if let problem = CIFAR10Set.layoutProblem(directory: folder) {
            let shown = problem.replacingOccurrences(of: unpacked + "/", with: "")
            throw FapsimError("\(url): the archive is not CIFAR-10's binary version: \(shown)")
        }
        try moveIntoPlace(folder, target: target, work: work)
        return Result(directory: target, downloaded: true, archiveBytes: bytes, md5: gotMD5, url: url)
    }

    /// Renames the finished folder to `target`; an old `target` (only with
    /// --force) is first moved into the work folder, which is then removed.
    static func moveIntoPlace(_ folder: String, target: String, work: String) throws {
        if FileManager.default.fileExists(atPath: target) {
            guard rename(target, work + "/replaced") == 0 else {
                throw FapsimError("\(target): cannot move the old folder aside: \(String(cString: strerror(errno)))")
            }
        }
        guard rename(folder, target) == 0 else {
            let why = String(cString: strerror(errno))
            // Put the old folder back, if there was one, rather than leave none.
            _ = rename(work + "/replaced", target)
            throw FapsimError("\(target): cannot move the fetched folder into place: \(why)")
        }
    }
}
