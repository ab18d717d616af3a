import Foundation
import HDF5Kit
import SystolicArray
import FapsimSupport

/// Reading and writing `fapsim.lot` files.
///
/// Layout (docs/hdf5-schema.md):
/// - root attributes: schema, schema_version, rows, cols (Int64), generator
///   (string), `generator.<name>` (Float64, one per generator parameter),
///   lot_seed (UInt64), mitigation (string, e.g. "fap"; absent in files written
///   before mitigations existed, which read as "fap");
/// - `/fault_maps` UInt8 [chips][rows][cols], 1 = faulty, chunked one chip per
///   chunk with shuffle + gzip, so reading one chip reads one chunk;
/// - `/fault_rate` Float64 [chips];
/// - `/chip_seed` UInt64 [chips] (uint64 so seeds round-trip bit for bit and
///   numpy shows them as the unsigned numbers fapsim prints);
/// - optional, in lots drawn with unmitigated stuck-at faults: `/stuck_bit` Int8
///   [chips][rows][cols], per faulty PE its kind: -1 = bypassed by FAP, 0-31 =
///   unmitigated, that bit of its partial-sum register stuck (-1 on healthy
///   PEs), and `/stuck_value` UInt8 of the same shape, the stuck value 0 or 1;
///   the root attribute `stuck_bits` (string) names the distribution that drew
///   them (`uniform`, `high` or `fixed:B`, docs/stuck-at.md);
/// - in lots whose chips run spares, the root attribute `spare_layout` (string,
///   `diagonal` or `column-groups:G`): the layout of the config the lot was drawn
///   for, which every command running a chip of the lot must have too; and
///   `/faults_repaired` Int64 [chips], the faulty PEs the spares replace on each
///   chip (`SpareRepair`, recomputable from the map and the layout).
public enum ChipLotFile {
    static let faultMaps = "fault_maps"
    static let faultRate = "fault_rate"
    static let chipSeed = "chip_seed"
    static let parameterPrefix = "generator."
    static let mitigation = "mitigation"
    static let stuckBit = "stuck_bit"
    static let stuckValue = "stuck_value"
    static let stuckBitsAttribute = "stuck_bits"
    static let spareLayout = "spare_layout"
    static let faultsRepaired = "faults_repaired"

    // MARK: writing

    /// Writes a whole lot atomically (temporary file + rename).
    public static func write(_ lot: ChipLot, to path: String, force: Bool) throws {
        try write(path: path, rows: lot.rows, cols: lot.cols, chips: lot.chips.count,
                  generator: lot.generator, generatorParameters: lot.generatorParameters,
                  lotSeed: lot.lotSeed, mitigation: lot.mitigation, force: force) { writer in
            for (i, chip) in lot.chips.enumerated() { try writer.write(chip: i, chip) }
        }
    }

    /// Streams a lot to disk chip by chip, for lots too large to hold in memory.
    /// `fill` must write every chip; the file appears under `path` only if it
    /// returns without throwing and every chip was written.
    public static func write(path: String, rows: Int, cols: Int, chips: Int, generator: String,
                             generatorParameters: [String: Double] = [:], lotSeed: UInt64,
                             mitigation: Mitigation = .fap, spares: SpareLayout? = nil,
                             stuckAtKinds: Bool = false, stuckBits: String? = nil,
                             force: Bool, _ fill: (ChipLotWriter) throws -> Void) throws {
        if mitigation == .spares && spares == nil {
            throw FapsimError("\(path): a lot whose chips run spares needs the config's spare layout (spares: in the hardware config)")
        }
        guard rows > 0, cols > 0, chips >= 0 else {
            throw FapsimError("\(path): invalid lot size \(chips) chips of \(rows) x \(cols)")
        }
        try AtomicWrite.write(to: path, force: force) { tmp in
            let file = try H5File.create(tmp, overwrite: true)
            try Schema.stamp(file, as: .lot)
            try file.setAttribute("rows", Int64(rows))
            try file.setAttribute("cols", Int64(cols))
            try file.setAttribute("generator", generator)
            for (name, value) in generatorParameters.sorted(by: { $0.key < $1.key }) {
                try file.setAttribute(parameterPrefix + name, value)
            }
            try file.setAttribute("lot_seed", lotSeed)
            try file.setAttribute(ChipLotFile.mitigation, mitigation.rawValue)
            if mitigation == .spares, let spares { try file.setAttribute(ChipLotFile.spareLayout, spares.description) }
            // Provenance of the fault kinds: which `--stuck-bits` distribution drew them.
            if stuckAtKinds, let stuckBits { try file.setAttribute(ChipLotFile.stuckBitsAttribute, stuckBits) }
            let writer = try ChipLotWriter(file: file, finalPath: path, rows: rows, cols: cols, chips: chips,
                                           stuckAtKinds: stuckAtKinds, spares: mitigation == .spares ? spares : nil)
            try fill(writer)
            try writer.finish()  // releases the writer's datasets
            try file.close()
        }
    }

    // MARK: reading

    /// The whole lot.
    public static func read(path: String) throws -> ChipLot {
        let reader = try ChipLotReader(path: path)
        return try reader.readAll()
    }

    /// One chip's fault map, reading only that chip's chunk.
    public static func readFaultMap(path: String, chip: Int) throws -> FaultMap {
        try ChipLotReader(path: path).faultMap(chip: chip)
    }

    /// One chip's fault map, checked against the array size of `config`.
    public static func readFaultMap(path: String, chip: Int, config: HardwareConfig) throws -> FaultMap {
        try ChipLotReader(path: path).faultMap(chip: chip, for: config)
    }

    /// One chip as the engines see it: its fault map (checked against `config`'s
    /// array) and the lot's mitigation.
    public static func readChipDescription(path: String, chip: Int, config: HardwareConfig) throws -> ChipDescription {
        let reader = try ChipLotReader(path: path)
        // The array size first (the map is read against it), then the spare layout.
        let faults = try reader.faultMap(chip: chip, for: config)
        try reader.checkSpares(config)
        return ChipDescription(faults: faults, mitigation: reader.info.mitigation, spares: config.spares)
    }

    /// One chip as the int8 engines see it: the PEs FAP bypasses (checked against
    /// `config`'s array), its unmitigated stuck-at faults, and the lot's mitigation.
    public static func readInt8Chip(path: String, chip: Int, config: HardwareConfig) throws
        -> (chip: ChipDescription, stuckAt: [StuckAtFault]) {
        let reader = try ChipLotReader(path: path)
        try reader.checkArray(config)
        try reader.checkSpares(config)
        let (bypassed, stuck) = try reader.int8Chip(chip: chip)
        return (ChipDescription(faults: bypassed, mitigation: reader.info.mitigation, spares: config.spares), stuck)
    }

    /// One chip: fault map, fault rate and seed.
    public static func readChip(path: String, chip: Int) throws -> ChipLot.Chip {
        try ChipLotReader(path: path).chip(chip)
    }

    /// Array size, chip count, rate range and generator, without the maps.
    public static func info(path: String) throws -> ChipLotInfo {
        try ChipLotReader(path: path).info
    }
}

/// Writes the chips of a lot being created; see `ChipLotFile.write(path:...)`.
public final class ChipLotWriter {
    public let rows: Int
    public let cols: Int
    public let chipCount: Int
    private let path: String
    /// Released by `finish` so the file can close.
    private var maps: H5Dataset?
    /// Per-PE fault kinds, in lots drawn with stuck-at faults.
    private var stuckBits: H5Dataset?
    private var stuckValues: H5Dataset?
    private var rates: [Double]
    private var seeds: [UInt64]
    private var written: [Bool]
    private let file: H5File
    /// In a lot whose chips run spares, the layout the repairs are made with.
    private let spares: SpareLayout?
    /// In a lot whose chips run spares, the faulty PEs the spares replace on each
    /// chip written so far (0 for chips not yet written); nil otherwise.
    public private(set) var faultsRepaired: [Int]?

    init(file: H5File, finalPath: String, rows: Int, cols: Int, chips: Int, stuckAtKinds: Bool,
         spares: SpareLayout? = nil) throws {
        self.spares = spares
        faultsRepaired = spares.map { _ in [Int](repeating: 0, count: chips) }
        self.file = file
        self.path = finalPath
        self.rows = rows
        self.cols = cols
        self.chipCount = chips
        // Chunked needs non-zero chunk dims; an empty lot is stored contiguous.
        let options: H5DatasetOptions = chips > 0 ? .compressed(chunk: [1, rows, cols], level: 4) : .contiguous
        let maps = try file.createDataset(ChipLotFile.faultMaps, of: UInt8.self, shape: [chips, rows, cols], options: options)
        try maps.setAttribute("units", "1 = faulty PE (bypassed), 0 = healthy")
        self.maps = maps
        if stuckAtKinds {
            stuckBits = try file.createDataset(ChipLotFile.stuckBit, of: Int8.self, shape: [chips, rows, cols], options: options)
            try stuckBits!.setAttribute("units", "-1 = bypassed by FAP (or healthy), 0-31 = unmitigated: this partial-sum bit stuck")
            stuckValues = try file.createDataset(ChipLotFile.stuckValue, of: UInt8.self, shape: [chips, rows, cols], options: options)
            try stuckValues!.setAttribute("units", "the stuck bit's value, 0 or 1")
        }
        rates = [Double](repeating: 0, count: chips)
        seeds = [UInt64](repeating: 0, count: chips)
        written = [Bool](repeating: false, count: chips)
    }

    /// Writes chip `index` (0-based); chips may come in any order. In a lot with
    /// fault kinds, `stuckAt` are the chip's unmitigated faulty PEs (each faulty
    /// in the map); its other faulty PEs are bypassed by FAP.
    public func write(chip index: Int, _ chip: ChipLot.Chip, stuckAt: [StuckAtFault] = []) throws {
        guard (0..<chipCount).contains(index) else {
            throw FapsimError("\(path): chip \(index) is out of range (lot has \(chipCount) chips)")
        }
        guard chip.faultMap.rows == rows, chip.faultMap.cols == cols else {
            throw FapsimError("\(path): chip \(index): fault map is \(chip.faultMap.rows) x \(chip.faultMap.cols), lot is \(rows) x \(cols)")
        }
        guard let maps else { throw FapsimError("\(path): lot is already finished") }
        try FaultMap.validateRate(chip.faultRate, field: "\(path): chip \(index): fault rate")
        try maps.write(chip.faultMap.bits, start: [index, 0, 0], count: [1, rows, cols])
        if let stuckBits, let stuckValues {
            var bits = [Int8](repeating: -1, count: rows * cols), values = [UInt8](repeating: 0, count: rows * cols)
            for f in stuckAt {
                try f.validate(rows: rows, cols: cols)
                guard chip.faultMap.isFaulty(f.row, f.col) else {
                    throw FapsimError("\(path): chip \(index): stuck-at fault on PE (\(f.row), \(f.col)), which the map says is healthy")
                }
                bits[f.row * cols + f.col] = Int8(f.bit)
                values[f.row * cols + f.col] = UInt8(f.value)
            }
            try stuckBits.write(bits, start: [index, 0, 0], count: [1, rows, cols])
            try stuckValues.write(values, start: [index, 0, 0], count: [1, rows, cols])
        } else if !stuckAt.isEmpty {
            throw FapsimError("\(path): chip \(index): stuck-at faults given to a lot created without fault kinds")
        }
        if let spares {
            faultsRepaired?[index] = SpareRepair.repair(faults: chip.faultMap, layout: spares).repaired.count
        }
        rates[index] = chip.faultRate
        seeds[index] = chip.seed
        written[index] = true
    }

    func finish() throws {
        maps = nil
        stuckBits = nil
        stuckValues = nil
        if let missing = written.firstIndex(of: false) {
            throw FapsimError("\(path): chip \(missing) of \(chipCount) was never written")
        }
        let r = try file.write(ChipLotFile.faultRate, rates)
        try r.setAttribute("units", "1")
        let s = try file.write(ChipLotFile.chipSeed, seeds)
        try s.setAttribute("units", "seed")
        if let faultsRepaired {
            let d = try file.write(ChipLotFile.faultsRepaired, faultsRepaired.map { Int64($0) })
            try d.setAttribute("units", "faulty PEs replaced by spares")
        }
    }
}
