import Foundation
import Testing
import FapsimStore
import FapsimSupport
@testable import Reduce

enum CampaignFixture {
    /// 4 chips x policies max, mean, fixed-1; target 0.8. Chip 3 misses under mean and fixed-1.
    static func results() throws -> CampaignResults {
        let rates = [0.3, 0.1, 0.2, 0.35]
        var rows: [CampaignResults.Row] = []
        for (p, spent, acc) in [("max", [4, 1, 3, 4], [0.82, 0.85, 0.81, 0.80]),
                                ("mean", [3, 1, 2, 3], [0.80, 0.85, 0.80, 0.79]),
                                ("fixed-1", [1, 1, 1, 1], [0.70, 0.85, 0.76, 0.65])] {
            for chip in 0..<4 {
                rows.append(.init(chip: chip, policy: p, faultRate: rates[chip], epochsSpent: spent[chip], finalAccuracy: acc[chip]))
            }
        }
        return try CampaignResults(target: 0.8, rows: rows, attributes: ["lot_checksum": .string("feedface")])
    }
}

struct ReportCampaignTests {
    @Test func summaryPerPolicy() throws {
        let s = try CampaignFixture.results().summary()
        #expect(s.map(\.policy) == ["max", "mean", "fixed-1"])
        #expect(s.map(\.met) == [4, 3, 1])
        #expect(s.map(\.totalEpochs) == [12, 9, 4])
    }

    @Test func fileRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("campaign.h5")
        let r = try CampaignFixture.results()
        try r.write(path: path, force: false)
        #expect(try CampaignResults.read(path: path) == r)
        let f = try ResultsFile.read(path: path)
        #expect(f.content == "campaign")
        #expect(f.attributes["policies"] == .strings(["max", "mean", "fixed-1"]))
        #expect(f[table: "per_chip"]?["met_constraint"]?.values == .int64([1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0]))
    }

    @Test func malformedCampaignFiles() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("bad.h5")
        var f = try CampaignFixture.results().resultsFile()
        let c = f.tables[0].columns.firstIndex { $0.name == "met_constraint" }!
        f.tables[0].columns[c].values = .int64([Int64](repeating: 1, count: 12))
        try f.write(path: path, force: false)
        let message = errorMessage { _ = try CampaignResults.read(path: path) }
        #expect(message?.contains(path) == true && message?.contains("met_constraint") == true)

        let dup = dir.file("dup.h5")
        var g = try CampaignFixture.results().resultsFile()
        let chip = g.tables[0].columns.firstIndex { $0.name == "chip" }!
        g.tables[0].columns[chip].values = .int64([Int64](repeating: 0, count: 12))
        try g.write(path: dup, force: false)
        #expect(errorMessage { _ = try CampaignResults.read(path: dup) }?.contains("appears twice") == true)

        let res = dir.file("res.h5")
        try ResilienceFixture.table().write(path: res, force: false)
        #expect(errorMessage { _ = try CampaignResults.read(path: res) }?.contains("expected \"campaign\"") == true)
    }

    @Test func rejectsBadRows() {
        #expect(errorMessage { _ = try CampaignResults(target: 0.8, rows: [.init(chip: 0, policy: "max", faultRate: 0.1, epochsSpent: -1, finalAccuracy: 0.8)]) }?
            .contains("epochs_spent") == true)
        #expect(errorMessage { _ = try CampaignResults(target: 80, rows: []) }?.contains("target") == true)
    }
}
