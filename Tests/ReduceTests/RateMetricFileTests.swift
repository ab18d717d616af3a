import Foundation
import Testing
import FapsimStore
import FapsimSupport
@testable import Reduce

/// Weight shares (docs/rate-metric.md) in the resilience file: optional, validated,
/// round-tripped through the `maps` table, and absent from old files.
struct RateMetricFileTests {
    /// The fixture's 4 rates x 3 repeats with weight shares near the PE rate.
    static let shares: [[Double]] = [[0.09, 0.10, 0.12], [0.19, 0.21, 0.20], [0.28, 0.31, 0.30], [0.41, 0.40, 0.39]]

    static func table(width: Double? = 1.0, shares: [[Double]]? = RateMetricFileTests.shares) throws -> ResilienceTable {
        var t = try ResilienceFixture.table()
        t.provenance.networkWidth = width
        t.weightShare = shares
        try t.validate(source: "fixture")
        return t
    }

    @Test func weightSharesRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("res.h5")
        let t = try Self.table()
        try t.write(path: path, force: false)
        let back = try ResilienceTable.read(path: path)
        #expect(back == t)
        #expect(back.weightShare == Self.shares)
        #expect(back.provenance.networkWidth == 1.0)
        let f = try ResultsFile.read(path: path)
        let maps = try #require(f[table: "maps"])
        #expect(maps.columns.map(\.name) == ["rate_index", "fault_rate", "repeat", "faulty_pes", "weight_share"])
        #expect(maps["faulty_pes"]?.values == .int64([10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40]))
        #expect(f.attributes["network_width"] == .double(1.0))
        let means = try #require(back.meanWeightShare)
        #expect(abs(means[0] - 0.31 / 3) < 1e-12 && abs(means[3] - 0.40) < 1e-12)
    }

    @Test func oldFilesLoadWithoutWeightShares() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("old.h5")
        try ResilienceFixture.table().write(path: path, force: false)
        let f = try ResultsFile.read(path: path)
        #expect(f[table: "maps"] == nil && f.attributes["network_width"] == nil)
        let back = try ResilienceTable.read(path: path)
        #expect(back.weightShare == nil && back.provenance.networkWidth == nil && back.meanWeightShare == nil)
    }

    @Test func rejectsBadWeightShares() throws {
        let cases: [([[Double]], [String])] = [
            (Array(Self.shares.prefix(3)), ["weight_share", "4 rates"]),
            (Self.shares.map { Array($0.prefix(2)) }, ["weight_share[rate 0]", "3 repeats"]),
            ([[0.1, 0.1, 1.5]] + Self.shares.dropFirst(), ["weight_share[rate 0][repeat 2]", "[0, 1]", "1.5"]),
            ([[0.1, -0.01, 0.1]] + Self.shares.dropFirst(), ["weight_share[rate 0][repeat 1]"]),
            ([[0.1, .nan, 0.1]] + Self.shares.dropFirst(), ["weight_share[rate 0][repeat 1]"]),
        ]
        for (shares, words) in cases {
            let message = errorMessage { _ = try Self.table(shares: shares) }
            for w in words { #expect(message?.contains(w) == true, "\(String(describing: message)) lacks \(w)") }
        }
        #expect(errorMessage { _ = try Self.table(width: 0) }?.contains("network_width") == true)
    }

    @Test func readRejectsACorruptMapsTable() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("bad.h5")
        var f = try Self.table().resultsFile()
        let i = try #require(f.tables.firstIndex { $0.name == "maps" })
        var cols = f.tables[i].columns
        let j = try #require(cols.firstIndex { $0.name == "weight_share" })
        var v = Self.shares.flatMap { $0 }
        v[4] = 2.0
        cols[j] = .double("weight_share", units: "1", v)
        f.tables[i] = ResultsTable(name: "maps", columns: cols)
        try f.write(path: path, force: false)
        let message = errorMessage { _ = try ResilienceTable.read(path: path) }
        #expect(message?.contains(path) == true && message?.contains("/maps") == true && message?.contains("row 4") == true)
    }
}
