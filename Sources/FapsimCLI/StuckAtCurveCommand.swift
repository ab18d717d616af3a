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
        For every rate, --maps uniform maps are drawn; map i of rate index r uses seed \
        S + 1000 r + i, for the map and for its stuck bits, so any point reruns alone with \
        `fapsim evaluate --quantized Q --fault-rate R --seed SEED [--unmitigated --stuck-bits B]`.
        """)

    @Option(help: "Int8 quantized network (from `fapsim quantize`).")
    var quantized: String

    @Option(help: "Comma-separated fractions of faulty PEs.")
    var rates: String = "0.00001,0.00003,0.00006,0.0001,0.00025,0.001,0.01,0.1,0.5"

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

    @Option(help: "Write the points as JSON here.")
    var out: String?

    @Option(help: "Write the curve as SVG here.")
    var svg: String?

    @Flag(help: "Replace --out / --svg if they exist.")
    var force = false

    @Flag(help: "No progress line on stderr.")
    var quiet = false

    func validate() throws {
        do { _ = try parsedRates(); _ = try StuckBitDistribution(parsing: stuckBits) } catch let e as FapsimError {
            throw ValidationError(e.message)
        }
        guard maps > 0 else { throw ValidationError("--maps: expected a positive number of maps per rate, got \(maps)") }
        if let limit, limit <= 0 { throw ValidationError("--limit: expected a positive number of images, got \(limit)") }
    }

    func parsedRates() throws -> [Double] {
        try rates.split(separator: ",").map { t in
            guard let r = Double(t.trimmingCharacters(in: .whitespaces)), r > 0, r <= 1 else {
                throw FapsimError("--rates: expected fractions in (0, 1], got '\(t)'")
            }
            return r
        }
    }

    func run() throws {
        for path in [out, svg].compactMap({ $0 }) { try AtomicWrite.checkOverwrite(path, force: force) }
        let hw = try EvaluateCommand.loadConfig(config)
        let model = try QuantizedVGG11.load(path: quantized)
        let test = try CIFAR10Set.load(directory: CIFAR10Set.resolveDirectory(data), split: .test, limit: limit)
        let rateList = try parsedRates()
        let progress = ProgressLine("stuck-at-curve", total: rateList.count * maps, unit: "maps", quiet: quiet)
        let curve = try StuckAtCurve.run(model: model, config: hw, test: test, rates: rateList, maps: maps, seed: seed,
                                         bits: try StuckBitDistribution(parsing: stuckBits), progress: progress)
        progress.finish()
        print("| faulty PEs (rate) | unmitigated stuck-at (\(curve.bits)), min-mean-max | FAP, same PEs, min-mean-max |")
        print("|---|---|---|")
        for r in curve.rows {
            print(String(format: "| %ld (%g%%) | %.1f / %.1f / %.1f%% | %.1f / %.1f / %.1f%% |", r.faultyPEs, 100 * r.rate,
                         r.unmitigated.0, r.unmitigated.1, r.unmitigated.2, r.fap.0, r.fap.1, r.fap.2))
        }
        print("\(curve.images) test images, \(maps) maps per rate, seed \(seed)")
        if let out {
            let data = try JSONSerialization.data(withJSONObject: curve.json, options: [.prettyPrinted, .sortedKeys])
            try AtomicWrite.write(text: String(decoding: data, as: UTF8.self) + "\n", to: out, force: force)
        }
        if let svg { try AtomicWrite.write(text: curve.svg(), to: svg, force: force) }
    }
}
