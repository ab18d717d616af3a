import SystolicArray
import FapsimStore
import FapsimSupport

/// Generates a lot of chips from one fault model and one lot seed.
///
/// Chip i draws only from its own stream, seeded with `chipSeed(lotSeed:chip:)`,
/// so its map does not depend on how many chips come before it, a lot of 10 chips
/// is the first 10 chips of a lot of 1000 from the same seed, and any one chip can
/// be regenerated from the seed stored with it (`chip(seed:)`).
public struct LotGenerator: Sendable {
    public let model: any ChipFaultModel
    public let rows: Int
    public let cols: Int
    public let lotSeed: UInt64

    public init(model: any ChipFaultModel, rows: Int, cols: Int, lotSeed: UInt64) throws {
        guard rows > 0, cols > 0 else {
            throw FapsimError("lot: expected a positive array size, got \(rows) x \(cols)")
        }
        self.model = model
        self.rows = rows
        self.cols = cols
        self.lotSeed = lotSeed
    }

    /// The seed stored with chip `chip`: the first word of the lot seed's derived
    /// stream for that index.
    public static func chipSeed(lotSeed: UInt64, chip: Int) -> UInt64 {
        var derived = SeededRNG.derived(seed: lotSeed, UInt64(chip))
        return derived.next()
    }

    /// Chip `index` of the lot.
    public func chip(_ index: Int) -> GeneratedChip {
        chip(seed: Self.chipSeed(lotSeed: lotSeed, chip: index))
    }

    /// The chip a stored chip seed stands for.
    public func chip(seed: UInt64) -> GeneratedChip {
        var rng = SeededRNG(seed: seed)
        return model.generate(rows: rows, cols: cols, rng: &rng)
    }

    /// The first `count` chips in memory (tests and small lots).
    public func lot(chips count: Int) throws -> ChipLot {
        try Self.validate(chips: count)
        let chips = (0..<count).map { i -> ChipLot.Chip in
            let seed = Self.chipSeed(lotSeed: lotSeed, chip: i)
            let g = chip(seed: seed)
            return ChipLot.Chip(faultMap: g.faultMap, faultRate: g.realisedRate, seed: seed)
        }
        return ChipLot(rows: rows, cols: cols, generator: model.name, generatorParameters: model.parameters,
                       lotSeed: lotSeed, chips: chips)
    }

    /// Streams `count` chips into a new lot file (atomic; refuses to replace an
    /// existing file unless `force`), holding one map at a time, and returns the
    /// lot's summary. `progress` is advanced once per chip. With `stuckBits`, the
    /// lot records fault kinds and every faulty PE is unmitigated: its stuck bit
    /// and value are drawn from the chip's seed (`StuckBitDistribution.draw`).
    @discardableResult
    public func write(chips count: Int, to path: String, mitigation: Mitigation = .fap, spares: SpareLayout? = nil, force: Bool,
                      stuckBits: StuckBitDistribution? = nil,
                      progress: ProgressLine? = nil) throws -> LotSummary {
        try Self.validate(chips: count)
        var rates: [Double] = []
        var defects: [Int] = []
        var repaired: [Int]?
        rates.reserveCapacity(count)
        try ChipLotFile.write(path: path, rows: rows, cols: cols, chips: count, generator: model.name,
                              generatorParameters: model.parameters, lotSeed: lotSeed, mitigation: mitigation, spares: spares,
                              stuckAtKinds: stuckBits != nil, stuckBits: stuckBits?.description,
                              force: force) { writer in
            for i in 0..<count {
                let seed = Self.chipSeed(lotSeed: lotSeed, chip: i)
                let g = chip(seed: seed)
                try writer.write(chip: i, ChipLot.Chip(faultMap: g.faultMap, faultRate: g.realisedRate, seed: seed),
                                 stuckAt: stuckBits?.draw(faults: g.faultMap, seed: seed) ?? [])
                rates.append(g.realisedRate)
                if let d = g.defects { defects.append(d) }
                progress?.advance()
            }
            repaired = writer.faultsRepaired
        }
        progress?.finish()
        return LotSummary(rows: rows, cols: cols, generator: model.name, parameters: model.parameters,
                          lotSeed: lotSeed, rates: rates, defects: defects.count == count ? defects : nil,
                          spareLayout: mitigation == .spares ? spares : nil, faultsRepaired: repaired)
    }

    static func validate(chips: Int) throws {
        guard chips > 0 else { throw FapsimError("--chips: expected a number of chips >= 1, got \(chips)") }
    }
}
