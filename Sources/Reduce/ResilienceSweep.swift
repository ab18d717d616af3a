import Foundation
import FapsimStore
import FapsimSupport
import Network
import SystolicArray

/// Step 1 of Reduce as resumable units: for each fault rate and each of
/// `repeats` uniform random fault maps, FAT from the same weights, recording
/// the curve-split accuracy after every epoch (`epochs`) or after every amount
/// of an image schedule (`amounts`: one constant-length run per unit, the
/// smaller amounts read off it, `TrainingRun.trainAmounts`). Unit u =
/// rateIndex x repeats + repeat; each finished unit is `OUT.work/unit-<u>.h5`.
public struct ResilienceSweep: UnitJob {
    public static let command = "resilience"
    public static let unitContent = ResilienceUnitFile.content

    public var fat: FATInputs
    public let config: HardwareConfig
    public let configPath: String
    public let rates: [Double]
    public let repeats: Int
    /// E of an epoch sweep; 0 with an image schedule until the training
    /// subset is known (then the epochs the largest amount reaches into).
    public private(set) var epochs: Int
    /// The image schedule (0 first, strictly increasing); nil = whole epochs.
    public let amounts: [Int]?
    public let targets: [Double]
    public let seed: UInt64
    public let rateMetric: String
    public let out: String
    public let work: WorkDir

    /// `amounts` (training images) replaces `epochs`, which must then be 0.
    public init(fat: FATInputs, config: HardwareConfig, configPath: String, rates: [Double], repeats: Int, epochs: Int,
                amounts: [Int]? = nil, targets: [Double], seed: UInt64, rateMetric: String = "pe", out: String) throws {
        try Self.validate(rates: rates, repeats: repeats, epochs: epochs, amounts: amounts, targets: targets, rateMetric: rateMetric)
        self.amounts = try amounts.map { try TrainingAmounts.validate($0) }
        self.fat = fat
        self.config = config
        self.configPath = configPath
        self.rates = rates
        self.repeats = repeats
        self.epochs = epochs
        self.targets = targets
        self.seed = seed
        self.rateMetric = rateMetric
        self.out = out
        var id = fat.identity
        id["command"] = Self.command
        id["rows"] = String(config.rows)
        id["cols"] = String(config.cols)
        id["rates"] = rates.map(WorkDir.text).joined(separator: ",")
        id["repeats"] = String(repeats)
        // An image sweep is another run than any epoch sweep: its identity
        // names the schedule instead of the epochs.
        if let a = self.amounts { id["amounts"] = a.map(String.init).joined(separator: ",") } else { id["epochs"] = String(epochs) }
        id["seed"] = String(seed)
        id["rate_metric"] = rateMetric
        work = WorkDir(out: out, command: Self.command, identity: id)
    }

    /// The option checks that need no file: one line each, naming the option.
    public static func validate(rates: [Double], repeats: Int, epochs: Int, amounts: [Int]? = nil, targets: [Double],
                                rateMetric: String) throws {
        guard !rates.isEmpty else { throw FapsimError("--rates: expected at least one fault rate (e.g. 0.01,0.05,0.1), got an empty list") }
        for (i, r) in rates.enumerated() {
            guard r.isFinite, r >= 0, r <= 1 else {
                throw FapsimError.invalid(file: nil, field: "--rates", expected: "fault rates in [0, 1]", got: "\(r) (rate \(i + 1))")
            }
            if i > 0 && !(r > rates[i - 1]) {
                throw FapsimError.invalid(file: nil, field: "--rates", expected: "strictly increasing fault rates", got: "\(rates[i - 1]) then \(r)")
            }
        }
        guard repeats >= 1 else { throw FapsimError.invalid(file: nil, field: "--repeats", expected: "at least 1 fault map per rate", got: "\(repeats)") }
        if let amounts {
            guard epochs == 0 else { throw FapsimError("--amounts: expected either --epochs or --amounts, got both") }
            let a = try TrainingAmounts.validate(amounts, option: "--amounts")
            guard a.count >= 2 else {
                throw FapsimError.invalid(file: nil, field: "--amounts", expected: "at least one amount of training images > 0", got: a.map(String.init).joined(separator: ","))
            }
        } else {
            guard epochs >= 1 else { throw FapsimError.invalid(file: nil, field: "--epochs", expected: "at least 1 FAT epoch", got: "\(epochs)") }
        }
        guard !targets.isEmpty else { throw FapsimError("--targets: expected at least one accuracy target (e.g. 0.8,0.85), got an empty list") }
        for t in targets where !(t > 0 && t <= 1) {
            throw FapsimError.invalid(file: nil, field: "--targets", expected: "accuracy fractions in (0, 1] (0.85 = 85 %)", got: "\(t)")
        }
        guard Set(targets).count == targets.count else {
            throw FapsimError.invalid(file: nil, field: "--targets", expected: "distinct values", got: targets.map { "\($0)" }.joined(separator: ","))
        }
        guard ["pe", "weights"].contains(rateMetric) else {
            throw FapsimError.invalid(file: nil, field: "--rate-metric", expected: "pe or weights", got: rateMetric)
        }
    }

    public var unitCount: Int { rates.count * repeats }

    public func unitFileName(_ u: Int) -> String { "unit-\(u).h5" }
    public func checkpointStem(_ u: Int) -> String { "unit-\(u)" }
    public func progressLabel(units: Int) -> String {
        amounts.map { "resilience: \(units) units x \($0.last!) images" } ?? "resilience: \(units) units x \(epochs) epochs"
    }

    /// Refuses targets above the weights' fault-free accuracy on the test subset.
    @discardableResult
    public mutating func checkTargets() throws -> Double {
        let base = try fat.baseline(work: work)
        if let t = targets.first(where: { $0 > base }) {
            throw FapsimError("--targets: \(t) is above the fault-free baseline accuracy \(base) of \(fat.weightsPath) on the \(try fat.curveSet().count) \(fat.splits.curveSplit) images; FAT starts from these weights and cannot be expected to beat them (pick targets <= \(base))")
        }
        return base
    }

    /// The fault map of unit (rate index r, repeat k): round(rate x R x C)
    /// faulty PEs drawn from a stream keyed by the seed, the rate's bits and the
    /// repeat, so adding rates or repeats leaves the other maps unchanged.
    public func faultMap(rateIndex r: Int, repeat k: Int) throws -> FaultMap {
        var rng = SeededRNG.derived(seed: seed, 0x5245_534D, rates[r].bitPattern, UInt64(k))
        return try FaultMap.uniform(rows: config.rows, cols: config.cols, rate: rates[r], rng: &rng)
    }

    func trainingSeed(rateIndex r: Int, repeat k: Int) -> UInt64 {
        var rng = SeededRNG.derived(seed: seed, 0x5245_5354, rates[r].bitPattern, UInt64(k))
        return rng.next()
    }

    public mutating func prepare() throws {
        try checkTargets()
        try fixEpochs()
    }

    /// With an image schedule: the epochs its largest amount reaches into,
    /// which the learning-rate schedule and the file record.
    mutating func fixEpochs() throws {
        if let a = amounts { epochs = TrainingRun.epochs(for: a, trainImages: try fat.train().count) }
    }

    /// Unit u is rate index u / repeats, repeat u % repeats.
    public func plan(unit u: Int) -> (rateIndex: Int, repeat: Int) { (u / repeats, u % repeats) }

    public mutating func images(of plan: (rateIndex: Int, repeat: Int)) throws -> Int {
        try amounts?.last ?? epochs * (try fat.train().count)
    }

    /// FAT on the unit's fault map: its accuracy curve, faulty PEs, map
    /// checksum and pruned-weight share.
    public mutating func compute(unit u: Int, plan: (rateIndex: Int, repeat: Int), progress: ProgressLine) throws -> ResultsFile {
        let (r, k) = plan
        let map = try faultMap(rateIndex: r, repeat: k)
        var id = work.identity
        id["unit"] = String(u)
        let chip = try fat.chip(map)
        var history: [EpochRecord]
        var table: AmountsTable?
        if let amounts {
            // Not checkpointed: the run stops inside an epoch's seeded order, which
            // the epoch checkpoint cannot hold; a killed unit restarts (docs/reduce.md).
            let run = try fat.fatAmounts(chip: chip, amounts: amounts, seed: trainingSeed(rateIndex: r, repeat: k), progress: progress)
            table = AmountsTable(run.points)
            history = run.history
        } else {
            history = try fat.fat(chip: chip, epochs: epochs, seed: trainingSeed(rateIndex: r, repeat: k),
                                  checkpoint: checkpointFile(unit: u), identity: id, progress: progress)
        }
        return ResilienceUnitFile(unit: u, rateIndex: r, repeatIndex: k, faultRate: rates[r], faultyPEs: map.faultyCount,
                                  faultMapChecksum: map.checksum, weightShare: PrunedShare.macWeighted(chip, spec: fat.parameters.spec),
                                  trainImages: try fat.train().count, testImages: try fat.curveSet().count,
                                  history: history.columns, amounts: table).resultsFile()
    }

    /// The final file (content `resilience`) from every unit's curve, with
    /// the baseline and the FAT settings.
    public mutating func assemble(units files: [ResultsFile]) throws -> ResilienceFile {
        let base = try checkTargets()
        try fixEpochs()
        let results = try files.enumerated().map { u, f in
            try ResilienceUnitFile.parse(f, path: work.file(unitFileName(u)), epochs: epochs, amounts: amounts)
        }
        let accuracy = (0..<rates.count).map { r in
            (0..<repeats).map { k in
                let unit = results[r * repeats + k]
                return unit.amounts?.accuracy ?? unit.history.testAccuracy
            }
        }
        // Every unit trains the same subset with the same batch, so one unit's steps are all units' steps.
        let axis = results[0].amounts.map { ResilienceFile.AmountAxis(images: $0.images.map(Int.init), steps: $0.steps.map(Int.init)) }
        var provenance = ResilienceProvenance(
            weightsChecksum: fat.weightsChecksum, weightsFile: fat.weightsPath, rows: config.rows, cols: config.cols,
            configName: config.name, rateMetric: rateMetric, trainSubset: results[0].trainImages,
            testSubset: fat.validation == nil ? results[0].testImages : 0, seed: seed,
            networkWidth: fat.parameters.spec.width, validationSubset: fat.validation)
        provenance.validationSource = fat.splits.validationSource
        let shares = (0..<rates.count).map { r in (0..<repeats).map { k in results[r * repeats + k].weightShare } }
        let table = try ResilienceTable(rates: rates, repeats: repeats, epochs: epochs, accuracy: accuracy, targets: targets,
                                        provenance: provenance, weightShare: shares, amounts: axis, source: out)
        var extra = fat.settingsAttributes
        extra["baseline_accuracy"] = .double(base)
        extra["config_file"] = .string(configPath)
        extra["data_dir"] = .string(fat.identity["data_dir"]!)
        extra.merge(fat.splitAttributes) { _, b in b }
        return table.file(extraAttributes: extra)
    }

    /// Writes the final file and reads it back as a table.
    public func write(_ file: ResilienceFile, force: Bool) throws -> ResilienceTable {
        try file.write(path: out, force: force)
        return try ResilienceTable.read(path: out)
    }
}
