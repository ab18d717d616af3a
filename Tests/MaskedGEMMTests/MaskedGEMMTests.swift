import Testing
import FapsimSupport
import SystolicArray
@testable import MaskedGEMM

@Suite struct MaskedGEMMTests {
    /// BLAS against a naive triple loop in Double, with the docs/conventions.md §2 mask.
    @Test(arguments: [(1, 1, 1), (3, 5, 7), (17, 33, 9), (64, 70, 129)])
    func maskedSgemmMatchesNaive(m: Int, k: Int, n: Int) throws {
        var rng = SeededRNG(seed: UInt64(m * k * n))
        let a = (0..<(m * k)).map { _ in Float(rng.nextGaussian()) }
        let w = (0..<(k * n)).map { _ in Float(rng.nextGaussian()) }
        let faults = try FaultMap.uniform(rows: 8, cols: 8, rate: 0.3, seed: 3)
        let out = MaskedGEMM.forward(a: a, m: m, k: k, w: w, n: n, faults: faults)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0, bound = 0.0
                for kk in 0..<k where !faults.isFaulty(kk % 8, j % 8) {
                    s += Double(a[i * k + kk]) * Double(w[kk * n + j])
                    bound += abs(Double(a[i * k + kk]) * Double(w[kk * n + j]))
                }
                // float32 dot product error bound gamma_{2K} * sum|a w|.
                let u = 0x1p-24, g = Double(2 * k) * u / (1 - Double(2 * k) * u)
                #expect(abs(Double(out[i * n + j]) - s) <= g * bound + 1e-30)
            }
        }
    }

    @Test func maskZeroesExactlyTheFaultyPEsWeights() throws {
        let faults = try FaultMap.uniform(rows: 4, cols: 3, rate: 0.5, seed: 9)
        let w = [Float](repeating: 1, count: 10 * 7)
        let masked = MaskedGEMM.maskedWeights(w, k: 10, n: 7, faults: faults)
        for kk in 0..<10 {
            for nn in 0..<7 {
                #expect(masked[kk * 7 + nn] == (faults.isFaulty(kk % 4, nn % 3) ? 0 : 1))
            }
        }
        #expect(masked == faults.weightMask(k: 10, n: 7))
    }

    @Test func int8PathWrapsAndMasks() {
        var faults = FaultMap.none(rows: 2, cols: 2)
        faults.setFaulty(0, 1, true)
        let out = MaskedGEMM.forwardInt8(a: [127, -128], m: 1, k: 2, w: [127, 5, -128, 7], n: 2, faults: faults)
        let expected: [Int32] = [16129 + 16384, -896]   // 127*127 + (-128)*(-128); W[0][1] pruned: -128*7
        #expect(out == expected)
    }
}
