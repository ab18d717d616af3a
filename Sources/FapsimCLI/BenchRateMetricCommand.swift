import ArgumentParser
import Foundation
import FapsimSupport
import Network
import Reduce
import SystolicArray

/// `fapsim bench rate-metric-share`: the figures of docs/rate-metric.md's
/// "Why it differs from the PE rate": per GEMM layer its shape, share of the
/// network's MACs, the PEs it uses and its folds; then, for the five lots the
/// doc tabulates, how far each chip's MAC-weighted pruned share strays from its
/// PE rate.
struct BenchRateMetricShareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rate-metric-share",
        abstract: "Per-layer MAC shares and PEs used, and weight share against PE rate over five lots, as JSON (docs/rate-metric.md).")

    @Option(help: "Hardware config YAML (the array the layers fold onto).") var config: String = "hw-configs/tpu-256x256.yaml"
    @Option(help: "VGG11 width multiplier.") var width: Double = 1.0
    @Option(help: "Chips per lot.") var chips: Int = 100
    @Option(help: "Lot seed.") var seed: UInt64 = 7
    @Flag(help: "JSON output (the default; kept for symmetry with other commands).") var json = false

    func run() throws {
        guard chips >= 2 else { throw FapsimError("--chips: expected at least 2 chips, got \(chips)") }
        let hw = try HardwareConfig.load(path: config)
        let spec = try VGG11Spec(width: width)
        let (rows, cols) = (hw.rows, hw.cols)
        let layers: [[String: Any]] = spec.gemmLayers.map { layer in
            let s = layer.shape(batch: 1)
            return [
                "layer": layer.name, "k": layer.k, "n": layer.n, "m": s.m, "macs": s.macs,
                "mac_share": Double(s.macs) / Double(spec.macsPerImage),
                "pe_rows_used": min(layer.k, rows), "pe_cols_used": min(layer.n, cols),
                "k_folds": (layer.k + rows - 1) / rows, "n_folds": (layer.n + cols - 1) / cols,
            ]
        }
        let models: [(String, any ChipFaultModel)] = [
            ("uniform 0.01:0.1", try UniformRateModel(rateMin: 0.01, rateMax: 0.1)),
            ("fixed 0.05", try FixedRateModel(rate: 0.05)),
            ("clustered P 0.05 alpha 2 radius 2", try ClusteredDefectModel.forRate(0.05, rows: rows, cols: cols, alpha: 2, clusterRadius: 2)),
            ("clustered P 0.05 alpha 2 radius 8", try ClusteredDefectModel.forRate(0.05, rows: rows, cols: cols, alpha: 2, clusterRadius: 8)),
            ("clustered P 0.05 alpha 0.5 radius 16", try ClusteredDefectModel.forRate(0.05, rows: rows, cols: cols, alpha: 0.5, clusterRadius: 16)),
        ]
        var lots: [[String: Any]] = []
        for (name, model) in models {
            let generator = try LotGenerator(model: model, rows: rows, cols: cols, lotSeed: seed)
            let chipFigures = (0..<chips).map { i -> (rate: Double, share: Double) in
                let map = generator.chip(i).faultMap
                return (map.faultRate, PrunedShare.macWeighted(map, spec: spec))
            }
            let gaps = chipFigures.map { abs($0.share - $0.rate) }
            // share / rate is undefined on a fault-free chip (clustered lots have some).
            let ratios = chipFigures.filter { $0.rate > 0 }.map { $0.share / $0.rate }
            lots.append([
                "lot": name, "chips": chips, "seed": seed,
                "mean_pe_rate": Self.mean(chipFigures.map(\.rate)), "mean_share": Self.mean(chipFigures.map(\.share)),
                "mean_abs_share_minus_rate": Self.mean(gaps), "max_abs_share_minus_rate": gaps.max() ?? 0,
                "sd_share_over_rate": Self.sampleStandardDeviation(ratios) ?? NSNull(),
            ])
        }
        JSONOutput.print([
            "benchmark": "rate-metric-share", "config": hw.name, "rows": rows, "cols": cols, "width": width,
            "macs_per_image": spec.macsPerImage, "layers": layers, "lots": lots,
        ])
    }

    static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }

    /// With the n - 1 denominator; nil for fewer than two values.
    static func sampleStandardDeviation(_ xs: [Double]) -> Double? {
        guard xs.count >= 2 else { return nil }
        let m = mean(xs)
        return (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)).squareRoot()
    }
}

/// `fapsim bench rate-metric-compare`: the measurement of docs/rate-metric.md's
/// "Measured on a lot": both metrics' budget summaries against the epochs each
/// chip's real FAT curve needed, for every target of the resilience file, both
/// policies, conservative and interpolated; optionally the comparison's report
/// section and figure for the first target, policy max, conservative.
struct BenchRateMetricCompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rate-metric-compare",
        abstract: "Budgets by PE rate and by weight share against the epochs each chip really needed, every target and policy, as JSON.")

    @Option(help: "Resilience file (fapsim resilience).") var resilience: String
    @Option(help: "Chip lot file the campaign ran on.") var lot: String
    @Option(help: "Campaign file (fapsim reduce) with a FAT curve per chip (e.g. from --fixed E).") var campaign: String
    @Option(help: "Write the comparison's report section and figure (first target, policy max) into this directory.")
    var out: String?
    @Flag(help: "Replace existing report files in --out.") var force = false
    @Flag(help: "JSON output (the default; kept for symmetry with other commands).") var json = false

    func run() throws {
        let table = try ResilienceTable.read(path: resilience)
        var results: [[String: Any]] = []
        var first: MetricComparison?
        for target in table.targets {
            for policy in BudgetPolicy.perRate {
                for interpolate in [false, true] {
                    let c = try MetricComparison.run(resilience: resilience, lot: lot, campaign: campaign,
                                                     rule: BudgetRule(target: target, policy: policy, interpolate: interpolate))
                    if first == nil { first = c }
                    for s in c.summaries {
                        results.append([
                            "target": target, "policy": policy.rawValue, "interpolate": interpolate,
                            "metric": s.metric.rawValue, "chips": c.chips.count, "scored": s.scored,
                            "mae": s.meanAbsoluteError ?? NSNull(), "paired_scored": s.pairedScored,
                            "paired_mae": s.pairedMeanAbsoluteError ?? NSNull(),
                            "under_budgeted": s.underBudgeted, "over_budgeted": s.overBudgeted,
                            "wasted_epochs": s.wastedEpochs, "no_budget": s.noBudget,
                            "spearman": s.spearman ?? NSNull(), "better": c.better?.rawValue ?? "tie",
                        ])
                    }
                }
            }
        }
        var written: [String] = []
        if let out, let first {
            let files = MetricComparisonReport.render(first)
            for f in files { try AtomicWrite.checkOverwrite(out + "/" + f.name, force: force) }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for f in files {
                try AtomicWrite.write(text: f.text, to: out + "/" + f.name, force: force)
                written.append(out + "/" + f.name)
            }
        }
        JSONOutput.print([
            "benchmark": "rate-metric-compare", "resilience": resilience, "lot": lot, "campaign": campaign,
            "summaries": results, "written": written,
        ])
    }
}
