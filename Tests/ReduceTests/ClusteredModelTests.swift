import Foundation
import Testing
import FapsimStore
import FapsimSupport
import SystolicArray
@testable import Reduce

struct ClusteredModelTests {
    /// NB(r = alpha, p = alpha / (alpha + D)) pmf: the Poisson-Gamma mixture.
    static func negativeBinomialPmf(_ k: Int, mean d: Double, alpha: Double) -> Double {
        let p = alpha / (alpha + d)
        let kd = Double(k)
        let logChoose: Double = lgamma(kd + alpha) - lgamma(kd + 1) - lgamma(alpha)
        let logPowers: Double = alpha * log(p) + kd * log(1 - p)
        return exp(logChoose + logPowers)
    }

    /// NB probability generating function E[s^N] = (p / (1 - (1 - p) s))^alpha.
    static func negativeBinomialPGF(_ s: Double, mean d: Double, alpha: Double) -> Double {
        let p = alpha / (alpha + d)
        return pow(p / (1 - (1 - p) * s), alpha)
    }

    /// Defect counts over 2000 chips: mean D and variance D + D^2 / alpha within
    /// 4 standard errors, and the whole pmf by chi-square, for two alphas and for
    /// a mean large enough that the Poisson step uses PTRS.
    @Test(arguments: [(4.0, 2.0), (1.5, 0.5), (250.0, 2.0)])
    func defectCountsAreNegativeBinomial(d: Double, alpha: Double) throws {
        let n = 2000
        // Radius 0 for the large mean: only the counts matter, and stamping stays cheap.
        let model = try ClusteredDefectModel(meanDefects: d, alpha: alpha, clusterRadius: d > 100 ? 0 : 1)
        let dir = try TemporaryDirectory()
        let summary = try LotGenerator(model: model, rows: 16, cols: 16, lotSeed: 12)
            .write(chips: n, to: dir.file("c.h5"), force: false)
        let counts = try #require(summary.defects)
        let xs = counts.map(Double.init)
        let variance = d + d * d / alpha
        #expect(abs(Stat.mean(xs) - d) < 4 * (variance / Double(n)).squareRoot(), "mean \(Stat.mean(xs))")
        // Standard error of s^2 from the NB's fourth central moment, summed from its pmf.
        let mu4 = (0..<20_000).reduce(0.0) { $0 + Self.negativeBinomialPmf($1, mean: d, alpha: alpha) * pow(Double($1) - d, 4) }
        let seVar = ((mu4 - variance * variance) / Double(n)).squareRoot()
        #expect(abs(Stat.variance(xs) - variance) < 4 * seVar, "variance \(Stat.variance(xs)) vs \(variance) +- \(4 * seVar)")
        // A plain Poisson count (variance D) would be far outside that band.
        #expect(abs(d - variance) > 8 * seVar)
        var observed: [Int: Int] = [:]
        for c in counts { observed[c, default: 0] += 1 }
        let chi = ChiSquare.statistic(observed: observed, n: n) { Self.negativeBinomialPmf($0, mean: d, alpha: alpha) }
        #expect(chi.value < ChiSquare.critical1Percent(df: chi.df), "chi^2 \(chi.value) df \(chi.df)")
    }

    @Test func discSizes() {
        let sizes = [0.0, 0.5, 1, 1.5, 2, 2.5, 3].map { ClusteredDefectModel.offsets(radius: $0).count }
        #expect(sizes == [1, 1, 5, 9, 13, 21, 29])
    }

    /// A defect at a corner is clipped to the array; one in the middle is a full disc.
    @Test func stampClipsAtEdges() throws {
        let m = try ClusteredDefectModel(meanDefects: 1, alpha: 1, clusterRadius: 1)
        var corner = FaultMap.none(rows: 5, cols: 5)
        m.stamp(PECoordinate(row: 0, col: 0), on: &corner)
        #expect(corner.faultyCount == 3 && corner.isFaulty(0, 0) && corner.isFaulty(1, 0) && corner.isFaulty(0, 1))
        var middle = FaultMap.none(rows: 5, cols: 5)
        m.stamp(PECoordinate(row: 2, col: 2), on: &middle)
        #expect(middle.faultyCount == 5 && !middle.isFaulty(1, 1) && middle.isFaulty(3, 2))
    }

    /// Every generated map is exactly the union of the discs around its centres.
    @Test func mapIsUnionOfClusterDiscs() throws {
        let m = try ClusteredDefectModel(meanDefects: 6, alpha: 1.5, clusterRadius: 2)
        let g = try LotGenerator(model: m, rows: 20, cols: 24, lotSeed: 6)
        for i in 0..<100 {
            let c = g.chip(i)
            #expect(c.defects == c.clusterCentres.count)
            var union = FaultMap.none(rows: 20, cols: 24)
            for centre in c.clusterCentres {
                for r in 0..<20 { for col in 0..<24 {
                    let d2 = (r - centre.row) * (r - centre.row) + (col - centre.col) * (col - centre.col)
                    if d2 <= 4 { union.setFaulty(r, col, true) }
                } }
            }
            #expect(union == c.faultMap)
        }
    }

    /// --rate P sets D = P R C / area; the lot's mean realised rate then matches the
    /// exact expectation with clipping and overlaps: the mean over PEs of
    /// 1 - G(1 - q), q = (centres whose disc covers the PE) / (R C), G the NB pgf.
    @Test func rateOptionGivesExpectedFaultyFraction() throws {
        let (rows, cols, rate, alpha, radius) = (32, 32, 0.05, 2.0, 1.5)
        let m = try ClusteredDefectModel.forRate(rate, rows: rows, cols: cols, alpha: alpha, clusterRadius: radius)
        #expect(m.clusterArea == 9)
        #expect(abs(m.meanDefects - rate * 1024 / 9) < 1e-12)
        #expect(m.parameters["rate"] == rate && m.parameters["cluster_area"] == 9)
        let n = 2000
        let rates = try LotGenerator(model: m, rows: rows, cols: cols, lotSeed: 21).lot(chips: n).chips.map(\.faultRate)
        var expected = 0.0
        for r in 0..<rows { for c in 0..<cols {
            let covering = m.clusterOffsets.filter { o in
                (0..<rows).contains(r - o.row) && (0..<cols).contains(c - o.col)
            }.count
            let q = Double(covering) / Double(rows * cols)
            expected += 1 - Self.negativeBinomialPGF(1 - q, mean: m.meanDefects, alpha: alpha)
        } }
        expected /= Double(rows * cols)
        let se = (Stat.variance(rates) / Double(n)).squareRoot()
        #expect(abs(Stat.mean(rates) - expected) < 4 * se, "mean \(Stat.mean(rates)) expected \(expected) se \(se)")
        #expect(expected < rate)  // overlaps and clipping lose a little of P
    }

    /// Clustered faults sit next to each other: the mean distance from a faulty PE
    /// to its nearest faulty neighbour is much smaller than for uniform maps with
    /// the same number of faulty PEs.
    @Test func clusteringClusters() throws {
        let m = try ClusteredDefectModel.forRate(0.05, rows: 48, cols: 48, alpha: 2, clusterRadius: 1.5)
        let g = try LotGenerator(model: m, rows: 48, cols: 48, lotSeed: 17)
        var clustered: [Double] = [], uniform: [Double] = []
        var rng = SeededRNG(seed: 18)
        for i in 0..<40 {
            let map = g.chip(i).faultMap
            guard let dc = Stat.meanNearestFaultyNeighbour(map) else { continue }
            let u = try FaultMap.uniform(rows: 48, cols: 48, rate: map.faultRate, rng: &rng)
            guard let du = Stat.meanNearestFaultyNeighbour(u) else { continue }
            clustered.append(dc)
            uniform.append(du)
        }
        #expect(clustered.count >= 20)
        #expect(Stat.mean(clustered) < 0.6 * Stat.mean(uniform), "clustered \(Stat.mean(clustered)) uniform \(Stat.mean(uniform))")
        // Inside a disc of radius 1.5 every faulty PE has a neighbour at distance 1.
        #expect(Stat.mean(clustered) < 1.2)
    }

    @Test func zeroMeanDefectsGivesCleanChips() throws {
        let g = try LotGenerator(model: try ClusteredDefectModel(meanDefects: 0, alpha: 1, clusterRadius: 2),
                                 rows: 8, cols: 8, lotSeed: 1)
        #expect(try g.lot(chips: 10).chips.allSatisfy { $0.faultMap.faultyCount == 0 })
    }
}
