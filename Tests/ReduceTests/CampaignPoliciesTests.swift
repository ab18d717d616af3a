import Foundation
import Testing
import FapsimStore
import FapsimSupport
@testable import Reduce

struct CampaignPoliciesTests {
    @Test func policiesParseInOrder() throws {
        #expect(try CampaignPolicy.parse(policies: "max,mean", fixed: "1,2,5").map(\.label) == ["max", "mean", "fixed-1", "fixed-2", "fixed-5"])
        #expect(try CampaignPolicy.parse(policies: "mean", fixed: "").map(\.label) == ["mean"])
        #expect(try CampaignPolicy.parse(policies: "", fixed: "0").map(\.label) == ["fixed-0"])
        #expect(try CampaignPolicy.parse(policies: "max", fixed: "1", fixedImages: "700,5000").map(\.label) == ["max", "fixed-1", "fixed-700img", "fixed-5000img"])
        #expect(errorMessage { _ = try CampaignPolicy.parse(policies: "", fixed: "", fixedImages: "100,-1") } == "--fixed-images: expected a comma-separated list of training-image counts >= 0 (e.g. 1000,5000), got -1")
        #expect(errorMessage { _ = try CampaignPolicy.parse(policies: "", fixed: "", fixedImages: "100,100") }?.hasPrefix("--fixed-images: expected each image count once") == true)
        #expect(errorMessage { _ = try CampaignPolicy.parse(policies: "max,min", fixed: "") } == "--policies: expected a comma-separated list of max, mean, confidence, adaptive, got min")
        #expect(errorMessage { _ = try CampaignPolicy.parse(policies: "max", fixed: "1,-2") } == "--fixed: expected a comma-separated list of epoch counts >= 0 (e.g. 1,2,5), got -2")
        #expect(errorMessage { _ = try CampaignPolicy.parse(policies: "max,max", fixed: "") }?.hasPrefix("--policies: expected each policy once") == true)
        #expect(errorMessage { _ = try CampaignPolicy.parse(policies: "", fixed: "") }?.hasPrefix("--policies/--fixed: expected at least one policy") == true)
    }

    /// Flags and curves survive a round trip; files without them (written
    /// before) still read, with no flags and no curves.
    @Test func flagsAndCurvesRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let rows = [CampaignResults.Row(chip: 0, policy: "max", faultRate: 0.1, epochsSpent: 2, finalAccuracy: 0.81),
                    CampaignResults.Row(chip: 1, policy: "max", faultRate: 0.4, epochsSpent: 3, finalAccuracy: 0.7, flags: "above_range,unreached")]
        let curves = [CampaignResults.Curve(chip: 0, runEpochs: 2, accuracy: [0.6, 0.75, 0.81]),
                      CampaignResults.Curve(chip: 1, runEpochs: 3, accuracy: [0.3, 0.5, 0.6, 0.7])]
        let r = try CampaignResults(target: 0.8, rows: rows, curves: curves, attributes: ["chips": .string("0-1")])
        try r.write(path: dir.file("c.h5"), force: false)
        #expect(try CampaignResults.read(path: dir.file("c.h5")) == r)
        let f = try ResultsFile.read(path: dir.file("c.h5"))
        #expect(f[table: "curves"]?["run_epochs"]?.values == .int64([2, 2, 2, 3, 3, 3, 3]))
        #expect(f[table: "per_chip"]?["flags"]?.values == .string(["", "above_range,unreached"]))

        var old = try CampaignResults(target: 0.8, rows: rows.map { var x = $0; x.flags = ""; return x })
        try old.write(path: dir.file("old.h5"), force: false)
        // Drop the flags column as an older writer would have.
        var file = try ResultsFile.read(path: dir.file("old.h5"))
        file.tables[0].columns.removeAll { $0.name == "flags" }
        try file.write(path: dir.file("old.h5"), force: true)
        old.attributes = file.attributes.filter { !["target", "policies"].contains($0.key) }
        #expect(try CampaignResults.read(path: dir.file("old.h5")) == old)

        // A curve whose length disagrees with its run.
        #expect(errorMessage { _ = try CampaignResults(target: 0.8, rows: rows, curves: [.init(chip: 0, runEpochs: 2, accuracy: [0.5])]) }?
            .contains("curve (chip 0, 2-epoch run): expected 3 accuracies") == true)
    }
}
