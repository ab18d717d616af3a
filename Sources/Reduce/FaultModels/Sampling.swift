import Foundation
import FapsimSupport

/// Gamma and Poisson variates on `SeededRNG`, written out rather than taken from a
/// library so a lot's fault maps depend only on the seed: the same seed gives the
/// same chips on every machine (up to libm's last-ulp differences in log/exp/lgamma,
/// which can flip an accept/reject decision only for a draw within one ulp of the
/// boundary).
public extension SeededRNG {
    /// Gamma(shape, scale): mean shape x scale, variance shape x scale^2.
    /// Marsaglia & Tsang (2000), "A simple method for generating gamma variables";
    /// for shape < 1 it uses their boost Gamma(a) = Gamma(a + 1) x U^(1/a).
    mutating func nextGamma(shape: Double, scale: Double = 1) -> Double {
        precondition(shape > 0 && shape.isFinite && scale > 0 && scale.isFinite, "gamma parameters must be positive")
        if shape < 1 {
            let g = nextGamma(shape: shape + 1, scale: scale)
            return g * Foundation.pow(nextUnitDouble(), 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = nextGaussian()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = nextUnitDouble()
            // The squeeze accepts ~98% of draws without a logarithm.
            if u < 1 - 0.0331 * (x * x) * (x * x) { return d * v * scale }
            if Foundation.log(u) < 0.5 * x * x + d * (1 - v + Foundation.log(v)) { return d * v * scale }
        }
    }

    /// Poisson(mean). Below mean 10, Knuth's product of uniforms (expected
    /// mean + 1 draws); from 10 up, Hoermann's PTRS transformed rejection (1993,
    /// "The transformed rejection method for generating Poisson random variables"),
    /// whose cost does not grow with the mean, so a lot with thousands of expected
    /// defects per chip costs no more than one with ten. Both are exact.
    mutating func nextPoisson(mean lambda: Double) -> Int {
        precondition(lambda >= 0 && lambda.isFinite, "Poisson mean must be a finite number >= 0")
        if lambda == 0 { return 0 }
        if lambda < 10 {
            let limit = Foundation.exp(-lambda)
            var product = nextUnitDouble()
            var k = 0
            while product > limit {
                k += 1
                product *= nextUnitDouble()
            }
            return k
        }
        let slam = lambda.squareRoot()
        let loglam = Foundation.log(lambda)
        let b = 0.931 + 2.53 * slam
        let a = -0.059 + 0.02483 * b
        let invAlpha = 1.1239 + 1.1328 / (b - 3.4)
        let vr = 0.9277 - 3.6224 / (b - 2)
        while true {
            let u = nextUnitDouble() - 0.5
            let v = nextUnitDouble()
            let us = 0.5 - abs(u)
            let kd = ((2 * a / us + b) * u + lambda + 0.43).rounded(.down)
            // Quick acceptance region, then the exact test against the pmf.
            if us >= 0.07 && v <= vr { return Int(kd) }
            if kd < 0 || (us < 0.013 && v > us) { continue }
            let lhs = Foundation.log(v) + Foundation.log(invAlpha) - Foundation.log(a / (us * us) + b)
            let rhs = -lambda + kd * loglam - Foundation.lgamma(kd + 1)
            if lhs <= rhs { return Int(kd) }
        }
    }
}
