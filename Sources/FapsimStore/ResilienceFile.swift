import FapsimSupport

/// The file of Reduce Step 1 (`fapsim resilience`, `content` = "resilience";
/// layout in docs/reduce.md): root attributes for provenance and the sweep's
/// shape, the `accuracy` table (one row per (rate, repeat, epoch)), the
/// epochs-needed summary (`epochs_needed`, `epochs_needed_per_repeat`) and the
/// optional `maps` table (per map, faulty PEs and pruned weight share).
///
/// Every table is long-format (one row per observation) because results
/// tables hold 1-D columns and pandas pivots long data in one call. Unreached
/// is -1 in int64 epoch columns and NaN in float ones, with `reached_count`
/// beside them, so `df.replace(-1, pd.NA)` is all a script needs.
///
/// The store owns the layout and the structural checks (types, shapes, index
/// ranges, duplicate rows); Reduce's `ResilienceTable` computes the summary
/// and checks the file's summary agrees with its curves.
public struct ResilienceFile: Equatable, Sendable {
    public static let content = "resilience"
    /// Stored for "unreached" in int64 epoch columns.
    public static let unreachedSentinel: Int64 = -1

    /// Root attributes every resilience file has (and `network_width` when
    /// recorded); the others (baseline, FAT settings, config file, ...) are
    /// `extraAttributes`.
    public static let layoutAttributes: Set<String> = [
        "weights_checksum", "weights_file", "rows", "cols", "config_name", "rate_metric", "train_subset", "test_subset",
        "seed", "rates", "targets", "repeats", "epochs", "unreached_sentinel", "network_width", "amount_axis",
    ]

    /// The curves' amount axis when Step 1 measured an image schedule
    /// (`fapsim resilience --amounts`): point i is after `images[i]` training
    /// images, `steps[i]` optimizer steps. Without it (files measured by
    /// epochs) point e is after e epochs of `train_subset` images.
    public struct AmountAxis: Equatable, Sendable {
        public var images: [Int]
        public var steps: [Int]

        public init(images: [Int], steps: [Int]) {
            self.images = images
            self.steps = steps
        }
    }

    /// The amount needed for one (target, rate) over the repeats, in the
    /// axis's unit: epochs (epoch files) or training images (`amounts`).
    public struct Summary: Equatable, Sendable {
        public var target: Double
        public var rateIndex: Int
        public var reachedCount: Int
        /// nil = unreached (-1 / NaN in the file).
        public var min: Int?
        public var mean: Double?
        public var max: Int?
        /// Per repeat, the first epoch that reached the target (nil = not within E).
        public var perRepeat: [Int?]

        public init(target: Double, rateIndex: Int, reachedCount: Int, min: Int?, mean: Double?, max: Int?, perRepeat: [Int?]) {
            self.target = target
            self.rateIndex = rateIndex
            self.reachedCount = reachedCount
            self.min = min
            self.mean = mean
            self.max = max
            self.perRepeat = perRepeat
        }
    }

    public var weightsChecksum: String
    public var weightsFile: String
    public var rows: Int
    public var cols: Int
    public var configName: String
    public var rateMetric: String
    public var trainSubset: Int
    public var testSubset: Int
    /// Stored as a decimal string: uint64 seeds do not fit int64 attributes exactly.
    public var seed: UInt64
    public var networkWidth: Double?
    public var rates: [Double]
    public var targets: [Double]
    public var repeats: Int
    /// Epochs trained: E of an epoch file; with `amounts`, the epochs (whole
    /// or partial) the largest amount reaches into.
    public var epochs: Int
    /// The image schedule of the curves; nil = epoch points 0...E.
    public var amounts: AmountAxis? = nil
    /// accuracy[rate][repeat][point]: point = epoch, or index into `amounts`.
    public var accuracy: [[[Double]]]
    /// weightShare[rate][repeat]; nil = no `maps` table.
    public var weightShare: [[Double]]?
    /// Target-major, then rate (what the summary tables hold, row by row).
    public var summary: [Summary]
    /// Root attributes outside the layout: `baseline_accuracy`, the FAT
    /// settings, `config_file`, `data_dir`, ...
    public var extraAttributes: [String: AttributeValue]

    public init(weightsChecksum: String, weightsFile: String, rows: Int, cols: Int, configName: String, rateMetric: String,
                trainSubset: Int, testSubset: Int, seed: UInt64, networkWidth: Double?, rates: [Double], targets: [Double],
                repeats: Int, epochs: Int, accuracy: [[[Double]]], weightShare: [[Double]]?, summary: [Summary],
                extraAttributes: [String: AttributeValue] = [:], amounts: AmountAxis? = nil) {
        self.amounts = amounts
        self.weightsChecksum = weightsChecksum
        self.weightsFile = weightsFile
        self.rows = rows
        self.cols = cols
        self.configName = configName
        self.rateMetric = rateMetric
        self.trainSubset = trainSubset
        self.testSubset = testSubset
        self.seed = seed
        self.networkWidth = networkWidth
        self.rates = rates
        self.targets = targets
        self.repeats = repeats
        self.epochs = epochs
        self.accuracy = accuracy
        self.weightShare = weightShare
        self.summary = summary
        self.extraAttributes = extraAttributes
    }

    /// The held-out validation split the accuracy curves were measured on:
    /// its size and the index of its first training image (the last `size`
    /// of the 50,000), from the root attributes `curve_split` ("validation"
    /// or "test"), `validation_subset` and `validation_first`. nil = curves on
    /// the test set (`curve_split` "test", or absent in files written before
    /// validation splits).
    public func validationSplit(path: String) throws -> (size: Int, first: Int)? {
        func int(_ k: String) throws -> Int {
            guard case .int(let v)? = extraAttributes[k], v >= 0 else {
                throw FapsimError.invalid(file: path, field: "/: attribute \(k)", expected: "an image count >= 0 (int64) beside curve_split \"validation\"", got: extraAttributes[k].map { "\($0)" } ?? "none")
            }
            return Int(v)
        }
        switch extraAttributes["curve_split"] {
        case nil, .string("test")?: return nil
        case .string("validation")?:
            let size = try int("validation_subset"), first = try int("validation_first")
            guard size >= 1 else { throw FapsimError.invalid(file: path, field: "/: attribute validation_subset", expected: "at least 1 image", got: "\(size)") }
            return (size, first)
        case let other?:
            throw FapsimError.invalid(file: path, field: "/: attribute curve_split", expected: "\"validation\" or \"test\"", got: "\(other)")
        }
    }

    /// The weights' fault-free accuracy on the test subset, as `fapsim
    /// resilience` records it (`baseline_accuracy`); nil when absent.
    public var baselineAccuracy: Double? {
        if case .double(let b)? = extraAttributes["baseline_accuracy"] { return b }
        return nil
    }

    public func resultsFile() -> ResultsFile {
        var attributes = extraAttributes
        attributes.merge([
            "weights_checksum": .string(weightsChecksum), "weights_file": .string(weightsFile),
            "rows": .int(Int64(rows)), "cols": .int(Int64(cols)), "config_name": .string(configName),
            "rate_metric": .string(rateMetric), "train_subset": .int(Int64(trainSubset)),
            "test_subset": .int(Int64(testSubset)), "seed": .string(String(seed)),
            "rates": .doubles(rates), "targets": .doubles(targets),
            "repeats": .int(Int64(repeats)), "epochs": .int(Int64(epochs)),
            "unreached_sentinel": .int(Self.unreachedSentinel),
        ]) { _, layout in layout }
        if let w = networkWidth { attributes["network_width"] = .double(w) }
        var tables = [accuracyTable(), epochsNeededTable(), perRepeatTable()]
        if let a = amounts {
            attributes["amount_axis"] = .string("images")
            tables.append(amountsTable(a))
        }
        if let m = mapsTable() { tables.append(m) }
        return ResultsFile(content: Self.content, attributes: attributes, tables: tables)
    }

    /// Writes atomically; refuses to replace `path` unless `force`.
    public func write(path: String, force: Bool) throws {
        try resultsFile().write(path: path, force: force)
    }

    private func mapsTable() -> ResultsTable? {
        guard let ws = weightShare else { return nil }
        let pes = Double(rows * cols)
        var rateIndex: [Int64] = [], rate: [Double] = [], rep: [Int64] = [], faulty: [Int64] = [], share: [Double] = []
        for (r, perRate) in ws.enumerated() {
            for (k, w) in perRate.enumerated() {
                rateIndex.append(Int64(r)); rate.append(rates[r]); rep.append(Int64(k))
                faulty.append(Int64((rates[r] * pes).rounded())); share.append(w)
            }
        }
        return ResultsTable(name: "maps", columns: [
            .int64("rate_index", units: "index", rateIndex),
            .double("fault_rate", units: "1", rate),
            .int64("repeat", units: "index", rep),
            .int64("faulty_pes", units: "count", faulty, description: "round(fault_rate x rows x cols), the PEs drawn faulty"),
            .double("weight_share", units: "1", share,
                    description: "MAC-weighted share of the network's weights this map prunes (PrunedShare.macWeighted)"),
        ], attributes: ["description": .string("one row per (rate, repeat) fault map, rate-major; the weights rate metric")])
    }

    private func accuracyTable() -> ResultsTable {
        var rateIndex: [Int64] = [], rate: [Double] = [], rep: [Int64] = [], epoch: [Int64] = [], acc: [Double] = []
        for (r, perRate) in accuracy.enumerated() {
            for (k, curve) in perRate.enumerated() {
                for (e, a) in curve.enumerated() {
                    rateIndex.append(Int64(r)); rate.append(rates[r]); rep.append(Int64(k)); epoch.append(Int64(e)); acc.append(a)
                }
            }
        }
        guard let a = amounts else {
            return ResultsTable(name: "accuracy", columns: [
                .int64("rate_index", units: "index", rateIndex),
                .double("fault_rate", units: "1", rate),
                .int64("repeat", units: "index", rep),
                .int64("epoch", units: "epochs", epoch, description: "FAT epochs done; 0 = FAP only"),
                .double("accuracy", units: "1", acc, description: "accuracy on the curve split (fraction)"),
            ], attributes: ["description": .string("accuracy[rate][repeat][epoch], one row each, rate-major")])
        }
        // The point index is written beside its images so pandas needs no join.
        return ResultsTable(name: "accuracy", columns: [
            .int64("rate_index", units: "index", rateIndex),
            .double("fault_rate", units: "1", rate),
            .int64("repeat", units: "index", rep),
            .int64("amount_index", units: "index", epoch, description: "row of the amounts table"),
            .int64("images", units: "images", epoch.map { Int64(a.images[Int($0)]) }, description: "training images; 0 = FAP only"),
            .double("accuracy", units: "1", acc, description: "accuracy on the curve split (fraction)"),
        ], attributes: ["description": .string("accuracy[rate][repeat][amount], one row each, rate-major")])
    }

    private func amountsTable(_ a: AmountAxis) -> ResultsTable {
        ResultsTable(name: "amounts", columns: [
            .int64("amount_index", units: "index", a.images.indices.map(Int64.init)),
            .int64("images", units: "images", a.images.map(Int64.init), description: "training images asked for; 0 = FAP only"),
            .int64("steps", units: "steps", a.steps.map(Int64.init), description: "optimizer steps: whole epochs, then ceil(rest / batch)"),
            .double("epochs", units: "epochs", a.images.map { trainSubset == 0 ? 0 : Double($0) / Double(trainSubset) },
                    description: "images / train_subset"),
        ], attributes: ["description": .string("the image schedule the curves were measured at")])
    }

    private func epochsNeededTable() -> ResultsTable {
        // The same table in either unit: scheduled training images, or epochs.
        let images = amounts != nil
        let unit = images ? "images" : "epochs"
        let s = summary
        return ResultsTable(name: "\(unit)_needed", columns: [
            .double("target", units: "1", s.map(\.target)),
            .int64("rate_index", units: "index", s.map { Int64($0.rateIndex) }),
            .double("fault_rate", units: "1", s.map { rates[$0.rateIndex] }),
            .int64("repeats", units: "count", s.map { _ in Int64(repeats) }),
            .int64("reached_count", units: "count", s.map { Int64($0.reachedCount) },
                   description: images ? "repeats that reached the target within the schedule" : "repeats that reached the target within E epochs"),
            .int64("min_\(unit)", units: unit, s.map { $0.min.map(Int64.init) ?? Self.unreachedSentinel }, description: "-1 = no repeat reached the target"),
            .double("mean_\(unit)", units: unit, s.map { $0.mean ?? .nan }, description: "NaN = some repeat did not reach the target"),
            .int64("max_\(unit)", units: unit, s.map { $0.max.map(Int64.init) ?? Self.unreachedSentinel }, description: "-1 = some repeat did not reach the target"),
        ], attributes: ["description": .string(images
            ? "least scheduled amount reaching the target per (target, rate) over repeats; 0 = FAP alone suffices"
            : "epochs needed per (target, rate) over repeats; 0 = FAP alone suffices")])
    }

    private func perRepeatTable() -> ResultsTable {
        var target: [Double] = [], rateIndex: [Int64] = [], rate: [Double] = [], rep: [Int64] = [], needed: [Int64] = []
        for s in summary {
            for (k, e) in s.perRepeat.enumerated() {
                target.append(s.target); rateIndex.append(Int64(s.rateIndex)); rate.append(rates[s.rateIndex]); rep.append(Int64(k))
                needed.append(e.map(Int64.init) ?? Self.unreachedSentinel)
            }
        }
        // The same table in either unit, as epochsNeededTable.
        let images = amounts != nil
        let unit = images ? "images" : "epochs"
        return ResultsTable(name: "\(unit)_needed_per_repeat", columns: [
            .double("target", units: "1", target),
            .int64("rate_index", units: "index", rateIndex),
            .double("fault_rate", units: "1", rate),
            .int64("repeat", units: "index", rep),
            .int64("\(unit)_needed", units: unit, needed,
                   description: images ? "-1 = not reached within the schedule" : "-1 = not reached within E epochs"),
        ], attributes: ["description": .string(images
            ? "first scheduled amount whose accuracy >= target, per repeat"
            : "first epoch whose accuracy >= target, per repeat")])
    }

    /// Reads a resilience file and checks its structure: attributes, the
    /// accuracy table's shape and indices, the maps table, the summary's row
    /// count and indices. (Whether the summary agrees with the curves is
    /// Reduce's check, `ResilienceTable.read`.)
    public static func read(path: String) throws -> ResilienceFile {
        let f = try ResultsReader(path: path, content: content)
        let weightsChecksum = try f.string("weights_checksum"), weightsFile = try f.string("weights_file")
        let rows = try f.int("rows"), cols = try f.int("cols"), configName = try f.string("config_name")
        let rateMetric = try f.string("rate_metric"), trainSubset = try f.int("train_subset")
        let testSubset = try f.int("test_subset"), seed = try f.uint64("seed")
        let networkWidth = f.file.attributes["network_width"] == nil ? nil : try f.double("network_width")
        let rates = try f.doubles("rates"), targets = try f.doubles("targets")
        let repeats = try f.int("repeats"), epochs = try f.int("epochs")
        var out = ResilienceFile(
            weightsChecksum: weightsChecksum, weightsFile: weightsFile, rows: rows, cols: cols, configName: configName,
            rateMetric: rateMetric, trainSubset: trainSubset, testSubset: testSubset, seed: seed, networkWidth: networkWidth,
            rates: rates, targets: targets, repeats: repeats, epochs: epochs, accuracy: [], weightShare: nil, summary: [],
            extraAttributes: f.file.attributes.filter { !layoutAttributes.contains($0.key) && $0.key != "content" })
        guard !rates.isEmpty else { throw FapsimError("\(path): /: attribute rates: expected at least one fault rate, got an empty list") }
        guard repeats >= 1, epochs >= 0 else {
            throw FapsimError("\(path): /: attributes repeats, epochs: expected >= 1 and >= 0, got \(repeats), \(epochs)")
        }
        out.amounts = try readAmounts(f, path: path)
        out.accuracy = try readAccuracy(f, rates: rates, repeats: repeats, points: out.amounts?.images.count ?? epochs + 1,
                                        indexColumn: out.amounts == nil ? "epoch" : "amount_index")
        out.weightShare = try readWeightShare(f, rates: rates, repeats: repeats)
        out.summary = try readSummary(f, rates: rates, targets: targets, images: out.amounts != nil)
        return out
    }

    /// The `amounts` table of a file with `amount_axis` "images"; nil for an
    /// epoch file (no attribute). The schedule must start at 0 and increase.
    private static func readAmounts(_ f: ResultsReader, path: String) throws -> AmountAxis? {
        switch f.file.attributes["amount_axis"] {
        case nil: return nil
        case .string("images")?: break
        case let other?:
            throw FapsimError.invalid(file: path, field: "/: attribute amount_axis", expected: "\"images\" (or absent: epochs)", got: "\(other)")
        }
        let t = try f.table("amounts")
        let images = try f.ints(t, "images").map(Int.init), steps = try f.ints(t, "steps").map(Int.init)
        guard !images.isEmpty, images.count == steps.count, images[0] == 0 else {
            throw f.malformed(t, "expected one row per amount, images and steps of equal length, starting at 0 images")
        }
        for i in images.indices.dropFirst() where !(images[i] > images[i - 1] && steps[i] >= steps[i - 1]) {
            throw f.malformed(t, "row \(i): images \(images[i - 1]) then \(images[i]) (steps \(steps[i - 1]) then \(steps[i])): expected a strictly increasing schedule")
        }
        return AmountAxis(images: images, steps: steps)
    }

    private static func readAccuracy(_ f: ResultsReader, rates: [Double], repeats: Int, points: Int, indexColumn: String) throws -> [[[Double]]] {
        let t = try f.table("accuracy")
        let ri = try f.ints(t, "rate_index"), rate = try f.doubles(t, "fault_rate")
        let rep = try f.ints(t, "repeat"), ep = try f.ints(t, indexColumn), acc = try f.doubles(t, "accuracy")
        let expected = rates.count * repeats * points
        guard acc.count == expected else {
            throw f.malformed(t, "expected \(expected) rows (\(rates.count) rates x \(repeats) repeats x \(points) \(indexColumn == "epoch" ? "epochs" : "amounts")), got \(acc.count)")
        }
        var out = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: .nan, count: points), count: repeats), count: rates.count)
        for i in 0..<acc.count {
            let (r, k, e) = (Int(ri[i]), Int(rep[i]), Int(ep[i]))
            guard (0..<rates.count).contains(r), (0..<repeats).contains(k), (0..<points).contains(e) else {
                throw f.malformed(t, "row \(i): rate_index \(r), repeat \(k), \(indexColumn) \(e) out of range")
            }
            guard rate[i] == rates[r] else {
                throw f.malformed(t, "row \(i): fault_rate \(rate[i]) disagrees with rates[\(r)] = \(rates[r])")
            }
            guard out[r][k][e].isNaN else { throw f.malformed(t, "row \(i): (rate \(r), repeat \(k), \(indexColumn) \(e)) appears twice") }
            out[r][k][e] = acc[i]
        }
        return out
    }

    /// The optional `maps` table as weightShare[rate][repeat]; nil when the
    /// file has none (written before weight shares were recorded).
    private static func readWeightShare(_ f: ResultsReader, rates: [Double], repeats: Int) throws -> [[Double]]? {
        guard f.file[table: "maps"] != nil else { return nil }
        let t = try f.table("maps")
        let ri = try f.ints(t, "rate_index"), rate = try f.doubles(t, "fault_rate")
        let rep = try f.ints(t, "repeat"), share = try f.doubles(t, "weight_share")
        let expected = rates.count * repeats
        guard share.count == expected else {
            throw f.malformed(t, "expected \(expected) rows (\(rates.count) rates x \(repeats) repeats), got \(share.count)")
        }
        var out = [[Double]](repeating: [Double](repeating: .nan, count: repeats), count: rates.count)
        for i in 0..<share.count {
            let (r, k) = (Int(ri[i]), Int(rep[i]))
            guard (0..<rates.count).contains(r), (0..<repeats).contains(k) else {
                throw f.malformed(t, "row \(i): rate_index \(r), repeat \(k) out of range")
            }
            guard rate[i] == rates[r] else {
                throw f.malformed(t, "row \(i): fault_rate \(rate[i]) disagrees with rates[\(r)] = \(rates[r])")
            }
            guard out[r][k].isNaN else { throw f.malformed(t, "row \(i): (rate \(r), repeat \(k)) appears twice") }
            guard share[i] >= 0 && share[i] <= 1 else {
                throw f.malformed(t, "row \(i): weight_share: expected a pruned share in [0, 1], got \(share[i])")
            }
            out[r][k] = share[i]
        }
        return out
    }

    /// The `epochs_needed` rows (the per-repeat detail is written for
    /// pandas, not read back: it follows from the curves).
    private static func readSummary(_ f: ResultsReader, rates: [Double], targets: [Double], images: Bool) throws -> [Summary] {
        let unit = images ? "images" : "epochs"
        let t = try f.table("\(unit)_needed")
        let tg = try f.doubles(t, "target"), ri = try f.ints(t, "rate_index"), reached = try f.ints(t, "reached_count")
        let lo = try f.ints(t, "min_\(unit)"), mean = try f.doubles(t, "mean_\(unit)"), hi = try f.ints(t, "max_\(unit)")
        guard tg.count == targets.count * rates.count else {
            throw f.malformed(t, "expected \(targets.count * rates.count) rows (targets x rates), got \(tg.count)")
        }
        return try (0..<tg.count).map { i in
            guard (0..<rates.count).contains(Int(ri[i])) else {
                throw f.malformed(t, "row \(i): target \(tg[i]) / rate_index \(ri[i]) not in the file's targets and rates")
            }
            return Summary(target: tg[i], rateIndex: Int(ri[i]), reachedCount: Int(reached[i]),
                           min: lo[i] == unreachedSentinel ? nil : Int(lo[i]), mean: mean[i].isNaN ? nil : mean[i],
                           max: hi[i] == unreachedSentinel ? nil : Int(hi[i]), perRepeat: [])
        }
    }
}
