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
