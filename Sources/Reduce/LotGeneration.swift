import SystolicArray
import FapsimSupport

/// `fapsim lot generate` without the argument parsing: config file, model
/// options, seed and chip count in; lot file and summary out. The CLI is a thin
/// shell over this so the whole path, config included, is tested here.
public enum LotGeneration {
    /// Below this many PEs in the whole lot, generation takes well under a second
    /// and a progress line would only clutter the output.
    public static let progressThreshold = 4 << 20

    /// `mitigation` is what the lot's chips run, recorded in the file
    /// (docs/hdf5-schema.md): commands given a chip of the lot run it.
    public static func run(configPath: String, chips: Int, seed: UInt64, out: String,
                           options: LotModelOptions, mitigation: Mitigation = .fap,
                           stuckBits: StuckBitDistribution? = nil, force: Bool, quiet: Bool) throws -> LotSummary {
        let hw = try HardwareConfig.load(path: configPath)
        let spares = try hw.spares(for: mitigation, path: configPath)
        try LotGenerator.validate(chips: chips)
        let model = try options.makeModel(rows: hw.rows, cols: hw.cols)
        let generator = try LotGenerator(model: model, rows: hw.rows, cols: hw.cols, lotSeed: seed)
        let big = Double(chips) * Double(hw.rows * hw.cols) >= Double(progressThreshold)
        let progress = big && !quiet ? ProgressLine("lot generate", total: chips, unit: "chips") : nil
        return try generator.write(chips: chips, to: out, mitigation: mitigation, spares: spares, force: force, stuckBits: stuckBits, progress: progress)
    }
}
