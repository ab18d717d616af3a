import ArgumentParser
import Foundation
import FapsimSupport
import Network

/// `fapsim data ...`: where CIFAR-10 comes from.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "CIFAR-10: fetch it into the cache, or show which directory the commands read.",
        subcommands: [DataFetchCommand.self, DataPathCommand.self])
}

/// `fapsim data fetch`: the official archive into the cache (CIFAR10Fetch).
struct DataFetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fetch",
        abstract: "Download the CIFAR-10 binary archive, verify its MD5 and unpack it into the cache.",
        discussion: """
        Downloads \(CIFAR10Fetch.officialURL) (MD5 \(CIFAR10Fetch.officialMD5)) with curl, verifies the MD5, unpacks \
        it with tar and checks the six batch files' sizes, all in a hidden work folder beside the destination, then \
        renames the folder into place; any failure leaves nothing behind. A complete folder already there is kept \
        (nothing is downloaded) unless --force. Prints the data directory on stdout, so a script can run \
        `export FAPSIM_CIFAR_DIR="$(fapsim data fetch --quiet)"`. The commands reading CIFAR-10 use --data, else \
        $FAPSIM_CIFAR_DIR, else ../shared/datasets/cifar-10-batches-bin if present, else this cache.
        """)

    @Option(help: "Archive URL (a mirror, or a local server in tests).")
    var url: String = CIFAR10Fetch.officialURL

    @Option(help: "Expected MD5 of the archive (32 hex digits).")
    var md5: String = CIFAR10Fetch.officialMD5

    @Option(help: "Data directory to create (default: ${XDG_CACHE_HOME:-$HOME/.cache}/fapsim/cifar-10-batches-bin).")
    var dir: String?

    @Flag(help: "Fetch again and replace the directory even if it is complete.")
    var force = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    @Flag(help: "Print the result as JSON (directory, downloaded, archive_bytes, md5, url, seconds).")
    var json = false

    func run() throws {
        let start = Date()
        let r = try CIFAR10Fetch.fetch(url: url, md5: md5, into: dir ?? CIFAR10Set.cacheDirectory(),
                                       force: force, quiet: quiet)
        if json {
            var j: [String: Any] = ["directory": r.directory, "downloaded": r.downloaded, "archive_bytes": r.archiveBytes,
                                    "url": r.url, "seconds": Date().timeIntervalSince(start)]
            if let m = r.md5 { j["md5"] = m }
            JSONOutput.print(j)
            return
        }
        if !quiet && !r.downloaded {
            FileHandle.standardError.write(Data("data fetch: \(r.directory) is already complete; nothing downloaded (--force fetches again)\n".utf8))
        }
        print(r.directory)
    }
}

/// `fapsim data path`: the directory a command would read, and why.
struct DataPathCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "path",
        abstract: "Print the CIFAR-10 directory the commands would read (--data, $FAPSIM_CIFAR_DIR, ../shared, else the cache).")

    @Option(help: "As the commands' --data.")
    var data: String?

    @Flag(help: "Print JSON: directory, source (flag, environment, shared or cache), complete.")
    var json = false

    func run() throws {
        let r = CIFAR10Set.resolveDirectory(flag: data, environment: ProcessInfo.processInfo.environment)
        if json {
            JSONOutput.print(["directory": r.path, "source": r.source.rawValue,
                              "complete": CIFAR10Set.layoutProblem(directory: r.path) == nil])
        } else {
            print(r.path)
        }
    }
}
