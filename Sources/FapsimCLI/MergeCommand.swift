import ArgumentParser
import Foundation
import FapsimStore
import FapsimSupport
import Reduce

/// `fapsim merge`: partial campaign files (fapsim reduce --chips) into one.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge partial campaign files of one fapsim reduce run (from --chips A-B) into one.",
        discussion: """
        The parts must come from the same run (same run_* identity attributes: weights, lot, resilience file, \
        target, policies, settings, seed) and cover disjoint chips; together they must cover every chip of the lot \
        unless --allow-partial. The result equals one fapsim reduce run over all those chips.
        """)

    @Option(help: "Merged campaign file.")
    var out: String

    @Argument(help: "Partial campaign files.")
    var parts: [String] = []

    @Flag(name: .customLong("allow-partial"), help: "Merge even if some chips of the lot are in no part (the result is marked partial).")
    var allowPartial = false

    @Flag(help: "Replace an existing output file.")
    var force = false

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    func run() throws {
        try AtomicWrite.checkOverwrite(out, force: force)
        let merged = try CampaignMerge.merge(parts: parts, allowPartial: allowPartial)
        try merged.write(path: out, force: force)
        let chips = UnitIndices.compress(merged.chips)
        let partial: Bool = { if case .int(1)? = merged.attributes[CampaignResults.partialAttribute] { return true }; return false }()
        if json {
            JSONOutput.print(["out": out, "parts": parts, "chips": chips, "rows": merged.rows.count, "partial": partial])
        } else {
            print("\(out): \(parts.count) parts, chips \(chips)\(partial ? " (partial)" : ""), \(merged.rows.count) rows")
        }
    }
}
