import Foundation

/// The report's "which rate metric predicts better" part (docs/rate-metric.md;
/// docs/rate-metric.md): a Markdown section and one SVG scatter of every
/// chip's metric value against the epochs its real FAT needed, both metrics,
/// with each metric's budget curve (its measured rates) as a dashed step line.
public enum MetricComparisonReport {
    public static let figureName = "fig4-rate-metric.svg"
    public static let markdownName = "rate-metric.md"

    /// The figure and a standalone Markdown file holding `section`. A report
    /// writer that wants the section inside its own report.md appends
    /// `section(c)` there and writes only the `.svg` entry.
    public static func render(_ c: MetricComparison, figureName: String = figureName) -> [(name: String, text: String)] {
        [(figureName, chart(c).render()), (markdownName, "# Rate metric\n" + section(c, figure: figureName))]
    }

    static func pct(_ x: Double) -> String { String(format: "%.2f %%", x * 100) }

    static func name(_ m: RateMetric) -> String {
        m == .pe ? "pe (faulty PEs)" : "weights (MAC-weighted pruned share)"
    }

    /// The Markdown section (starts with a `##` heading), linking `figure`.
    public static func section(_ c: MetricComparison, figure: String = figureName) -> String {
        let mode = c.rule.interpolate ? "interpolated" : "conservative"
        var s = """

        ## Rate metric: faulty PEs vs pruned weights

        Each of the \(c.chips.count) chips with a real FAT curve was budgeted twice for target \
        \(ReduceFigures.percent(c.target)) (policy \(c.rule.policy.rawValue), \(mode)): once placed by its share of \
        faulty PEs (`pe`), once by the MAC-weighted share of VGG11's weights its map prunes (`weights`). \
        "Needed" is the first epoch of the chip's own curve at or above the target. Under-budgeted chips \
        got fewer epochs than they needed and miss the constraint; wasted epochs are those given beyond need; \
        Spearman's rho ranks the metric against the epochs needed (chips that never reached the target rank highest).

        | Metric | Chips scored | Mean abs. error (epochs) | Same on chips both scored | Under-budgeted | Over-budgeted | Wasted epochs | No budget | Spearman rho |
        |---|---|---|---|---|---|---|---|---|

        """
        for m in c.summaries {
            let mae = m.meanAbsoluteError.map { String(format: "%.3f", $0) } ?? "-"
            let rho = m.spearman.map { String(format: "%.3f", $0) } ?? "-"
            let paired = (m.pairedMeanAbsoluteError.map { String(format: "%.3f", $0) } ?? "-") + " (\(m.pairedScored))"
            s += "| \(name(m.metric)) | \(m.scored) | \(mae) | \(paired) | \(m.underBudgeted) | \(m.overBudgeted) | \(m.wastedEpochs) | \(m.noBudget) | \(rho) |\n"
        }
        if let b = c.better {
            s += "\nBetter predictor on this lot: **\(b.rawValue)** (fewer under-budgeted chips, then smaller mean absolute error on the chips both metrics budget, then higher rho, then fewer wasted epochs).\n"
        } else {
            s += "\nThe two metrics tie on this lot.\n"
        }
        let gaps = c.chips.map { abs($0.weightShare - $0.peRate) }
        if !gaps.isEmpty {
            s += "\nMean |weight share - PE rate| over these chips: \(pct(gaps.reduce(0, +) / Double(gaps.count))), largest \(pct(gaps.max()!)).\n"
        }
        s += "\n![Metric value vs epochs needed](\(figure))\n"
        s += "\n| Chip | PE rate | Weight share | Needed | pe budget | weights budget |\n|---|---|---|---|---|---|\n"
        let shown = c.chips.prefix(50)
        for ch in shown {
            func e(_ v: Int?, _ none: String) -> String { v.map(String.init) ?? none }
            s += "| \(ch.chip) | \(pct(ch.peRate)) | \(pct(ch.weightShare)) | \(e(ch.needed, "> \(ch.curveEpochs)")) | \(e(ch.peBudget, "unreached")) | \(e(ch.weightsBudget, "unreached")) |\n"
        }
        if c.chips.count > shown.count { s += "\n(first \(shown.count) of \(c.chips.count) chips)\n" }
        return s
    }

    /// Metric value (%) vs epochs needed; unreached chips on the "> E" row;
    /// pe drawn 0.12 epochs above each whole number, weights 0.12 below.
    public static func chart(_ c: MetricComparison) -> SVGChart {
        let e = max(c.chips.map(\.curveEpochs).max() ?? 0, c.measured.compactMap(\.epochs).max() ?? 0)
        let top = Double(e + 1)
        let xs = c.chips.flatMap { [$0.peRate, $0.weightShare] } + c.measured.flatMap { [$0.rate, $0.weightShare] }
        let hi = max((xs.max() ?? 0) * 100 * 1.08, 1e-6)
        var chart = SVGChart(title: "Rate metric vs FAT epochs needed (\(c.chips.count) chips, target \(ReduceFigures.percent(c.target)))",
                             xLabel: "Chip's metric value (%)", yLabel: "FAT epochs needed",
                             xDomain: 0...hi, yDomain: -0.5...(top + 0.5))
        chart.yTicks = ReduceFigures.integerTicks(e) + [(top, "> \(e)")]
        for (j, m) in RateMetric.allCases.enumerated() {
            let color = SVGText.color(j)
            // Epochs are whole numbers: nudge the two metrics apart so neither hides the other.
            let dy = j == 0 ? 0.12 : -0.12
            let points = c.chips.map { SVGPoint($0.value(m) * 100, ($0.needed.map(Double.init) ?? top) + dy) }
            chart.marks.append(.scatter(name: "\(m.rawValue): chips", color: color, points: points, marker: j == 0 ? .circle : .square))
            // The budget the metric reads off (conservative: a step at each measured rate).
            var steps: [SVGPoint] = []
            var previous = 0.0
            for r in c.measured {
                let x = (m == .pe ? r.rate : r.weightShare) * 100
                let y = (r.epochs.map(Double.init) ?? top) + dy / 2
                steps.append(SVGPoint(previous, y))
                steps.append(SVGPoint(x, y))
                previous = x
            }
            chart.marks.append(.line(name: "\(m.rawValue): budget (\(c.rule.policy.rawValue))", color: color, points: steps,
                                     dashed: true, markers: false))
        }
        return chart
    }
}
