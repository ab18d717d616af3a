import Foundation

/// A child process that ran to completion: its exit status and both streams.
public struct ChildResult: Sendable, Equatable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    /// The last non-empty stderr line (a fapsim command's one-line error), else stdout's.
    public var lastLine: String {
        for text in [stderr, stdout] {
            if let l = text.split(whereSeparator: \.isNewline).last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                return String(l).trimmingCharacters(in: .whitespaces)
            }
        }
        return "exit status \(status)"
    }
}

/// The one way fapsim runs another program and waits for it: `fapsim slurm`
/// driving sbatch, squeue and the local command, and the end-to-end tests
/// driving the built binary.
public enum ChildProcess {
    /// The absolute path of `name` on `path` (default: this process's PATH), or nil.
    public static func which(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"]) -> String? {
        for dir in (path ?? "").split(separator: ":") {
            let p = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return nil
    }

    /// Runs `executable` to completion, capturing stdout and stderr, with stdin
    /// at /dev/null (a child waiting on a terminal would hang a batch job).
    /// `environment` replaces the inherited one when given; `directory` is the
    /// child's working directory (default: this process's). Throws only when
    /// the program cannot be started; a non-zero exit is in the result.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                           directory: String? = nil) throws -> ChildResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if let environment { p.environment = environment }
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw FapsimError("\(executable): cannot run: \(error.localizedDescription)")
        }
        // Drain both pipes before waiting: a chatty child would otherwise block
        // on a full pipe while this process waits for it to exit.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return ChildResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                           stderr: String(decoding: errBox.data, as: UTF8.self))
    }
}
