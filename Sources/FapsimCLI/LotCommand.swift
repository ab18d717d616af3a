import ArgumentParser
import Foundation
import FapsimSupport
import Reduce
import SystolicArray

/// `fapsim lot ...`: chip lots, the fabricated chips a Reduce campaign budgets.
public struct LotCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lot",
        abstract: "Chip lots: many chips of one array, each with its own permanent-fault map.",
        subcommands: [LotGenerateCommand.self])

    public init() {}
}

/// `fapsim lot generate`: draws a lot from a fault model and stores it as a
/// `fapsim.lot` HDF5 file (docs/fault-models.md, docs/hdf5-schema.md).
public struct LotGenerateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate a lot of chips with random permanent-fault maps and store it in HDF5.",
        discussion: """
        Models (docs/fault-models.md): \
        uniform --rate-range A:B (each chip's rate drawn from U(A, B), faulty PEs placed uniformly at random; the Reduce paper's model); \
        fixed --rate P (every chip round(P x R x C) faulty PEs); \
        clustered --alpha A --cluster-radius R (--mean-defects D | --rate P) (negative-binomial defect count, \
        each defect a disc of faulty PEs of radius R around a uniformly random centre). \
        Chip i depends only on --seed and i, so a lot is reproducible and a smaller lot is a prefix of a larger one.
        """)

    @Option(help: "Hardware config YAML (gives the array's rows and columns).")
    var config: String

    @Option(help: "Number of chips in the lot (>= 1).")
    var chips: Int

    @Option(help: "Lot seed (unsigned 64-bit); each chip's seed derives from it.")
    var seed: UInt64

    @Option(help: "Output lot file (HDF5).")
    var out: String

    @Option(help: "Fault model: uniform, fixed or clustered.")
    var model: String

    @Option(name: .customLong("rate-range"), help: "uniform: A:B, the range each chip's fault rate is drawn from.")
    var rateRange: String?

    @Option(help: "fixed: every chip's fault rate; clustered: target fault rate (sets D = P x R x C / cluster area).")
    var rate: Double?

    @Option(help: "clustered: clustering parameter alpha > 0 (Gamma shape; smaller = more clustered).")
    var alpha: Double?

    @Option(name: .customLong("mean-defects"), help: "clustered: expected defects per chip D.")
    var meanDefects: Double?

    @Option(name: .customLong("cluster-radius"), help: "clustered: each defect makes the PEs within this Euclidean radius (PE pitches) faulty.")
    var clusterRadius: Double?

    @Option(help: ArgumentHelp("Mitigation the lot's chips run: \(Mitigation.choices) (default fap); commands given a chip of the lot run it.",
                               valueName: "name"))
    var mitigation: String = "fap"
    @Option(name: .customLong("stuck-bits"), help: "Record fault kinds: every faulty PE unmitigated, with a stuck partial-sum bit drawn uniform (0-31), high (24-31) or fixed:B, and a random stuck value (for `evaluate --quantized`).")
    var stuckBits: String?

    @Flag(help: "Replace an existing output file.")
    var force = false

    @Flag(help: "Print a JSON summary on stdout instead of the readable one.")
    var json = false

    @Flag(help: "No progress line on stderr (shown for lots of 4M PEs or more).")
    var quiet = false

    public init() {}

    public func validate() throws {
        do { _ = try Mitigation.parse(mitigation, field: "--mitigation") } catch let e as FapsimError {
            throw ValidationError(e.message)
        }
        // A lot with fault kinds leaves its faulty PEs unmitigated: no other
        // mitigation can be recorded for them.
        if stuckBits != nil && mitigation != Mitigation.fap.rawValue {
            throw ValidationError("--stuck-bits: the lot's faulty PEs are unmitigated stuck-at faults; expected --mitigation fap (the default), got \(mitigation)")
        }
    }

    public func run() throws {
        let chipsRun = try Mitigation.parse(mitigation, field: "--mitigation")
        let options = LotModelOptions(model: model, rateRange: rateRange, rate: rate, alpha: alpha,
                                      meanDefects: meanDefects, clusterRadius: clusterRadius)
        let start = Date()
        let bits = try stuckBits.map { try StuckBitDistribution(parsing: $0) }
        let summary = try LotGeneration.run(configPath: config, chips: chips, seed: seed, out: out,
                                            options: options, mitigation: chipsRun, stuckBits: bits, force: force, quiet: quiet)
        let seconds = Date().timeIntervalSince(start)
        if json {
            var j = summary.json(path: out)
            j["config"] = config
            j["mitigation"] = chipsRun.rawValue
            j["seconds"] = seconds
            JSONOutput.print(j)
        } else {
            summary.lines(path: out).forEach { print($0) }
            print("written in " + ProgressLine.duration(seconds))
        }
    }
}
