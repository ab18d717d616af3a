import Foundation
import PackagePlugin

/// Bakes the git commit the build is made from into FapsimSupport, so
/// `fapsim --version` and every file fapsim writes can say which code made them.
/// A prebuild command, because only it runs on every build: the commit changes
/// without any source file changing. tools/build-info.sh writes the Swift file
/// only when its content changes, so an unchanged commit recompiles nothing.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("Generated")
        let package = context.package.directoryURL
        return [
            .prebuildCommand(
                displayName: "Recording the git commit of \(package.lastPathComponent) for fapsim --version",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [package.appendingPathComponent("tools/build-info.sh").path, package.path, output.path],
                outputFilesDirectory: output),
        ]
    }
}
