import Foundation
import Testing
import Network
import SystolicArray
@testable import Reduce

/// `PrunedShare.macWeighted`, the `weights` rate metric's coordinate
/// (docs/rate-metric.md): its extremes, hand-computed values on a small spec,
/// and how far it strays from the PE rate for uniform and clustered lots.
struct RateMetricShareTests {
    @Test func faultFreeIsZeroAndAllFaultyIsOne() throws {
        for (rows, cols, width) in [(32, 32, 0.125), (256, 256, 1.0), (8, 8, 0.25)] {
            let spec = try VGG11Spec(width: width)
            #expect(PrunedShare.macWeighted(FaultMap.none(rows: rows, cols: cols), spec: spec) == 0)
            let all = FaultMap(rows: rows, cols: cols, bits: [UInt8](repeating: 1, count: rows * cols))
            #expect(PrunedShare.macWeighted(all, spec: spec) == 1)
            #expect(PrunedShare.weightCounted(all, spec: spec) == 1)
        }
    }

    /// VGG11 at width 0.125 on a 32 x 32 array, per image (K, N, M):
    /// conv1 (27, 8, 1024), conv2 (72, 16, 256), conv3 (144, 32, 64),
    /// conv4 (288, 32, 64), conv5 (288, 64, 16), conv6 (576, 64, 16),
    /// conv7 and conv8 (576, 64, 4), classifier (64, 10, 1): 2,581,120 MACs.
    /// One faulty PE (i, j) prunes #{k < K: k = i mod 32} x #{n < N: n = j mod 32}
    /// weights of each layer:
    ///   PE(0, 0):  1, 3, 5, 9, 18, 36, 36, 36, 2  -> MACs 1024 + 768 + 320 + 576 + 288 + 576 + 144 + 144 + 2 = 3842
    ///   PE(30, 0): 0, 2, 4, 9, 18, 36, 36, 36, 2  -> MACs    0 + 512 + 256 + 576 + 288 + 576 + 144 + 144 + 2 = 2498
    /// (row 30 is beyond conv1's K = 27 rows and hits conv2/conv3 once less),
    /// against a PE rate of 1 / 1024 for both.
    @Test func handBuiltMapsInAndBeyondTheFirstLayersRows() throws {
        let spec = try VGG11Spec(width: 0.125)
        #expect(spec.macsPerImage == 2_581_120)
        func map(_ pes: [(Int, Int)]) -> FaultMap {
            var m = FaultMap.none(rows: 32, cols: 32)
            for (i, j) in pes { m.setFaulty(i, j, true) }
            return m
        }
        let inFirst = map([(0, 0)]), beyond = map([(30, 0)])
        #expect(PrunedShare.macWeighted(inFirst, spec: spec) == 3842.0 / 2_581_120)
        #expect(PrunedShare.macWeighted(beyond, spec: spec) == 2498.0 / 2_581_120)
        #expect(PrunedShare.macWeighted(inFirst, spec: spec) > inFirst.faultRate)
        #expect(PrunedShare.macWeighted(beyond, spec: spec) < beyond.faultRate)
        // Shares add over disjoint faults: a layer's pruned count is a sum over PEs.
        #expect(PrunedShare.macWeighted(map([(0, 0), (30, 0)]), spec: spec) == 6340.0 / 2_581_120)
        // Counted once per weight: 216 + 1152 + 4608 + 9216 + 18432 + 3 x 36864 + 640 = 144,856 weights.
        #expect(PrunedShare.weightCounted(inFirst, spec: spec) == 146.0 / 144_856)
        #expect(PrunedShare.weightCounted(beyond, spec: spec) == 143.0 / 144_856)
        // Rows 27...31 only (conv1 untouched), against rows 0...4 (conv1 hit in every column it uses).
        let low = map((0..<5).flatMap { i in (0..<32).map { (i, $0) } })
        let high = map((27..<32).flatMap { i in (0..<32).map { (i, $0) } })
        #expect(low.faultyCount == high.faultyCount)
        #expect(PrunedShare.macWeighted(low, spec: spec) > PrunedShare.macWeighted(high, spec: spec))
    }

    /// Shares and PE rates of `chips` chips of a lot on the 256 x 256 array for VGG11 width 1.0.
    static func lot(_ model: any ChipFaultModel, chips: Int, seed: UInt64) throws -> [(rate: Double, share: Double)] {
        let spec = try VGG11Spec(width: 1.0)
        let g = try LotGenerator(model: model, rows: 256, cols: 256, lotSeed: seed)
        return (0..<chips).map { i in
            let m = g.chip(i).faultMap
            return (m.faultRate, PrunedShare.macWeighted(m, spec: spec))
        }
    }

    static func meanGap(_ xs: [(rate: Double, share: Double)]) -> Double {
        xs.map { abs($0.share - $0.rate) }.reduce(0, +) / Double(xs.count)
    }

    /// Uniform maps: the six layers that fill the array (75 % of the MACs)
    /// see exactly the PE rate, and the corner-only layers (conv1: 27 x 64 PEs,
    /// conv2: 256 x 128, rows 0-63 used three times) see a binomial sample of
    /// it, so the share stays within 0.0005 of the PE rate on average and
    /// share / rate has a standard deviation under 0.01 (measured: 0.00013 and
    /// 0.003 over 100 chips, docs/rate-metric.md). Clustered maps (radius 8,
    /// alpha 2) put whole discs inside or outside those corners and scatter at
    /// least three times as far on both measures. Fixed seeds, 40 chips each.
    @Test func uniformSharesTrackThePERateClusteredOnesScatter() throws {
        let uniform = try Self.lot(try UniformRateModel(rateMin: 0.01, rateMax: 0.1), chips: 40, seed: 11)
        let clustered = try Self.lot(try ClusteredDefectModel.forRate(0.05, rows: 256, cols: 256, alpha: 2, clusterRadius: 8),
                                     chips: 40, seed: 11).filter { $0.rate > 0 }
        try #require(clustered.count >= 20)
        let (gu, gc) = (Self.meanGap(uniform), Self.meanGap(clustered))
        #expect(gu < 0.0005, "uniform mean |share - rate| = \(gu)")
        #expect(gc > 3 * gu, "clustered \(gc) vs uniform \(gu)")
        let (su, sc) = (Self.sdRatio(uniform), Self.sdRatio(clustered))
        #expect(su < 0.01, "uniform sd(share / rate) = \(su)")
        #expect(sc > 3 * su, "clustered sd(share / rate) \(sc) vs uniform \(su)")
        for u in uniform { #expect(abs(u.share - u.rate) < 0.002, "uniform chip at \(u.rate): share \(u.share)") }
    }

    static func sdRatio(_ xs: [(rate: Double, share: Double)]) -> Double {
        Stat.variance(xs.filter { $0.rate > 0 }.map { $0.share / $0.rate }).squareRoot()
    }
}
