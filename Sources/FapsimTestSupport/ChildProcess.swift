import Foundation
import FapsimSupport
import Testing

/// Paths the end-to-end tests need. Lives in a library target (used only by the
/// test targets) so every suite finds the binary and the package the same way.
public enum TestPaths {
    /// The package root (this file is Sources/FapsimTestSupport/ChildProcess.swift).
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The `fapsim` binary SwiftPM built next to the test bundle
    /// (.build/debug/fapsim or .build/release/fapsim).
    public static let fapsimBinary: String? = {
        var dirs: [URL] = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        if let exe = Bundle.main.executableURL { dirs.append(exe.deletingLastPathComponent()) }
        if let self_ = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            dirs.append(URL(fileURLWithPath: self_).deletingLastPathComponent())
        }
        dirs.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        for d in dirs {
            // On macOS the bundle is .../debug/fapsimPackageTests.xctest/Contents/MacOS/...
            var dir = d
            for _ in 0..<4 {
                let candidate = dir.appendingPathComponent("fapsim").path
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
                dir = dir.deletingLastPathComponent()
            }
        }
        return nil
    }()

    /// The shared folder and the pre-trained model (`SharedData`, which also
    /// gates the tests that need them with `.requiresSharedData`).
    public static var sharedDir: String { SharedData.directory }
    public static var pretrainedModel: String { SharedData.modelPath }

    /// The helper executables built for the tests only (not in the `fapsim`
    /// product), found like `fapsimBinary`.
    public static func helperBinary(_ name: String) -> String? {
        guard let fapsim = fapsimBinary else { return nil }
        let candidate = URL(fileURLWithPath: fapsim).deletingLastPathComponent().appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }
}

/// Runs a child process to completion and returns (status, stdout, stderr),
/// through the same runner `fapsim slurm` uses (`ChildProcess.run`).
@discardableResult
public func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                       currentDirectory: String? = nil) throws -> (Int32, String, String) {
    let r = try ChildProcess.run(executable, arguments, environment: environment, directory: currentDirectory)
    return (r.status, r.stdout, r.stderr)
}

/// Runs the built `fapsim` from the package root. `environment` adds to (or
/// overrides) the test process's environment.
@discardableResult
public func runFapsim(_ arguments: [String], environment: [String: String] = [:]) throws
    -> (status: Int32, stdout: String, stderr: String) {
    guard let bin = TestPaths.fapsimBinary else {
        throw NSError(domain: "fapsim-tests", code: 1, userInfo: [NSLocalizedDescriptionKey: "fapsim binary not found next to the test bundle"])
    }
    let env = environment.isEmpty ? nil : ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let r = try runProcess(bin, arguments, environment: env, currentDirectory: TestPaths.packageRoot)
    return (r.0, r.1, r.2)
}

/// Runs the built `fapsim` and expects the bad-input contract: a non-zero
/// exit and exactly one line on stderr that contains `expected`.
public func expectOneLineFailure(_ arguments: [String], _ expected: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
    let r = try runFapsim(arguments)
    #expect(r.status != 0, "expected a failure for \(expected)", sourceLocation: sourceLocation)
    #expect(r.stderr.split(separator: "\n").count == 1, "one line expected: \(r.stderr)", sourceLocation: sourceLocation)
    #expect(r.stderr.contains(expected), "expected '\(expected)' in: \(r.stderr)", sourceLocation: sourceLocation)
}
