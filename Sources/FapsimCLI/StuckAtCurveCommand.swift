import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import Network
import Reduce
import SystolicArray

/// `fapsim stuck-at-curve`: what FAP prevents. Accuracy of the int8 VGG11 against
/// the fault rate, each map run with its faulty PEs bypassed (FAP) and with them
/// left unmitigated (stuck-at bits on the partial sums), on the fast int8 path.
struct StuckAtCurveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stuck-at-curve",
        abstract: "Accuracy vs fault rate of the int8 VGG11: unmitigated stuck-at faults against FAP on the same maps.",
        discussion: """
        A rate is turned into a count of faulty PEs as round(rate x rows x cols), to the \
        nearest PE (on 256x256, 0.001% is 0.66 PEs, so 1 PE); a rate that rounds to 0 PEs \
        is refused. For every rate, --maps uniform maps are drawn; map i uses seed S + i, \
        for the map and for its stuck bits (so a lower rate's faulty PEs are among a \
        higher rate's, and a point does not depend on the other rates), and any point reruns \
        alone with `fapsim evaluate --quantized Q --fault-rate R --seed SEED [--unmitigated \
        --stuck-bits B]`. With --points DIR every finished (rate, map) point is written \
        there at once (atomically), and --resume reuses those whose file records the same \
        quantized file, array, images, stuck bits and seeds, so a killed sweep loses only \
        the point it was on.
        """)

    @Option(help: "Int8 quantized network (from `fapsim quantize`).")
    var quantized: String

    @Option(help: "Comma-separated fractions of faulty PEs.")
    var rates: String = "0.00001,0.00003,0.00006,0.0001,0.0003,0.001,0.003,0.01,0.03,0.1,0.3,0.5"

    @Option(help: "Maps per rate.")
    var maps: Int = 3

    @Option(help: "Base seed of the maps and stuck bits.")
    var seed: UInt64 = 1

    @Option(name: .customLong("stuck-bits"), help: "uniform (0-31), high (24-31) or fixed:B.")
    var stuckBits: String = "uniform"

    @Option(help: "Evaluate the first N test images (default all 10,000).")
    var limit: Int?

    @Option(help: "Hardware config YAML (default: \(EvaluateCommand.defaultConfigPath)).")
    var config: String?

    @Option(help: "CIFAR-10 binary directory.")
    var data: String?

    @Option(help: "Worker threads per evaluation (whole batches each; results do not depend on it).")
    var workers: Int = 1

    @Option(help: "Folder for the finished points, one JSON file per (rate, map), written as each finishes.")
    var points: String?

    @Flag(help: "Reuse the finished points in --points (checked against this run).")
    var resume = false

    @Option(help: "Write the points as JSON here.")
    var out: String?

    @Option(help: "Write the points as CSV here (one row per rate and map).")
    var csv: String?

    @Option(help: "Write the curve as SVG here.")
    var svg: String?

    @Flag(help: "Replace --out / --csv / --svg if they exist, and (without --resume) recompute the points in --points.")
    var force = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    func validate() throws {
        do { _ = try parsedRates(); _ = try StuckBitDistribution(parsing: stuckBits) } catch let e as FapsimError {
            throw ValidationError(e.message)
        }
        guard maps > 0 else { throw ValidationError("--maps: expected a positive number of maps per rate, got \(maps)") }
        if let limit, limit <= 0 { throw ValidationError("--limit: expected a positive number of images, got \(limit)") }
        guard workers > 0 else { throw ValidationError("--workers: expected a positive number of threads, got \(workers)") }
        if resume && points == nil { throw ValidationError("--resume: expected --points DIR, the folder of finished points to reuse") }
    }

    func parsedRates() throws -> [Double] { try Self.parseRates(rates) }

    /// `--rates` as fault fractions, each once (also `bench stuck-at`'s).
    static func parseRates(_ rates: String) throws -> [Double] {
        let list = try rates.split(separator: ",").map { t in
            guard let r = Double(t.trimmingCharacters(in: .whitespaces)), r > 0, r <= 1 else {
                throw FapsimError("--rates: expected fractions in (0, 1], got '\(t)'")
            }
            return r
        }
        // A rate's points are its maps 0..<maps: twice the same rate would be the same points twice.
        if let twice = list.first(where: { r in list.filter { $0 == r }.count > 1 }) {
            throw FapsimError("--rates: expected each rate once, got \(twice) twice")
        }
        return list
    }

    func run() throws {
        for path in [out, csv, svg].compactMap({ $0 }) { try AtomicWrite.checkOverwrite(path, force: force) }
        let hw = try EvaluateCommand.loadConfig(config)
        let rateList = try parsedRates()
        try StuckAtCurve.checkRates(rateList, config: hw)
        let model = try QuantizedVGG11.load(path: quantized)
        let test = try CIFAR10Set.load(directory: CIFAR10Set.resolveDirectory(data), split: .test, limit: limit)
        let bits = try StuckBitDistribution(parsing: stuckBits)
        let identity = StuckAtCurve.Identity(quantizedChecksum: try FNV1a64.file(quantized), config: hw, images: test.count,
                                             bits: bits, seed: seed)
        let curve = try StuckAtCurve.run(model: model, identity: identity, config: hw, test: test, rates: rateList, maps: maps,
                                         bits: bits, folder: points.map { .init(path: $0, resume: resume, force: force && !resume) }, workers: workers,
                                         progress: { remaining in
            // Said once the points folder is accepted, so an error stays the only line.
            if !quiet {
                let pes = rateList.map { r in
                    String(format: "%g%% -> %ld", 100 * r, FaultMap.faultyCount(rate: r, rows: hw.rows, cols: hw.cols))
                }
                FileHandle.standardError.write(Data("stuck-at-curve: faulty PEs of the \(hw.rows)x\(hw.cols) array (rate x \(hw.rows * hw.cols), rounded): \(pes.joined(separator: ", "))\n".utf8))
            }
            return ProgressLine("stuck-at-curve", total: remaining, unit: "images", quiet: quiet)
        })
        print(curve.markdown, terminator: "")
        print("\(curve.images) test images, \(maps) maps per rate, seed \(seed), \(hw.rows)x\(hw.cols) array")
        if let out { try AtomicWrite.write(text: JSONOutput.string(curve.json) + "\n", to: out, force: force) }
        if let csv { try AtomicWrite.write(text: curve.csv, to: csv, force: force) }
        if let svg { try AtomicWrite.write(text: curve.svg(), to: svg, force: force) }
    }
}
