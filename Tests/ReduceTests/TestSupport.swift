import Foundation
import SystolicArray

@_exported import FapsimTestSupport

extension TemporaryDirectory {
    /// A hardware config YAML of `rows` x `cols` PEs in this directory.
    func config(rows: Int, cols: Int) throws -> String {
        let p = file("hw-\(rows)x\(cols).yaml")
        try "rows: \(rows)\ncols: \(cols)\nweight_load: single-buffered\nclock_mhz: 700\n"
            .write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }
}


enum Stat {
    static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }

    static func variance(_ xs: [Double]) -> Double {
        let m = mean(xs)
        return xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)
    }

    /// Kolmogorov-Smirnov statistic sup |F_n(x) - F(x)| of a sample against a
    /// continuous CDF, checking both sides of every step of F_n.
    static func ksStatistic(_ xs: [Double], cdf: (Double) -> Double) -> Double {
        let s = xs.sorted()
        let n = Double(s.count)
        var d = 0.0
        for (i, x) in s.enumerated() {
            let f = cdf(x)
            d = max(d, Double(i + 1) / n - f, f - Double(i) / n)
        }
        return d
    }

    /// The asymptotic 1% critical value of the one-sample KS statistic,
    /// 1.6276 / sqrt(n) (accurate to 0.5% for n >= 100).
    static func ksCritical1Percent(n: Int) -> Double { 1.6276 / Double(n).squareRoot() }

    /// Mean distance from each faulty PE to its nearest other faulty PE.
    static func meanNearestFaultyNeighbour(_ map: FaultMap) -> Double? {
        var pts: [(Int, Int)] = []
        for i in 0..<map.rows { for j in 0..<map.cols where map.isFaulty(i, j) { pts.append((i, j)) } }
        guard pts.count >= 2 else { return nil }
        var total = 0.0
        for (a, p) in pts.enumerated() {
            var best = Int.max
            for (b, q) in pts.enumerated() where a != b {
                let d = (p.0 - q.0) * (p.0 - q.0) + (p.1 - q.1) * (p.1 - q.1)
                if d < best { best = d }
            }
            total += Double(best).squareRoot()
        }
        return total / Double(pts.count)
    }
}
