import Foundation
import FapsimStore

/// The Reduce report's figures as charts, each a pure function of the data.
/// Figure numbers follow Hanif & Shafique's paper.
public enum ReduceFigures {
    /// "5%" for 0.05; %g keeps 0.1% and 12.5% short and exact.
    static func percent(_ x: Double) -> String { String(format: "%g%%", x * 100) }

    /// Integer ticks 0...n when few, otherwise nice ones.
    static func integerTicks(_ n: Int) -> [(Double, String)] {
        n <= 12 ? (0...max(0, n)).map { (Double($0), "\($0)") }
                : SVGText.niceTicks(0...Double(n)).filter { $0.0 == $0.0.rounded() }
    }

    /// An accuracy axis (percent) covering `values` and `extra`, padded to multiples of 5.
    static func accuracyDomain(_ values: [Double], extra: [Double]) -> ClosedRange<Double> {
        let all = (values + extra).map { $0 * 100 }
        let lo = max(0, (((all.min() ?? 0) - 2) / 5).rounded(.down) * 5)
        let hi = min(100, (((all.max() ?? 100) + 2) / 5).rounded(.up) * 5)
        return lo...max(hi, lo + 5)
    }

    /// Fig. 2a: accuracy vs FAT epochs, one line per fault rate (mean over
    /// repeats) in a band from the worst to the best repeat; targets dashed, each with its own pattern.
    /// `baseline`: the weights' fault-free accuracy, drawn as a dotted line when known.
    public static func accuracyVsEpochs(_ t: ResilienceTable, baseline: Double? = nil) -> SVGChart {
        let all = t.accuracy.flatMap { $0.flatMap { $0 } }
        // The x axis is the table's own: epochs, or training images of its schedule.
        let unit = t.measuredInImages ? "FAT training images" : "FAT epochs"
        let split = t.provenance.curveSplit == "validation" ? "Validation" : "Test"
        var c = SVGChart(title: "Accuracy vs \(unit) per fault rate (\(t.repeats) repeats)",
                         xLabel: "\(unit) (0 = FAP only)", yLabel: "\(split) accuracy (%)",
                         xDomain: 0...Double(max(1, t.schedule.last!)), yDomain: accuracyDomain(all, extra: t.targets + (baseline.map { [$0] } ?? [])))
        c.xTicks = integerTicks(t.schedule.last!)
        let x = t.schedule.map(Double.init)
        for (i, rate) in t.rates.enumerated() {
            let curves = t.accuracy[i]
            let at = (0..<t.points).map { e in curves.map { $0[e] * 100 } }
            let name = "rate " + percent(rate)
            c.marks.append(.band(name: name + " min-max", color: SVGText.color(i), x: x,
                                 low: at.map { $0.min()! }, high: at.map { $0.max()! }))
            c.hiddenFromLegend.insert(name + " min-max")
            c.marks.append(.line(name: name, color: SVGText.color(i),
                                 points: zip(x, at).map { SVGPoint($0, $1.reduce(0, +) / Double($1.count)) },
                                 dashed: false, markers: true))
        }
        // One dash pattern per target, so the legend tells them apart.
        for (j, target) in t.targets.enumerated() {
            c.marks.append(.hline(name: "target " + percent(target), color: "#555", y: target * 100,
                                  dash: SVGText.dash(j)))
        }
        if let baseline {
            c.marks.append(.hline(name: "fault-free " + String(format: "%.2f%%", baseline * 100), color: "#000", y: baseline * 100, dash: nil))
        }
        return c
    }

    /// Fig. 2b: epochs needed vs fault rate per target: a square at the mean
    /// and a bar from min to max over repeats. A repeat that never reached the
    /// target puts the bar's top (and an open triangle) on the "> E" row.
    public static func epochsNeeded(_ t: ResilienceTable) -> SVGChart {
        // In the table's unit: the "> last" row sits one epoch, or a tenth of
        // the schedule, above the largest amount.
        let last = t.schedule.last!
        let step = t.measuredInImages ? max(1, Double(last) / 10) : 1
        let top = Double(last) + step
        let hiRate = (t.rates.last ?? 0) * 100
        let unit = t.measuredInImages ? "FAT training images" : "FAT epochs"
        var c = SVGChart(title: "\(unit) needed vs fault rate (\(t.repeats) repeats)",
                         xLabel: "Fault rate (% of PEs)", yLabel: "\(unit) needed",
                         xDomain: 0...max(hiRate * 1.08, 1e-6), yDomain: (-step / 2)...(top + step / 2))
        c.yTicks = integerTicks(last) + [(top, "> \(last)")]
        let span = c.xDomain.upperBound - c.xDomain.lowerBound
        for (j, target) in t.targets.enumerated() {
            let stats = t.needed(target: target)
            // Side by side, so the bars of different targets do not hide each other.
            let dx = (Double(j) - Double(t.targets.count - 1) / 2) * span * 0.012
            let x = t.rates.map { $0 * 100 + dx }
            let name = "target " + percent(target)
            c.marks.append(.errorBars(name: name, color: SVGText.color(j), x: x,
                                      low: stats.map { $0.min.map(Double.init) ?? .nan },
                                      mid: stats.map { $0.mean ?? .nan },
                                      high: stats.map { s in s.max.map(Double.init) ?? (s.min == nil ? .nan : top) }))
            let unreached = zip(x, stats).filter { !$0.1.allReached }.map { SVGPoint($0.0, top) }
            if !unreached.isEmpty {
                c.marks.append(.scatter(name: name + " unreached", color: SVGText.color(j), points: unreached, marker: .triangle))
            }
        }
        return c
    }

    /// Fig. 3a-e: one chart per policy, each chip's final accuracy (chips
    /// sorted by fault rate) against the constraint.
    public static func perChip(_ r: CampaignResults, policy: String) -> SVGChart {
        let rows = r.rows(policy: policy).sorted { ($0.faultRate, $0.chip) < ($1.faultRate, $1.chip) }
        var c = SVGChart(title: "Policy \(policy): final accuracy per chip (sorted by fault rate)",
                         xLabel: "Chip rank by fault rate (\(percent(rows.first?.faultRate ?? 0)) ... \(percent(rows.last?.faultRate ?? 0)))",
                         yLabel: "Final accuracy (%)", xDomain: 0...Double(max(1, rows.count + 1)),
                         yDomain: accuracyDomain(r.rows.map(\.finalAccuracy), extra: [r.target]))
        c.xTicks = integerTicks(rows.count + 1).filter { $0.0 >= 1 && $0.0 <= Double(rows.count) }
        let ranked = rows.enumerated().map { (rank: Double($0.offset + 1), row: $0.element) }
        c.marks.append(.scatter(name: "meets constraint", color: "#59a14f",
                                points: ranked.filter { r.met($0.row) }.map { SVGPoint($0.rank, $0.row.finalAccuracy * 100) }, marker: .circle))
        c.marks.append(.scatter(name: "misses constraint", color: "#e15759",
                                points: ranked.filter { !r.met($0.row) }.map { SVGPoint($0.rank, $0.row.finalAccuracy * 100) }, marker: .triangle))
        // Chips whose Reduce budget was flagged (unreached: trained the resilience
        // file's E epochs; above_range: beyond the measured rates), ringed.
        let flagged = ranked.filter { !$0.row.flags.isEmpty }
        if !flagged.isEmpty {
            c.marks.append(.scatter(name: "flagged budget (unreached / above range)", color: "#333",
                                    points: flagged.map { SVGPoint($0.rank, $0.row.finalAccuracy * 100) }, marker: .ring))
        }
        c.marks.append(.hline(name: "constraint " + percent(r.target), color: "#333", y: r.target * 100, dash: SVGText.dash(0)))
        return c
    }

    /// Fig. 3f: chips meeting the constraint and total epochs, per policy.
    public static func summary(_ r: CampaignResults) -> [SVGChart] {
        let s = r.summary()
        let x = s.indices.map(Double.init)
        let ticks = zip(x, s.map(\.policy)).map { ($0, $1) }
        let maxChips = Double(s.map(\.chips).max() ?? 1)
        var met = SVGChart(title: "Chips meeting the constraint", xLabel: "Policy", yLabel: "Chips",
                           xDomain: -0.6...(Double(s.count) - 0.4), yDomain: 0...(maxChips * 1.12))
        met.width = 420
        met.xTicks = ticks
        met.marks = [.bars(name: "chips meeting " + percent(r.target), color: "#59a14f", x: x, heights: s.map { Double($0.met) }, width: 0.6)]
        met.hiddenFromLegend = ["chips meeting " + percent(r.target)]
        // Training images when the campaign records them (budgets finer than an epoch), else epochs.
        let images = s.allSatisfy { $0.trainImages != nil }
        let cost = s.map { Double(images ? $0.trainImages! : $0.totalEpochs) }
        let name = images ? "training images" : "total epochs"
        var epochs = SVGChart(title: images ? "Training images" : "Total FAT epochs", xLabel: "Policy",
                              yLabel: images ? "Images (all chips)" : "Epochs (all chips)",
                              xDomain: -0.6...(Double(s.count) - 0.4), yDomain: 0...max(1, (cost.max() ?? 1) * 1.12))
        epochs.width = 420
        epochs.xTicks = ticks
        epochs.marks = [.bars(name: name, color: "#4e79a7", x: x, heights: cost, width: 0.6)]
        epochs.hiddenFromLegend = [name]
        return [met, epochs]
    }
}
