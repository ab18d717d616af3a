import HDF5Kit
import SystolicArray
import FapsimSupport

/// An open `fapsim.lot` file, validated on open, from which single chips can be
/// read one at a time (a campaign over thousands of chips keeps one reader and
/// never holds the whole lot in memory).
public final class ChipLotReader {
    public let path: String
    public let info: ChipLotInfo
    private let file: H5File
    private let maps: H5Dataset
    private let rates: [Double]
    private let seeds: [UInt64]
    /// Per-PE fault kinds (`/stuck_bit`, `/stuck_value`), in lots that have them.
    private let stuckBits: H5Dataset?
    private let stuckValues: H5Dataset?

    /// Whether the lot records per faulty PE whether it is bypassed or stuck-at.
    public var hasFaultKinds: Bool { stuckBits != nil }

    public init(path: String) throws {
        self.path = path
        file = try H5File.open(path)
        let version = try Schema.require(file, is: .lot)
        let rows = try Self.positiveInt(file, "rows")
        let cols = try Self.positiveInt(file, "cols")
        maps = try file.openDataset(ChipLotFile.faultMaps, expecting: .uint8, rank: 3, shape: [nil, rows, cols])
        let chips = maps.shape[0]
        if file.kind(of: ChipLotFile.stuckBit) != nil {
            stuckBits = try file.openDataset(ChipLotFile.stuckBit, expecting: .int8, rank: 3, shape: [chips, rows, cols])
            stuckValues = try file.openDataset(ChipLotFile.stuckValue, expecting: .uint8, rank: 3, shape: [chips, rows, cols])
        } else {
            stuckBits = nil
            stuckValues = nil
        }
        let rates = try file.openDataset(ChipLotFile.faultRate, expecting: .double, rank: 1, shape: [chips]).read(Double.self)
        self.rates = rates
        seeds = try file.openDataset(ChipLotFile.chipSeed, expecting: .uint64, rank: 1, shape: [chips]).read(UInt64.self)
        if let bad = rates.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
            throw HDF5Failure.error(file: path, object: "/" + ChipLotFile.faultRate,
                                    "chip \(bad): expected a fault rate in [0, 1], got \(rates[bad])")
        }
        var parameters: [String: Double] = [:]
        for name in try file.attributeNames() where name.hasPrefix(ChipLotFile.parameterPrefix) {
            parameters[String(name.dropFirst(ChipLotFile.parameterPrefix.count))] = try file.numberAttribute(name)
        }
        var mitigation = Mitigation.fap
        if file.hasAttribute(ChipLotFile.mitigation) {
            let text = try file.stringAttribute(ChipLotFile.mitigation)
            do {
                mitigation = try Mitigation.parse(text, field: "attribute \(ChipLotFile.mitigation)")
            } catch let error as FapsimError {
                throw file.failure(error.description)
            }
        }
        var spareLayout: SpareLayout?
        if mitigation == .spares {
            guard file.hasAttribute(ChipLotFile.spareLayout) else {
                throw file.failure("attribute \(ChipLotFile.spareLayout): missing; expected the spare layout of a lot whose chips run spares (diagonal or column-groups:G)")
            }
            let text = try file.stringAttribute(ChipLotFile.spareLayout)
            guard let layout = SpareLayout(description: text), layout.misfit(rows: rows, cols: cols) == nil else {
                throw file.failure("attribute \(ChipLotFile.spareLayout): expected diagonal or column-groups:G fitting \(rows)x\(cols), got '\(text)'")
            }
            spareLayout = layout
        }
        info = ChipLotInfo(
            schemaVersion: version, rows: rows, cols: cols, chipCount: chips,
            generator: try file.stringAttribute("generator"),
            generatorParameters: parameters,
            lotSeed: try file.attribute("lot_seed", as: UInt64.self),
            mitigation: mitigation,
            stuckBits: stuckBits != nil && file.hasAttribute(ChipLotFile.stuckBitsAttribute)
                ? try file.stringAttribute(ChipLotFile.stuckBitsAttribute) : nil,
            spareLayout: spareLayout,
            faultRateRange: rates.min().map { $0...rates.max()! },
            meanFaultRate: rates.isEmpty ? nil : rates.reduce(0, +) / Double(rates.count))
    }

    /// Refuses, in one line, a lot whose chips run spares read with a config of
    /// another spare layout: the repair (and so every pruned weight) depends on it.
    public func checkSpares(_ config: HardwareConfig) throws {
        guard info.mitigation == .spares, let recorded = info.spareLayout else { return }
        guard config.spares == recorded else {
            throw HDF5Failure.error(file: path, object: "/",
                                    "attribute \(ChipLotFile.spareLayout): the lot's chips carry spares \(recorded.description), but config \(config.name) has \(config.spares?.description ?? "no spares")")
        }
    }

    private static func positiveInt(_ file: H5File, _ name: String) throws -> Int {
        let v = try file.attribute(name, as: Int64.self)
        guard v > 0, v <= 1 << 20 else { throw file.failure("attribute \(name): expected a positive array size, got \(v)") }
        return Int(v)
    }

    private func checkIndex(_ chip: Int) throws {
        guard (0..<info.chipCount).contains(chip) else {
            throw HDF5Failure.error(file: path, object: "/" + ChipLotFile.faultMaps,
                                    "chip \(chip) is out of range (lot has \(info.chipCount) chips, 0...\(info.chipCount - 1))")
        }
    }

    /// Chip `chip`'s fault map; reads one chunk. Every faulty PE is one FAP
    /// bypasses: a chip with unmitigated stuck-at faults is refused, since the
    /// commands that take a plain map (the float engines, FAT, Reduce) model
    /// bypass only; `int8Chip` reads such a chip.
    public func faultMap(chip: Int) throws -> FaultMap {
        let (map, stuck) = try int8Chip(chip: chip)
        if !stuck.isEmpty {
            throw HDF5Failure.error(file: path, object: "/" + ChipLotFile.stuckBit,
                                    "chip \(chip): \(stuck.count) faulty PEs are unmitigated stuck-at faults, but this command models FAP bypass only (float engines); evaluate the chip with `fapsim evaluate --quantized`")
        }
        return map
    }

    /// Chip `chip` as the int8 engines see it: the PEs FAP bypasses, and the
    /// unmitigated stuck-at faults (none in a lot without fault kinds).
    public func int8Chip(chip: Int) throws -> (bypassed: FaultMap, stuckAt: [StuckAtFault]) {
        try checkIndex(chip)
        var bits = try maps.read(UInt8.self, start: [chip, 0, 0], count: [1, info.rows, info.cols])
        try checkBits(bits, firstChip: chip)
        guard let stuckBits, let stuckValues else { return (FaultMap(rows: info.rows, cols: info.cols, bits: bits), []) }
        let kinds = try stuckBits.read(Int8.self, start: [chip, 0, 0], count: [1, info.rows, info.cols])
        let values = try stuckValues.read(UInt8.self, start: [chip, 0, 0], count: [1, info.rows, info.cols])
        var stuck: [StuckAtFault] = []
        for i in kinds.indices where kinds[i] != -1 {
            let pe = "chip \(chip), PE (row \(i / info.cols), col \(i % info.cols))"
            guard (0..<32).contains(Int(kinds[i])) else {
                throw HDF5Failure.error(file: path, object: "/" + ChipLotFile.stuckBit,
                                        "\(pe): expected -1 (bypassed) or a bit index 0-31, got \(kinds[i])")
            }
            guard values[i] <= 1 else {
                throw HDF5Failure.error(file: path, object: "/" + ChipLotFile.stuckValue, "\(pe): expected 0 or 1, got \(values[i])")
            }
            guard bits[i] == 1 else {
                throw HDF5Failure.error(file: path, object: "/" + ChipLotFile.stuckBit, "\(pe): a stuck bit on a healthy PE")
            }
            stuck.append(StuckAtFault(row: i / info.cols, col: i % info.cols, bit: Int(kinds[i]), value: Int(values[i])))
            bits[i] = 0
        }
        return (FaultMap(rows: info.rows, cols: info.cols, bits: bits), stuck)
    }

    /// A map holds 0 (healthy) and 1 (faulty) only. Anything else is a damaged
    /// or foreign file: reading 2 or 255 as "faulty" would evaluate a chip
    /// nobody drew, so it is refused, naming the first bad PE.
    private func checkBits(_ bits: [UInt8], firstChip: Int) throws {
        guard let bad = bits.firstIndex(where: { $0 > 1 }) else { return }
        let n = info.rows * info.cols
        let chip = firstChip + bad / n, pe = bad % n
        throw HDF5Failure.error(file: path, object: "/" + ChipLotFile.faultMaps,
                                "chip \(chip), PE (row \(pe / info.cols), col \(pe % info.cols)): expected 0 (healthy) or 1 (faulty), got \(bits[bad])")
    }

    /// Chip `chip`'s fault map, refusing a lot made for another array size
    /// than `config`'s (a map only means something on the array it was drawn for).
    public func faultMap(chip: Int, for config: HardwareConfig) throws -> FaultMap {
        try checkArray(config)
        return try faultMap(chip: chip)
    }

    /// Throws unless the lot's array size is `config`'s.
    public func checkArray(_ config: HardwareConfig) throws {
        guard info.rows == config.rows, info.cols == config.cols else {
            throw HDF5Failure.error(file: path, object: "/" + ChipLotFile.faultMaps,
                                    "lot is for a \(info.rows) x \(info.cols) array, hardware config \(config.name) has \(config.rows) x \(config.cols)")
        }
    }

    public func chip(_ index: Int) throws -> ChipLot.Chip {
        ChipLot.Chip(faultMap: try faultMap(chip: index), faultRate: rates[index], seed: seeds[index])
    }

    /// Every chip (reads all maps in one call); refuses a lot with stuck-at kinds
    /// as `faultMap` does.
    public func readAll() throws -> ChipLot {
        if hasFaultKinds {
            for i in 0..<info.chipCount { _ = try faultMap(chip: i) }
        }
        let bits = try maps.read(UInt8.self)
        try checkBits(bits, firstChip: 0)
        let n = info.rows * info.cols
        let chips = (0..<info.chipCount).map { i in
            ChipLot.Chip(faultMap: FaultMap(rows: info.rows, cols: info.cols, bits: Array(bits[(i * n)..<((i + 1) * n)])),
                         faultRate: rates[i], seed: seeds[i])
        }
        return ChipLot(rows: info.rows, cols: info.cols, generator: info.generator,
                       generatorParameters: info.generatorParameters, lotSeed: info.lotSeed,
                       mitigation: info.mitigation, chips: chips)
    }
}
