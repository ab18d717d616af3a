import Foundation
import PackagePlugin

/// Bakes the git commit the build is made from into the `fapsim` executable,
/// so `fapsim --version` and every file fapsim writes can say which code made
/// them.
///
/// A build command, not a prebuild command: SwiftPM skips prebuild commands on
/// incremental builds until the manifest changes, so the commit would go stale.
/// Its inputs are the git files that change whenever HEAD moves (HEAD, its
/// reflog, the branch ref, packed-refs, the index) and the package's sources
/// (for the "modified" flag), so it reruns after every commit, checkout or
/// edit. tools/build-info.sh rewrites BuildInfo.swift only when its text
/// changes, so a rerun at the same commit recompiles nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let package = context.package.directoryURL
        let script = package.appendingPathComponent("tools/build-info.sh")
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("BuildInfo.swift")
        var inputs = [script, package.appendingPathComponent("Package.swift")] + Self.gitFiles(package: package)
        for t in context.package.targets {
            if let sources = t.sourceModule?.sourceFiles { inputs += sources.map(\.url) }
        }
        return [
            .buildCommand(
                displayName: "Recording the git commit of \(package.lastPathComponent) for fapsim --version",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [script.path, package.path, output.path],
                inputFiles: inputs,
                outputFiles: [output]),
        ]
    }

    /// The files git rewrites when HEAD moves, for a checkout (`.git` a
    /// directory) or a worktree (`.git` a file naming its git directory);
    /// none outside a git checkout. Only existing files: a missing input
    /// would make the command run on every build.
    static func gitFiles(package: URL) -> [URL] {
        let fm = FileManager.default
        let dotGit = package.appendingPathComponent(".git")
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dotGit.path, isDirectory: &isDir) else { return [] }
        var gitDir = dotGit
        if !isDir.boolValue {
            guard let text = try? String(contentsOf: dotGit, encoding: .utf8),
                  let line = text.split(whereSeparator: \.isNewline).first, line.hasPrefix("gitdir:") else { return [] }
            let path = line.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespaces)
            gitDir = path.hasPrefix("/") ? URL(fileURLWithPath: path) : package.appendingPathComponent(path)
        }
        var commonDir = gitDir
        if let text = try? String(contentsOf: gitDir.appendingPathComponent("commondir"), encoding: .utf8) {
            let path = text.trimmingCharacters(in: .whitespacesAndNewlines)
            commonDir = path.hasPrefix("/") ? URL(fileURLWithPath: path) : gitDir.appendingPathComponent(path)
        }
        var files = [gitDir.appendingPathComponent("HEAD"), gitDir.appendingPathComponent("logs/HEAD"),
                     gitDir.appendingPathComponent("index"), commonDir.appendingPathComponent("packed-refs")]
        if let head = try? String(contentsOf: gitDir.appendingPathComponent("HEAD"), encoding: .utf8),
           head.hasPrefix("ref:") {
            let ref = head.dropFirst("ref:".count).trimmingCharacters(in: .whitespacesAndNewlines)
            files.append(commonDir.appendingPathComponent(ref))
        }
        return files.filter { fm.fileExists(atPath: $0.path) }
    }
}
