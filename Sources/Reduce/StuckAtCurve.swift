import Foundation
import FapsimSupport
import Network
import SystolicArray

/// Accuracy of the int8 VGG11 against the fraction of faulty PEs, with the same
/// maps run two ways: every faulty PE bypassed (FAP), and every faulty PE left
/// unmitigated with a stuck-at bit on its partial-sum output (docs/stuck-at.md).
public struct StuckAtCurve: Sendable {
    public struct Point: Sendable {
        public var rate: Double
        public var map: Int
        public var faultyPEs: Int
        public var fapCorrect: Int
        public var unmitigatedCorrect: Int
    }

    public var rates: [Double]
    public var maps: Int
    public var seed: UInt64
    public var bits: StuckBitDistribution
    public var images: Int
    public var points: [Point] = []

    /// Map i of rate r is `FaultMap.uniform` from seed derived(seed, r's index, i);
    /// its stuck bits are drawn from the same seed, so a point can be rerun alone
    /// with `fapsim evaluate --fault-rate R --seed S [--unmitigated]`.
    public static func mapSeed(_ seed: UInt64, rateIndex: Int, map: Int) -> UInt64 {
        seed &+ UInt64(rateIndex) &* 1000 &+ UInt64(map)
    }

    public static func run(model: QuantizedVGG11, config: HardwareConfig, test: CIFAR10Set, rates: [Double], maps: Int,
                           seed: UInt64, bits: StuckBitDistribution, progress: ProgressLine?) throws -> StuckAtCurve {
        guard !rates.isEmpty, maps > 0 else { throw FapsimError("--rates and --maps: expected at least one rate and one map") }
        var curve = StuckAtCurve(rates: rates, maps: maps, seed: seed, bits: bits, images: test.count)
        for (ri, rate) in rates.enumerated() {
            for i in 0..<maps {
                let s = mapSeed(seed, rateIndex: ri, map: i)
                let faults = try FaultMap.uniform(rows: config.rows, cols: config.cols, rate: rate, seed: s)
                let fap = try Int8FunctionalEngine(config: config, chip: ChipDescription(faults: faults))
                let stuck = try Int8FunctionalEngine(config: config, stuckAt: bits.draw(faults: faults, seed: s))
                let a = try Evaluator.evaluate(network: QuantizedNetwork(model: model, engine: fap), data: test)
                let b = try Evaluator.evaluate(network: QuantizedNetwork(model: model, engine: stuck), data: test)
                curve.points.append(Point(rate: rate, map: i, faultyPEs: faults.faultyCount, fapCorrect: a.correct,
                                          unmitigatedCorrect: b.correct))
                progress?.advance(by: 1)
            }
        }
        return curve
    }

    /// Per rate: faulty PEs, and the min, mean and max accuracy (percent) of each way.
    public var rows: [(rate: Double, faultyPEs: Int, fap: (Double, Double, Double), unmitigated: (Double, Double, Double))] {
        rates.map { r in
            let ps = points.filter { $0.rate == r }
            func stats(_ v: [Int]) -> (Double, Double, Double) {
                let pct = v.map { 100 * Double($0) / Double(max(images, 1)) }
                return (pct.min() ?? 0, pct.reduce(0, +) / Double(max(pct.count, 1)), pct.max() ?? 0)
            }
            return (r, ps.first?.faultyPEs ?? 0, stats(ps.map(\.fapCorrect)), stats(ps.map(\.unmitigatedCorrect)))
        }
    }

    public var json: [String: Any] {
        [
            "images": images, "maps": maps, "seed": seed, "stuck_bits": bits.description,
            "points": points.map { p -> [String: Any] in
                ["rate": p.rate, "map": p.map, "faulty_pes": p.faultyPEs,
                 "fap_accuracy": Double(p.fapCorrect) / Double(max(images, 1)),
                 "unmitigated_accuracy": Double(p.unmitigatedCorrect) / Double(max(images, 1))]
            },
        ]
    }

    /// Accuracy against log10(rate): mean lines with min-max bands, and the FAP
    /// paper's 0.006% marked.
    public func svg() -> String {
        let xs = rates.map { log10($0) }
        let lo = (xs.min() ?? -5).rounded(.down), hi = (xs.max() ?? 0).rounded(.up)
        var c = SVGChart(title: "int8 VGG11: accuracy vs faulty PEs, stuck-at (\(bits)) vs FAP, \(maps) maps, \(images) images",
                         xLabel: "faulty PEs (log scale)", yLabel: "top-1 accuracy (%)", xDomain: lo...hi, yDomain: 0...100)
        c.xTicks = stride(from: lo, through: hi, by: 1).map { e in
            let pct = 100 * pow(10, e)
            return (e, pct >= 1 ? String(format: "%.0f%%", pct) : String(format: "%g%%", pct))
        }
        let r = rows
        c.marks.append(.band(name: "FAP min-max", color: "#1f77b4", x: xs, low: r.map(\.fap.0), high: r.map(\.fap.2)))
        c.marks.append(.line(name: "FAP (bypass)", color: "#1f77b4", points: zip(xs, r).map { SVGPoint($0, $1.fap.1) },
                             dashed: false, markers: true))
        c.marks.append(.band(name: "stuck-at min-max", color: "#d62728", x: xs, low: r.map(\.unmitigated.0),
                             high: r.map(\.unmitigated.2)))
        c.marks.append(.line(name: "unmitigated stuck-at", color: "#d62728",
                             points: zip(xs, r).map { SVGPoint($0, $1.unmitigated.1) }, dashed: false, markers: true))
        let paper = log10(0.00006)
        c.marks.append(.line(name: "0.006% (FAP paper's collapse)", color: "#555555",
                             points: [SVGPoint(paper, 0), SVGPoint(paper, 100)], dashed: true, markers: false))
        c.hiddenFromLegend = ["FAP min-max", "stuck-at min-max"]
        return c.render()
    }
}
