import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport

/// `fapsim inspect FILE [--json]`: what kind of fapsim file this is and what it holds.
public struct InspectCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Say what a fapsim HDF5 file (chip lot, weights, results, or PyTorch state_dict) holds.")

    @Argument(help: "An HDF5 file written by fapsim, or a PyTorch state_dict in the docs/conventions.md §4 layout.")
    var file: String

    @Flag(help: "Print the facts as JSON instead of readable lines.")
    var json = false

    public init() {}

    public func run() throws {
        let report = try FapsimInspect.inspect(path: file)
        if json {
            JSONOutput.print(report.json)
        } else {
            report.lines.forEach { print($0) }
        }
    }
}
