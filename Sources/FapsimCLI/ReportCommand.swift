import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import Reduce

/// `fapsim report`: the Reduce report from a resilience file and optionally a campaign.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write the Reduce report (report.md, SVG figures and a self-contained report.html) from a resilience file and optionally a campaign file.",
        discussion: """
        Fig. 2a accuracy vs FAT epochs per fault rate, Fig. 2b epochs needed vs fault rate (min/mean/max), and with \
        --campaign Fig. 3a-e per-chip final accuracy against the constraint per policy and Fig. 3f chips meeting the \
        constraint and total epochs per policy. Each file is written atomically, report.md last.
        """)

    @Option(help: "Resilience file (fapsim resilience).")
    var resilience: String

    @Option(help: "Campaign file (fapsim reduce or fapsim merge) made from this resilience file.")
    var campaign: String?

    @Option(help: "Report directory (created if missing).")
    var out: String

    @Flag(help: "Replace an existing report.")
    var force = false

    func run() throws {
        try ReduceReport.checkOverwrite(dir: out, force: force)
        let table = try ResilienceTable.read(path: resilience)
        var results: CampaignResults?
        if let campaign {
            let r = try CampaignResults.read(path: campaign)
            if case .string(let sum)? = r.attributes["resilience_checksum"] {
                let actual = try FNV1a64.file(resilience)
                guard sum == actual else {
                    throw FapsimError("resilience_checksum: campaign \(campaign) was made from a resilience file with checksum \(sum), \(resilience) has \(actual); pass the resilience file the campaign used")
                }
            }
            results = r
        }
        let baseline = try ResilienceFile.read(path: resilience).baselineAccuracy
        var comparison: MetricComparison?
        var note: String?
        if let results, let campaign {
            let c = ReduceReport.metricComparison(resiliencePath: resilience, table: table, campaign: results,
                                                  campaignPath: campaign)
            comparison = c.comparison
            note = c.note
            if let note = c.note { FileHandle.standardError.write(Data("report: no rate-metric comparison (Fig. 4): \(note)\n".utf8)) }
        }
        try ReduceReport.write(resilience: table, campaign: results, baseline: baseline, metricComparison: comparison,
                               metricNote: note, to: out, force: force)
        print("\(out)/\(ReduceReport.markdownName)")
    }
}
