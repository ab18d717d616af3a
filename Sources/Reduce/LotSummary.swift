import Foundation
import FapsimSupport
import SystolicArray

/// What `fapsim lot generate` reports about a lot: rate statistics, a 10-bin rate
/// histogram, and for the clustered model the defect-count statistics that its
/// negative-binomial parameters predict.
public struct LotSummary: Equatable, Sendable {
    public var rows: Int
    public var cols: Int
    public var generator: String
    public var parameters: [String: Double]
    public var lotSeed: UInt64
    /// Each chip's stored (realised) fault rate, in chip order.
    public var rates: [Double]
    /// Clustered model: each chip's defect count.
    public var defects: [Int]?
    /// A lot whose chips run spares: the layout, and each chip's faulty PEs the
    /// spares replace.
    public var spareLayout: SpareLayout?
    public var faultsRepaired: [Int]?

    public init(rows: Int, cols: Int, generator: String, parameters: [String: Double], lotSeed: UInt64,
                rates: [Double], defects: [Int]? = nil, spareLayout: SpareLayout? = nil, faultsRepaired: [Int]? = nil) {
        self.spareLayout = spareLayout
        self.faultsRepaired = faultsRepaired
        self.rows = rows
        self.cols = cols
        self.generator = generator
        self.parameters = parameters
        self.lotSeed = lotSeed
        self.rates = rates
        self.defects = defects
    }

    public var rateStats: SampleStats { SampleStats(rates) }
    public var defectStats: SampleStats? { defects.map { SampleStats($0.map(Double.init)) } }
    /// 10 bins, each the same whole number of faulty PEs wide.
    public var histogram: Histogram { Histogram(rates, bins: 10, quantum: 1 / Double(rows * cols)) }

    /// The readable summary, one line per entry.
    public func lines(path: String) -> [String] {
        let s = rateStats
        var out = ["\(path): \(rates.count) chips of \(rows) x \(cols) PEs, model \(generator) "
                   + "(\(Self.describe(parameters))), lot seed \(lotSeed)"]
        out.append(String(format: "fault rate: min %.6f  mean %.6f  max %.6f  (std %.6f)", s.min, s.mean, s.max, s.std))
        if let d = defectStats, let mean = parameters["mean_defects"], let alpha = parameters["alpha"] {
            out.append(String(format: "defects per chip: mean %.3f (model %.3f)  variance %.3f (model %.3f)  min %.0f  max %.0f",
                              d.mean, mean, d.variance, mean + mean * mean / alpha, d.min, d.max))
        }
        if let layout = spareLayout, let repaired = faultsRepaired {
            let faulty = zip(rates, repaired).reduce(0.0) { $0 + $1.0 * Double(rows * cols) }
            let total = repaired.reduce(0, +)
            out.append(String(format: "spares (%@, %ld spare PEs per chip): %ld faulty PEs repaired over the lot (%.1f%% of %.0f)",
                              layout.description, layout.spareCount(rows: rows, cols: cols), total,
                              faulty > 0 ? 100 * Double(total) / faulty : 100, faulty))
        }
        out.append("fault-rate histogram:")
        out += histogram.lines()
        return out
    }

    /// The machine-readable summary for `--json`.
    public func json(path: String) -> [String: Any] {
        let s = rateStats
        var j: [String: Any] = [
            "path": path, "chips": rates.count, "rows": rows, "cols": cols,
            "generator": generator, "parameters": parameters, "lot_seed": NSNumber(value: lotSeed),
            "fault_rate": ["min": s.min, "mean": s.mean, "max": s.max, "std": s.std],
            "histogram": ["edges": histogram.edges, "counts": histogram.counts],
        ]
        if let d = defectStats {
            j["defects"] = ["min": d.min, "mean": d.mean, "max": d.max, "variance": d.variance]
        }
        if let layout = spareLayout, let repaired = faultsRepaired {
            j["spare_layout"] = layout.description
            j["spare_pes"] = layout.spareCount(rows: rows, cols: cols)
            j["faults_repaired"] = repaired
        }
        return j
    }

    static func describe(_ p: [String: Double]) -> String {
        p.sorted { $0.key < $1.key }.map { "\($0.key) \(Self.number($0.value))" }.joined(separator: ", ")
    }

    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(format: "%g", x)
    }
}

/// Mean, unbiased variance and range of a sample.
public struct SampleStats: Equatable, Sendable {
    public var count: Int
    public var min: Double
    public var max: Double
    public var mean: Double
    /// Sample variance with n - 1 in the denominator (0 for fewer than 2 values).
    public var variance: Double
    public var std: Double { variance.squareRoot() }

    public init(_ xs: [Double]) {
        count = xs.count
        min = xs.min() ?? .nan
        max = xs.max() ?? .nan
        mean = xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count)
        let m = mean
        variance = xs.count < 2 ? 0 : xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)
    }
}

/// Equal-width bins from the smallest to the largest value; the last bin is
/// closed so the maximum is counted. When every value is equal, all of them fall
/// in the first bin of a zero-width range.
///
/// With a `quantum` (a lot's rates are whole numbers of faulty PEs over R x C),
/// every bin spans the same whole number of quanta instead, so no bin is empty
/// merely because no possible value falls in it; the bins are then half-open,
/// and there are fewer than `bins` when fewer cover every possible value.
public struct Histogram: Equatable, Sendable {
    public var edges: [Double]
    public var counts: [Int]
    /// Whether the last bin includes its upper edge.
    public var closedTop = true

    public init(_ xs: [Double], bins: Int, quantum: Double) {
        precondition(bins > 0 && quantum > 0)
        let lo = xs.min() ?? 0, hi = xs.max() ?? 0
        let steps = Int(((hi - lo) / quantum).rounded()) + 1
        let perBin = (steps + bins - 1) / bins
        // Fewer bins when fewer are needed to cover every possible value once.
        let used = (steps + perBin - 1) / perBin
        edges = (0...used).map { lo + Double($0 * perBin) * quantum }
        counts = [Int](repeating: 0, count: used)
        for x in xs {
            let j = Int(((x - lo) / quantum).rounded())
            counts[min(used - 1, j / perBin)] += 1
        }
        closedTop = false
    }

    public init(_ xs: [Double], bins: Int) {
        precondition(bins > 0)
        let lo = xs.min() ?? 0, hi = xs.max() ?? 0
        let width = (hi - lo) / Double(bins)
        edges = (0...bins).map { $0 == bins ? hi : lo + Double($0) * width }
        counts = [Int](repeating: 0, count: bins)
        for x in xs {
            // Compared with the stored edges, not (x - lo) / width, so a value is
            // always counted in the bin whose printed edges hold it.
            var b = 0
            while width > 0 && b < bins - 1 && x >= edges[b + 1] { b += 1 }
            counts[b] += 1
        }
    }

    /// `[lo, hi)  count  ####`, bars scaled to 40 characters at the fullest bin.
    public func lines(barWidth: Int = 40) -> [String] {
        let top = counts.max() ?? 0
        let total = counts.reduce(0, +)
        return counts.indices.map { b in
            let bar = top > 0 ? String(repeating: "#", count: (counts[b] * barWidth + top - 1) / top) : ""
            let close = b == counts.count - 1 && closedTop ? "]" : ")"
            let share = total > 0 ? 100 * Double(counts[b]) / Double(total) : 0
            return String(format: "  [%.6f, %.6f", edges[b], edges[b + 1]) + close
                + String(format: " %6d %5.1f%%  ", counts[b], share) + bar
        }
    }
}
