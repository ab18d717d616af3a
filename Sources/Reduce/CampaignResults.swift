import Foundation
import FapsimStore
import FapsimSupport

/// Step 3's outcome: for every chip under every policy (Reduce's "max" and
/// "mean", fixed budgets "fixed-1", "fixed-5", ...), the epochs it was trained
/// and the accuracy it ended with. Stored as a `fapsim.results` file with
/// `content` = "campaign" (docs/reduce.md); the campaign runner fills it.
public struct CampaignResults: Equatable, Sendable {
    public struct Row: Equatable, Sendable {
        public var chip: Int
        public var policy: String
        public var faultRate: Double
        public var epochsSpent: Int
        public var finalAccuracy: Double

        public init(chip: Int, policy: String, faultRate: Double, epochsSpent: Int, finalAccuracy: Double) {
            self.chip = chip
            self.policy = policy
            self.faultRate = faultRate
            self.epochsSpent = epochsSpent
            self.finalAccuracy = finalAccuracy
        }
    }

    /// The accuracy constraint, a fraction.
    public var target: Double
    public var rows: [Row]
    /// Provenance (lot_file, lot_checksum, weights_checksum, ...), stored as root attributes.
    public var attributes: [String: AttributeValue]

    public static let content = "campaign"

    public init(target: Double, rows: [Row], attributes: [String: AttributeValue] = [:], source: String = "campaign results") throws {
        self.target = target
        self.rows = rows
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

    public func rows(policy: String) -> [Row] { rows.filter { $0.policy == policy } }

    /// Per policy: chips, chips meeting the constraint, total epochs spent.
    public func summary() -> [(policy: String, chips: Int, met: Int, totalEpochs: Int, meanAccuracy: Double)] {
        policies.map { p in
            let r = rows(policy: p)
            return (p, r.count, r.filter(met).count, r.map(\.epochsSpent).reduce(0, +),
                    r.map(\.finalAccuracy).reduce(0, +) / Double(r.count))
        }
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
    }

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
        ], attributes: ["description": .string("one row per (chip, policy)")])])
    }

    public func write(path: String, force: Bool) throws {
        try validate(source: path)
        for key in attributes.keys where ["target", "policies"].contains(key) {
            throw FapsimError("\(path): attribute '\(key)' is written from the results themselves")
        }
        try resultsFile().write(path: path, force: force)
    }

    public static func read(path: String) throws -> CampaignResults {
        let f = try ResultsReading(path: path, content: content)
        let t = try f.table("per_chip")
        let chip = try f.ints(t, "chip"), policy = try f.strings(t, "policy"), rate = try f.doubles(t, "fault_rate")
        let spent = try f.ints(t, "epochs_spent"), acc = try f.doubles(t, "final_accuracy"), met = try f.ints(t, "met_constraint")
        let target = try f.double("target")
        let rows = (0..<chip.count).map { Row(chip: Int(chip[$0]), policy: policy[$0], faultRate: rate[$0], epochsSpent: Int(spent[$0]), finalAccuracy: acc[$0]) }
        var attrs = f.file.attributes
        attrs["target"] = nil
        attrs["policies"] = nil
        let results = try CampaignResults(target: target, rows: rows, attributes: attrs, source: path + ": /per_chip")
        if let bad = rows.indices.first(where: { (met[$0] != 0) != results.met(rows[$0]) }) {
            throw f.malformed(t, "row \(bad): met_constraint \(met[bad]) disagrees with final_accuracy \(acc[bad]) and target \(target)")
        }
        return results
    }
}
