import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import HDF5Kit
import SystolicArray

/// `fapsim inspect FILE [--json]`: what kind of fapsim file this is and what it holds.
public struct InspectCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Say what a fapsim HDF5 file (chip lot, weights, results, or PyTorch state_dict) holds.")

    @Argument(help: "An HDF5 file written by fapsim, or a PyTorch state_dict in the SPEC section 4 layout.")
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

/// Hidden helper for the storage tests, which need a second process that is in
/// the middle of writing an HDF5 file: `lot` streams a large chip lot through
/// the normal atomic writer (the test kills it with SIGKILL part-way), `hold`
/// keeps a file open for writing (the test checks that readers see the lock).
public struct DebugWriteCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "debug-write-h5",
        abstract: "Test helper: write a large lot, or hold an HDF5 file open for writing.",
        shouldDisplay: false)

    enum Mode: String, ExpressibleByArgument { case lot, hold }

    @Argument(help: "lot or hold")
    var mode: Mode

    @Argument(help: "Output path.")
    var path: String

    @Option(help: "Chips in the lot (lot mode).")
    var chips = 2000

    @Option(help: "Array rows and columns (lot mode).")
    var size = 256

    @Option(help: "Seconds to keep the file open (hold mode).")
    var seconds = 30.0

    @Flag(help: "Overwrite an existing file (lot mode).")
    var force = false

    public init() {}

    public func run() throws {
        switch mode {
        case .lot:
            let n = size
            try ChipLotFile.write(path: path, rows: n, cols: n, chips: chips, generator: "uniform",
                                  generatorParameters: ["rate": 0.1], lotSeed: 1, force: force) { writer in
                print("writing", path)
                fflush(stdout)
                var rng = SeededRNG(seed: 1)
                for i in 0..<chips {
                    // Random bits compress poorly, so the write takes long enough to be interrupted.
                    let bits = (0..<(n * n)).map { _ in UInt8(truncatingIfNeeded: rng.next() & 1) }
                    let map = FaultMap(rows: n, cols: n, bits: bits)
                    try writer.write(chip: i, ChipLot.Chip(faultMap: map, faultRate: map.faultRate, seed: UInt64(i)))
                }
            }
            print("done", path)
        case .hold:
            let file = try H5File.create(path, overwrite: true)
            try file.write("data", [Int32](0..<1000))
            try file.flush()
            print("holding", path)
            fflush(stdout)
            Thread.sleep(forTimeInterval: seconds)
            try file.close()
        }
    }
}
