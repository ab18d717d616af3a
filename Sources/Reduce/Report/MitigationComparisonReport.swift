import Foundation
import FapsimStore
import FapsimSupport

/// The report page of `fapsim mitigate compare` (and `fapsim mitigate report`
/// over several lots): report.md, report.html (ReportHTML, the same page as the
/// campaign report's) and the yield figure, one panel per lot, all rendered from
/// the comparison files alone.
public enum MitigationComparisonReport {
    public static let yieldFigure = "fig1-yield.svg"

    /// One lot's comparison and the name it goes by in the report (e.g. "uniform").
    public typealias Lot = (label: String, file: MitigationComparisonFile)

    /// Every file of the report, name -> contents, report.md last. Pure.
    public static func render(_ lots: [Lot]) -> [(name: String, text: String)] {
        var md = "# Mitigations compared over a lot\n\n"
        md += "Per chip and mitigation: whether the chip is usable, its test accuracy, VGG11 cycles per image by the closed form and its throughput relative to a fault-free chip, the PEs the mitigation adds and the training images spent retraining it (docs/mitigations.md).\n"
        for lot in lots { md += section(lot) }
        md += "\n## Yield\n\n![Fig. 1: share of chips meeting both constraints against the fault rate](\(yieldFigure))\n\n"
        md += "*Fig. 1: share of each lot's chips meeting the accuracy and the throughput constraint, per mitigation, against the mean fault rate of the chips in each fault-rate bin (one panel per lot).*\n"
        let svg = SVGText.panels(lots.map(yieldChart))
        return [(yieldFigure, svg), (ReportHTML.fileName, ReportHTML.render(markdown: md, figures: [yieldFigure: svg])),
                (ReduceReport.markdownName, md)]
    }

    /// Writes the report into `dir` (refusing to replace one unless `force`).
    public static func write(_ lots: [Lot], to dir: String, force: Bool) throws {
        try ReduceReport.writeFiles(render(lots), to: dir, force: force)
    }

    static func pct(_ x: Double) -> String { x.isNaN ? "-" : String(format: "%.2f %%", x * 100) }

    static func attr(_ f: MitigationComparisonFile, _ k: String) -> String {
        switch f.attributes[k] {
        case .string(let s)?: return s
        case .int(let i)?: return "\(i)"
        case .double(let d)?: return "\(d)"
        case .strings(let a)?: return a.joined(separator: ", ")
        default: return "-"
        }
    }

    static func double(_ f: MitigationComparisonFile, _ k: String) -> Double? {
        if case .double(let v)? = f.attributes[k] { return v }
        return nil
    }

    /// The constraint in words.
    public static func constraintLine(_ f: MitigationComparisonFile) -> String {
        let t = double(f, "min_throughput") ?? 0
        let speed = String(format: "throughput >= %.2f x a fault-free chip's", t)
        if let d = double(f, "below_baseline") {
            return String(format: "accuracy >= the fault-free accuracy on the same test images - %.2f points", d * 100) + ", and " + speed
        }
        return "accuracy >= \(pct(double(f, "target") ?? 0)), and " + speed
    }

    static func section(_ lot: Lot) -> String {
        let f = lot.file
        var s = "\n## Lot: \(lot.label)\n\n| Input | Value |\n|---|---|\n"
        s += "| Lot | `\(attr(f, "lot_file"))` (\(attr(f, "lot_generator")), \(attr(f, "lot_chips")) chips, \(attr(f, "rows")) x \(attr(f, "cols")) PEs) |\n"
        s += "| Weights | `\(attr(f, "weights_file"))` (VGG11 width \(attr(f, "network_width"))) |\n"
        s += "| Test images | \(attr(f, "test_subset")) (fault-free accuracy \(pct(double(f, "baseline_accuracy") ?? .nan))) |\n"
        s += "| Fault-free cycles per image | \(attr(f, "fault_free_cycles_per_image")) |\n"
        s += "| Constraint | \(constraintLine(f)) |\n"
        if f.attributes["campaign_files"] != nil {
            s += "| Retrained (from campaigns) | \(attr(f, "campaign_files")) (policy \(attr(f, "campaign_policies"))) |\n"
        }
        if f.attributes["pe_cells_file"] != nil {
            s += "| PE cell counts (area) | `\(attr(f, "pe_cells_file"))` (\(attr(f, "pe_cells_tool"))) |\n"
        }
        s += "\n### Summary\n\n| Mitigation | Chips meeting both | Usable | Mean throughput (usable chips) | PEs added per chip | Array area vs FAP | Retraining images (all chips) |\n|---|---|---|---|---|---|---|\n"
        for r in f.summary {
            s += "| \(r.mitigation) | \(r.meeting) / \(r.chips) | \(r.usable) | "
                + (r.meanThroughput.isNaN ? "-" : String(format: "%.3f", r.meanThroughput)) + " | \(r.pesAdded) | \(r.areaText) | \(r.retrainingImages) |\n"
        }
        s += "\nArray area vs FAP: the PE array's synthesized cells (Yosys, generic gates; PEs only, no wiring) against R x C FAP PEs.\n\n"
        for r in f.summary { s += "- \(r.mitigation): \(r.areaBasis)\n" }
        let names = f.summary.map(\.mitigation)
        let minThroughput = double(f, "min_throughput") ?? 0
        s += "\n### Per chip\n\nAccuracy / throughput; **bold** meets both constraints.\n\n| Chip | Faulty PEs (share) | "
            + names.joined(separator: " | ") + " |\n|---|---|" + String(repeating: "---|", count: names.count) + "\n"
        for chip in Array(Set(f.rows.map(\.chip))).sorted() {
            let mine = f.rows.filter { $0.chip == chip }
            guard let any = mine.first else { continue }
            s += "| \(chip) | \(any.faultyPEs) (" + String(format: "%.3f %%", any.faultShare * 100) + ") |"
            for m in names {
                guard let r = mine.first(where: { $0.mitigation == m }) else { s += " - |"; continue }
                guard r.usable else { s += " unusable |"; continue }
                let cell = pct(r.accuracy) + String(format: " / %.3f", r.throughput)
                s += MitigationComparisonFile.meets(r, minThroughput: minThroughput) ? " **\(cell)** |" : " \(cell) |"
            }
            s += "\n"
        }
        return s
    }

    /// One lot's yield curves: one line per mitigation, x the bins' mean fault share in percent.
    static func yieldChart(_ lot: Lot) -> SVGChart {
        let f = lot.file
        let xs = f.yieldCurve.map { $0.meanFaultShare * 100 }
        let lo = xs.min() ?? 0, hi = xs.max() ?? 1
        let pad = max((hi - lo) * 0.05, hi * 0.05, 1e-6)
        var c = SVGChart(title: "\(lot.label): chips meeting both constraints (\(attr(f, "lot_chips")) chips)",
                         xLabel: "mean fault rate of the bin's chips (% of PEs)", yLabel: "chips meeting both constraints (%)",
                         xDomain: max(0, lo - pad)...(hi + pad), yDomain: 0...100)
        for (i, m) in f.summary.map(\.mitigation).enumerated() {
            let points = f.yieldCurve.filter { $0.mitigation == m }.map { SVGPoint($0.meanFaultShare * 100, $0.yield * 100) }
            c.marks.append(.line(name: m, color: SVGText.color(i), points: points, dashed: m.hasSuffix("+T"), markers: true))
        }
        return c
    }
}
