import Foundation
import Testing
import FapsimStore
import FapsimSupport
@testable import Reduce

/// A small resilience table whose epochs needed are known by construction:
/// 10 x 10 array (rates 0.1 ... 0.4 = 10 ... 40 faulty PEs), 3 repeats, 4 epochs.
/// For target 0.8 the repeats first reach it at
///   rate 0.1: 0, 1, 1      rate 0.2: 1, 2, 3
///   rate 0.3: 2, 4, never  rate 0.4: never x 3
/// and target 0.9 is never reached.
enum ResilienceFixture {
    static let reachAt: [[Int?]] = [[0, 1, 1], [1, 2, 3], [2, 4, nil], [nil, nil, nil]]

    /// Below 0.8 (at most 0.76) until `reachAt`, 0.85 from then on.
    static func curve(reachAt: Int?, epochs: Int = 4) -> [Double] {
        (0...epochs).map { k in reachAt.map { k >= $0 } == true ? 0.85 : 0.60 + 0.04 * Double(k) }
    }

    static let provenance = ResilienceProvenance(weightsChecksum: "0123456789abcdef", weightsFile: "w.h5", rows: 10, cols: 10,
                                                 configName: "tiny", trainSubset: 512, testSubset: 256, seed: 18_000_000_000_000_000_001)

    static func table(rows: Int = 10, cols: Int = 10) throws -> ResilienceTable {
        var p = provenance
        p.rows = rows
        p.cols = cols
        return try ResilienceTable(rates: [0.1, 0.2, 0.3, 0.4], repeats: 3, epochs: 4,
                                   accuracy: reachAt.map { $0.map { curve(reachAt: $0) } },
                                   targets: [0.8, 0.9], provenance: p)
    }
}

struct ResilienceTableTests {
    @Test func epochsNeededIsTheFirstEpochAtOrAboveTheTarget() {
        #expect(ResilienceTable.epochsNeeded(curve: [0.80, 0.70, 0.90], target: 0.8) == 0)  // FAP alone suffices
        #expect(ResilienceTable.epochsNeeded(curve: [0.50, 0.79, 0.81, 0.70], target: 0.8) == 2)
        #expect(ResilienceTable.epochsNeeded(curve: [0.50, 0.79], target: 0.8) == nil)
        #expect(ResilienceTable.epochsNeeded(curve: [0.5], target: 0.5) == 0)
        // An accuracy computed as correct / total equals the decimal target exactly.
        #expect(ResilienceTable.epochsNeeded(curve: [849.0 / 1000, 850.0 / 1000], target: 0.85) == 1)
    }

    @Test func minMeanMaxOverRepeats() throws {
        let s = try ResilienceFixture.table().epochsNeeded(target: 0.8)
        #expect(s.map(\.min) == [0, 1, 2, nil])
        #expect(s.map(\.max) == [1, 3, nil, nil])
        #expect(s.map(\.reachedCount) == [3, 3, 2, 0])
        #expect(abs(s[0].mean! - 2.0 / 3) < 1e-12)
        #expect(s[1].mean == 2)
        // A partly unreached rate has a min but no mean or max.
        #expect(s[2].mean == nil && s[2].perRepeat == [2, 4, nil])
        #expect(s[3].mean == nil && s[3].min == nil)
        let never = try ResilienceFixture.table().epochsNeeded(target: 0.9)
        #expect(never.allSatisfy { $0.reachedCount == 0 && $0.min == nil })
    }

    @Test func rejectsInconsistentTables() {
        let p = ResilienceFixture.provenance
        let c = ResilienceFixture.curve(reachAt: 1)
        let cases: [(() throws -> ResilienceTable, [String])] = [
            ({ try ResilienceTable(rates: [], repeats: 1, epochs: 4, accuracy: [], targets: [0.8], provenance: p) }, ["rates", "empty"]),
            ({ try ResilienceTable(rates: [0.2, 0.1], repeats: 1, epochs: 4, accuracy: [[c], [c]], targets: [0.8], provenance: p) }, ["increasing"]),
            ({ try ResilienceTable(rates: [0.1], repeats: 1, epochs: 4, accuracy: [[c]], targets: [], provenance: p) }, ["targets", "empty"]),
            ({ try ResilienceTable(rates: [0.1], repeats: 1, epochs: 4, accuracy: [[c]], targets: [85], provenance: p) }, ["targets[0]", "(0, 1]"]),
            ({ try ResilienceTable(rates: [0.1], repeats: 2, epochs: 4, accuracy: [[c]], targets: [0.8], provenance: p) }, ["2 repeats"]),
            ({ try ResilienceTable(rates: [0.1], repeats: 1, epochs: 3, accuracy: [[c]], targets: [0.8], provenance: p) }, ["4 points"]),
            ({ try ResilienceTable(rates: [1.5], repeats: 1, epochs: 4, accuracy: [[c]], targets: [0.8], provenance: p) }, ["rates[0]", "1.5"]),
        ]
        for (make, fragments) in cases {
            let message = errorMessage { _ = try make() }
            #expect(message != nil)
            for f in fragments { #expect(message?.contains(f) == true, "\(message ?? "no error") lacks \(f)") }
        }
    }

    @Test func fileRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("res.h5")
        let table = try ResilienceFixture.table()
        try table.write(path: path, force: false)
        #expect(try ResilienceTable.read(path: path) == table)
        // Refuses to overwrite without force, replaces with it.
        #expect(errorMessage { try table.write(path: path, force: false) }?.contains("--force") == true)
        try table.write(path: path, force: true)

        let f = try ResultsFile.read(path: path)
        #expect(f.content == "resilience")
        #expect(f.attributes["seed"] == .string("18000000000000000001"))
        let summary = try #require(f[table: "epochs_needed"])
        #expect(summary.rowCount == 8)
        // Rate 0.3, target 0.8 is the third row: unreached max as -1, mean as NaN.
        #expect(summary["min_epochs"]?.values == .int64([0, 1, 2, -1, -1, -1, -1, -1]))
        #expect(summary["max_epochs"]?.values == .int64([1, 3, -1, -1, -1, -1, -1, -1]))
        #expect(summary["reached_count"]?.values == .int64([3, 3, 2, 0, 0, 0, 0, 0]))
        guard case .double(let mean)? = summary["mean_epochs"]?.values else { Issue.record("mean_epochs not float"); return }
        #expect(mean[1] == 2 && mean[2].isNaN)
        #expect(try #require(f[table: "accuracy"]).rowCount == 4 * 3 * 5)
    }
}
