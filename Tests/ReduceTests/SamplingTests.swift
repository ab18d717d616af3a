import Foundation
import Testing
import FapsimSupport
@testable import Reduce

/// The Gamma and Poisson samplers under the clustered model, checked against
/// their moments with fixed seeds (tolerances are 4 standard errors).
struct SamplingTests {
    @Test(arguments: [0.5, 1.0, 2.0, 7.5])
    func gammaMeanAndVariance(shape: Double) {
        var rng = SeededRNG(seed: 11)
        let scale = 3.0
        let n = 20_000
        let xs = (0..<n).map { _ in rng.nextGamma(shape: shape, scale: scale) }
        let mean = shape * scale, variance = shape * scale * scale
        #expect(xs.allSatisfy { $0 >= 0 && $0.isFinite })
        #expect(abs(Stat.mean(xs) - mean) < 4 * (variance / Double(n)).squareRoot())
        // Var(s^2) ~ (mu4 - sigma^4) / n with Gamma's mu4 = 3 k (k + 2) theta^4.
        let mu4 = 3 * shape * (shape + 2) * pow(scale, 4)
        #expect(abs(Stat.variance(xs) - variance) < 4 * ((mu4 - variance * variance) / Double(n)).squareRoot())
    }

    /// Both branches: Knuth's product below mean 10, PTRS from 10 up.
    @Test(arguments: [0.3, 3.0, 9.9, 10.0, 57.0, 4000.0])
    func poissonMeanAndVariance(lambda: Double) {
        var rng = SeededRNG(seed: 5)
        let n = 20_000
        let xs = (0..<n).map { _ in Double(rng.nextPoisson(mean: lambda)) }
        #expect(xs.allSatisfy { $0 >= 0 })
        #expect(abs(Stat.mean(xs) - lambda) < 4 * (lambda / Double(n)).squareRoot())
        // Poisson: mu4 = lambda (1 + 3 lambda).
        let mu4 = lambda * (1 + 3 * lambda)
        #expect(abs(Stat.variance(xs) - lambda) < 4 * ((mu4 - lambda * lambda) / Double(n)).squareRoot())
    }

    /// Moments can match by accident; the whole pmf of a PTRS-sized mean must too.
    @Test func poissonPmfChiSquare() {
        var rng = SeededRNG(seed: 99)
        let lambda = 25.0, n = 20_000
        var counts: [Int: Int] = [:]
        for _ in 0..<n { counts[rng.nextPoisson(mean: lambda), default: 0] += 1 }
        let pmf = { (k: Int) in exp(Double(k) * log(lambda) - lambda - lgamma(Double(k) + 1)) }
        let chi = ChiSquare.statistic(observed: counts, n: n, pmf: pmf)
        #expect(chi.value < ChiSquare.critical1Percent(df: chi.df), "chi^2 = \(chi.value), df = \(chi.df)")
    }

    @Test func samplersAreDeterministic() {
        var a = SeededRNG(seed: 42), b = SeededRNG(seed: 42)
        let xa = (0..<200).map { _ in (a.nextGamma(shape: 0.7, scale: 2), a.nextPoisson(mean: 30)) }
        let xb = (0..<200).map { _ in (b.nextGamma(shape: 0.7, scale: 2), b.nextPoisson(mean: 30)) }
        #expect(xa.map(\.0.bitPattern) == xb.map(\.0.bitPattern))
        #expect(xa.map(\.1) == xb.map(\.1))
        #expect(Set(xa.map(\.1)).count > 10)
    }
}

/// Pearson's chi-square goodness of fit for a distribution on 0, 1, 2, ...
enum ChiSquare {
    /// One bin per k until the pmf's remaining tail is negligible, plus a tail
    /// bin; adjacent bins are then merged from the left until each expects >= 5.
    static func statistic(observed: [Int: Int], n: Int, pmf: (Int) -> Double) -> (value: Double, df: Int) {
        var raw: [(obs: Double, exp: Double)] = []
        var cumulative = 0.0
        var k = 0
        while (1 - cumulative) * Double(n) > 1e-6 && k < 100_000 {
            let p = pmf(k)
            raw.append((Double(observed[k] ?? 0), p * Double(n)))
            cumulative += p
            k += 1
        }
        let tailObs = observed.filter { $0.key >= k }.values.reduce(0, +)
        raw.append((Double(tailObs), max(0, (1 - cumulative) * Double(n))))
        var bins: [(obs: Double, exp: Double)] = []
        var acc = (obs: 0.0, exp: 0.0)
        for r in raw {
            acc.obs += r.obs
            acc.exp += r.exp
            if acc.exp >= 5 { bins.append(acc); acc = (0, 0) }
        }
        if acc.obs > 0 || acc.exp > 0 {
            bins[bins.count - 1].obs += acc.obs
            bins[bins.count - 1].exp += acc.exp
        }
        let value = bins.reduce(0) { $0 + ($1.obs - $1.exp) * ($1.obs - $1.exp) / $1.exp }
        return (value, bins.count - 1)
    }

    /// chi^2_{0.99}(df) for df 1...60 from the Wilson-Hilferty approximation
    /// (within 0.5% of the exact quantile from df 5 up).
    static func critical1Percent(df: Int) -> Double {
        let k = Double(df), z = 2.326348
        let t = 1 - 2 / (9 * k) + z * (2 / (9 * k)).squareRoot()
        return k * t * t * t
    }
}
