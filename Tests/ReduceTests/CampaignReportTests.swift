import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import FapsimStore
@testable import Reduce

/// The report's campaign additions: flagged budgets (table column, Fig. 3
/// markers) and the fault-free baseline (inputs table, Fig. 2a).
struct CampaignReportTests {
    func flagged() throws -> CampaignResults {
        var r = try CampaignFixture.results()
        // Chip 3 (the highest rate) was unreached under max and mean.
        for i in r.rows.indices where r.rows[i].chip == 3 && ["max", "mean"].contains(r.rows[i].policy) {
            r.rows[i].flags = i % 2 == 0 ? "unreached" : "above_range,unreached"
        }
        return r
    }

    @Test func flaggedBudgetsAreCountedAndMarked() throws {
        let r = try flagged()
        let files = ReduceReport.render(resilience: try ResilienceFixture.table(), campaign: r, baseline: 0.87)
        let md = try #require(files.last).text
        #expect(md.contains("| max | 4 | 4 | - | - | 12 | 82.00 % | 1 (1 unreached: trained the largest amount, or stopped at the cap) |"))
        #expect(md.contains("| fixed-1 | 4 | 1 | - | - | 4 | 74.00 % | 0 |"))
        #expect(md.contains("| Fault-free test accuracy (the weights) | 87.00 % |\n"))
        #expect(md.contains("| Seed |"))
        let fig = try #require(files.first { $0.name == "fig3a-max.svg" }).text
        let (ok, scan, error) = SVGScan.parse(fig)
        #expect(ok, "\(error)")
        #expect(scan.series.contains("flagged budget (unreached / above range)"))
        let fixed = SVGScan.parse(try #require(files.first { $0.name == "fig3c-fixed-1.svg" }).text)
        #expect(!fixed.scan.series.contains("flagged budget (unreached / above range)"))
        let fig2a = SVGScan.parse(try #require(files.first { $0.name == "fig2a-accuracy-vs-epochs.svg" }).text)
        #expect(fig2a.ok && fig2a.scan.series.contains("fault-free 87.00%"))
        // Without a baseline, neither appears.
        let plain = ReduceReport.render(resilience: try ResilienceFixture.table(), campaign: r)
        #expect(!plain.last!.text.contains("Fault-free"))
    }
}
