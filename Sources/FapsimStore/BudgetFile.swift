import FapsimSupport

/// The results file of `fapsim budget` (`content` = "budget", docs/reduce.md):
/// the rule and inputs as root attributes and one `per_chip` row per chip. The
/// store owns the layout and its structural checks (column types, the -1
/// sentinel exactly for unreached chips, known flags); Reduce's `BudgetRun`
/// gives the values their meaning.
public struct BudgetFile: Equatable, Sendable {
    public static let content = "budget"
    /// Stored for "unreached" in the int64 `budget_epochs` column.
    public static let unreachedSentinel: Int64 = -1
    public static let knownFlags: Set<String> = ["above_range", "unreached"]

    public struct Row: Equatable, Sendable {
        public var chip: Int
        public var faultRate: Double
        /// nil = unreached (stored as -1), or an image budget.
        public var epochs: Int?
        /// An image budget (a resilience file measured at an image schedule,
        /// `budget_unit` "images"): training images and optimizer steps; nil =
        /// unreached, or an epoch budget.
        public var images: Int? = nil
        public var steps: Int? = nil
        /// Of `knownFlags`, in order.
        public var flags: [String]
        public var rateLow: Double
        public var rateHigh: Double
        /// Present exactly under the `weights` rate metric.
        public var weightShare: Double?
        /// Present exactly under the `confidence` policy: the predicted
        /// probability of meeting the target at the budget, and the predicted
        /// mean accuracy there.
        public var probability: Double?
        public var predictedAccuracy: Double?

        public init(chip: Int, faultRate: Double, epochs: Int?, flags: [String], rateLow: Double, rateHigh: Double,
                    weightShare: Double? = nil, probability: Double? = nil, predictedAccuracy: Double? = nil) {
            self.chip = chip
            self.faultRate = faultRate
            self.epochs = epochs
            self.flags = flags
            self.rateLow = rateLow
            self.rateHigh = rateHigh
            self.weightShare = weightShare
            self.probability = probability
            self.predictedAccuracy = predictedAccuracy
        }
    }

    public var resilienceFile: String
    public var resilienceChecksum: String
    public var lotFile: String
    public var lotChecksum: String
    public var weightsChecksum: String
    public var target: Double
    /// `max`, `mean` or `confidence`.
    public var policy: String
    public var interpolate: Bool
    /// `pe` or `weights` (absent from files of earlier versions: `pe`).
    public var rateMetric: String
    public var networkWidth: Double?
    /// Under the `confidence` policy: the stated confidence and the size of
    /// the set the chips' accuracy is judged on.
    public var confidence: Double?
    public var judgedImages: Int?
    /// The data the budgets were decided on, from the resilience file:
    /// `curve_split`, `train_subset`, `test_subset`, `validation_subset`,
    /// `validation_first` (those present; none in files of earlier versions).
    public var splits: [String: AttributeValue]
    public static let splitKeys = ["curve_split", "train_subset", "test_subset", "validation_subset", "validation_first",
                                   "validation_source"]
    /// With a constraint below the baseline (`fapsim budget --below-baseline
    /// D`): D and the curve set's fault-free accuracy b, so `target` = b - D
    /// (attributes `below_baseline`, `baseline_accuracy`; absent otherwise).
    public var belowBaseline: Double? = nil
    public var baselineAccuracy: Double? = nil
    public var rows: [Row]

    public static let policies = ["max", "mean", "confidence"]

    public init(resilienceFile: String, resilienceChecksum: String, lotFile: String, lotChecksum: String,
                weightsChecksum: String, target: Double, policy: String, interpolate: Bool, rateMetric: String,
                networkWidth: Double?, confidence: Double? = nil, judgedImages: Int? = nil,
                splits: [String: AttributeValue] = [:], rows: [Row], imageBudgets: Bool = false) {
        self.imageBudgets = imageBudgets
        self.splits = splits.filter { Self.splitKeys.contains($0.key) }
        self.resilienceFile = resilienceFile
        self.resilienceChecksum = resilienceChecksum
        self.lotFile = lotFile
        self.lotChecksum = lotChecksum
        self.weightsChecksum = weightsChecksum
        self.target = target
        self.policy = policy
        self.interpolate = interpolate
        self.rateMetric = rateMetric
        self.networkWidth = networkWidth
        self.confidence = confidence
        self.judgedImages = judgedImages
        self.rows = rows
    }

    public var totalEpochs: Int { rows.compactMap(\.epochs).reduce(0, +) }
    /// Budgets are training images (rows carry `images` and `steps`), not epochs.
    public var imageBudgets: Bool
    public var totalImages: Int { rows.compactMap(\.images).reduce(0, +) }
    public var flaggedChips: Int { rows.filter { !$0.flags.isEmpty }.count }

    public func resultsFile() -> ResultsFile {
        var attributes: [String: AttributeValue] = [
            "resilience_file": .string(resilienceFile), "resilience_checksum": .string(resilienceChecksum),
            "lot_file": .string(lotFile), "lot_checksum": .string(lotChecksum), "weights_checksum": .string(weightsChecksum),
            "target": .double(target), "policy": .string(policy),
            "interpolate": .int(interpolate ? 1 : 0), "total_epochs": .int(Int64(totalEpochs)),
            "flagged_chips": .int(Int64(flaggedChips)), "unreached_sentinel": .int(Self.unreachedSentinel),
            "rate_metric": .string(rateMetric),
        ]
        if let networkWidth { attributes["network_width"] = .double(networkWidth) }
        if let confidence { attributes["confidence"] = .double(confidence) }
        if let judgedImages { attributes["judged_images"] = .int(Int64(judgedImages)) }
        if let belowBaseline { attributes["below_baseline"] = .double(belowBaseline) }
        if let baselineAccuracy { attributes["baseline_accuracy"] = .double(baselineAccuracy) }
        attributes.merge(splits) { layout, _ in layout }
        let trainSubset: Int64? = { if case .int(let n)? = splits["train_subset"], n > 0 { return n }; return nil }()
        var columns: [ResultsColumn] = [
            .int64("chip", units: "index", rows.map { Int64($0.chip) }),
            .double("fault_rate", units: "1", rows.map(\.faultRate), description: "faulty PEs / (rows x cols)"),
        ]
        if imageBudgets {
            attributes["budget_unit"] = .string("images")
            attributes["total_images"] = .int(Int64(totalImages))
            columns += [
                .int64("budget_images", units: "images", rows.map { $0.images.map(Int64.init) ?? Self.unreachedSentinel },
                       description: "training images to give the chip (a scheduled amount of the resilience file); -1 = unreached"),
                .int64("budget_steps", units: "steps", rows.map { $0.steps.map(Int64.init) ?? Self.unreachedSentinel },
                       description: "optimizer steps of budget_images (whole batches); -1 = unreached"),
                .double("budget_epochs", units: "epochs", rows.map { r in r.images.map { Double($0) / Double(trainSubset ?? 1) } ?? .nan },
                        description: "budget_images / train_subset, a fraction; NaN = unreached"),
            ]
        } else {
            columns.append(.int64("budget_epochs", units: "epochs", rows.map { $0.epochs.map(Int64.init) ?? Self.unreachedSentinel },
                                  description: "FAT epochs to give the chip; -1 = unreached (no budget)"))
        }
        columns += [
            .string("flags", rows.map { $0.flags.joined(separator: ",") }, description: "above_range, unreached, comma-separated; empty = none"),
            .double("rate_low", units: "1", rows.map(\.rateLow), description: "measured rate the budget was read from (lower end if interpolated)"),
            .double("rate_high", units: "1", rows.map(\.rateHigh), description: "measured rate the budget was read from (upper end if interpolated)"),
        ]
        if !imageBudgets, let n = trainSubset {
            // The budget as an amount of training: a budget of e epochs is e
            // passes over the train_subset images the curves were trained on.
            columns.append(.int64("budget_images", units: "images", rows.map { $0.epochs.map { Int64($0) * n } ?? Self.unreachedSentinel },
                                  description: "training images: budget_epochs x train_subset; -1 = unreached"))
        }
        if rateMetric == "weights" {
            columns.append(.double("weight_share", units: "1", rows.map { $0.weightShare ?? .nan },
                                   description: "MAC-weighted pruned share of the chip's map: its coordinate under rate_metric weights"))
        }
        if policy == "confidence" {
            columns.append(.double("p_meet", units: "1", rows.map { $0.probability ?? .nan },
                                   description: "predicted probability that the chip meets the target at its budget (unreached: the best over the measured amounts)"))
            columns.append(.double("predicted_accuracy", units: "1", rows.map { $0.predictedAccuracy ?? .nan },
                                   description: "predicted mean accuracy of the chip at that amount"))
        }
        let table = ResultsTable(name: "per_chip", columns: columns,
                                 attributes: ["description": .string("per-chip FAT budget from the resilience table")])
        return ResultsFile(content: Self.content, attributes: attributes, tables: [table])
    }

    public func write(path: String, force: Bool) throws {
        try resultsFile().write(path: path, force: force)
    }

    public static func read(path: String) throws -> BudgetFile {
        let f = try ResultsReader(path: path, content: content)
        let policy = try f.string("policy")
        guard policies.contains(policy) else {
            throw FapsimError("\(path): /: attribute policy: expected max, mean or confidence, got \(policy)")
        }
        let confident = policy == "confidence"
        let confidence: Double? = confident ? try f.double("confidence") : nil
        let judgedImages: Int? = confident ? try f.int("judged_images") : nil
        if let c = confidence, !(c > 0 && c < 1) {
            throw FapsimError("\(path): /: attribute confidence: expected a probability in (0, 1), got \(c)")
        }
        if let n = judgedImages, n < 1 {
            throw FapsimError("\(path): /: attribute judged_images: expected a positive image count, got \(n)")
        }
        let metric = f.file.attributes["rate_metric"] == nil ? "pe" : try f.string("rate_metric")
        guard ["pe", "weights"].contains(metric) else {
            throw FapsimError("\(path): /: attribute rate_metric: expected pe or weights, got \(metric)")
        }
        let images: Bool
        switch f.file.attributes["budget_unit"] {
        case nil: images = false
        case .string("images")?: images = true
        case let other?: throw FapsimError.invalid(file: path, field: "/: attribute budget_unit", expected: "\"images\" (or absent: epochs)", got: "\(other)")
        }
        let t = try f.table("per_chip")
        // An image file's budget column is budget_images (budget_epochs is its fraction).
        let chip = try f.ints(t, "chip"), rate = try f.doubles(t, "fault_rate"), epochs = try f.ints(t, images ? "budget_images" : "budget_epochs")
        let steps: [Int64]? = images ? try f.ints(t, "budget_steps") : nil
        let flags = try f.strings(t, "flags"), lo = try f.doubles(t, "rate_low"), hi = try f.doubles(t, "rate_high")
        let shares: [Double]? = metric == "weights" ? try f.doubles(t, "weight_share") : nil
        let pMeet: [Double]? = confident ? try f.doubles(t, "p_meet") : nil
        let predicted: [Double]? = confident ? try f.doubles(t, "predicted_accuracy") : nil
        let rows = try (0..<chip.count).map { i -> Row in
            let list = flags[i].split(separator: ",").map(String.init)
            let set = Set(list)
            guard set.isSubset(of: knownFlags), epochs[i] >= unreachedSentinel,
                  (epochs[i] == unreachedSentinel) == set.contains("unreached") else {
                throw f.malformed(t, "row \(i): \(images ? "budget_images" : "budget_epochs") \(epochs[i]) with flags \"\(flags[i])\" (-1 exactly when unreached)")
            }
            let value = epochs[i] < 0 ? nil : Int(epochs[i])
            var row = Row(chip: Int(chip[i]), faultRate: rate[i], epochs: images ? nil : value, flags: list,
                          rateLow: lo[i], rateHigh: hi[i], weightShare: shares?[i], probability: pMeet?[i],
                          predictedAccuracy: predicted?[i])
            if images {
                row.images = value
                row.steps = steps.flatMap { $0[i] < 0 ? nil : Int($0[i]) }
            }
            return row
        }
        var file = BudgetFile(resilienceFile: try f.string("resilience_file"), resilienceChecksum: try f.string("resilience_checksum"),
                          lotFile: try f.string("lot_file"), lotChecksum: try f.string("lot_checksum"),
                          weightsChecksum: try f.string("weights_checksum"), target: try f.double("target"), policy: policy,
                          interpolate: try f.int("interpolate") != 0, rateMetric: metric,
                          networkWidth: f.file.attributes["network_width"] == nil ? nil : try f.double("network_width"),
                          confidence: confidence, judgedImages: judgedImages,
                          splits: f.file.attributes.filter { splitKeys.contains($0.key) }, rows: rows, imageBudgets: images)
        if f.file.attributes["below_baseline"] != nil {
            file.belowBaseline = try f.double("below_baseline")
            file.baselineAccuracy = try f.double("baseline_accuracy")
        }
        return file
    }
}
