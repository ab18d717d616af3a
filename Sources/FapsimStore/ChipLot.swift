import SystolicArray

/// A lot of chips of one array size, each with its own permanent-fault map, as
/// a fault generator produced them. Stored as a `fapsim.lot` file (see
/// `ChipLotFile` and docs/hdf5-schema.md).
public struct ChipLot: Equatable, Sendable {
    /// One chip of the lot.
    public struct Chip: Equatable, Sendable {
        /// Which PEs are faulty (1 = faulty, bypassed).
        public var faultMap: FaultMap
        /// The chip's fault rate as the generator drew it (for the uniform
        /// generator, the map's faulty fraction to within one PE).
        public var faultRate: Double
        /// The seed the generator used for this chip, so one chip can be
        /// regenerated on its own. Stored as uint64.
        public var seed: UInt64

        public init(faultMap: FaultMap, faultRate: Double, seed: UInt64) {
            self.faultMap = faultMap
            self.faultRate = faultRate
            self.seed = seed
        }
    }

    public var rows: Int
    public var cols: Int
    /// Name of the fault generator, e.g. "uniform".
    public var generator: String
    /// The generator's numeric parameters, e.g. ["rate_min": 0.01, "rate_max": 0.1].
    public var generatorParameters: [String: Double]
    /// Seed the whole lot was generated from (chip seeds derive from it).
    public var lotSeed: UInt64
    /// The mitigation every chip of the lot runs (files written before
    /// mitigations existed read as FAP).
    public var mitigation: Mitigation
    public var chips: [Chip]

    public init(rows: Int, cols: Int, generator: String, generatorParameters: [String: Double] = [:],
                lotSeed: UInt64, mitigation: Mitigation = .fap, chips: [Chip]) {
        self.mitigation = mitigation
        self.rows = rows
        self.cols = cols
        self.generator = generator
        self.generatorParameters = generatorParameters
        self.lotSeed = lotSeed
        self.chips = chips
    }
}

/// What a lot file holds, read without loading its fault maps.
public struct ChipLotInfo: Equatable, Sendable {
    public var schemaVersion: Int64
    public var rows: Int
    public var cols: Int
    public var chipCount: Int
    public var generator: String
    public var generatorParameters: [String: Double]
    public var lotSeed: UInt64
    /// The mitigation the lot's chips run.
    public var mitigation: Mitigation = .fap
    /// In a lot with fault kinds, the `--stuck-bits` distribution that drew them
    /// (`uniform`, `high`, `fixed:B`); nil otherwise or in lots written before it was recorded.
    public var stuckBits: String? = nil
    /// In a lot whose chips run spares, the spare layout of the config it was
    /// drawn for (the `spare_layout` attribute); nil otherwise.
    public var spareLayout: SpareLayout? = nil
    /// Smallest and largest per-chip fault rate (nil for an empty lot).
    public var faultRateRange: ClosedRange<Double>?
    public var meanFaultRate: Double?
}
