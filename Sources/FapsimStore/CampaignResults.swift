import Foundation
import FapsimSupport

/// Step 3's outcome: for every chip under every policy (Reduce's "max" and
/// "mean", fixed budgets "fixed-1", "fixed-5", ...), the epochs it was trained
/// and the accuracy it ended with. Stored as a `fapsim.results` file with
/// `content` = "campaign" (docs/reduce.md); the campaign runner (Reduce's
/// `Campaign`) fills it. The store owns the layout and its checks; Reduce
/// adds the per-policy summary.
public struct CampaignResults: Equatable, Sendable {
    public struct Row: Equatable, Sendable {
        public var chip: Int
        public var policy: String
        public var faultRate: Double
        public var epochsSpent: Int
        public var finalAccuracy: Double
        /// The budget's flags (`above_range`, `unreached`, comma-separated;
        /// empty = none). An unreached chip was given the resilience file's E epochs.
        public var flags: String
        /// Training images the policy's amount went through (`images_spent`);
        /// nil in files of earlier versions.
        public var imagesSpent: Int?
        /// Images evaluated to decide the chip's amount while training
        /// (`eval_images_spent`: the adaptive policy's validation checks; 0
        /// for budgets fixed before training); nil in files of earlier versions.
        public var evalImagesSpent: Int?
        /// Under the confidence policy: the predicted probability that the
        /// chip meets the constraint at its budget (`p_meet`); nil otherwise.
        public var predictedProbability: Double? = nil

        public init(chip: Int, policy: String, faultRate: Double, epochsSpent: Int, finalAccuracy: Double, flags: String = "",
                    imagesSpent: Int? = nil, evalImagesSpent: Int? = nil, predictedProbability: Double? = nil) {
            self.predictedProbability = predictedProbability
            self.imagesSpent = imagesSpent
            self.evalImagesSpent = evalImagesSpent
            self.chip = chip
            self.policy = policy
            self.faultRate = faultRate
            self.epochsSpent = epochsSpent
            self.finalAccuracy = finalAccuracy
            self.flags = flags
        }
    }

    /// One FAT run of a chip: the test accuracy after 0...runEpochs epochs
    /// (epoch 0 = FAP alone). With the constant schedule a chip has one run, of
    /// the largest count any policy gave it; otherwise one per distinct count.
    public struct Curve: Equatable, Sendable {
        public var chip: Int
        public var runEpochs: Int
        public var accuracy: [Double]

        public init(chip: Int, runEpochs: Int, accuracy: [Double]) {
            self.chip = chip
            self.runEpochs = runEpochs
            self.accuracy = accuracy
        }
    }

    /// The accuracy constraint, a fraction.
    public var target: Double
    public var rows: [Row]
    /// Per chip, its accuracy curve(s); empty for results made without them.
    public var curves: [Curve]
    /// Provenance (lot_file, lot_checksum, weights_checksum, ...), stored as root attributes.
    public var attributes: [String: AttributeValue]

    public static let content = "campaign"
    /// Root attributes of a `fapsim reduce` run: the chips it covers (`0-24`,
    /// `0-4,7`), 1 when that is not the whole lot, and the lot's chip count.
    public static let chipsAttribute = "chips"
    public static let partialAttribute = "partial"
    public static let lotChipsAttribute = "lot_chips"

    public init(target: Double, rows: [Row], curves: [Curve] = [], attributes: [String: AttributeValue] = [:],
                source: String = "campaign results") throws {
        self.target = target
        self.rows = rows
        self.curves = curves
        self.attributes = attributes
        try validate(source: source)
    }

    /// Derived rather than stored in memory so it can never disagree with the
    /// accuracy; the file stores it too, for pandas.
    public func met(_ row: Row) -> Bool { row.finalAccuracy >= target }

    /// Policies in order of first appearance.
    public var policies: [String] {
        var seen = Set<String>()
        return rows.map(\.policy).filter { seen.insert($0).inserted }
    }

    public func validate(source: String) throws {
        guard target > 0, target <= 1 else { throw FapsimError.invalid(file: source, field: "target", expected: "a fraction in (0, 1]", got: "\(target)") }
        var seen = Set<String>()
        for (i, r) in rows.enumerated() {
            let at = "row \(i) (chip \(r.chip), policy \(r.policy))"
            guard r.chip >= 0, !r.policy.isEmpty else { throw FapsimError.invalid(file: source, field: at, expected: "chip >= 0 and a policy name") }
            guard r.faultRate >= 0, r.faultRate <= 1 else { throw FapsimError.invalid(file: source, field: at + " fault_rate", expected: "[0, 1]", got: "\(r.faultRate)") }
            guard r.epochsSpent >= 0 else { throw FapsimError.invalid(file: source, field: at + " epochs_spent", expected: ">= 0", got: "\(r.epochsSpent)") }
            guard r.finalAccuracy >= 0, r.finalAccuracy <= 1 else {
                throw FapsimError.invalid(file: source, field: at + " final_accuracy", expected: "a fraction in [0, 1]", got: "\(r.finalAccuracy)")
            }
            guard seen.insert("\(r.chip)/\(r.policy)").inserted else { throw FapsimError("\(source): \(at) appears twice") }
        }
        var runs = Set<String>()
        for c in curves {
            let at = "curve (chip \(c.chip), \(c.runEpochs)-epoch run)"
            guard c.chip >= 0, c.runEpochs >= 0, c.accuracy.count == c.runEpochs + 1 else {
                throw FapsimError.invalid(file: source, field: at, expected: "\(c.runEpochs + 1) accuracies (epochs 0...\(c.runEpochs))", got: "\(c.accuracy.count)")
            }
            if let bad = c.accuracy.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
                throw FapsimError.invalid(file: source, field: at + " epoch \(bad)", expected: "an accuracy fraction in [0, 1]", got: "\(c.accuracy[bad])")
            }
            guard runs.insert("\(c.chip)/\(c.runEpochs)").inserted else { throw FapsimError("\(source): \(at) appears twice") }
        }
    }

    /// The chips with rows, sorted.
    public var chips: [Int] { Array(Set(rows.map(\.chip))).sorted() }

    public func resultsFile() -> ResultsFile {
        var attrs = attributes
        attrs["target"] = .double(target)
        attrs["policies"] = .strings(policies)
        return ResultsFile(content: Self.content, attributes: attrs, tables: [ResultsTable(name: "per_chip", columns: [
            .int64("chip", units: "index", rows.map { Int64($0.chip) }),
            .string("policy", rows.map(\.policy)),
            .double("fault_rate", units: "1", rows.map(\.faultRate)),
            .int64("epochs_spent", units: "epochs", rows.map { Int64($0.epochsSpent) }),
            .double("final_accuracy", units: "1", rows.map(\.finalAccuracy)),
            .int64("met_constraint", units: "1", rows.map { met($0) ? 1 : 0 }, description: "1 = final_accuracy >= target"),
            .string("flags", rows.map(\.flags), description: "budget flags: above_range, unreached (given the resilience file's E epochs); empty = none"),
        ] + (!rows.isEmpty && rows.allSatisfy { $0.imagesSpent != nil }
             ? [.int64("images_spent", units: "images", rows.map { Int64($0.imagesSpent!) },
                       description: "training images the policy's amount went through (epochs_spent = its whole epochs)")] : [])
          + (!rows.isEmpty && rows.allSatisfy { $0.evalImagesSpent != nil }
             ? [.int64("eval_images_spent", units: "images", rows.map { Int64($0.evalImagesSpent!) },
                       description: "images evaluated to decide the amount while training (adaptive: validation images x checks); 0 = budget fixed before training")] : [])
          + (rows.contains { $0.predictedProbability != nil }
             ? [.double("p_meet", units: "1", rows.map { $0.predictedProbability ?? .nan },
                        description: "confidence policy: predicted probability of meeting the constraint at the budget; NaN for other policies")] : []),
        attributes: ["description": .string("one row per (chip, policy)")])] + curveTables())
    }

    private func curveTables() -> [ResultsTable] {
        guard !curves.isEmpty else { return [] }
        var chip: [Int64] = [], run: [Int64] = [], epoch: [Int64] = [], acc: [Double] = []
        for c in curves {
            for (e, a) in c.accuracy.enumerated() {
                chip.append(Int64(c.chip)); run.append(Int64(c.runEpochs)); epoch.append(Int64(e)); acc.append(a)
            }
        }
        return [ResultsTable(name: "curves", columns: [
            .int64("chip", units: "index", chip),
            .int64("run_epochs", units: "epochs", run, description: "length of the FAT run the point comes from"),
            .int64("epoch", units: "epochs", epoch, description: "FAT epochs done; 0 = FAP only"),
            .double("accuracy", units: "1", acc, description: "test accuracy (fraction)"),
        ], attributes: ["description": .string("per chip, test accuracy after every epoch of its FAT run(s)")])]
    }

    public func write(path: String, force: Bool) throws {
        try validate(source: path)
        for key in attributes.keys where ["target", "policies"].contains(key) {
            throw FapsimError("\(path): attribute '\(key)' is written from the results themselves")
        }
        try resultsFile().write(path: path, force: force)
    }

    public static func read(path: String) throws -> CampaignResults {
        let f = try ResultsReader(path: path, content: content)
        let t = try f.table("per_chip")
        let chip = try f.ints(t, "chip"), policy = try f.strings(t, "policy"), rate = try f.doubles(t, "fault_rate")
        let spent = try f.ints(t, "epochs_spent"), acc = try f.doubles(t, "final_accuracy"), met = try f.ints(t, "met_constraint")
        let target = try f.double("target")
        // Files written before the flags column and the curves table read as "no flags, no curves".
        let flags = t["flags"] == nil ? [String](repeating: "", count: chip.count) : try f.strings(t, "flags")
        guard [policy.count, rate.count, spent.count, acc.count, met.count, flags.count].allSatisfy({ $0 == chip.count }) else {
            throw f.malformed(t, "columns of different lengths")
        }
        // Files written before images_spent read without it.
        let images = t["images_spent"] == nil ? nil : try f.ints(t, "images_spent")
        if let images, images.count != chip.count { throw f.malformed(t, "columns of different lengths") }
        let evals = t["eval_images_spent"] == nil ? nil : try f.ints(t, "eval_images_spent")
        if let evals, evals.count != chip.count { throw f.malformed(t, "columns of different lengths") }
        let pMeet = t["p_meet"] == nil ? nil : try f.doubles(t, "p_meet")
        if let pMeet, pMeet.count != chip.count { throw f.malformed(t, "columns of different lengths") }
        let rows = (0..<chip.count).map { i in
            Row(chip: Int(chip[i]), policy: policy[i], faultRate: rate[i], epochsSpent: Int(spent[i]),
                finalAccuracy: acc[i], flags: flags[i], imagesSpent: images.map { Int($0[i]) },
                evalImagesSpent: evals.map { Int($0[i]) }, predictedProbability: pMeet.flatMap { $0[i].isNaN ? nil : $0[i] })
        }
        let curves = try readCurves(f) ?? []
        var attrs = f.file.attributes
        attrs["target"] = nil
        attrs["policies"] = nil
        let results = try CampaignResults(target: target, rows: rows, curves: curves, attributes: attrs, source: path + ": /per_chip")
        if let bad = rows.indices.first(where: { (met[$0] != 0) != results.met(rows[$0]) }) {
            throw f.malformed(t, "row \(bad): met_constraint \(met[bad]) disagrees with final_accuracy \(acc[bad]) and target \(target)")
        }
        return results
    }

    /// Only the `curves` table of a campaign file (nil when it has none, as
    /// files written before it), checked: per (chip, run), epochs 0, 1, 2, ...
    public static func readCurves(path: String) throws -> [Curve]? {
        try readCurves(try ResultsReader(path: path, content: content))
    }

    private static func readCurves(_ f: ResultsReader) throws -> [Curve]? {
        guard let ct = f.file[table: "curves"] else { return nil }
        var curves: [Curve] = []
        let cc = try f.ints(ct, "chip"), run = try f.ints(ct, "run_epochs"), ep = try f.ints(ct, "epoch"), ca = try f.doubles(ct, "accuracy")
        var i = 0
        while i < cc.count {
            var j = i
            while j < cc.count && cc[j] == cc[i] && run[j] == run[i] { j += 1 }
            guard (i..<j).allSatisfy({ ep[$0] == Int64($0 - i) }) else {
                throw f.malformed(ct, "row \(i): chip \(cc[i]), run of \(run[i]) epochs: expected epochs 0, 1, 2, ... in order")
            }
            curves.append(Curve(chip: Int(cc[i]), runEpochs: Int(run[i]), accuracy: Array(ca[i..<j])))
            i = j
        }
        for c in curves where c.accuracy.count != c.runEpochs + 1 {
            throw f.malformed(ct, "chip \(c.chip): the \(c.runEpochs)-epoch run has \(c.accuracy.count) of \(c.runEpochs + 1) points")
        }
        return curves
    }
}
