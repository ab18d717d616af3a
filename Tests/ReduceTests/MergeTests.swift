import Foundation
import Testing
import FapsimStore
import FapsimSupport
@testable import Reduce

/// `CampaignMerge` on hand-made parts: order, identity, overlaps, completeness.
struct MergeTests {
    static let policies = ["max", "fixed-1"]

    /// A campaign part over `chips` of a `lot`-chip lot, stamped with `seed`.
    func part(_ chips: [Int], lot: Int = 6, seed: String = "1", dir: TemporaryDirectory, name: String) throws -> String {
        var rows: [CampaignResults.Row] = []
        var curves: [CampaignResults.Curve] = []
        for c in chips {
            for (i, p) in Self.policies.enumerated() {
                rows.append(.init(chip: c, policy: p, faultRate: Double(c) / 100, epochsSpent: 3 - 2 * i,
                                  finalAccuracy: 0.5 + Double(c) / 100 + Double(i) / 1000, flags: c == 5 && i == 0 ? "unreached" : ""))
            }
            curves.append(.init(chip: c, runEpochs: 3, accuracy: [0.1, 0.2, 0.3, 0.4].map { $0 + Double(c) / 100 }))
        }
        let attrs: [String: AttributeValue] = ["run_seed": .string(seed), "run_lot_checksum": .string("feed"),
                                               "lot_chips": .int(Int64(lot)), "chips": .string(UnitIndices.compress(chips)),
                                               "partial": .int(chips.count == lot ? 0 : 1)]
        let path = dir.file(name)
        try CampaignResults(target: 0.55, rows: rows, curves: curves, attributes: attrs).write(path: path, force: false)
        return path
    }

    @Test func splitPartsMergeToTheWhole() throws {
        let dir = try TemporaryDirectory()
        let whole = try CampaignResults.read(path: try part(Array(0..<6), dir: dir, name: "all.h5"))
        let a = try part([0, 1, 2], dir: dir, name: "a.h5"), b = try part([3, 4], dir: dir, name: "b.h5"), c = try part([5], dir: dir, name: "c.h5")
        // Any order of the parts gives the one-run file.
        #expect(try CampaignMerge.merge(parts: [c, a, b], allowPartial: false) == whole)
        #expect(try CampaignMerge.merge(parts: [a, b, c], allowPartial: false) == whole)
    }

    @Test func refusals() throws {
        let dir = try TemporaryDirectory()
        let a = try part([0, 1, 2], dir: dir, name: "a.h5"), b = try part([2, 3, 4, 5], dir: dir, name: "b.h5")
        let other = try part([3, 4, 5], seed: "2", dir: dir, name: "other.h5")
        let rest = try part([3, 4], dir: dir, name: "rest.h5")
        #expect(errorMessage { _ = try CampaignMerge.merge(parts: [a, other], allowPartial: false) }
                == "\(other): run_seed: parts of different runs (seed 1 in \(a), 2 in \(other)); merge only the parts of one fapsim reduce run")
        #expect(errorMessage { _ = try CampaignMerge.merge(parts: [a, b], allowPartial: false) }
                == "overlapping chip ranges: chips 2 are in both \(a) and \(b)")
        #expect(errorMessage { _ = try CampaignMerge.merge(parts: [a, rest], allowPartial: false) }?
                .hasPrefix("incomplete merge: chips 5 of the lot's 6 are in none of the 2 parts") == true)
        let partial = try CampaignMerge.merge(parts: [rest, a], allowPartial: true)
        #expect(partial.chips == [0, 1, 2, 3, 4])
        #expect(partial.attributes["chips"] == .string("0-4") && partial.attributes["partial"] == .int(1))
        // A campaign without run identity (not from fapsim reduce) cannot be checked.
        try CampaignFixture.results().write(path: dir.file("fixture.h5"), force: false)
        #expect(errorMessage { _ = try CampaignMerge.merge(parts: [dir.file("fixture.h5"), a], allowPartial: true) }?.contains("no run_* attributes") == true)
    }
}
