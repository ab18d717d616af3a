import FapsimSupport

/// Which PEs of one chip are permanently faulty (1 = faulty, bypassed by its FAP
/// mux). Row-major [rows][cols], PE(i, j) at index i * cols + j (docs/conventions.md §1).
public struct FaultMap: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    public private(set) var bits: [UInt8]

    public init(rows: Int, cols: Int, bits: [UInt8]) {
        precondition(rows > 0 && cols > 0 && bits.count == rows * cols, "fault map shape mismatch")
        self.rows = rows
        self.cols = cols
        self.bits = bits.map { $0 == 0 ? 0 : 1 }
    }

    /// A fault-free chip.
    public static func none(rows: Int, cols: Int) -> FaultMap {
        FaultMap(rows: rows, cols: cols, bits: [UInt8](repeating: 0, count: rows * cols))
    }

    /// Exactly round(rate x R x C) faulty PEs, placed uniformly at random without
    /// replacement (partial Fisher-Yates on the seeded stream), so the map's fault
    /// rate is the requested one to within one PE and the same seed gives the same map.
    public static func uniform(rows: Int, cols: Int, rate: Double, seed: UInt64) throws -> FaultMap {
        var rng = SeededRNG(seed: seed)
        return try uniform(rows: rows, cols: cols, rate: rate, rng: &rng)
    }

    public static func uniform(rows: Int, cols: Int, rate: Double, rng: inout SeededRNG) throws -> FaultMap {
        try validateRate(rate)
        let n = rows * cols
        let faulty = faultyCount(rate: rate, rows: rows, cols: cols)
        var idx = Array(0..<n)
        var bits = [UInt8](repeating: 0, count: n)
        for t in 0..<faulty {
            let pick = t + rng.nextInt(below: n - t)
            idx.swapAt(t, pick)
            bits[idx[t]] = 1
        }
        return FaultMap(rows: rows, cols: cols, bits: bits)
    }

    /// How many PEs a uniform map of `rate` marks faulty: rate x rows x cols,
    /// rounded to the nearest PE (ties away from zero), so on 256x256 a rate of
    /// 0.001% (0.66 PEs) is 1 PE and 0.0005% (0.33 PEs) is none.
    public static func faultyCount(rate: Double, rows: Int, cols: Int) -> Int {
        Int((rate * Double(rows * cols)).rounded())
    }

    /// A fault rate must be a number in [0, 1].
    public static func validateRate(_ rate: Double, field: String = "fault rate") throws {
        guard rate.isFinite, rate >= 0, rate <= 1 else {
            throw FapsimError("\(field): expected a number in [0, 1], got \(rate)")
        }
    }

    @inline(__always) public func isFaulty(_ i: Int, _ j: Int) -> Bool { bits[i * cols + j] != 0 }

    public mutating func setFaulty(_ i: Int, _ j: Int, _ faulty: Bool) { bits[i * cols + j] = faulty ? 1 : 0 }

    public var faultyCount: Int { bits.reduce(0) { $0 + Int($1) } }
    public var faultRate: Double { Double(faultyCount) / Double(rows * cols) }

    /// FAP weight mask for a K x N weight matrix (row-major, k major) under
    /// `mapping` (nil: the default mapping of this array). The rule lives in
    /// `WeightMapping`; this is a shorthand.
    public func weightMask(k: Int, n: Int, mapping: WeightMapping? = nil) -> [Float] {
        (mapping ?? WeightMapping(k: k, n: n, rows: rows, cols: cols)).pruneMask(faults: self)
    }

    /// Number of weights of a K x N matrix that this map prunes under `mapping`
    /// (nil: the default mapping).
    public func prunedWeights(k: Int, n: Int, mapping: WeightMapping? = nil) -> Int {
        (mapping ?? WeightMapping(k: k, n: n, rows: rows, cols: cols)).prunedCount(faults: self)
    }

    /// Checksum of the map's bits and shape, recorded as provenance.
    public var checksum: String {
        var h = FNV1a64()
        h.update(array: [UInt64(rows), UInt64(cols)])
        h.update(array: bits)
        return h.hex
    }
}
