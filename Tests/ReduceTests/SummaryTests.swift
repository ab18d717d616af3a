import Foundation
import Testing
import FapsimSupport
@testable import Reduce

struct SummaryTests {
    @Test func histogramBinsEveryValue() {
        let xs = [0.0, 0.5, 1, 1.5, 2, 3, 3.999, 4, 9.5, 10]
        let h = Histogram(xs, bins: 10)
        #expect(h.edges == (0...10).map(Double.init))
        // [0,1) [1,2) [2,3) [3,4) [4,5) ... [9,10]: the maximum is in the closed last bin.
        #expect(h.counts == [2, 2, 1, 2, 1, 0, 0, 0, 0, 2])
        // Evenly spread values fill the bins evenly, whatever the width's rounding.
        let ys = (0..<1000).map { Double($0) * 0.001 + 0.01 }
        let g = Histogram(ys, bins: 10)
        #expect(g.counts.reduce(0, +) == 1000)
        #expect(g.counts.allSatisfy { (99...101).contains($0) }, "\(g.counts)")
    }

    @Test func histogramOfEqualValues() {
        let h = Histogram([0.25, 0.25, 0.25], bins: 10)
        #expect(h.counts[0] == 3 && h.counts.dropFirst().allSatisfy { $0 == 0 })
        #expect(h.lines().count == 10)
    }

    @Test func summaryTextAndJSON() throws {
        let g = try LotGenerator(model: try ClusteredDefectModel(meanDefects: 2, alpha: 1, clusterRadius: 1),
                                 rows: 10, cols: 10, lotSeed: 3)
        let dir = try TemporaryDirectory()
        let s = try g.write(chips: 50, to: dir.file("s.h5"), force: false)
        let lines = s.lines(path: "s.h5")
        #expect(lines[0].contains("50 chips of 10 x 10") && lines[0].contains("clustered") && lines[0].contains("alpha 1"))
        #expect(lines.contains { $0.hasPrefix("fault rate: min") })
        #expect(lines.contains { $0.hasPrefix("defects per chip: mean") && $0.contains("(model 6.000)") })
        #expect(lines.filter { $0.hasPrefix("  [") }.count == s.histogram.counts.count)
        #expect(s.histogram.counts.count == 10)  // rates here span far more than 10 PE counts
        let text = JSONOutput.string(s.json(path: "s.h5"))
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(obj["chips"] as? Int == 50)
        #expect(obj["lot_seed"] as? Int == 3)
        let hist = try #require(obj["histogram"] as? [String: Any])
        #expect((hist["counts"] as? [Int])?.reduce(0, +) == 50)
        let rate = try #require(obj["fault_rate"] as? [String: Double])
        #expect(rate["min"]! <= rate["mean"]! && rate["mean"]! <= rate["max"]!)
        #expect(obj["defects"] != nil)
    }
}

struct QuantisedHistogramTests {
    /// Rates of an 8 x 8 array are k / 64: 5 possible values from 1/64 to 5/64
    /// make 5 bins one value wide; 23 values make 8 bins 3 values wide.
    @Test func binsSpanWholeFaultyPECounts() {
        let q = 1.0 / 64
        let few = Histogram([1, 2, 2, 5, 3].map { Double($0) * q }, bins: 10, quantum: q)
        #expect(few.counts == [1, 2, 1, 0, 1])
        #expect(few.edges[0] == q && few.edges[1] == 2 * q)
        let many = Histogram((0..<23).map { Double($0 + 4) * q }, bins: 10, quantum: q)
        #expect(many.counts == [3, 3, 3, 3, 3, 3, 3, 2])
        #expect(many.edges[1] - many.edges[0] == 3 * q && many.edges.count == 9)
        #expect(!many.lines()[7].contains("]"))
        let wide = Histogram((0..<1000).map { Double($0) * q }, bins: 10, quantum: q)
        #expect(wide.counts == [Int](repeating: 100, count: 10))
    }
}
