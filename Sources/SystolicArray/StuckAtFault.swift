import FapsimSupport

/// An unmitigated permanent fault: one bit of one PE's partial-sum output forced to
/// 0 or 1 on every cycle the PE performs a MAC. It models a defect in the PE's MAC
/// path into its partial-sum register; the FAP bypass mux routes around that path,
/// so marking the same PE faulty in the fault map turns corruption into pruning.
public struct StuckAtFault: Sendable, Equatable, CustomStringConvertible {
    public var row: Int
    public var col: Int
    /// Bit index in the 32-bit partial sum (IEEE 754 bits for float32, two's complement for int32).
    public var bit: Int
    public var value: Int

    public init(row: Int, col: Int, bit: Int, value: Int) {
        self.row = row
        self.col = col
        self.bit = bit
        self.value = value
    }

    /// Parses `ROW,COL,BIT,VALUE` as given on the command line.
    public init(parsing s: String, rows: Int, cols: Int) throws {
        let parts = s.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, let r = parts[0], let c = parts[1], let b = parts[2], let v = parts[3] else {
            throw FapsimError("--stuck-at: expected ROW,COL,BIT,VALUE (four integers), got \(s)")
        }
        self.init(row: r, col: c, bit: b, value: v)
        try validate(rows: rows, cols: cols)
    }

    public func validate(rows: Int, cols: Int) throws {
        guard (0..<rows).contains(row), (0..<cols).contains(col) else {
            throw FapsimError("--stuck-at: PE (\(row), \(col)) is outside the \(rows)x\(cols) array")
        }
        guard (0..<32).contains(bit) else { throw FapsimError("--stuck-at: bit must be 0...31, got \(bit)") }
        guard value == 0 || value == 1 else { throw FapsimError("--stuck-at: value must be 0 or 1, got \(value)") }
    }

    /// Checks every fault and that no PE carries two (a PE has one partial-sum
    /// register; two defects on it would need an order the hardware does not define).
    public static func validate(_ faults: [StuckAtFault], rows: Int, cols: Int) throws {
        var seen = Set<Int>()
        for f in faults {
            try f.validate(rows: rows, cols: cols)
            guard seen.insert(f.row * cols + f.col).inserted else {
                throw FapsimError("stuck-at faults: expected at most one per PE, got two on PE (\(f.row), \(f.col))")
            }
        }
    }

    /// The forced bit pattern applied to a 32-bit word.
    @inline(__always) public func apply(bits x: UInt32) -> UInt32 {
        value == 1 ? x | (1 << UInt32(bit)) : x & ~(1 << UInt32(bit))
    }

    public var description: String { "PE(\(row),\(col)) bit \(bit) stuck-at-\(value)" }
}

/// Which bit of a faulty PE's partial-sum register is stuck, when a chip's faulty
/// PEs are left unmitigated (docs/stuck-at.md). The stuck value is 0 or 1 with
/// equal probability in every case.
public enum StuckBitDistribution: Equatable, Sendable, CustomStringConvertible {
    /// Any of the 32 bits, equally likely.
    case uniform
    /// One of the top eight bits (24-31), equally likely: the corruptions that
    /// move a sum by at least 2^24 (bit 31 is the sign).
    case high
    /// Always this bit.
    case fixed(Int)

    /// Parses `uniform`, `high` or `fixed:B` (B in 0-31).
    public init(parsing text: String, field: String = "--stuck-bits") throws {
        switch text.lowercased() {
        case "uniform": self = .uniform
        case "high": self = .high
        default:
            let parts = text.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "fixed", let bit = Int(parts[1]) else {
                throw FapsimError("\(field): expected uniform, high or fixed:B (B a bit index 0-31), got '\(text)'")
            }
            guard (0..<32).contains(bit) else {
                throw FapsimError("\(field): expected a bit index 0-31 in fixed:B, got \(bit)")
            }
            self = .fixed(bit)
        }
    }

    public var description: String {
        switch self {
        case .uniform: return "uniform"
        case .high: return "high"
        case .fixed(let b): return "fixed:\(b)"
        }
    }

    /// One stuck-at fault per faulty PE of `faults`, in row-major PE order, bit
    /// and value drawn from `seed` alone: the same map and seed give the same faults.
    public func draw(faults: FaultMap, seed: UInt64) -> [StuckAtFault] {
        var rng = SeededRNG.derived(seed: seed, 0x5717_CA7)
        var out: [StuckAtFault] = []
        for r in 0..<faults.rows {
            for c in 0..<faults.cols where faults.isFaulty(r, c) {
                let bit: Int
                switch self {
                case .uniform: bit = rng.nextInt(below: 32)
                case .high: bit = 24 + rng.nextInt(below: 8)
                case .fixed(let b): bit = b
                }
                out.append(StuckAtFault(row: r, col: c, bit: bit, value: rng.nextInt(below: 2)))
            }
        }
        return out
    }
}
