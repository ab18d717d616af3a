import Foundation
import FapsimStore

/// How well the confidence policy's stated probabilities held: per group of
/// chips, the predicted share meeting the constraint (the mean of their
/// `p_meet`) against the share that met it on the test set.
public struct CalibrationBin: Equatable, Sendable {
    /// "all" or the bin's fault-rate range, e.g. "2.1%-9.8%".
    public var label: String
    public var chips: Int
    public var meanRate: Double
    public var predicted: Double
    public var observed: Double
}

extension CampaignResults {
    /// The confidence policy's calibration, overall and in up to `bins` bins
    /// of equal chip counts by fault rate (a lot's rates are not evenly
    /// spread, so equal-width bins could be empty); empty when no row
    /// carries a prediction.
    public func calibration(bins: Int = 3) -> [CalibrationBin] {
        let rows = rows(policy: BudgetPolicy.confidence.rawValue).filter { $0.predictedProbability != nil }
            .sorted { ($0.faultRate, $0.chip) < ($1.faultRate, $1.chip) }
        guard !rows.isEmpty else { return [] }
        func bin(_ label: String, _ r: ArraySlice<Row>) -> CalibrationBin {
            let n = Double(r.count)
            return CalibrationBin(label: label, chips: r.count, meanRate: r.map(\.faultRate).reduce(0, +) / n,
                                  predicted: r.compactMap(\.predictedProbability).reduce(0, +) / n,
                                  observed: Double(r.filter(met).count) / n)
        }
        var out = [bin("all", rows[...])]
        let k = min(bins, rows.count)
        for b in 0..<k {
            let part = rows[(b * rows.count / k)..<((b + 1) * rows.count / k)]
            out.append(bin(ReduceFigures.percent(part.first!.faultRate) + "-" + ReduceFigures.percent(part.last!.faultRate), part))
        }
        return out
    }
}

extension ReduceFigures {
    /// Fig. 5: the confidence policy's predicted share of chips meeting the
    /// constraint against the observed share, per fault-rate bin, with the
    /// stated confidence dashed; nil without predictions.
    public static func calibration(_ r: CampaignResults, confidence: Double?) -> SVGChart? {
        let c = r.calibration()
        guard c.count > 1 else { return nil }
        let bins = Array(c.dropFirst())
        let lo = bins.first!.meanRate * 100, hi = bins.last!.meanRate * 100
        let pad = max((hi - lo) * 0.15, 0.5)
        var chart = SVGChart(title: "Confidence policy: predicted vs observed share meeting the constraint",
                             xLabel: "Fault rate (% of PEs, bin mean)", yLabel: "Share of chips (%)",
                             xDomain: (lo - pad)...(hi + pad), yDomain: 0...105)
        chart.marks.append(.line(name: "predicted (mean p_meet)", color: SVGText.color(0),
                                 points: bins.map { SVGPoint($0.meanRate * 100, $0.predicted * 100) }, dashed: false, markers: true))
        chart.marks.append(.scatter(name: "observed on the test set", color: SVGText.color(1),
                                    points: bins.map { SVGPoint($0.meanRate * 100, $0.observed * 100) }, marker: .triangle))
        chart.marks.append(.hline(name: String(format: "overall: predicted %.0f%%, observed %.0f%%", c[0].predicted * 100, c[0].observed * 100),
                                  color: "#999", y: c[0].observed * 100, dash: SVGText.dash(1)))
        if let confidence {
            chart.marks.append(.hline(name: "stated confidence " + percent(confidence), color: "#333", y: confidence * 100, dash: SVGText.dash(0)))
        }
        return chart
    }
}
