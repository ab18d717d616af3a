import Foundation
import FapsimStore
import FapsimSupport
import Network
import SystolicArray

/// The lot-level comparison of mitigations (`fapsim mitigate compare`,
/// docs/mitigations.md "Comparing mitigations over a lot"): per chip and
/// mitigation, usable or not, accuracy, VGG11 cycles per image and throughput
/// against a fault-free chip, PEs added, the array's area against a FAP array
/// and retraining spent; the chips meeting
/// an accuracy and a throughput constraint; the yield against the fault rate.
///
/// The pure part (thresholds, summary, yield) is here; the run over a lot is
/// `MitigationComparisonRun`; the file is FapsimStore's `MitigationComparisonFile`.
public enum MitigationComparison {
    public typealias Row = MitigationComparisonFile.Row
    public typealias Summary = MitigationComparisonFile.Summary
    public typealias YieldPoint = MitigationComparisonFile.YieldPoint

    /// What a chip must do to count: accuracy (absolute, or a drop from the
    /// fault-free baseline of the images it was measured on, as Reduce's
    /// budgets) and throughput relative to a fault-free chip.
    public struct Constraint: Equatable, Sendable {
        public var accuracy: AccuracyConstraint
        public var minThroughput: Double

        public init(accuracy: AccuracyConstraint, minThroughput: Double) {
            self.accuracy = accuracy
            self.minThroughput = minThroughput
        }

        /// `--min-throughput T`: a fraction of the fault-free chip's throughput in [0, 1].
        public static func checkThroughput(_ t: Double) throws {
            guard t >= 0, t <= 1 else {
                throw FapsimError.invalid(file: nil, field: "--min-throughput",
                                          expected: "a fraction of the fault-free chip's throughput in [0, 1] (0.5 = half as fast)", got: "\(t)")
            }
        }
    }

    /// `rows` with each row's accuracy threshold: the constraint applied to
    /// `baseline(row)`, the fault-free accuracy on the images that row was measured on.
    public static func judged(_ rows: [Row], constraint: Constraint, baseline: (Row) -> Double) -> [Row] {
        rows.map { r in
            var r = r
            r.accuracyThreshold = constraint.accuracy.threshold(baseline: baseline(r))
            return r
        }
    }

    /// Mitigations in order of first appearance.
    public static func mitigations(_ rows: [Row]) -> [String] {
        var seen = Set<String>()
        return rows.map(\.mitigation).filter { seen.insert($0).inserted }
    }

    /// Per mitigation: chips, usable chips, chips meeting both constraints,
    /// mean throughput over the usable chips, PEs added per chip (the largest
    /// any chip needs), training images over every chip, and the array's area
    /// against a FAP array (`area[m]`, the same on every chip; none = "not
    /// available" with `areaNote`). Rows must be judged.
    public static func summary(_ rows: [Row], minThroughput: Double, area: [String: ArrayArea.Estimate] = [:],
                               areaNote: String = Summary.areaNotRecorded) -> [Summary] {
        mitigations(rows).map { m in
            let mine = rows.filter { $0.mitigation == m }
            let usable = mine.filter(\.usable)
            return Summary(mitigation: m, chips: mine.count, usable: usable.count,
                           meeting: mine.filter { MitigationComparisonFile.meets($0, minThroughput: minThroughput) }.count,
                           meanThroughput: usable.isEmpty ? .nan : usable.map(\.throughput).reduce(0, +) / Double(usable.count),
                           pesAdded: mine.map(\.pesAdded).max() ?? 0,
                           retrainingImages: mine.map(\.retrainingImages).reduce(0, +),
                           areaVsFAP: area[m]?.ratio ?? .nan, areaBasis: area[m]?.basis ?? areaNote)
        }
    }

    /// The array area of each mitigation in `names` (`fap+T` has its
    /// untrained mitigation's hardware: FAT changes weights, not the array).
    /// `cells` nil: none (the summary says `areaNote`).
    public static func areas(_ names: [(name: String, mitigation: Mitigation?)], config: HardwareConfig,
                             cells: PECellCounts?) -> [String: ArrayArea.Estimate] {
        guard let cells else { return [:] }
        var out: [String: ArrayArea.Estimate] = [:]
        for (name, m) in names {
            guard let m else { continue }
            out[name] = ArrayArea.estimate(mitigation: m, rows: config.rows, cols: config.cols,
                                           spares: m == .spares ? config.spares : nil, cells: cells)
        }
        return out
    }

    /// The summary's area note when no PE cell counts were read.
    public static let noCellsNote = "not available: no PE cell counts (\(PECellCounts.defaultPath) not found; pass --pe-cells FILE or set \(PECellCounts.environmentVariable))"

    /// The yield curves: the lot's chips binned by fault share into `bins`
    /// equal-width bins over [lowest, highest] (the last bin closed), and per
    /// mitigation and non-empty bin the chips meeting both constraints. A lot
    /// whose chips all have one fault share is one bin. Rows must be judged.
    public static func yieldCurve(_ rows: [Row], minThroughput: Double, bins: Int) -> [YieldPoint] {
        precondition(bins > 0)
        let shares = rows.map(\.faultShare)
        guard let lo = shares.min(), let hi = shares.max() else { return [] }
        let width = (hi - lo) / Double(bins)
        func bin(_ s: Double) -> Int { width == 0 ? 0 : min(bins - 1, Int((s - lo) / width)) }
        let used = width == 0 ? 1 : bins
        var out: [YieldPoint] = []
        for m in mitigations(rows) {
            let mine = rows.filter { $0.mitigation == m }
            for b in 0..<used {
                let inBin = mine.filter { bin($0.faultShare) == b }
                guard !inBin.isEmpty else { continue }
                out.append(YieldPoint(mitigation: m, binLow: lo + Double(b) * width,
                                      binHigh: b == used - 1 ? hi : lo + Double(b + 1) * width,
                                      meanFaultShare: inBin.map(\.faultShare).reduce(0, +) / Double(inBin.count),
                                      chips: inBin.count,
                                      meeting: inBin.filter { MitigationComparisonFile.meets($0, minThroughput: minThroughput) }.count))
            }
        }
        return out
    }
}

/// What measuring one chip needs: the network, the array, the test images, the
/// fault-free accuracy and cycles per image. Built once per run.
public final class ComparisonBench {
    public let parameters: VGG11Parameters
    public let config: HardwareConfig
    public let test: CIFAR10Set
    /// Fault-free accuracy on `test`.
    public let baseline: Double
    /// Fault-free VGG11 cycles per image on `config`'s array.
    public let faultFreeCycles: Int
    /// Advanced by the images evaluated.
    public var progress: ProgressLine?

    public init(parameters: VGG11Parameters, config: HardwareConfig, test: CIFAR10Set, baseline: Double) throws {
        self.parameters = parameters
        self.config = config
        self.test = test
        self.baseline = baseline
        faultFreeCycles = try parameters.spec.closedFormCyclesPerImage(config: config, chip: .faultFree)
    }

    /// The accuracy of the network on `chip` over the test images (the functional engine).
    public func accuracy(_ chip: ChipDescription) throws -> Double {
        let network = VGG11Network(parameters: parameters, engine: FunctionalEngine(chip: chip))
        return try Evaluator.evaluate(network: network, data: test, batch: 128, progress: progress).accuracy
    }

    /// The row of chip `index` (fault map `faults`) under `chip`, with its cycles and throughput.
    public func row(chip index: Int, faults: FaultMap, name: String, chip: ChipDescription, accuracy: Double,
                    source: String, pesAdded: Int = 0) throws -> MitigationComparison.Row {
        let cycles = try parameters.spec.closedFormCyclesPerImage(config: config, chip: chip)
        return .init(chip: index, mitigation: name, faultyPEs: faults.faultyCount,
                     faultShare: Double(faults.faultyCount) / Double(faults.rows * faults.cols), usable: true, accuracy: accuracy,
                     testImages: test.count, cyclesPerImage: cycles, throughput: Double(faultFreeCycles) / Double(cycles),
                     pesAdded: pesAdded, retrainingImages: 0, source: source)
    }

    /// The row of a chip the mitigation cannot run (no accuracy, no cycles).
    public func unusableRow(chip index: Int, faults: FaultMap, name: String, pesAdded: Int = 0) -> MitigationComparison.Row {
        .init(chip: index, mitigation: name, faultyPEs: faults.faultyCount,
              faultShare: Double(faults.faultyCount) / Double(faults.rows * faults.cols), usable: false, accuracy: .nan,
              testImages: test.count, cyclesPerImage: -1, throughput: .nan, pesAdded: pesAdded, retrainingImages: 0,
              source: "unusable")
    }
}

/// One mitigation the comparison measures on every chip: a function from a chip
/// to its row. Adding a mitigation to the comparison is adding an entry to
/// `standard(config:)`.
public struct ComparedMitigation {
    public var name: String
    /// The hardware the entry runs on (its area, `ArrayArea.estimate`); nil
    /// for an entry that is no `Mitigation` (its area is not available).
    public var mitigation: Mitigation?
    /// Whether `measure` evaluates the test images (the progress line's total).
    public var evaluates: Bool
    public var measure: (_ chip: Int, _ faults: FaultMap, _ bench: ComparisonBench) throws -> MitigationComparison.Row

    public init(name: String, mitigation: Mitigation? = nil, evaluates: Bool,
                measure: @escaping (_ chip: Int, _ faults: FaultMap, _ bench: ComparisonBench) throws -> MitigationComparison.Row) {
        self.name = name
        self.mitigation = mitigation ?? Mitigation(rawValue: name)
        self.evaluates = evaluates
        self.measure = measure
    }

    /// FAP: every weight on a faulty PE bypassed, evaluated.
    public static var fap: ComparedMitigation {
        ComparedMitigation(name: Mitigation.fap.rawValue, evaluates: true) { index, faults, bench in
            let chip = ChipDescription(faults: faults)
            return try bench.row(chip: index, faults: faults, name: Mitigation.fap.rawValue, chip: chip,
                                 accuracy: try bench.accuracy(chip), source: "evaluated")
        }
    }

    /// FAM (default saliency and method, docs/hardware-model.md) then FAP, evaluated.
    public static var fam: ComparedMitigation {
        ComparedMitigation(name: Mitigation.fam.rawValue, evaluates: true) { index, faults, bench in
            let chip = FaultAwareMapping.chip(faults: faults, parameters: bench.parameters)
            return try bench.row(chip: index, faults: faults, name: Mitigation.fam.rawValue, chip: chip,
                                 accuracy: try bench.accuracy(chip), source: "evaluated")
        }
    }

    /// Row/column bypass, its lines chosen for VGG11's cycles: the logits are
    /// the fault-free ones bit for bit (docs/mitigations.md), so the accuracy
    /// is the fault-free accuracy, measured once per run; a chip with no
    /// fault-free row and column left is unusable.
    public static var rowcol: ComparedMitigation {
        ComparedMitigation(name: Mitigation.rowcol.rawValue, evaluates: false) { index, faults, bench in
            let chip = FaultAwareMapping.rowColumnChip(faults: faults, spec: bench.parameters.spec)
            guard chip.isUsable else { return bench.unusableRow(chip: index, faults: faults, name: Mitigation.rowcol.rawValue) }
            return try bench.row(chip: index, faults: faults, name: Mitigation.rowcol.rawValue, chip: chip,
                                 accuracy: bench.baseline, source: "fault-free logits")
        }
    }

    /// Spare PEs (the config's layout), then FAP on the faults the spares could
    /// not repair, evaluated; its PEs added are the config's spare PEs.
    public static var spares: ComparedMitigation {
        ComparedMitigation(name: Mitigation.spares.rawValue, evaluates: true) { index, faults, bench in
            let layout = bench.config.spares
            let chip = ChipDescription(faults: faults, mitigation: .spares, spares: layout)
            guard chip.isUsable else {
                return bench.unusableRow(chip: index, faults: faults, name: Mitigation.spares.rawValue, pesAdded: bench.config.sparePEs)
            }
            return try bench.row(chip: index, faults: faults, name: Mitigation.spares.rawValue, chip: chip,
                                 accuracy: try bench.accuracy(chip), source: "evaluated", pesAdded: bench.config.sparePEs)
        }
    }

    /// The mitigations every chip is measured under, in the tables' order:
    /// spares only on a config that has spare PEs (`spares:`).
    public static func standard(config: HardwareConfig) -> [ComparedMitigation] {
        [.fap, .fam, .rowcol] + (config.spares != nil ? [.spares] : [])
    }
}

/// A retrained mitigation read from a Reduce campaign (`--campaign FILE`): the
/// campaign's chips under its mitigation after FAT (`fap+T`, `fam+T`), one
/// policy's amount each. Matched to the lot by its checksum, chip by index.
public struct CampaignMitigation: Sendable {
    public var path: String
    public var results: CampaignResults
    public var policy: String
    /// The mitigation the campaign's chips ran (its FAT trained under it).
    public var mitigation: Mitigation
    /// The fault-free accuracy on the campaign's test images (what a
    /// `--below-baseline` constraint judges its chips against).
    public var testBaseline: Double
    public var testImages: Int
    public var trainSubset: Int

    public var name: String { mitigation.rawValue + "+T" }

    /// Reads `path` and checks it covers `lotPath`'s chips (same lot checksum
    /// and array); `policy` nil takes the campaign's first policy.
    public init(path: String, policy: String?, lotPath: String, lotChecksum: String, lot: ChipLotInfo) throws {
        let r = try CampaignResults.read(path: path)
        let f = ResultsReader(path: path, file: r.resultsFile())
        let theirs = try f.string("lot_checksum")
        guard theirs == lotChecksum else {
            throw FapsimError.invalid(file: path, field: "lot_checksum",
                                      expected: "\(lotChecksum), the checksum of \(lotPath) (a campaign over this comparison's lot)",
                                      got: "\(theirs) (a campaign over another lot: \(r.attributes["lot_file"].map { "\($0)" } ?? "unnamed"))")
        }
        let rows = try f.int("rows"), cols = try f.int("cols")
        guard rows == lot.rows, cols == lot.cols else {
            throw FapsimError.invalid(file: path, field: "rows, cols", expected: "\(lot.rows)x\(lot.cols) (the lot's array)", got: "\(rows)x\(cols)")
        }
        if let bad = r.chips.first(where: { $0 >= lot.chipCount }) {
            throw FapsimError.invalid(file: path, field: "per_chip chip", expected: "chips 0..<\(lot.chipCount) of \(lotPath)", got: "chip \(bad)")
        }
        let chosen = policy ?? r.policies.first ?? ""
        guard r.policies.contains(chosen) else {
            throw FapsimError.invalid(file: path, field: "per_chip policy", expected: "one of \(r.policies.joined(separator: ", ")) (--campaign-policy)",
                                      got: chosen.isEmpty ? "no rows" : chosen)
        }
        self.path = path
        results = r
        self.policy = chosen
        mitigation = try FATInputs.recordedMitigation(r.attributes, source: path)
        // Campaigns before the paired constraint recorded one baseline.
        testBaseline = r.attributes["test_baseline_accuracy"] != nil ? try f.double("test_baseline_accuracy") : try f.double("baseline_accuracy")
        testImages = try f.int("test_subset")
        trainSubset = try f.int("train_subset")
    }

    /// Chip `base.chip`'s retrained row, with the cycles of `base` (the same
    /// mitigation untrained: FAT changes weights, not where they sit); nil when
    /// the campaign does not cover the chip.
    public func row(base: MitigationComparison.Row) -> MitigationComparison.Row? {
        guard let c = results.rows.first(where: { $0.chip == base.chip && $0.policy == policy }) else { return nil }
        var r = base
        r.mitigation = name
        r.accuracy = base.usable ? c.finalAccuracy : .nan
        r.testImages = testImages
        r.retrainingImages = c.imagesSpent ?? c.epochsSpent * trainSubset
        r.source = base.usable ? "campaign \(policy)" : "unusable"
        return r
    }
}

/// The comparison over a lot as a unit job (`UnitJob`, one chip per unit): each
/// finished chip's measured rows are written to `OUT.work/chip-<c>.h5` at once,
/// so a killed run resumes without redoing finished chips, and `fapsim slurm`
/// can spread the chips over tasks.
public struct MitigationComparisonRun: UnitJob {
    public static let command = "mitigate-compare"
    public static let unitContent = MitigationComparisonFile.chipContent

    public let work: WorkDir
    public let weightsPath: String
    public let lotPath: String
    public let lotChecksum: String
    public let weightsChecksum: String
    public let config: HardwareConfig
    public let dataDirectory: String
    public let testSubset: Int?
    public let entries: [ComparedMitigation]
    public let campaigns: [CampaignMitigation]
    public let constraint: MitigationComparison.Constraint
    public let yieldBins: Int
    /// The synthesized PE cells the area column comes from; nil: "not
    /// available". Not part of the run identity: the area is added when the
    /// file is assembled, so chip files stay valid whatever the counts.
    public let peCells: PECellCounts?
    let lot: ChipLotReader
    private var bench: ComparisonBench?

    /// Checks every input before a chip is measured: the lot's array is the
    /// config's, each campaign covers this lot, no two campaigns retrain under
    /// the same mitigation.
    public init(weightsPath: String, lotPath: String, config: HardwareConfig, dataDirectory: String, testSubset: Int?,
                campaigns: [(path: String, policy: String?)], constraint: MitigationComparison.Constraint, yieldBins: Int,
                out: String, entries: [ComparedMitigation]? = nil, peCells: PECellCounts? = nil) throws {
        try MitigationComparison.Constraint.checkThroughput(constraint.minThroughput)
        guard yieldBins > 0 else {
            throw FapsimError.invalid(file: nil, field: "--yield-bins", expected: "a positive number of fault-rate bins", got: "\(yieldBins)")
        }
        if let testSubset, !(1...CIFAR10Set.recordsPerFile).contains(testSubset) {
            throw FapsimError.invalid(file: nil, field: "--test-subset", expected: "1...\(CIFAR10Set.recordsPerFile) test images", got: "\(testSubset)")
        }
        let reader = try ChipLotReader(path: lotPath)
        try reader.checkArray(config)
        let lotSum = try FNV1a64.file(lotPath)
        let read = try campaigns.map { try CampaignMitigation(path: $0.path, policy: $0.policy, lotPath: lotPath,
                                                              lotChecksum: lotSum, lot: reader.info) }
        lot = reader
        lotChecksum = lotSum
        weightsChecksum = try FNV1a64.file(weightsPath)
        for (i, c) in read.enumerated() {
            if let other = read[..<i].first(where: { $0.mitigation == c.mitigation }) {
                throw FapsimError("\(c.path): attribute mitigation: \(other.path) already gives \(c.name); expected one campaign per mitigation")
            }
        }
        self.weightsPath = weightsPath
        self.lotPath = lotPath
        self.config = config
        self.dataDirectory = dataDirectory
        self.testSubset = testSubset
        let entries = entries ?? ComparedMitigation.standard(config: config)
        self.entries = entries
        self.campaigns = read
        self.constraint = constraint
        self.yieldBins = yieldBins
        self.peCells = peCells
        var identity = [
            "command": Self.command, "weights_checksum": weightsChecksum, "lot_checksum": lotChecksum,
            "array": "\(config.rows)x\(config.cols)", "weight_load": config.weightLoad.rawValue,
            "mapping_order": config.mappingOrder.rawValue, "test_subset": String(testSubset ?? CIFAR10Set.recordsPerFile),
            "mitigations": entries.map(\.name).joined(separator: ","),
            "fam": "\(FaultAwareMapping.Saliency.standard.name),\(FaultAwareMapping.Method.standard.rawValue)",
        ]
        // Only where spares are measured, so runs without them keep their identity.
        if let spares = config.spares, entries.contains(where: { $0.name == Mitigation.spares.rawValue }) {
            identity["spares"] = spares.description
        }
        work = WorkDir(out: out, command: Self.command, identity: identity)
    }

    public var unitCount: Int { lot.info.chipCount }
    public var testImages: Int { testSubset ?? CIFAR10Set.recordsPerFile }
    /// The lot's generator (uniform, clustered, fixed): its name in the report by default.
    public var lotLabel: String { lot.info.generator }
    public func unitFileName(_ u: Int) -> String { "chip-\(u).h5" }
    public func checkpointStem(_ u: Int) -> String { "chip-\(u)" }
    public func progressLabel(units: Int) -> String {
        "mitigate compare: \(units) chips x \(entries.filter(\.evaluates).count) evaluations"
    }

    /// Loads the network and the test images and measures the fault-free
    /// accuracy (cached in the work directory as `baseline.h5`).
    public mutating func prepare() throws {
        guard bench == nil else { return }
        let parameters = try VGG11Parameters.load(path: weightsPath)
        let test = try CIFAR10Set.load(directory: dataDirectory, split: .test, limit: testSubset)
        let baseline = try FATInputs.cachedBaseline(parameters, work: work, name: "baseline.h5") { test }
        bench = try ComparisonBench(parameters: parameters, config: config, test: test, baseline: baseline)
    }

    public mutating func plan(unit: Int) throws -> Int { unit }
    public mutating func images(of plan: Int) throws -> Int { entries.filter(\.evaluates).count * testImages }

    public mutating func compute(unit: Int, plan: Int, progress: ProgressLine) throws -> ResultsFile {
        let bench = bench!
        bench.progress = progress
        let faults = try lot.faultMap(chip: unit)
        let rows = try entries.map { try $0.measure(unit, faults, bench) }
        return MitigationComparisonFile.chipFile(chip: unit, rows: rows)
    }

    public mutating func assemble(units: [ResultsFile]) throws -> MitigationComparisonFile {
        let bench = bench!
        var measured: [MitigationComparison.Row] = []
        for (u, f) in units.enumerated() {
            let rows = try MitigationComparisonFile.readRows(ResultsReader(path: work.file(unitFileName(u)), file: f))
            guard rows.map(\.mitigation) == entries.map(\.name), rows.allSatisfy({ $0.chip == u }) else {
                throw FapsimError("\(work.file(unitFileName(u))): /per_chip: expected chip \(u) under \(entries.map(\.name).joined(separator: ", ")) (a damaged chip file; delete it to measure the chip again)")
            }
            measured += rows
        }
        // Retrained rows follow their untrained mitigation's rows, chip by chip.
        var rows: [MitigationComparison.Row] = []
        var baselineOf: [String: Double] = [:]
        for c in campaigns { baselineOf[c.name] = c.testBaseline }
        for chip in 0..<unitCount {
            let mine = measured.filter { $0.chip == chip }
            rows += mine
            for c in campaigns {
                if let base = mine.first(where: { $0.mitigation == c.mitigation.rawValue }), let r = c.row(base: base) { rows.append(r) }
            }
        }
        rows = MitigationComparison.judged(rows, constraint: constraint) { baselineOf[$0.mitigation] ?? bench.baseline }
        let area = MitigationComparison.areas(entries.map { ($0.name, $0.mitigation) } + campaigns.map { ($0.name, $0.mitigation) },
                                              config: config, cells: peCells)
        for i in rows.indices { rows[i].areaVsFAP = area[rows[i].mitigation]?.ratio ?? .nan }
        // Group the rows by mitigation so the summary lists them in a stable order.
        let order = entries.map(\.name) + campaigns.map(\.name)
        rows.sort { (order.firstIndex(of: $0.mitigation)!, $0.chip) < (order.firstIndex(of: $1.mitigation)!, $1.chip) }
        var attrs: [String: AttributeValue] = [:]
        for (k, v) in work.identity { attrs[WorkDir.identityPrefix + k] = .string(v) }
        attrs["weights_file"] = .string(weightsPath)
        attrs["weights_checksum"] = .string(weightsChecksum)
        attrs["lot_file"] = .string(lotPath)
        attrs["lot_checksum"] = .string(lotChecksum)
        attrs["lot_chips"] = .int(Int64(unitCount))
        attrs["lot_generator"] = .string(lot.info.generator)
        attrs["rows"] = .int(Int64(config.rows))
        attrs["cols"] = .int(Int64(config.cols))
        attrs["config_name"] = .string(config.name)
        attrs["test_subset"] = .int(Int64(bench.test.count))
        attrs["baseline_accuracy"] = .double(bench.baseline)
        attrs["fault_free_cycles_per_image"] = .int(Int64(bench.faultFreeCycles))
        attrs["network_width"] = .double(bench.parameters.spec.width)
        attrs["min_throughput"] = .double(constraint.minThroughput)
        switch constraint.accuracy {
        case .absolute(let t): attrs["target"] = .double(t)
        case .belowBaseline(let d): attrs["below_baseline"] = .double(d)
        }
        attrs["yield_bins"] = .int(Int64(yieldBins))
        if let peCells {
            attrs["pe_cells_file"] = .string(peCells.path)
            attrs["pe_cells_tool"] = .string(peCells.tool)
        }
        if !campaigns.isEmpty {
            attrs["campaign_files"] = .strings(campaigns.map(\.path))
            attrs["campaign_policies"] = .strings(campaigns.map(\.policy))
        }
        return MitigationComparisonFile(rows: rows, summary: MitigationComparison.summary(rows, minThroughput: constraint.minThroughput, area: area,
                                                                                          areaNote: MitigationComparison.noCellsNote),
                                        yieldCurve: MitigationComparison.yieldCurve(rows, minThroughput: constraint.minThroughput, bins: yieldBins),
                                        attributes: attrs)
    }

    public func write(_ assembled: MitigationComparisonFile, force: Bool) throws -> MitigationComparisonFile {
        try assembled.write(path: out, force: force)
        return try MitigationComparisonFile.read(path: out)
    }
}
