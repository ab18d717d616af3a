import SystolicArray
import FapsimSupport

/// Every chip has round(P x R x C) faulty PEs placed uniformly at random: the
/// same rate, different maps.
public struct FixedRateModel: ChipFaultModel, Equatable {
    public let rate: Double

    public init(rate: Double) throws {
        try FaultModelValidation.rate(rate, option: "--rate", what: "fault rate P")
        self.rate = rate
    }

    public var name: String { "fixed" }
    public var parameters: [String: Double] { ["rate": rate] }

    public func generate(rows: Int, cols: Int, rng: inout SeededRNG) -> GeneratedChip {
        let map = try! FaultMap.uniform(rows: rows, cols: cols, rate: rate, rng: &rng)
        return GeneratedChip(faultMap: map, drawnRate: rate)
    }
}

enum FaultModelValidation {
    static func rate(_ value: Double, option: String, what: String) throws {
        guard value.isFinite, value >= 0, value <= 1 else {
            throw FapsimError("\(option): expected the \(what) as a number in [0, 1], got \(value)")
        }
    }
}
