import FapsimSupport

// The small files of a resumable run's work directory (`OUT.work/`,
// docs/reduce.md): one per finished unit, plus the baseline. They are
// `fapsim.results` files; the run identity (`run_<key>` attributes) is added
// and checked by Reduce's `WorkDir`, the rest of the layout is here.

/// A finished unit of `fapsim resilience` (`unit-<u>.h5`): one (rate, repeat)
/// fault map and its FAT curve.
public struct ResilienceUnitFile: Equatable, Sendable {
    public static let content = "resilience-unit"

    public var unit: Int
    public var rateIndex: Int
    public var repeatIndex: Int
    public var faultRate: Double
    public var faultyPEs: Int
    public var faultMapChecksum: String
    /// MAC-weighted pruned share of the map.
    public var weightShare: Double
    public var trainImages: Int
    public var testImages: Int
    /// The `curve` table: epoch 0 (FAP alone) to E; with `amounts`, the
    /// whole epochs the image schedule went through.
    public var history: TrainingHistory
    /// The `amounts` table of a unit measured at an image schedule
    /// (`fapsim resilience --amounts`); nil for an epoch unit.
    public var amounts: AmountsTable?

    public init(unit: Int, rateIndex: Int, repeatIndex: Int, faultRate: Double, faultyPEs: Int, faultMapChecksum: String,
                weightShare: Double, trainImages: Int, testImages: Int, history: TrainingHistory, amounts: AmountsTable? = nil) {
        self.amounts = amounts
        self.unit = unit
        self.rateIndex = rateIndex
        self.repeatIndex = repeatIndex
        self.faultRate = faultRate
        self.faultyPEs = faultyPEs
        self.faultMapChecksum = faultMapChecksum
        self.weightShare = weightShare
        self.trainImages = trainImages
        self.testImages = testImages
        self.history = history
    }

    public func resultsFile() -> ResultsFile {
        ResultsFile(content: Self.content, attributes: [
            "unit": .int(Int64(unit)), "rate_index": .int(Int64(rateIndex)), "repeat": .int(Int64(repeatIndex)),
            "fault_rate": .double(faultRate), "faulty_pes": .int(Int64(faultyPEs)),
            "fault_map_checksum": .string(faultMapChecksum), "weight_share": .double(weightShare),
            "train_images": .int(Int64(trainImages)), "test_images": .int(Int64(testImages)),
        ], tables: [history.curveTable()] + (amounts.map { [$0.table()] } ?? []))
    }

    /// Parses a unit file read from `path`: an epoch unit's curve must have
    /// `epochs` + 1 points; with `amounts` (the image schedule asked for) the
    /// unit's `amounts` table must hold exactly those amounts.
    public static func parse(_ f: ResultsFile, path: String, epochs: Int, amounts: [Int]? = nil) throws -> ResilienceUnitFile {
        let what = amounts.map { "an amounts table of \($0.count) amounts" } ?? "\(epochs + 1) test accuracies"
        let damaged = FapsimError("\(path): /curve: expected \(what) and the unit's attributes (a damaged unit file; delete it to recompute the unit)")
        func int(_ k: String) throws -> Int { guard case .int(let v)? = f.attributes[k] else { throw damaged }; return Int(v) }
        func double(_ k: String) throws -> Double { guard case .double(let v)? = f.attributes[k] else { throw damaged }; return v }
        guard let t = f[table: "curve"], let history = try? TrainingHistory.read(t, source: path),
              amounts != nil || history.count == epochs + 1,
              case .string(let sum)? = f.attributes["fault_map_checksum"] else { throw damaged }
        var table: AmountsTable?
        if let amounts {
            guard let at = f[table: "amounts"], let a = try? AmountsTable.read(at, source: path),
                  a.images == amounts.map(Int64.init) else { throw damaged }
            table = a
        }
        return ResilienceUnitFile(unit: try int("unit"), rateIndex: try int("rate_index"), repeatIndex: try int("repeat"),
                                  faultRate: try double("fault_rate"), faultyPEs: try int("faulty_pes"), faultMapChecksum: sum,
                                  weightShare: try double("weight_share"), trainImages: try int("train_images"),
                                  testImages: try int("test_images"), history: history, amounts: table)
    }
}

/// A finished chip of `fapsim reduce` (`chip-<c>.h5`): its budget and final
/// accuracy under every policy (`policies` table) and its FAT runs (`curves`).
public struct CampaignUnitFile: Equatable, Sendable {
    public static let content = "campaign-unit"

    public struct Policy: Equatable, Sendable {
        public var policy: String
        public var epochsSpent: Int
        public var finalAccuracy: Double
        public var flags: String
        /// Training images the policy's amount went through; nil in unit
        /// files of earlier versions.
        public var imagesSpent: Int?
        /// Images evaluated while training to decide the amount (the
        /// adaptive policy's checks); nil in unit files of earlier versions.
        public var evalImagesSpent: Int?
        /// The confidence policy's predicted probability of meeting the target.
        public var predictedProbability: Double? = nil

        public init(policy: String, epochsSpent: Int, finalAccuracy: Double, flags: String, imagesSpent: Int? = nil,
                    evalImagesSpent: Int? = nil, predictedProbability: Double? = nil) {
            self.predictedProbability = predictedProbability
            self.imagesSpent = imagesSpent
            self.evalImagesSpent = evalImagesSpent
            self.policy = policy
            self.epochsSpent = epochsSpent
            self.finalAccuracy = finalAccuracy
            self.flags = flags
        }
    }

    /// One FAT run of the chip: test accuracy (and seconds) after epochs 0...runEpochs.
    public struct Run: Equatable, Sendable {
        public var runEpochs: Int
        public var accuracy: [Double]
        /// Wall time per epoch (not read back: results do not depend on it).
        public var seconds: [Double]

        public init(runEpochs: Int, accuracy: [Double], seconds: [Double]) {
            self.runEpochs = runEpochs
            self.accuracy = accuracy
            self.seconds = seconds
        }
    }

    public var chip: Int
    public var faultyPEs: Int
    public var faultRate: Double
    public var faultMapChecksum: String
    public var trainImages: Int
    public var testImages: Int
    public var policies: [Policy]
    public var runs: [Run]

    public init(chip: Int, faultyPEs: Int, faultRate: Double, faultMapChecksum: String, trainImages: Int, testImages: Int,
                policies: [Policy], runs: [Run]) {
        self.chip = chip
        self.faultyPEs = faultyPEs
        self.faultRate = faultRate
        self.faultMapChecksum = faultMapChecksum
        self.trainImages = trainImages
        self.testImages = testImages
        self.policies = policies
        self.runs = runs
    }

    public func resultsFile() -> ResultsFile {
        ResultsFile(content: Self.content, attributes: [
            "chip": .int(Int64(chip)), "faulty_pes": .int(Int64(faultyPEs)), "fault_rate": .double(faultRate),
            "fault_map_checksum": .string(faultMapChecksum),
            "train_images": .int(Int64(trainImages)), "test_images": .int(Int64(testImages)),
        ], tables: [
            ResultsTable(name: "policies", columns: [
                .string("policy", policies.map(\.policy)),
                .int64("epochs_spent", units: "epochs", policies.map { Int64($0.epochsSpent) }),
                .double("final_accuracy", units: "1", policies.map(\.finalAccuracy)),
                .string("flags", policies.map(\.flags)),
            ] + (policies.allSatisfy { $0.imagesSpent != nil }
                 ? [.int64("images_spent", units: "images", policies.map { Int64($0.imagesSpent!) })] : [])
               + (policies.allSatisfy { $0.evalImagesSpent != nil }
                  ? [.int64("eval_images_spent", units: "images", policies.map { Int64($0.evalImagesSpent!) })] : [])
               + (policies.contains { $0.predictedProbability != nil }
                  ? [.double("p_meet", units: "1", policies.map { $0.predictedProbability ?? .nan })] : [])),
            ResultsTable(name: "curves", columns: [
                .int64("run_epochs", units: "epochs", runs.flatMap { r in r.accuracy.map { _ in Int64(r.runEpochs) } }),
                .int64("epoch", units: "epochs", runs.flatMap { $0.accuracy.indices.map(Int64.init) }),
                .double("accuracy", units: "1", runs.flatMap(\.accuracy)),
                .double("seconds", units: "s", runs.flatMap(\.seconds)),
            ]),
        ])
    }

    /// Parses a chip file read from `path` (seconds are not read back).
    public static func parse(_ f: ResultsFile, path: String) throws -> CampaignUnitFile {
        guard case .int(let chip)? = f.attributes["chip"], case .int(let faulty)? = f.attributes["faulty_pes"],
              case .double(let rate)? = f.attributes["fault_rate"], case .string(let sum)? = f.attributes["fault_map_checksum"],
              let pt = f[table: "policies"], let ct = f[table: "curves"],
              case .string(let names)? = pt["policy"]?.values, case .int64(let spent)? = pt["epochs_spent"]?.values,
              case .double(let acc)? = pt["final_accuracy"]?.values, case .string(let flags)? = pt["flags"]?.values,
              [spent.count, acc.count, flags.count].allSatisfy({ $0 == names.count }),
              case .int64(let runEpochs)? = ct["run_epochs"]?.values, case .int64(let epoch)? = ct["epoch"]?.values,
              case .double(let curveAcc)? = ct["accuracy"]?.values, runEpochs.count == epoch.count, curveAcc.count == epoch.count,
              case .int(let trainN)? = f.attributes["train_images"], case .int(let testN)? = f.attributes["test_images"] else {
            throw FapsimError("\(path): expected a chip's policies and curves tables (a damaged unit file; delete it to recompute the chip)")
        }
        var images: [Int64]?
        if case .int64(let v)? = pt["images_spent"]?.values, v.count == names.count { images = v }
        var pMeet: [Double]?
        if case .double(let v)? = pt["p_meet"]?.values, v.count == names.count { pMeet = v }
        var evals: [Int64]?
        if case .int64(let v)? = pt["eval_images_spent"]?.values, v.count == names.count { evals = v }
        var runs: [Run] = []
        var i = 0
        while i < runEpochs.count {
            var j = i
            while j < runEpochs.count && runEpochs[j] == runEpochs[i] { j += 1 }
            guard (i..<j).allSatisfy({ epoch[$0] == Int64($0 - i) }) else { throw FapsimError("\(path): /curves: epochs out of order") }
            runs.append(Run(runEpochs: Int(runEpochs[i]), accuracy: Array(curveAcc[i..<j]), seconds: []))
            i = j
        }
        return CampaignUnitFile(chip: Int(chip), faultyPEs: Int(faulty), faultRate: rate, faultMapChecksum: sum,
                                trainImages: Int(trainN), testImages: Int(testN),
                                policies: names.indices.map { i in
                                    Policy(policy: names[i], epochsSpent: Int(spent[i]), finalAccuracy: acc[i], flags: flags[i],
                                           imagesSpent: images.map { Int($0[i]) }, evalImagesSpent: evals.map { Int($0[i]) },
                                           predictedProbability: pMeet.flatMap { $0[i].isNaN ? nil : $0[i] })
                                },
                                runs: runs)
    }
}

/// `baseline.h5` of a work directory: the weights' fault-free accuracy on the
/// run's test subset, measured once per run.
public struct BaselineFile: Equatable, Sendable {
    public static let content = "baseline"

    public var accuracy: Double
    public var correct: Int
    public var images: Int

    public init(accuracy: Double, correct: Int, images: Int) {
        self.accuracy = accuracy
        self.correct = correct
        self.images = images
    }

    public func resultsFile() -> ResultsFile {
        ResultsFile(content: Self.content, attributes: ["accuracy": .double(accuracy), "correct": .int(Int64(correct)),
                                                        "images": .int(Int64(images))])
    }

    /// The accuracy of a baseline file (nil when it has none: measure again).
    public static func accuracy(of f: ResultsFile) -> Double? {
        if case .double(let a)? = f.attributes["accuracy"] { return a }
        return nil
    }
}
