import SystolicArray
import FapsimSupport

/// The Reduce paper's model: each chip's fault rate is drawn from U(A, B), then
/// round(rate x R x C) faulty PEs are placed uniformly at random without
/// replacement (`FaultMap.uniform`).
public struct UniformRateModel: ChipFaultModel, Equatable {
    public let rateMin: Double
    public let rateMax: Double

    public init(rateMin: Double, rateMax: Double) throws {
        try FaultModelValidation.rate(rateMin, option: "--rate-range", what: "lower end A")
        try FaultModelValidation.rate(rateMax, option: "--rate-range", what: "upper end B")
        guard rateMin <= rateMax else {
            throw FapsimError("--rate-range: expected A <= B, got \(rateMin):\(rateMax)")
        }
        self.rateMin = rateMin
        self.rateMax = rateMax
    }

    public var name: String { "uniform" }
    public var parameters: [String: Double] { ["rate_min": rateMin, "rate_max": rateMax] }

    public func generate(rows: Int, cols: Int, rng: inout SeededRNG) -> GeneratedChip {
        // A + (B - A) u can round just above B; clamp so the rate stays in range.
        let rate = min(rateMax, rateMin + (rateMax - rateMin) * rng.nextUnitDouble())
        // The rate was validated in [0, 1], the only way `uniform` throws.
        let map = try! FaultMap.uniform(rows: rows, cols: cols, rate: rate, rng: &rng)
        return GeneratedChip(faultMap: map, drawnRate: rate)
    }
}
