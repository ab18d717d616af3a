import Foundation
import Testing
import FapsimStore
import FapsimSupport
import SystolicArray
@testable import Reduce

struct UniformAndFixedModelTests {
    /// The stored rates of a uniform lot follow U(A, B): the KS statistic stays
    /// under the 1% critical value, while against a wrong range it does not.
    @Test func uniformRatesPassKolmogorovSmirnov() throws {
        let (a, b) = (0.01, 0.1)
        let n = 1000
        let dir = try TemporaryDirectory()
        let g = try LotGenerator(model: try UniformRateModel(rateMin: a, rateMax: b), rows: 32, cols: 32, lotSeed: 31)
        try g.write(chips: n, to: dir.file("u.h5"), force: false)
        let rates = try ChipLotFile.read(path: dir.file("u.h5")).chips.map(\.faultRate)
        let critical = Stat.ksCritical1Percent(n: n)
        let uab = { (x: Double) in min(1, max(0, (x - a) / (b - a))) }
        // Stored rates are realised ones, on a grid of 1/1024: that moves the
        // empirical CDF by at most 0.5 / 1024 / (B - A) = 0.0054.
        let d = Stat.ksStatistic(rates, cdf: uab)
        #expect(d < critical, "KS D = \(d), critical \(critical)")
        // The draws before rounding to whole PEs are continuous U(A, B).
        let drawn = (0..<n).map { g.chip($0).drawnRate }
        let dDrawn = Stat.ksStatistic(drawn, cdf: uab)
        #expect(dDrawn < critical, "KS D = \(dDrawn), critical \(critical)")
        #expect(drawn.allSatisfy { $0 >= a && $0 <= b })
        // Power: the same sample against U(A, 1.2 B) is rejected.
        let wrong = { (x: Double) in min(1, max(0, (x - a) / (1.2 * b - a))) }
        #expect(Stat.ksStatistic(rates, cdf: wrong) > critical)
    }

    /// Each uniform chip has exactly round(drawn rate x R x C) faulty PEs.
    @Test func uniformPlacesTheDrawnNumberOfFaults() throws {
        let g = try LotGenerator(model: try UniformRateModel(rateMin: 0, rateMax: 1), rows: 7, cols: 9, lotSeed: 3)
        for i in 0..<200 {
            let c = g.chip(i)
            #expect(c.faultMap.faultyCount == Int((c.drawnRate * 63).rounded()))
        }
    }

    /// Uniform placement: over many chips every PE is hit about equally often.
    @Test func uniformPlacementCoversTheArray() throws {
        let g = try LotGenerator(model: try FixedRateModel(rate: 0.25), rows: 8, cols: 8, lotSeed: 8)
        var hits = [Int](repeating: 0, count: 64)
        let n = 4000
        for i in 0..<n { for (k, bit) in g.chip(i).faultMap.bits.enumerated() { hits[k] += Int(bit) } }
        // Each PE is faulty with probability 16/64 in each chip: Binomial(4000, 0.25).
        let sd = (Double(n) * 0.25 * 0.75).squareRoot()
        #expect(hits.allSatisfy { abs(Double($0) - Double(n) / 4) < 4.5 * sd }, "\(hits)")
    }

    @Test(arguments: [0.0, 0.03, 0.5, 1.0])
    func fixedModelIsExact(rate: Double) throws {
        let g = try LotGenerator(model: try FixedRateModel(rate: rate), rows: 20, cols: 10, lotSeed: 4)
        let lot = try g.lot(chips: 40)
        let expected = Int((rate * 200).rounded())
        #expect(lot.chips.allSatisfy { $0.faultMap.faultyCount == expected })
        #expect(lot.chips.allSatisfy { $0.faultRate == Double(expected) / 200 })
        #expect(lot.generatorParameters == ["rate": rate])
        if expected > 0 && expected < 200 {
            #expect(Set(lot.chips.map(\.faultMap.bits)).count == 40)  // same rate, different maps
        }
    }
}
