import FapsimSupport

/// One fold: the K slots [k0, k0 + rowsUsed) and N slots [n0, n0 + colsUsed) of the
/// GEMM's `WeightMapping` that sit on the array at once. Slot k0 + i is on row lane
/// i and slot n0 + j on column lane j (array row i and column j when every lane is
/// used); which weight a slot holds is the mapping's to say (under the default
/// mapping, slot = channel index). The fold spans the top-left rowSpan x colSpan
/// corner of the array: its lanes and the switched-off rows and columns between
/// them, through which its data passes.
public struct Fold: Sendable, Equatable {
    public var kFold: Int
    public var nFold: Int
    public var k0: Int
    public var n0: Int
    public var rowsUsed: Int
    public var colsUsed: Int
    public var rowSpan: Int
    public var colSpan: Int

    public init(kFold: Int, nFold: Int, k0: Int, n0: Int, rowsUsed: Int, colsUsed: Int,
                rowSpan: Int? = nil, colSpan: Int? = nil) {
        self.kFold = kFold
        self.nFold = nFold
        self.k0 = k0
        self.n0 = n0
        self.rowsUsed = rowsUsed
        self.colsUsed = colsUsed
        self.rowSpan = rowSpan ?? rowsUsed
        self.colSpan = colSpan ?? colsUsed
    }
}

/// The folds of a GEMM in the order the controller runs them.
public struct FoldPlan: Sendable, Equatable {
    public let m: Int
    public let k: Int
    public let n: Int
    public let rows: Int
    public let cols: Int
    public let folds: [Fold]
    /// Which weight each slot of each fold holds.
    public let mapping: WeightMapping

    /// The plan under the default mapping.
    public init(config: HardwareConfig, m: Int, k: Int, n: Int) throws {
        try FoldPlan.validate(m: m, k: k, n: n)
        try self.init(config: config, m: m, mapping: WeightMapping(config: config, k: k, n: n))
    }

    public init(config: HardwareConfig, m: Int, mapping: WeightMapping) throws {
        let k = mapping.k, n = mapping.n
        try FoldPlan.validate(m: m, k: k, n: n)
        guard mapping.rows == config.rows, mapping.cols == config.cols else {
            throw FapsimError("weight mapping is for a \(mapping.rows)x\(mapping.cols) array but the array (\(config.name)) is \(config.rows)x\(config.cols)")
        }
        self.m = m
        self.k = k
        self.n = n
        self.rows = config.rows
        self.cols = config.cols
        self.mapping = mapping
        let kFolds = mapping.kFolds
        let nFolds = mapping.nFolds
        var f: [Fold] = []
        f.reserveCapacity(kFolds * nFolds)
        func fold(_ kf: Int, _ nf: Int) -> Fold {
            Fold(kFold: kf, nFold: nf, k0: mapping.firstKSlot(kFold: kf), n0: mapping.firstNSlot(nFold: nf),
                 rowsUsed: mapping.rowsUsed(kFold: kf), colsUsed: mapping.colsUsed(nFold: nf),
                 rowSpan: mapping.rowSpan(kFold: kf), colSpan: mapping.colSpan(nFold: nf))
        }
        switch config.mappingOrder {
        case .nOuter:
            for nf in 0..<nFolds { for kf in 0..<kFolds { f.append(fold(kf, nf)) } }
        case .kOuter:
            for kf in 0..<kFolds { for nf in 0..<nFolds { f.append(fold(kf, nf)) } }
        }
        folds = f
    }

    public static func validate(m: Int, k: Int, n: Int) throws {
        for (name, v) in [("M", m), ("K", k), ("N", n)] where v <= 0 {
            throw FapsimError("GEMM size \(name): expected a positive integer, got \(v)")
        }
        let limit = 1 << 31
        guard m.multipliedReportingOverflow(by: k).partialValue < limit,
              k.multipliedReportingOverflow(by: n).partialValue < limit,
              m.multipliedReportingOverflow(by: n).partialValue < limit else {
            throw FapsimError("GEMM size \(m)x\(k)x\(n): operands above 2^31 elements are not supported")
        }
    }
}
