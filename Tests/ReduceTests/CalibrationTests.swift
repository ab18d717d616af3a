import Foundation
import Testing
import FapsimStore
@testable import Reduce

/// The confidence policy's calibration in the report: predicted share (mean
/// p_meet) against the share that met the constraint, overall and per
/// fault-rate bin of equal chip counts, and Fig. 5.
struct CalibrationTests {
    /// Six chips: the three low-rate ones predicted 0.95 and all met, the
    /// three high-rate ones predicted 0.6 and one met.
    func campaign() throws -> CampaignResults {
        let rates = [0.02, 0.05, 0.08, 0.2, 0.25, 0.3]
        let accuracy = [0.9, 0.9, 0.9, 0.9, 0.7, 0.7]
        let p = [0.95, 0.95, 0.95, 0.6, 0.6, 0.6]
        var rows: [CampaignResults.Row] = []
        for c in 0..<6 {
            rows.append(.init(chip: c, policy: "confidence", faultRate: rates[c], epochsSpent: 0, finalAccuracy: accuracy[c],
                              imagesSpent: 1000, evalImagesSpent: 0, predictedProbability: p[c]))
            rows.append(.init(chip: c, policy: "fixed-1000img", faultRate: rates[c], epochsSpent: 0, finalAccuracy: accuracy[c],
                              imagesSpent: 1000, evalImagesSpent: 0))
        }
        return try CampaignResults(target: 0.8, rows: rows, attributes: ["run_confidence": .string("0.9")])
    }

    @Test func sharesOverallAndPerBin() throws {
        let c = try campaign().calibration(bins: 2)
        #expect(c.count == 3)
        #expect(c[0].label == "all" && c[0].chips == 6)
        #expect(abs(c[0].predicted - 0.775) < 1e-12 && abs(c[0].observed - 4.0 / 6) < 1e-12)
        #expect(c[1].label == "2%-8%" && abs(c[1].predicted - 0.95) < 1e-12 && c[1].observed == 1)
        #expect(c[2].label == "20%-30%" && abs(c[2].predicted - 0.6) < 1e-12 && abs(c[2].observed - 1.0 / 3) < 1e-12)
    }

    @Test func reportHasTheFigureAndTableOnlyWithPredictions() throws {
        let r = try campaign()
        let files = ReduceReport.render(resilience: try ResilienceFixture.table(), campaign: r, baseline: 0.87)
        let md = try #require(files.last).text
        #expect(files.contains { $0.name == "fig5-calibration.svg" })
        #expect(md.contains("## Calibration of the confidence policy") && md.contains("(stated confidence 90.00 %)"))
        #expect(md.contains("| all | "))
        // Savings: the confidence policy spends as much as the fixed 1,000 images, which meets as many chips.
        #expect(md.contains("| confidence | fixed-1000img | 6000 | 6000 | 0.0% |"), "\(md)")
        let plain = try CampaignResults(target: 0.8, rows: r.rows.filter { $0.policy != "confidence" })
        let without = ReduceReport.render(resilience: try ResilienceFixture.table(), campaign: plain, baseline: 0.87)
        #expect(!without.contains { $0.name == "fig5-calibration.svg" })
    }

    @Test func predictionsRoundTripThroughTheCampaignFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fapsim-calibration-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/c.h5"
        try campaign().write(path: path, force: false)
        let back = try CampaignResults.read(path: path)
        #expect(back.rows.map(\.predictedProbability) == (try campaign()).rows.map(\.predictedProbability))
    }
}
