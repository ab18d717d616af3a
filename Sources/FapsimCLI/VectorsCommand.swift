import ArgumentParser
import Foundation
import FapsimSupport
import Network
import SystolicArray

/// `fapsim vectors`: one random int8 GEMM on the register-level array, written as
/// a co-simulation vector set for the RTL in hw/ (docs/rtl-cosim.md):
///
///   meta.txt      key value lines (shape, policy, seed, edges, cycles, ...)
///   faults.txt    the R x C fault map, 0/1, one array row per line
///   stuckat.txt   "en row col bit value" (en = 0: no stuck-at fault)
///   stimulus.txt  "edges E", then one line per clock edge:
///                 shift swap, C x (weightValidIn weightIn_hex2), R x (feedValid feed_hex2)
///   expected.txt  one line per edge: C x (pv p_hex8), the bottom row's registers after
///                 the edge; last line "cycles N" (GEMMStats.cycles)
///   a.txt, w.txt  the operands (decimal, row-major); output.txt  fapsim's Out (int32)
///                 (under --mitigation fam all three in slot order, and k_slot.txt,
///                 n_slot.txt give each channel's slot)
///   lines.txt     under --mitigation rowcol: the R row_off bits, then the C col_off
///                 bits (1 = switched off); the RTL's row_off/col_off inputs
///   faults_raw.txt, spares.txt
///                 under --mitigation spares with the column-groups layout: the chip's
///                 raw fault map, and per row one column per group, the array column
///                 the group's spare in that row replaces (-1: none); the inputs of
///                 hw/rtl/fap_spare_array.sv (faults.txt stays the effective map, for
///                 the FAP array)
///   fapsim.vcd    every PE's w, wv, a, av, p, pv, bypass (and ws when double-buffered)
///                 after every edge; edge e at time 10(e+1) ns
struct VectorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectors",
        abstract: "Write RTL co-simulation vectors (stimulus, expected per-cycle outputs, VCD) for one random int8 GEMM.",
        discussion: """
        A and W are random int8 from --seed; the fault map is uniform with --fault-rate on the \
        config's array. The RTL datapath is int8: a config with datapath float32 is run as int8 \
        (a note says so). See docs/rtl-cosim.md for the file formats and hw/cosim/ for the runner.
        """)

    @Option(help: "Hardware config YAML (rows, cols, weight_load; datapath int8 expected).")
    var config: String

    @Option(help: "GEMM rows M (activation vectors).")
    var m: Int

    @Option(help: "GEMM inner dimension K.")
    var k: Int

    @Option(help: "GEMM columns N.")
    var n: Int

    @Option(name: .customLong("fault-rate"), help: "Fraction of faulty (bypassed) PEs, uniform at random, 0...1.")
    var faultRate: Double = 0

    @Option(name: .customLong("stuck-at"), help: "ROW,COL,BIT,VALUE: test-only stuck-at fault on one psum bit of one PE.")
    var stuckAt: String?

    @Option(help: "Seed of A, W and the fault map.")
    var seed: UInt64

    @Option(help: "Output directory (created).")
    var out: String

    @Flag(help: "Overwrite the files of an existing non-empty output directory.")
    var force = false

    @OptionGroup var mitigation: MitigationOptions

    @Flag(name: .customLong("no-vcd"), help: "Skip fapsim.vcd (large arrays, speed runs).")
    var noVCD = false

    init() {}

    func run() throws {
        var cfg = try HardwareConfig.load(path: config)
        if cfg.datapath != .int8 {
            FileHandle.standardError.write(Data("note: \(config) says datapath \(cfg.datapath.rawValue); vectors use the int8 datapath (the RTL is int8)\n".utf8))
            cfg.datapath = .int8
        }
        try FoldPlan.validate(m: m, k: k, n: n)
        try FaultMap.validateRate(faultRate, field: "--fault-rate")
        let stuck = try stuckAt.map { try StuckAtFault(parsing: $0, rows: cfg.rows, cols: cfg.cols) }
        let chosen = try mitigation.resolve()
        // The fault map first (its own stream), so an unusable chip is refused before --out is touched.
        var rf = SeededRNG.derived(seed: seed, 3)
        let drawn = try FaultMap.uniform(rows: cfg.rows, cols: cfg.cols, rate: faultRate, rng: &rf)
        if stuck != nil, chosen == .rowcol || chosen == .spares {
            throw FapsimError("--stuck-at: an unmitigated stuck-at fault is modelled under fap or fam only, got --mitigation \(chosen.rawValue)")
        }

        // Row/column bypass switches lines off for the fewest cycles of this GEMM.
        let chip = ChipDescription(faults: drawn, mitigation: chosen,
                                   rowColumnObjective: .cycles(gemms: [RowColumnBypass.GEMMSize(m: m, k: k, n: n)]),
                                   spares: try cfg.spares(for: chosen, path: config))
        try chip.checkUsable()
        // Under spares faults.txt is the effective map, for the FAP array: a repaired
        // PE is healthy there. The spare array (column-groups) takes the raw map and
        // the spare selects instead (faults_raw.txt, spares.txt).
        let faults = chip.effectiveFaults ?? drawn

        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: out, isDirectory: &isDir) {
            guard isDir.boolValue else { throw FapsimError("--out \(out): exists and is not a directory") }
            if !force, let items = try? fm.contentsOfDirectory(atPath: out), !items.isEmpty {
                throw FapsimError("--out \(out): directory is not empty; pass --force to overwrite its files")
            }
        } else {
            do { try fm.createDirectory(atPath: out, withIntermediateDirectories: true) } catch {
                throw FapsimError("--out \(out): cannot create directory (\(error.localizedDescription))")
            }
        }

        // Operands: independent streams derived from the seed (the fault map is stream 3).
        var ra = SeededRNG.derived(seed: seed, 1)
        var rw = SeededRNG.derived(seed: seed, 2)
        let a = (0..<(m * k)).map { _ in Int8(ra.nextInt(below: 256) - 128) }
        let w = (0..<(k * n)).map { _ in Int8(rw.nextInt(below: 256) - 128) }
        // The RTL loads W by the default mapping. Under FAM the output channels are
        // assigned to columns by |w|, and the vector files hold A, W and Out in slot
        // order: the permuted operands a FAM-mapped layer is stored as, so the RTL
        // and refmodel.py run them unchanged.
        let mapping = chosen == .fam
            ? try FaultAwareMapping.loneGEMM(saliency: w.map { Double(abs(Int($0))) }, k: k, n: n, faults: faults)
            : chip.mapping(layer: "gemm", k: k, n: n, rows: cfg.rows, cols: cfg.cols)
        let slotA = Self.inSlotOrder(a, rows: m, cols: k, rowSlot: nil, colSlot: mapping.kSlot)
        let slotW = Self.inSlotOrder(w, rows: k, cols: n, rowSlot: mapping.kSlot, colSlot: mapping.nSlot)

        let staleVCD = (out as NSString).appendingPathComponent("fapsim.vcd")
        if noVCD && fm.fileExists(atPath: staleVCD) { try? fm.removeItem(atPath: staleVCD) }
        let rec = try VectorRecorder(dir: out, config: cfg, vcd: !noVCD)
        let (output, stats) = try ArrayGEMM.runInt8(config: cfg, faults: faults, a: a, m: m, k: k, w: w, n: n,
                                                     mapping: mapping, stuckAt: stuck, observer: rec)
        try rec.finish(cycles: stats.cycles)

        let slotOutput = Self.inSlotOrder(output, rows: m, cols: n, rowSlot: nil, colSlot: mapping.nSlot)

        // The observer forces the single-threaded stepper; the RTL check should also
        // cover the column-sliced multi-threaded one, so run the GEMM again on
        // 2 threads (when the array has 2 columns) and require the same Out and cycles.
        // That run takes the slot-order operands under the default mapping, as the
        // RTL does: under FAM it also checks that the mapped run is the permuted one.
        var threadCheck = "skipped (1 column)"
        if cfg.cols >= 2 {
            // (Row/column bypass keeps channel order: its mapping is the default's on fewer lanes.)
            let (out2, stats2) = try ArrayGEMM.runInt8(config: cfg, faults: faults, a: slotA, m: m, k: k, w: slotW, n: n,
                                                        mapping: chosen == .rowcol ? mapping
                                                            : WeightMapping(k: k, n: n, rows: cfg.rows, cols: cfg.cols),
                                                        stuckAt: stuck, threads: 2)
            guard out2 == slotOutput, stats2.cycles == stats.cycles else {
                throw FapsimError("vectors: the 2-thread run disagrees with the observed single-thread run "
                                  + "(cycles \(stats2.cycles) vs \(stats.cycles), outputs \(out2 == slotOutput ? "equal" : "differ"))")
            }
            threadCheck = "ok (2 threads: same output and cycles)"
        }

        func write(_ name: String, _ text: String) throws {
            let path = (out as NSString).appendingPathComponent(name)
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                throw FapsimError("\(path): cannot write (\(error.localizedDescription))")
            }
        }
        func matrix<T>(_ x: [T], _ r: Int, _ c: Int) -> String {
            var s = ""
            for i in 0..<r { s += (0..<c).map { "\(x[i * c + $0])" }.joined(separator: " ") + "\n" }
            return s
        }
        try write("faults.txt", matrix(faults.bits, cfg.rows, cfg.cols))
        try write("stuckat.txt", stuck.map { "1 \($0.row) \($0.col) \($0.bit) \($0.value)\n" } ?? "0 0 0 0 0\n")
        try write("a.txt", matrix(slotA, m, k))
        try write("w.txt", matrix(slotW, k, n))
        try write("output.txt", matrix(slotOutput, m, n))
        let linesFile = (out as NSString).appendingPathComponent("lines.txt")
        if chosen == .rowcol {
            let bits = mapping.laneOfRow.map { $0 < 0 ? "1" : "0" } + mapping.laneOfCol.map { $0 < 0 ? "1" : "0" }
            try write("lines.txt", bits.joined(separator: " ") + "\n")
        } else if fm.fileExists(atPath: linesFile) {
            try? fm.removeItem(atPath: linesFile)
        }
        let spareFiles = ["faults_raw.txt", "spares.txt"].map { (out as NSString).appendingPathComponent($0) }
        if let repair = chip.spareRepair, case .columnGroups(let g) = repair.layout {
            try write("faults_raw.txt", matrix(drawn.bits, cfg.rows, cfg.cols))
            try write("spares.txt", Self.spareSelects(repair, rows: cfg.rows, cols: cfg.cols, groupCols: g))
        } else {
            // (the diagonal layout has no RTL: its vectors are the FAP array's alone)
            for path in spareFiles where fm.fileExists(atPath: path) { try? fm.removeItem(atPath: path) }
        }
        let slotFiles = ["k_slot.txt", "n_slot.txt"].map { (out as NSString).appendingPathComponent($0) }
        if chosen == .fam {
            try write("k_slot.txt", mapping.kSlot.map { "\($0)\n" }.joined())
            try write("n_slot.txt", mapping.nSlot.map { "\($0)\n" }.joined())
        } else {
            for path in slotFiles where fm.fileExists(atPath: path) { try? fm.removeItem(atPath: path) }
        }
        var meta: [(String, String)] = [
            ("producer", "fapsim vectors"), ("config", cfg.name), ("rows", "\(cfg.rows)"), ("cols", "\(cfg.cols)"),
            ("weight_load", cfg.weightLoad.rawValue), ("mapping_order", cfg.mappingOrder.rawValue), ("datapath", "int8"),
            ("m", "\(m)"), ("k", "\(k)"), ("n", "\(n)"), ("seed", "\(seed)"), ("fault_rate", "\(faultRate)"),
            ("mitigation", chosen.rawValue),
            ("row_lanes", mapping.rowLanes.map(String.init).joined(separator: ",")),
            ("col_lanes", mapping.colLanes.map(String.init).joined(separator: ",")),
            ("faulty_pes", "\(faults.faultyCount)"), ("stuck_at", stuck.map { "\($0.row),\($0.col),\($0.bit),\($0.value)" } ?? "none"),
            ("edges", "\(rec.edges)"), ("cycles", "\(stats.cycles)"), ("folds", "\(stats.folds)"),
            ("macs_performed", "\(stats.macsPerformed)"), ("macs_bypassed", "\(stats.macsBypassed)"),
            ("vcd_time", "edge e at 10*(e+1) ns, initial state at 0"),
            ("thread_check", threadCheck),
        ]
        if let repair = chip.spareRepair {
            meta.append(("spare_layout", repair.layout.description))
            meta.append(("faults_repaired", "\(repair.repaired.count)"))
            if case .columnGroups(let g) = repair.layout { meta.append(("spare_group_cols", "\(g)")) }
        }
        try write("meta.txt", meta.map { "\($0.0) \($0.1)\n" }.joined())
        print("wrote \(out): \(m)x\(k)x\(n) int8 GEMM\(chosen == .fam ? " (FAM: operands in slot order)" : "") on \(cfg.rows)x\(cfg.cols) \(cfg.weightLoad.rawValue), "
              + "\(faults.faultyCount) faulty PEs, stuck-at \(stuck.map { "\($0)" } ?? "none"), "
              + "\(rec.edges) edges, \(stats.cycles) cycles; 2-thread re-run \(threadCheck.hasPrefix("ok") ? "agrees" : threadCheck)")
    }
}

extension VectorsCommand {
    /// spares.txt for the column-groups layout: per array row, per group, the
    /// array column its spare replaces or -1 (`fap_spare_array`'s spare_en and
    /// spare_idx, docs/rtl-cosim.md).
    static func spareSelects(_ repair: SpareRepair, rows: Int, cols: Int, groupCols g: Int) -> String {
        var column = [[Int]](repeating: [Int](repeating: -1, count: cols / g), count: rows)
        for a in repair.repaired { column[a.row][a.col / g] = a.col }
        return column.map { $0.map(String.init).joined(separator: " ") + "\n" }.joined()
    }

    /// A rows x cols matrix with row r moved to `rowSlot[r]` and column c to
    /// `colSlot[c]` (nil: in place): operands and outputs as a FAM-mapped GEMM
    /// stores them, which the default mapping then loads where FAM put them.
    static func inSlotOrder<T>(_ x: [T], rows: Int, cols: Int, rowSlot: [Int]?, colSlot: [Int]) -> [T] {
        var out = x
        for r in 0..<rows {
            let to = (rowSlot?[r] ?? r) * cols
            for c in 0..<cols { out[to + colSlot[c]] = x[r * cols + c] }
        }
        return out
    }
}

/// Observer that streams the per-edge stimulus, the bottom outputs and the VCD.
final class VectorRecorder: ArrayObserver {
    let rows: Int, cols: Int, double: Bool
    private(set) var edges = 0
    private let stim: BufferedTextFile
    private let expected: BufferedTextFile
    private let stimPath: String
    private let vcd: VCDWriter?
    private var waves: PEWaveforms?
    /// The first write error inside `edge` (which cannot throw), rethrown by `finish`.
    private var writeError: Error?

    init(dir: String, config: HardwareConfig, vcd wantVCD: Bool) throws {
        rows = config.rows
        cols = config.cols
        double = config.weightLoad == .doubleBuffered
        stimPath = (dir as NSString).appendingPathComponent("stimulus.txt")
        stim = try BufferedTextFile(path: stimPath + ".body")
        expected = try BufferedTextFile(path: (dir as NSString).appendingPathComponent("expected.txt"))
        if wantVCD {
            let v = try VCDWriter(path: (dir as NSString).appendingPathComponent("fapsim.vcd"),
                                  comment: "fapsim register-level array \(rows)x\(cols) \(config.weightLoad.rawValue) int8; edge e at 10*(e+1) ns")
            waves = PEWaveforms(vcd: v, rows: rows, cols: cols, double: double, int8: true)
            vcd = v
            // Initial state (after reset): every register 0, bypass bits from the fault map
            // (written with the first edge's state view, see below).
        } else {
            vcd = nil
        }
    }

    func edge(_ cycle: Int, inputs: EdgeInputs, state: ArrayStateView) {
        if let vcd, cycle == 0 {
            // Time 0: the reset state (all registers 0); the bypass bits are static.
            waves?.sampleReset(vcd, state)
            do { try vcd.emit(time: 0) } catch { writeError = writeError ?? error }
        }
        var line = inputs.shiftWeights ? "1 " : "0 "
        line += inputs.swap ? "1" : "0"
        for j in 0..<cols {
            line += inputs.weightValidIn[j] ? " 1 " : " 0 "
            line += hex2(inputs.weightIn[j])
        }
        for i in 0..<rows {
            line += inputs.feedValid[i] ? " 1 " : " 0 "
            line += hex2(inputs.feed[i])
        }
        stim.append(line + "\n")
        var o = ""
        let b = rows - 1
        for j in 0..<cols {
            if j > 0 { o += " " }
            o += state.psumValid(b, j) ? "1 " : "0 "
            let s = String(state.psumBits(b, j), radix: 16)
            o += String(repeating: "0", count: 8 - s.count) + s
        }
        expected.append(o + "\n")
        if let vcd {
            waves?.sample(vcd, state)
            do { try vcd.emit(time: 10 * (cycle + 1)) } catch { writeError = writeError ?? error }
        }
        edges = cycle + 1
    }

    private func hex2(_ x: Double) -> String {
        let v = UInt8(truncatingIfNeeded: Int(x))
        return v < 16 ? "0" + String(v, radix: 16) : String(v, radix: 16)
    }

    func finish(cycles: Int) throws {
        if let e = writeError ?? stim.writeError ?? expected.writeError {
            throw FapsimError("writing vectors failed: \(e.localizedDescription)")
        }
        try stim.close()
        expected.append("cycles \(cycles)\n")
        try expected.close()
        try vcd?.close(endTime: 10 * (edges + 1))
        // stimulus.txt = header + body (the edge count is known only now).
        let body = stimPath + ".body"
        guard let out = FileHandle(forWritingAtPath: stimPath) ?? {
            FileManager.default.createFile(atPath: stimPath, contents: nil) ? FileHandle(forWritingAtPath: stimPath) : nil
        }() else { throw FapsimError("\(stimPath): cannot write") }
        try out.truncate(atOffset: 0)
        try out.write(contentsOf: Data("edges \(edges)\n".utf8))
        guard let inp = FileHandle(forReadingAtPath: body) else { throw FapsimError("\(body): cannot read") }
        while let chunk = try inp.read(upToCount: 1 << 20), !chunk.isEmpty { try out.write(contentsOf: chunk) }
        try inp.close()
        try out.close()
        try FileManager.default.removeItem(atPath: body)
    }
}

/// Appends text to a file through a 1 MiB buffer.
final class BufferedTextFile {
    private let handle: FileHandle
    private let path: String
    private var buffer = ""
    private(set) var writeError: Error?

    init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let h = FileHandle(forWritingAtPath: path) else { throw FapsimError("\(path): cannot create") }
        handle = h
    }

    func append(_ s: String) {
        buffer += s
        if buffer.utf8.count > 1 << 20 {
            do { try handle.write(contentsOf: Data(buffer.utf8)) } catch { writeError = writeError ?? error }
            buffer = ""
        }
    }

    func close() throws {
        do {
            try handle.write(contentsOf: Data(buffer.utf8))
            buffer = ""
            try handle.close()
        } catch {
            throw FapsimError("\(path): write failed (\(error.localizedDescription))")
        }
    }
}
