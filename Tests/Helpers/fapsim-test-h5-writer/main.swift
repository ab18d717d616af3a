import Foundation
import FapsimStore
import FapsimSupport
import HDF5Kit
import SystolicArray

// A second process for the storage tests (Tests/FapsimStoreTests/ChildProcessTests),
// which need one that is in the middle of writing an HDF5 file. Built for the
// tests only: it is no product of the package, so it never ships with `fapsim`.
//
//   fapsim-test-h5-writer lot PATH [--chips N] [--size N] [--force]
//       streams an N x N chip lot through the normal atomic writer (the test
//       kills it with SIGKILL part-way); prints "writing PATH" once the
//       temporary file is open, "done PATH" at the end.
//   fapsim-test-h5-writer hold PATH [--seconds S]
//       keeps PATH open for writing (the test checks that readers see the HDF5
//       file lock); prints "holding PATH" once the file is open.

let usage = "usage: fapsim-test-h5-writer lot PATH [--chips N] [--size N] [--force] | hold PATH [--seconds S]"

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
    exit(2)
}

func parse<T: LosslessStringConvertible>(_ value: String, _ flag: String) -> T {
    guard let v = T(value) else { fail("\(flag): expected a number, got \(value)") }
    return v
}

var args = Array(CommandLine.arguments.dropFirst())
guard args.count >= 2 else { fail(usage) }
let mode = args.removeFirst(), path = args.removeFirst()
var chips = 2000, size = 256, seconds = 30.0, force = false
while !args.isEmpty {
    let flag = args.removeFirst()
    if flag == "--force" { force = true; continue }
    guard let value = args.first else { fail("\(flag): expected a value. \(usage)") }
    args.removeFirst()
    switch flag {
    case "--chips": chips = parse(value, flag)
    case "--size": size = parse(value, flag)
    case "--seconds": seconds = parse(value, flag)
    default: fail("unknown option \(flag). \(usage)")
    }
}

do {
    switch mode {
    case "lot":
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
    case "hold":
        let file = try H5File.create(path, overwrite: true)
        try file.write("data", [Int32](0..<1000))
        try file.flush()
        print("holding", path)
        fflush(stdout)
        Thread.sleep(forTimeInterval: seconds)
        try file.close()
    default:
        fail("unknown mode \(mode). \(usage)")
    }
} catch {
    fail("\(error)")
}
