import Foundation
import FapsimStore
import FapsimSupport
import SystolicArray

/// Per-layer cycle trace of a run on the array: one row per conv/linear layer,
/// its GEMMs summed over all batches (M summed too), in network order, then a
/// `total` row. Written as CSV and as a results file (content "cycle-trace",
/// table `cycle_trace`) by `fapsim simulate`.
public struct CycleTrace: Sendable, Equatable {
    public struct Row: Sendable, Equatable {
        public var layer: String
        public var m = 0, k = 0, n = 0
        /// Folds over all batches (a layer run on B batches folds B times as often).
        public var folds = 0
        public var weightLoadCycles = 0, fillCycles = 0, steadyCycles = 0, drainCycles = 0
        public var totalCycles = 0
        public var macsPerformed = 0, macsBypassed = 0
        /// Performed MACs over R x C x total cycles (the array's own definition).
        public var utilization = 0.0
        public var timeSeconds = 0.0

        init(layer: String, k: Int = 0, n: Int = 0) {
            self.layer = layer
            self.k = k
            self.n = n
        }

        /// One GEMM's counts.
        init(layer: String, m: Int, stats s: GEMMStats) {
            self.layer = layer
            self.m = m
            folds = s.folds
            weightLoadCycles = s.weightLoadCycles
            fillCycles = s.fillCycles
            steadyCycles = s.steadyCycles
            drainCycles = s.drainCycles
            totalCycles = s.cycles
            macsPerformed = s.macsPerformed
            macsBypassed = s.macsBypassed
        }

        /// Adds another row's counts (utilisation and time are derived afterwards).
        mutating func accumulate(_ r: Row) {
            m += r.m
            folds += r.folds
            weightLoadCycles += r.weightLoadCycles
            fillCycles += r.fillCycles
            steadyCycles += r.steadyCycles
            drainCycles += r.drainCycles
            totalCycles += r.totalCycles
            macsPerformed += r.macsPerformed
            macsBypassed += r.macsBypassed
        }
    }

    public let config: HardwareConfig
    public private(set) var rows: [Row]

    public init(runs: [LayerRun], config: HardwareConfig) {
        self.config = config
        var order: [String] = []
        var byLayer: [String: Row] = [:]
        for r in runs {
            var row = byLayer[r.layer] ?? {
                order.append(r.layer)
                return Row(layer: r.layer, k: r.k, n: r.n)
            }()
            Self.add(r.stats, m: r.m, to: &row)
            byLayer[r.layer] = row
        }
        var rows = order.map { byLayer[$0]! }
        // K and N differ per layer, so the total row leaves them 0; M is the sum.
        var total = Row(layer: "total")
        for r in rows { total.accumulate(r) }
        rows.append(total)
        for i in rows.indices {
            let c = rows[i].totalCycles
            rows[i].utilization = c == 0 ? 0 : Double(rows[i].macsPerformed) / (Double(config.rows * config.cols) * Double(c))
            rows[i].timeSeconds = config.seconds(cycles: c)
        }
        self.rows = rows
    }

    private static func add(_ s: GEMMStats, m: Int, to row: inout Row) {
        row.accumulate(Row(layer: row.layer, m: m, stats: s))
    }

    public var total: Row { rows.last! }
    public var layers: ArraySlice<Row> { rows.dropLast() }

    static let header = ["layer", "M", "K", "N", "folds", "weight_load_cycles", "fill_cycles", "steady_cycles",
                         "drain_cycles", "total_cycles", "macs_performed", "macs_bypassed", "utilization", "time_s"]

    public func csv() -> String {
        var s = Self.header.joined(separator: ",") + "\n"
        for r in rows {
            let ints = [r.m, r.k, r.n, r.folds, r.weightLoadCycles, r.fillCycles, r.steadyCycles, r.drainCycles,
                        r.totalCycles, r.macsPerformed, r.macsBypassed].map(String.init)
            s += ([r.layer] + ints + [String(format: "%.6f", r.utilization), String(format: "%.9g", r.timeSeconds)])
                .joined(separator: ",") + "\n"
        }
        return s
    }

    public func table() -> ResultsTable {
        func col(_ name: String, _ units: String, _ f: (Row) -> Int, _ d: String? = nil) -> ResultsColumn {
            .int64(name, units: units, rows.map { Int64(f($0)) }, description: d)
        }
        return ResultsTable(name: "cycle_trace", columns: [
            .string("layer", rows.map(\.layer), description: "conv/linear layer (state_dict prefix); last row: total"),
            col("M", "count", \.m, "GEMM rows (output pixels x images), summed over batches"),
            col("K", "count", \.k, "GEMM inner dimension (0 in the total row)"),
            col("N", "count", \.n, "GEMM columns (0 in the total row)"),
            col("folds", "count", \.folds),
            col("weight_load_cycles", "cycles", \.weightLoadCycles),
            col("fill_cycles", "cycles", \.fillCycles),
            col("steady_cycles", "cycles", \.steadyCycles),
            col("drain_cycles", "cycles", \.drainCycles),
            col("total_cycles", "cycles", \.totalCycles),
            col("macs_performed", "MACs", \.macsPerformed),
            col("macs_bypassed", "MACs", \.macsBypassed),
            .double("utilization", units: "1", rows.map(\.utilization),
                    description: "performed MACs / (rows x cols x total cycles)"),
            .double("time_s", units: "s", rows.map(\.timeSeconds), description: "total cycles at the config's clock"),
        ])
    }

    /// Writes `path` (CSV) and `path` with extension .h5, each atomically.
    /// Both are checked before either is written so --force is all or nothing.
    public func write(csvPath: String, h5Path: String, attributes: [String: AttributeValue], force: Bool) throws {
        try AtomicWrite.checkOverwrite(csvPath, force: force)
        try AtomicWrite.checkOverwrite(h5Path, force: force)
        try AtomicWrite.write(text: csv(), to: csvPath, force: force)
        try ResultsFile(content: "cycle-trace", attributes: attributes, tables: [table()]).write(path: h5Path, force: force)
    }

    /// `trace.csv` -> `trace.h5`; a path without extension gets `.h5` appended.
    /// (`fapsim simulate` refuses a CSV path that itself ends in .h5.)
    public static func h5Path(for path: String) -> String {
        let ns = path as NSString
        return (ns.pathExtension.isEmpty ? path : ns.deletingPathExtension) + ".h5"
    }
}
