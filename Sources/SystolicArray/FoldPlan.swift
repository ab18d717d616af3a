import FapsimSupport

/// One fold: the K rows [k0, k0 + rowsUsed) and N columns [n0, n0 + colsUsed) of W
/// that sit on the array at once (W[k][n] on PE(k mod R, n mod C), SPEC section 2).
public struct Fold: Sendable, Equatable {
    public var kFold: Int
    public var nFold: Int
    public var k0: Int
    public var n0: Int
    public var rowsUsed: Int
    public var colsUsed: Int
}

/// The folds of a GEMM in the order the controller runs them.
public struct FoldPlan: Sendable, Equatable {
    public let m: Int
    public let k: Int
    public let n: Int
    public let rows: Int
    public let cols: Int
    public let folds: [Fold]

    public init(config: HardwareConfig, m: Int, k: Int, n: Int) throws {
        try FoldPlan.validate(m: m, k: k, n: n)
        self.m = m
        self.k = k
        self.n = n
        let rows = config.rows, cols = config.cols
        self.rows = rows
        self.cols = cols
        let kFolds = (k + rows - 1) / rows
        let nFolds = (n + cols - 1) / cols
        var f: [Fold] = []
        f.reserveCapacity(kFolds * nFolds)
        func fold(_ kf: Int, _ nf: Int) -> Fold {
            Fold(kFold: kf, nFold: nf, k0: kf * rows, n0: nf * cols,
                 rowsUsed: min(rows, k - kf * rows), colsUsed: min(cols, n - nf * cols))
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
